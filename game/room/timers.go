package room

import (
	"container/heap"
	"fmt"
	"time"
)

// Timers run on the room's tick: a timer set for d fires on the first tick
// at or after d from now, before the logic's Tick, so a room needs no
// goroutine or runtime timer of its own, and a timer's work is ordered with
// everything else the room does.

type roomTimer struct {
	at      time.Time
	seq     uint64 // order among timers due at the same time
	fn      func()
	stopped bool
	index   int
}

type timerHeap []*roomTimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*roomTimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}

// After calls fn on the room's tick once d has passed, and returns a
// function that cancels it (a no-op once it fired). A room has at most
// Config.MaxTimers pending; beyond that After returns ErrTooManyTimers.
func (r *Room) After(d time.Duration, fn func()) (cancel func(), err error) {
	if len(r.timers) >= r.m.cfg.MaxTimers {
		return nil, fmt.Errorf("%w: %d pending", ErrTooManyTimers, len(r.timers))
	}
	r.timerSeq++
	t := &roomTimer{at: r.now.Add(d), seq: r.timerSeq, fn: fn}
	heap.Push(&r.timers, t)
	return func() {
		if !t.stopped && t.index >= 0 {
			t.stopped = true
			heap.Remove(&r.timers, t.index)
		}
	}, nil
}

// fireTimers runs the timers due by now, in due order.
func (r *Room) fireTimers(now time.Time) {
	for len(r.timers) > 0 && !r.timers[0].at.After(now) && !r.ending {
		t := heap.Pop(&r.timers).(*roomTimer)
		t.stopped = true
		r.call(t.fn)
	}
}
