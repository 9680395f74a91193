package ids_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/game/account/ids"
)

// offsetClock is the real clock shifted by an offset the test changes,
// so steps back are real steps that the generator waits out in real time.
type offsetClock struct{ offset atomic.Int64 }

func (c *offsetClock) now() time.Time       { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *offsetClock) step(d time.Duration) { c.offset.Add(int64(d)) }

// manualClock only moves when the test moves it.
type manualClock struct{ ns atomic.Int64 }

func newManualClock(t time.Time) *manualClock {
	c := &manualClock{}
	c.ns.Store(t.UnixNano())
	return c
}
func (c *manualClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *manualClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func mustNew(t testing.TB, node int, opts ...ids.Option) *ids.Generator {
	t.Helper()
	g, err := ids.New(node, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func mustNext(t testing.TB, g *ids.Generator) uint64 {
	t.Helper()
	id, err := g.Next()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// Several generators (nodes) in parallel, 200,000 IDs in all: each
// generator's IDs strictly increase and carry its node, and no ID repeats
// across generators.
func TestGeneratorsInParallel(t *testing.T) {
	nodes := []int{0, 1, 2, 3, 511, 512, 1022, ids.MaxNode}
	const perNode = 25_000
	got := make([][]uint64, len(nodes))
	var wg sync.WaitGroup
	for i, node := range nodes {
		g := mustNew(t, node)
		wg.Go(func() {
			out := make([]uint64, 0, perNode)
			for range perNode {
				id, err := g.Next()
				if err != nil {
					t.Error(err)
					return
				}
				out = append(out, id)
			}
			got[i] = out
		})
	}
	wg.Wait()

	seen := make(map[uint64]int, len(nodes)*perNode)
	for i, out := range got {
		if len(out) != perNode {
			t.Fatalf("node %d: %d IDs, want %d", nodes[i], len(out), perNode)
		}
		for j, id := range out {
			if j > 0 && id <= out[j-1] {
				t.Fatalf("node %d: ID %d = %#x not above the previous %#x", nodes[i], j, id, out[j-1])
			}
			if _, node, _ := ids.Parse(id); node != nodes[i] {
				t.Fatalf("node %d issued %#x with node %d", nodes[i], id, node)
			}
			if other, dup := seen[id]; dup {
				t.Fatalf("%#x issued by nodes %d and %d", id, other, nodes[i])
			}
			seen[id] = nodes[i]
		}
	}
}

// One generator shared by several goroutines: no duplicate, and each
// goroutine sees its own IDs increase.
func TestSharedGenerator(t *testing.T) {
	g := mustNew(t, 7)
	const workers, each = 4, 20_000
	got := make([][]uint64, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range each {
				id, err := g.Next()
				if err != nil {
					t.Error(err)
					return
				}
				got[w] = append(got[w], id)
			}
		})
	}
	wg.Wait()
	seen := make(map[uint64]bool, workers*each)
	for w, out := range got {
		for j, id := range out {
			if j > 0 && id <= out[j-1] {
				t.Fatalf("worker %d: %#x after %#x", w, id, out[j-1])
			}
			if seen[id] {
				t.Fatalf("duplicate %#x", id)
			}
			seen[id] = true
		}
	}
	if len(seen) != workers*each {
		t.Fatalf("%d IDs, want %d", len(seen), workers*each)
	}
}

// A step back within MaxBackwardWait is waited out: Next returns late, and
// with an ID above the last.
func TestClockStepBackSmallWaits(t *testing.T) {
	var c offsetClock
	g := mustNew(t, 1, ids.WithClock(c.now))
	var last uint64
	for range 100 {
		last = mustNext(t, g)
	}
	const step = 50 * time.Millisecond
	c.step(-step)
	start := time.Now()
	id := mustNext(t, g)
	waited := time.Since(start)
	if id <= last {
		t.Fatalf("after a step back: %#x, not above %#x", id, last)
	}
	// The clock is ~50 ms behind the last ID, so Next sleeps until it
	// catches up; allow for the time the first 100 IDs took.
	if waited < step-10*time.Millisecond {
		t.Fatalf("Next returned after %v; it should have waited out the %v step", waited, step)
	}
	if next := mustNext(t, g); next <= id {
		t.Fatalf("%#x after %#x", next, id)
	}
}

// A step back beyond MaxBackwardWait is refused at once with the step's
// size, and nothing is issued; once the clock is back, IDs continue above
// the last.
func TestClockStepBackLargeRefused(t *testing.T) {
	var c offsetClock
	g := mustNew(t, 2, ids.WithClock(c.now), ids.WithMaxBackwardWait(100*time.Millisecond))
	last := mustNext(t, g)

	c.step(-2 * time.Second)
	start := time.Now()
	id, err := g.Next()
	if !errors.Is(err, ids.ErrClockBackwards) {
		t.Fatalf("Next after a 2 s step back = %#x, %v; want ErrClockBackwards", id, err)
	}
	if id != 0 {
		t.Fatalf("Next returned ID %#x with its error", id)
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Fatalf("the refusal took %v; it should not wait", d)
	}
	var cbe *ids.ClockBackwardsError
	if !errors.As(err, &cbe) || cbe.Step < 1900*time.Millisecond || cbe.Step > 2100*time.Millisecond || cbe.MaxWait != 100*time.Millisecond {
		t.Fatalf("error %v (%#v): want the step (~2 s) and the max wait", err, cbe)
	}

	c.step(2 * time.Second)
	if id := mustNext(t, g); id <= last {
		t.Fatalf("after the clock recovered: %#x, not above %#x", id, last)
	}
}

// With MaxBackwardWait 0 any step back is refused.
func TestClockStepBackNoWait(t *testing.T) {
	clk := newManualClock(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
	g := mustNew(t, 3, ids.WithClock(clk.now), ids.WithMaxBackwardWait(0))
	mustNext(t, g)
	clk.advance(-time.Millisecond)
	if _, err := g.Next(); !errors.Is(err, ids.ErrClockBackwards) {
		t.Fatalf("err = %v, want ErrClockBackwards", err)
	}
}

// The 4,097th ID of a millisecond waits for the next millisecond and starts
// its sequence again.
func TestSequenceOverflowWaitsForNextMillisecond(t *testing.T) {
	start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clk := newManualClock(start)
	g := mustNew(t, 5, ids.WithClock(clk.now))
	var prev uint64
	for i := range ids.MaxSeq + 1 {
		id := mustNext(t, g)
		ts, _, seq := ids.Parse(id)
		if !ts.Equal(start) || seq != i {
			t.Fatalf("ID %d: time %v seq %d, want %v seq %d", i, ts, seq, start, i)
		}
		if i > 0 && id <= prev {
			t.Fatalf("%#x after %#x", id, prev)
		}
		prev = id
	}

	type result struct {
		id  uint64
		err error
	}
	done := make(chan result, 1)
	go func() {
		id, err := g.Next()
		done <- result{id, err}
	}()
	select {
	case r := <-done:
		t.Fatalf("Next returned %#x, %v with the millisecond's sequence spent and the clock stopped", r.id, r.err)
	case <-time.After(30 * time.Millisecond):
	}
	clk.advance(time.Millisecond)
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatal(r.err)
		}
		id := r.id
		ts, node, seq := ids.Parse(id)
		if !ts.Equal(start.Add(time.Millisecond)) || node != 5 || seq != 0 || id <= prev {
			t.Fatalf("after the overflow: %#x = %v node %d seq %d", id, ts, node, seq)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next still waiting after the clock moved on")
	}
}

func TestNew(t *testing.T) {
	for _, node := range []int{-1, ids.MaxNode + 1, 1 << 20} {
		if _, err := ids.New(node); err == nil {
			t.Errorf("New(%d) accepted", node)
		}
	}
	for _, node := range []int{0, ids.MaxNode} {
		g := mustNew(t, node)
		if g.Node() != node {
			t.Errorf("Node() = %d, want %d", g.Node(), node)
		}
	}
	if _, err := ids.New(1, ids.WithMaxBackwardWait(-time.Second)); err == nil {
		t.Error("negative MaxBackwardWait accepted")
	}
	if _, err := ids.New(1, ids.WithClock(nil)); err == nil {
		t.Error("nil clock accepted")
	}
}

func TestTimeOutOfRange(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC),
		time.UnixMilli(ids.EpochMillis + 1<<ids.TimeBits),
	} {
		g := mustNew(t, 1, ids.WithClock(func() time.Time { return at }))
		if _, err := g.Next(); !errors.Is(err, ids.ErrTimeOutOfRange) {
			t.Errorf("at %v: err = %v, want ErrTimeOutOfRange", at, err)
		}
	}
}

// Parse inverts the documented layout.
func TestParseRoundTrip(t *testing.T) {
	at := time.Date(2031, 3, 4, 5, 6, 7, 89_000_000, time.UTC)
	clk := newManualClock(at.Add(654 * time.Microsecond)) // sub-millisecond part is dropped
	g := mustNew(t, 777, ids.WithClock(clk.now))
	for seq := range 3 {
		id := mustNext(t, g)
		ms := uint64(at.UnixMilli() - ids.EpochMillis)
		if want := ms<<22 | 777<<12 | uint64(seq); id != want {
			t.Fatalf("ID %#x, want %#x", id, want)
		}
		if int64(id) < 0 {
			t.Fatalf("ID %#x has the sign bit set", id)
		}
		ts, node, s := ids.Parse(id)
		if !ts.Equal(at) || ts.Location() != time.UTC || node != 777 || s != seq {
			t.Fatalf("Parse(%#x) = %v, %d, %d; want %v, 777, %d", id, ts, node, s, at, seq)
		}
	}
	if ts, node, seq := ids.Parse(0); ts.UnixMilli() != ids.EpochMillis || node != 0 || seq != 0 {
		t.Fatalf("Parse(0) = %v, %d, %d", ts, node, seq)
	}
}

// BenchmarkNext runs on the real clock, so past 4,096 IDs a millisecond it
// measures the layout's ceiling (244 ns/ID) rather than the generator.
func BenchmarkNext(b *testing.B) {
	g := mustNew(b, 1)
	for b.Loop() {
		if _, err := g.Next(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNextParallel(b *testing.B) {
	g := mustNew(b, 1)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := g.Next(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkNextUncapped moves a fake clock on a millisecond per call, so
// the sequence never runs out: the generator's own cost.
func BenchmarkNextUncapped(b *testing.B) {
	clk := newManualClock(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC))
	g := mustNew(b, 1, ids.WithClock(func() time.Time {
		clk.advance(time.Millisecond)
		return clk.now()
	}))
	for b.Loop() {
		if _, err := g.Next(); err != nil {
			b.Fatal(err)
		}
	}
}
