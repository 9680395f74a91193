// Package ids generates snowflake-style 64-bit IDs for players, rooms and
// matches: unique across server nodes without coordination (each node has
// its own node ID, from configuration) and increasing within a node, so
// they sort by creation time and index well.
//
// Layout, most significant bit first:
//
//	 1 bit   0 (IDs fit an int64 as well, for stores that only have signed integers)
//	41 bits  milliseconds since Epoch (2026-01-01T00:00:00Z): good until 2095
//	10 bits  node ID, 0-1023
//	12 bits  sequence within the millisecond, 0-4095
//
// A node therefore issues at most 4,096 IDs a millisecond (4,096,000 a
// second); past that, Next waits for the next millisecond.
//
// The clock may step back (NTP correction, VM migration). An ID issued
// after a step back could repeat one issued before it, so the generator
// never issues an ID while the clock reads earlier than the last ID's
// millisecond: when the step is at most MaxBackwardWait (default 1 s) Next
// sleeps until the clock has passed it again, and when it is larger Next
// refuses with a *ClockBackwardsError (errors.Is ErrClockBackwards) and
// issues nothing, rather than stall callers for an unbounded time. Either
// way no ID is duplicated or smaller than one issued before by the same
// Generator.
//
// Uniqueness across processes rests on two things the package cannot check:
// no two running nodes share a node ID, and a node restarted after its clock
// stepped back waits that step out before issuing (a restart forgets the
// last timestamp).
package ids

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// Layout constants.
const (
	// EpochMillis is the Unix time in milliseconds of the IDs' zero,
	// 2026-01-01T00:00:00Z.
	EpochMillis = 1767225600000

	TimeBits = 41
	NodeBits = 10
	SeqBits  = 12

	MaxNode = 1<<NodeBits - 1 // the largest node ID, 1023
	MaxSeq  = 1<<SeqBits - 1  // the largest sequence number, 4095

	maxMillis = 1<<TimeBits - 1
	nodeShift = SeqBits
	timeShift = SeqBits + NodeBits

	// DefaultMaxBackwardWait is how far the clock may step back before
	// Next refuses instead of waiting.
	DefaultMaxBackwardWait = time.Second
)

// ErrClockBackwards is what a *ClockBackwardsError matches with errors.Is.
var ErrClockBackwards = errors.New("ids: clock moved backwards")

// ErrTimeOutOfRange is returned when the clock reads before Epoch or after
// the 41-bit range ends (2095).
var ErrTimeOutOfRange = errors.New("ids: clock outside the ID time range")

// ClockBackwardsError reports a step back larger than the generator waits
// for. Nothing was issued; a later call succeeds once the clock has caught
// up (or has come within MaxWait of the last ID).
type ClockBackwardsError struct {
	Step    time.Duration // how far the clock is behind the last issued ID
	MaxWait time.Duration // the generator's MaxBackwardWait
}

func (e *ClockBackwardsError) Error() string {
	return fmt.Sprintf("ids: clock moved backwards by %v (waits up to %v); refusing to issue IDs", e.Step, e.MaxWait)
}

// Unwrap makes errors.Is(err, ErrClockBackwards) true.
func (e *ClockBackwardsError) Unwrap() error { return ErrClockBackwards }

// Generator issues IDs for one node. Safe for concurrent use.
type Generator struct {
	node    uint64
	now     func() time.Time
	maxWait time.Duration

	// A mutex rather than a CAS loop: Next holds it for a clock read and a
	// few comparisons, and while it waits out a step back or a full
	// millisecond the other callers would have to wait anyway.
	mu   sync.Mutex
	last int64  // millisecond (since Epoch) of the last issued ID; -1 before the first
	seq  uint64 // sequence of the last issued ID
}

// Option configures a Generator.
type Option func(*Generator)

// WithClock replaces time.Now, for tests that step the clock. The
// generator reads the wall time (Time.UnixMilli), which is the clock that
// can step back.
func WithClock(now func() time.Time) Option {
	return func(g *Generator) { g.now = now }
}

// WithMaxBackwardWait sets how large a clock step back Next waits out
// (default DefaultMaxBackwardWait); 0 refuses every step back.
func WithMaxBackwardWait(d time.Duration) Option {
	return func(g *Generator) { g.maxWait = d }
}

// New returns a generator for node, 0-MaxNode.
func New(node int, opts ...Option) (*Generator, error) {
	if node < 0 || node > MaxNode {
		return nil, fmt.Errorf("ids: node ID %d out of range 0-%d", node, MaxNode)
	}
	g := &Generator{node: uint64(node), now: time.Now, maxWait: DefaultMaxBackwardWait, last: -1}
	for _, o := range opts {
		o(g)
	}
	if g.maxWait < 0 {
		return nil, fmt.Errorf("ids: negative MaxBackwardWait %v", g.maxWait)
	}
	if g.now == nil {
		return nil, errors.New("ids: nil clock")
	}
	return g, nil
}

// Node returns the generator's node ID.
func (g *Generator) Node() int { return int(g.node) }

// Next returns a new ID, greater than every ID this generator issued
// before. It may sleep: up to a millisecond when this millisecond's 4,096
// IDs are spent, up to MaxBackwardWait after the clock stepped back. It
// fails with a *ClockBackwardsError for a larger step back and with
// ErrTimeOutOfRange outside 2026-2095; then nothing is issued.
func (g *Generator) Next() (uint64, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	ms, err := g.tick()
	if err != nil {
		return 0, err
	}
	if ms == g.last {
		g.seq++
	} else {
		g.last, g.seq = ms, 0
	}
	return uint64(ms)<<timeShift | g.node<<nodeShift | g.seq, nil
}

// tick returns the millisecond for the next ID: the clock's, once it reads
// no earlier than the last ID's and that millisecond has a sequence number
// left. It re-reads the clock after every sleep, since the clock may be
// corrected again meanwhile (or, in tests, be driven by hand).
func (g *Generator) tick() (int64, error) {
	for {
		t := g.now()
		ms := t.UnixMilli() - EpochMillis
		if ms < 0 || ms > maxMillis {
			return 0, fmt.Errorf("%w: %d ms from epoch", ErrTimeOutOfRange, ms)
		}
		if ms > g.last || ms == g.last && g.seq < MaxSeq {
			return ms, nil
		}
		if step := time.Duration(g.last-ms) * time.Millisecond; step > g.maxWait {
			return 0, &ClockBackwardsError{Step: step, MaxWait: g.maxWait}
		}
		// The first usable millisecond: the last ID's while it has
		// sequence numbers left, else the one after.
		next := g.last
		if g.seq == MaxSeq {
			next++
		}
		time.Sleep(time.UnixMilli(EpochMillis + next).Sub(t))
	}
}

// Parse splits an ID into its creation time (UTC, millisecond precision),
// node ID and sequence number.
func Parse(id uint64) (t time.Time, node int, seq int) {
	ms := int64(id >> timeShift)
	return time.UnixMilli(EpochMillis + ms).UTC(), int(id >> nodeShift & MaxNode), int(id & MaxSeq)
}
