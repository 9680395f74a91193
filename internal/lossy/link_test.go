package lossy

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func newTestLink(t *testing.T, p Profile, maxPackets, maxBytes int) *link {
	t.Helper()
	var prof atomic.Pointer[Profile]
	prof.Store(&p)
	l := newLink(&prof, 1, maxPackets, maxBytes)
	t.Cleanup(l.stop)
	return l
}

// collector gathers delivered packets with their arrival times.
type collector struct {
	mu   sync.Mutex
	got  [][]byte
	when []time.Time
	n    atomic.Int64
}

func (c *collector) deliver(b []byte) {
	c.mu.Lock()
	c.got = append(c.got, b)
	c.when = append(c.when, time.Now())
	c.mu.Unlock()
	c.n.Add(1)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestLinkDelayKeepsOrder(t *testing.T) {
	const delay = 15 * time.Millisecond
	l := newTestLink(t, Profile{Delay: delay}, 100, 1<<20)
	var c collector
	sent := time.Now()
	for i := range 20 {
		l.send([]byte{byte(i)}, c.deliver)
	}
	waitFor(t, "20 deliveries", func() bool { return c.n.Load() == 20 })
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, b := range c.got {
		if b[0] != byte(i) {
			t.Fatalf("packet %d is %d: reordered with no jitter", i, b[0])
		}
		if d := c.when[i].Sub(sent); d < delay {
			t.Fatalf("packet %d delivered after %v, want >= %v", i, d, delay)
		}
	}
	// Delivered counts after the callback returns: wait for the last one.
	waitFor(t, "the deliveries counted", func() bool { return l.stats().Delivered == 20 })
	if s := l.stats(); s.Sent != 20 || s.Delivered != 20 || s.OutOfOrder != 0 || s.Queued != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestLinkQueueBound(t *testing.T) {
	l := newTestLink(t, Profile{Delay: time.Minute}, 10, 1<<20)
	var c collector
	for range 25 {
		l.send(make([]byte, 100), c.deliver)
	}
	s := l.stats()
	if s.DroppedQueue != 15 || s.Queued != 10 {
		t.Fatalf("packet bound: stats %+v, want 15 dropped, 10 queued", s)
	}

	l = newTestLink(t, Profile{Delay: time.Minute}, 100, 1000)
	for range 25 {
		l.send(make([]byte, 100), c.deliver)
	}
	if s := l.stats(); s.DroppedQueue != 15 || s.Queued != 10 {
		t.Fatalf("byte bound: stats %+v, want 15 dropped, 10 queued", s)
	}
}

func TestLinkReorder(t *testing.T) {
	l := newTestLink(t, Profile{Reorder: 0.3, Delay: 2 * time.Millisecond}, 1000, 1<<20)
	var c collector
	for i := range 200 {
		l.send([]byte{byte(i)}, c.deliver)
	}
	waitFor(t, "200 deliveries", func() bool { return c.n.Load() == 200 })
	s := l.stats()
	if s.Reordered == 0 || s.OutOfOrder == 0 {
		t.Fatalf("Reorder 0.3 over 200 packets reordered none: %+v", s)
	}
}

func TestLinkStopDiscards(t *testing.T) {
	var prof atomic.Pointer[Profile]
	prof.Store(&Profile{Delay: time.Minute})
	l := newLink(&prof, 1, 10, 1<<20)
	var c collector
	l.send([]byte{1}, c.deliver)
	l.stop()
	l.stop() // idempotent
	l.send([]byte{2}, c.deliver)
	if n := c.n.Load(); n != 0 {
		t.Fatalf("%d packets delivered after stop", n)
	}
}
