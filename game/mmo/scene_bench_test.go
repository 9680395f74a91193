package mmo

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/game/room"
	"github.com/zinxgame/zinxgame/protocol/mmopb"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// discardConn takes a tick's write and drops it, counting bytes.
type discardConn struct {
	*znettest.Recorder
	bytes int
}

func (c *discardConn) SendFramesNow(frames []byte, _ int) error {
	c.bytes += len(frames)
	return nil
}

// BenchmarkSceneTick is one scene tick with 10,000 players spread over
// Zinx's demo map and 100 of them moving a few units each (one request
// each, queued as their routes queue them), the writes to a connection
// that drops them: the scene's own cost per tick, syscalls aside.
//
//	go test -run '^$' -bench SceneTick -benchmem ./game/mmo
func BenchmarkSceneTick(b *testing.B) {
	const players, moving = 10_000, 100
	cfg := DefaultConfig()
	// They spawn anywhere on the map (325 x 325): a spawn point crowded
	// with 10,000 would make each join list all the ones before it.
	cfg.SpawnX, cfg.SpawnZ, cfg.SpawnRange = cfg.MinX, cfg.MinZ, cfg.MaxX-cfg.MinX
	w, err := NewWorld(cfg, discardLog(), WithRoomConfig(room.Config{Manual: true, RequestRate: 1e6}))
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	conns := make([]*discardConn, players)
	for i := range conns {
		conns[i] = &discardConn{Recorder: znettest.NewRecorder()}
		w.OnConnect(conns[i])
	}
	now := time.Now()
	step := func() {
		now = now.Add(25 * time.Millisecond)
		w.Rooms().Step(now)
	}
	step() // the joins
	moveID := w.id(mmopb.MsgMove)
	moves := make([][]byte, players) // the requests, encoded once, as the routes would
	for i := range moves {
		p, _ := w.Player(int32(i + 1))
		to := p.Pos() // read between ticks, on the stepping goroutine
		to.X = min(max(to.X+rng.Float32()*8-4, cfg.MinX), cfg.MaxX)
		to.Z = min(max(to.Z+rng.Float32()*8-4, cfg.MinZ), cfg.MaxZ)
		moves[i] = encodeMove(to)
	}
	var sent int
	for _, c := range conns {
		sent -= c.bytes
	}
	b.ReportAllocs()
	b.ResetTimer()
	next := 0
	for range b.N {
		for range moving {
			i := next % players
			next++
			if err := w.rooms.Input(memberID(int32(i+1)), conns[i], moveID, moves[i]); err != nil {
				b.Fatal(err)
			}
		}
		step()
	}
	b.StopTimer()
	for _, c := range conns {
		sent += c.bytes
	}
	b.ReportMetric(float64(sent)/float64(b.N), "B-sent/tick")
}
