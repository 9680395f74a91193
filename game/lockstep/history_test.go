package lockstep

import (
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/protocol/lspb"
)

func TestFrameLogReadRanges(t *testing.T) {
	s := store.NewMemoryFrameStore(1)
	// Busy frames 3, 6, 9, ... 3000: many index marks to seek over.
	for f := uint32(3); f <= 3000; f += 3 {
		in := appendSlotInput(nil, f%4, []byte{byte(f)}, f)
		if err := s.AppendFrame(1, f, in); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AppendFrame(1, 3000, nil); err == nil {
		t.Fatal("a frame appended twice was accepted")
	}
	for _, r := range [][2]uint32{{1, 2}, {1, 3}, {500, 700}, {2999, 5000}, {1000, 1000}} {
		var got []uint32
		err := s.ReadFrames(1, r[0], r[1], func(f uint32, in []byte) bool {
			var fi lspb.FrameInputs
			if err := proto.Unmarshal(in, &fi); err != nil || len(fi.Inputs) != 1 || fi.Inputs[0].Seq != f {
				t.Fatalf("frame %d inputs %x (%v)", f, in, err)
			}
			got = append(got, f)
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		var want []uint32
		for f := r[0]; f <= r[1] && f <= 3000; f++ {
			if f%3 == 0 {
				want = append(want, f)
			}
		}
		if len(got) != len(want) || (len(got) > 0 && (got[0] != want[0] || got[len(got)-1] != want[len(want)-1])) {
			t.Fatalf("range %v: got %d frames %v..., want %d", r, len(got), got[:min(3, len(got))], len(want))
		}
	}
	// Ended matches beyond the kept count are dropped.
	_ = s.EndMatch(1, 3000)
	_ = s.EndMatch(2, 10)
	if err := s.ReadFrames(1, 1, 10, func(uint32, []byte) bool { return true }); err == nil {
		t.Fatal("match 1 kept beyond KeptMatches")
	}
}

func TestBatchWriterDecodes(t *testing.T) {
	var w batchWriter
	w.begin(100, 5)
	w.busy(100, appendSlotInput(nil, 0, []byte("a"), 1))
	w.busy(103, appendSlotInput(appendSlotInput(nil, 2, []byte("b"), 7), 1, nil, 0))
	var b lspb.FrameBatch
	if err := proto.Unmarshal(w.b, &b); err != nil {
		t.Fatal(err)
	}
	if b.FirstFrame != 100 || b.Count != 5 || len(b.Busy) != 2 || b.Busy[0].Offset != 0 || b.Busy[1].Offset != 3 ||
		string(b.Busy[0].Inputs[0].Data) != "a" || b.Busy[1].Inputs[0].Slot != 2 || b.Busy[1].Inputs[0].Seq != 7 ||
		b.Busy[1].Inputs[1].Slot != 1 {
		t.Fatalf("decoded %v", &b)
	}
	w.begin(7, 1)
	if len(w.b) > 4 {
		t.Fatalf("an empty one-frame batch takes %d bytes", len(w.b))
	}
}

type countTicker struct {
	st   schedState
	n    atomic.Int64
	stop int64
	// early is the most any tick ran ahead of its due time (ns); only the
	// shard writes it.
	early atomic.Int64
}

func (c *countTicker) sched() *schedState { return &c.st }
func (c *countTicker) tick(due time.Time) bool {
	if e := int64(time.Until(due)); e > c.early.Load() {
		c.early.Store(e)
	}
	return c.n.Add(1) < c.stop
}

// TestSchedulerDriftFree: 100 Hz for about half a second runs the ticks
// the wall clock says are due, however late a wake-up was.
func TestSchedulerDriftFree(t *testing.T) {
	s := newTickScheduler(2, time.Millisecond)
	defer s.stop()
	var ts []*countTicker
	for range 50 {
		c := &countTicker{stop: 1 << 30}
		ts = append(ts, c)
		s.add(c, 10*time.Millisecond)
	}
	start := time.Now()
	time.Sleep(500 * time.Millisecond)
	want := int64(time.Since(start) / (10 * time.Millisecond))
	for _, c := range ts {
		// Never ahead of the clock (started within one period of start)...
		if n, most := c.n.Load(), int64(time.Since(start)/(10*time.Millisecond))+2; n > most {
			t.Fatalf("%d ticks, more than the %d due at 100 Hz", n, most)
		}
		// ...and a late shard catches up on every tick it owes.
		waitUntil(t, func() bool { return c.n.Load() >= want-1 }, "the ticks due")
	}
	done := &countTicker{stop: 3}
	s.add(done, time.Millisecond)
	waitUntil(t, func() bool { return done.n.Load() == 3 }, "the ticker to stop itself")
	time.Sleep(20 * time.Millisecond)
	if done.n.Load() != 3 {
		t.Fatal("a ticker that returned false was ticked again")
	}
}

// TestSchedulerSlack: rooms spread over the period make a shard wake once
// per room per tick, unless it runs the ticks due within the slack
// together; those run early by at most the slack, never more.
func TestSchedulerSlack(t *testing.T) {
	const rooms, period, run = 30, 10 * time.Millisecond, 300 * time.Millisecond
	wakes := func(slack time.Duration) (int64, time.Duration, int64) {
		s := newTickScheduler(1, slack)
		var ts []*countTicker
		for range rooms {
			c := &countTicker{stop: 1 << 30}
			ts = append(ts, c)
			s.add(c, period)
		}
		time.Sleep(run)
		s.stop()
		var early time.Duration
		var ticks int64
		for _, c := range ts {
			early = max(early, time.Duration(c.early.Load()))
			ticks += c.n.Load()
		}
		return s.shards[0].wakes.Load(), early, ticks
	}
	const slack = 5 * time.Millisecond
	w0, early0, ticks0 := wakes(0)
	w, early, ticks := wakes(slack)
	t.Logf("no slack: %d wakes for %d ticks (earliest %v); slack %v: %d wakes for %d ticks (earliest %v)",
		w0, ticks0, early0, slack, w, ticks, early)
	if early0 > 0 {
		t.Errorf("without slack a tick ran %v early", early0)
	}
	if early > slack {
		t.Errorf("a tick ran %v early, more than the %v slack", early, slack)
	}
	// 30 rooms at 100 Hz for 300 ms are 900 ticks at 900 distinct times.
	// Go's own timers wake about once a millisecond at best (about 290
	// wakes here without slack); a 5 ms slack allows about one wake per
	// 5 ms (60), and a loaded machine only lowers that. Every tick must
	// still run.
	if most := int64(run/slack) * 2; w > most {
		t.Errorf("%d wakes with a %v slack, more than %d", w, slack, most)
	}
	if least := int64(rooms * (run/period - 2)); ticks < least || ticks0 < least {
		t.Errorf("%d and %d ticks, fewer than the %d due", ticks0, ticks, least)
	}
}
