package room

import (
	"container/heap"
	"sync"
	"sync/atomic"
	"time"
)

// tickScheduler runs the ticks of every room on a few goroutines (shards)
// instead of a timer per room. Each shard keeps its rooms in a heap ordered
// by next tick, sleeps until the earliest is due and runs every room that
// is. A room's ticks are computed from its start (start + n*period), so
// they never drift, and starts are spread over the period (golden-ratio
// phases), so thousands of 30 Hz rooms do not all wake at once. A shard
// that wakes runs every room due within the next slack along with the one
// that woke it, so its wakes per second are bounded by the slack, not by
// the number of rooms. A late shard runs the ticks it owes at once, in
// order: the clock never skips a frame, and the lateness is measured.
type tickScheduler struct {
	shards []*shard
	slack  time.Duration
	quit   chan struct{}
	wg     sync.WaitGroup

	mu    sync.Mutex
	next  int    // round-robin shard
	phase uint64 // golden-ratio sequence for start phases
}

// ticker is what a shard runs: a room.
type ticker interface {
	// tick runs one tick that was due at due; false removes the ticker.
	tick(due time.Time) bool
	sched() *schedState
}

// schedState is a ticker's place in its shard, touched only by the shard.
type schedState struct {
	base   time.Time
	period time.Duration
	n      int64 // ticks run
	next   time.Time
}

type shard struct {
	wakes   atomic.Int64 // timer wakes that ran ticks
	mu      sync.Mutex
	pending []ticker
	wake    chan struct{}
	h       tickHeap
}

func newTickScheduler(shards int, slack time.Duration) *tickScheduler {
	s := &tickScheduler{quit: make(chan struct{}), slack: slack}
	for range max(shards, 1) {
		sh := &shard{wake: make(chan struct{}, 1)}
		s.shards = append(s.shards, sh)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			sh.run(s.quit, s.slack)
		}()
	}
	return s
}

// add schedules t every period, starting within one period from now.
func (s *tickScheduler) add(t ticker, period time.Duration) {
	s.mu.Lock()
	sh := s.shards[s.next%len(s.shards)]
	s.next++
	s.phase += 0x9e3779b97f4a7c15 // 2^64 / golden ratio: evenly spread phases
	frac := float64(s.phase>>11) / float64(1<<53)
	s.mu.Unlock()
	st := t.sched()
	st.period = period
	st.base = time.Now().Add(time.Duration(frac * float64(period)))
	st.next = st.base
	sh.mu.Lock()
	sh.pending = append(sh.pending, t)
	sh.mu.Unlock()
	select {
	case sh.wake <- struct{}{}:
	default:
	}
}

// stop ends the shards; rooms still scheduled are not ticked again.
func (s *tickScheduler) stop() {
	close(s.quit)
	s.wg.Wait()
}

func (sh *shard) run(quit <-chan struct{}, slack time.Duration) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		sh.mu.Lock()
		for _, t := range sh.pending {
			heap.Push(&sh.h, heapEntry{next: t.sched().next, t: t})
		}
		sh.pending = sh.pending[:0]
		sh.mu.Unlock()
		if len(sh.h) == 0 {
			select {
			case <-sh.wake:
				continue
			case <-quit:
				return
			}
		}
		if d := time.Until(sh.h[0].next); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-sh.wake:
				timer.Stop()
				continue
			case <-quit:
				return
			}
		}
		sh.wakes.Add(1)
		horizon := time.Now().Add(slack)
		for len(sh.h) > 0 {
			if sh.h[0].next.After(horizon) {
				break
			}
			t := sh.h[0].t
			st := t.sched()
			if !t.tick(st.next) {
				heap.Pop(&sh.h)
				continue
			}
			st.n++
			st.next = st.base.Add(time.Duration(st.n) * st.period)
			sh.h[0].next = st.next
			heap.Fix(&sh.h, 0)
		}
		select {
		case <-quit:
			return
		default:
		}
	}
}

// tickHeap keeps each ticker's next due time in the heap itself, so
// ordering thousands of rooms compares adjacent memory instead of chasing
// a pointer into every room's state (a cache miss per comparison, and
// most of a shard's time with thousands of rooms).
type tickHeap []heapEntry

type heapEntry struct {
	next time.Time // a copy of t.sched().next
	t    ticker
}

func (h tickHeap) Len() int           { return len(h) }
func (h tickHeap) Less(i, j int) bool { return h[i].next.Before(h[j].next) }
func (h tickHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *tickHeap) Push(x any)        { *h = append(*h, x.(heapEntry)) }
func (h *tickHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = heapEntry{}
	*h = old[:len(old)-1]
	return e
}
