package room

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/znet/znettest"
)

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
		znettest.Eventually(t, func() bool { return c.n.Load() >= want-1 }, "the ticks due")
	}
	done := &countTicker{stop: 3}
	s.add(done, time.Millisecond)
	znettest.Eventually(t, func() bool { return done.n.Load() == 3 }, "the ticker to stop itself")
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
