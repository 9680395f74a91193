package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zinxgame/zinxgame/game/lockstep"
	"github.com/zinxgame/zinxgame/game/store/redisstore"
	"github.com/zinxgame/zinxgame/internal/redistest"
	"github.com/zinxgame/zinxgame/zconf"
)

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

// TestRunServeRedis plays matches with the frame log and match metadata in
// a real Redis, kills Redis in the middle of them and restarts it, then
// replays a match from Redis: the matches never stall (every bot target
// holds) and the replay, re-simulated from Redis's frames alone, reaches
// the hash the players voted, so every frame written before, during and
// after the outage is there, in order.
func TestRunServeRedis(t *testing.T) {
	redis.SetLogger(quietRedis{})
	rs := redistest.Start(t, redistest.Persistent())
	rc := zconf.DefaultRedis()
	rc.Addr = rs.Addr
	rc.FlushInterval = 100 * time.Millisecond
	rc.SpillFile = filepath.Join(t.TempDir(), "bot.spill") // not in the source tree
	st, err := redisstore.New(context.Background(), rc, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())

	outage := make(chan struct{})
	go func() { // in the middle of the matches
		defer close(outage)
		time.Sleep(1200 * time.Millisecond)
		rs.Kill()
		time.Sleep(time.Second)
		rs.Restart()
	}()
	rep, err := Run(context.Background(), Config{
		Serve: true, Bots: 8, Players: 4, InputRate: 10,
		Duration: 4 * time.Second, Ramp: 200 * time.Millisecond, Drain: 3 * time.Second,
		Progress: io.Discard, Log: io.Discard,
		ServeOptions: []lockstep.Option{lockstep.WithFrameStore(st), lockstep.WithMatchStore(st)},
	})
	<-outage
	if err != nil {
		t.Fatal(err)
	}
	checkRun(t, rep, 8, 2)
	if rp := rep.Replay; rp == nil || !rp.OK || rp.Frames < 100 {
		t.Fatalf("replay from Redis %+v; want the match re-simulated to its players' hash", rp)
	}
	m, ok, err := st.LoadMatch(context.Background(), rep.Replay.MatchID)
	if err != nil || !ok || m.EndedAt.IsZero() || m.LastFrame < rep.Replay.ResultFrame {
		t.Fatalf("match metadata in Redis: %+v, %v, %v", m, ok, err)
	}
	if t.Failed() || testing.Verbose() {
		rep.WriteText(t.Output())
	}
}
