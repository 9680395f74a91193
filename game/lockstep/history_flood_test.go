package lockstep

import (
	"runtime"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/game/room"
	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/ziface"
)

// discardFrames is a frame store that keeps nothing, so a heap figure is
// the room's own: the memory store is bounded on its own (KeptFrameBytes),
// and Redis keeps frames outside the process.
type discardFrames struct{}

func (discardFrames) AppendFrame(uint64, uint32, []byte) error { return nil }
func (discardFrames) EndMatch(uint64, uint32) error            { return nil }
func (discardFrames) ReadFrames(uint64, uint32, uint32, func(uint32, []byte) bool) error {
	return nil
}

// TestHistoryFloodHeap: one 16-seat room at 120 Hz with every seat sending
// an input of MaxInputBytes at every tick, each frame filled to its budget
// (the heaviest input a room accepts), ticked by hand. Before, the room
// kept its whole log (and the memory store a second copy): 13.5 MB in
// 15 s, about 1.9 GiB per room-hour. Now the heap grows by no more than
// MaxHistoryBytes (plus one segment being filled): 15 s under a 2 MiB
// bound, and 60 s (27 MB of frames) under the default 8 MiB.
func TestHistoryFloodHeap(t *testing.T) {
	for _, c := range []struct {
		seconds  int
		maxBytes int
	}{{15, 2 << 20}, {60, 0}} {
		cfg := DefaultConfig()
		cfg.MaxPlayers, cfg.TickRate, cfg.MaxHistoryBytes = 16, 120, c.maxBytes
		mgr, err := room.NewManager(room.Config{Manual: true, RequestRate: 1e6, EmptyTimeout: room.Disabled}, discardLog())
		if err != nil {
			t.Fatal(err)
		}
		l, err := New(cfg, discardLog(), WithRooms(mgr), WithFrameStore(discardFrames{}))
		if err != nil {
			t.Fatal(err)
		}
		bound := l.cfg.MaxHistoryBytes
		conns := make([]ziface.IConnection, cfg.MaxPlayers)
		for i := range conns {
			conns[i] = &countConn{}
		}
		r := startedRoom(t, l, conns)
		input := make([]byte, cfg.MaxInputBytes)
		for i := range input {
			input[i] = byte(i*7 + 1)
		}
		payload := marshal(&lspb.Input{Data: input, Seq: 1})
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		period := time.Second / time.Duration(cfg.TickRate)
		start := time.Now()
		ticks := c.seconds * cfg.TickRate
		for i := range ticks {
			for j, conn := range r.conns {
				_ = l.rooms.Input(r.ids[j], conn, l.id(lspb.MsgInput), payload)
			}
			l.rooms.Step(start.Add(time.Duration(i) * period))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
		held := r.m.hist.held()
		t.Logf("%d s at 120 Hz, 16 seats flooding: %d frames, history holds %d bytes (bound %d) from frame %d, heap %+d bytes",
			c.seconds, r.m.frame, held, bound, r.m.hist.from(), grew)
		if r.m.frame != uint32(ticks) || r.m.hist.from() <= 1 {
			t.Fatalf("the flood did not pass the bound: %d frames, history from frame %d", r.m.frame, r.m.hist.from())
		}
		if held > bound || grew > int64(bound)+segBytes+256<<10 {
			t.Fatalf("history holds %d bytes and the heap grew %d, over the %d-byte bound", held, grew, bound)
		}
		_ = mgr.Close()
	}
}
