package lockstep

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/ziface"
)

// Sync frames. When the frame store's frames are Sync (store.ModeOf), a
// frame a player was sent must survive a crash of the server: the room
// still assembles and stores a frame on its tick, which never waits, but
// its packet goes to an outbox instead of the seats, and the store's
// AfterDurable releases it once the frame, and every write before it, is
// durable. Releases leave in the order they were made, whatever order the
// stores answer in: each answer marks its own release, and the outbox
// sends every release at its head that has all its answers. A release
// whose store says it never will be durable is dropped: a frame is never
// broadcast before it is durable. With Sync matches, MatchEnd is the
// match's last release, with the last frames, after EndMatch and the final
// SaveMatch.
//
// The outbox is bounded by holdFor of ticks: past it (the store is away),
// the room pauses, assembling no frame (inputs into the frame being
// assembled are refused with ERROR_BUSY once it is full), and resumes
// once half of it has drained.

// holdFor bounds the ticks of frames waiting for the store.
const holdFor = 2 * time.Second

// waitEnds waits until the MatchEnds waiting for the store have gone (or
// were dropped), or ctx ends: a shutdown's MatchEnd reaches the players
// before their connections close. Call it once no match can end any
// more.
func (l *Service) waitEnds(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		l.ends.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("game: waiting for the last MatchEnds to be durable: %w", ctx.Err())
	}
}

// outbox is a match's releases waiting for the store. Its mutex is taken
// by the room's tick (push, hand-over) and the store's goroutine (answer);
// sends happen under it, so that releases reach each connection in order
// whichever goroutine answers (SendMsg only queues).
type outbox struct {
	l     *Service
	match uint64

	mu sync.Mutex
	q  []*release // oldest first; they cover released+1.. without a gap unless one failed
	// popped is the last frame of the releases that left the outbox (sent
	// or dropped), released that of the last one sent: frames up to it
	// have reached every live seat and are durable. Written under mu; the
	// tick reads them without it.
	popped, released atomic.Uint32
	failures         atomic.Uint64
}

// release is one packet waiting for the store.
type release struct {
	upTo   uint32 // its last frame
	frames []byte // the encoded FrameBatch; nil when none
	end    []byte // the encoded MatchEnd of the match's last release
	conns  []ziface.IConnection
	wait   int   // the stores' answers still to come
	err    error // a store's refusal: the release is dropped
}

// liveConns is the connections of the seats that get live frames.
func (m *match) liveConns() []ziface.IConnection {
	cs := make([]ziface.IConnection, 0, m.seated)
	for _, s := range m.seats {
		if s != nil && s.conn != nil && s.catching == 0 {
			cs = append(cs, s.conn)
		}
	}
	return cs
}

// durables is the stores a release waits for: the frame store's when its
// frames are Sync; with end, the match store's too when its matches are
// (once when both are one store). Made once, at New.
func (l *Service) durables(end bool) []store.Durability {
	if end {
		return l.endWaits
	}
	return l.frameWaits
}

// setDurables sets what durables returns.
func (l *Service) setDurables() {
	if l.framesDur != nil {
		l.frameWaits = []store.Durability{l.framesDur}
	}
	l.endWaits = l.frameWaits
	if l.matchesDur != nil && !sameStore(l.framesDur, l.matchesDur) {
		l.endWaits = append(slices.Clip(l.endWaits), l.matchesDur)
	}
}

// sameStore reports whether a and b are one store (comparing interfaces
// of uncomparable types would panic).
func sameStore(a, b store.Durability) (same bool) {
	if a == nil || b == nil {
		return false
	}
	defer func() {
		if recover() != nil {
			same = false
		}
	}()
	return a == b
}

// push queues a release and asks the stores to answer for it. It runs on
// the room's tick. AfterDurable is called without the mutex: a store with
// everything durable already answers at once, on this goroutine.
func (o *outbox) push(r *release, ds []store.Durability) {
	r.wait = len(ds)
	o.mu.Lock()
	o.q = append(o.q, r)
	o.mu.Unlock()
	if len(ds) == 0 {
		o.answer(r, nil) // nothing to wait for (Async frames, Sync-matches end with nothing pending)
		return
	}
	for _, d := range ds {
		d.AfterDurable(func(err error) { o.answer(r, err) })
	}
}

// answer is a store's answer for r: it sends, in order, every release at
// the head of the outbox that has all its answers. It runs on the store's
// goroutine, or on the tick; it does not block.
func (o *outbox) answer(r *release, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	r.wait--
	if err != nil && r.err == nil {
		r.err = err
	}
	for len(o.q) > 0 && o.q[0].wait <= 0 {
		h := o.q[0]
		// Shift down rather than reslice, so the array is reused: the
		// queue is short (holdFor of ticks at most).
		n := copy(o.q, o.q[1:])
		o.q[n] = nil
		o.q = o.q[:n]
		o.popped.Store(h.upTo)
		if h.err != nil {
			o.dropped(h)
		} else {
			o.released.Store(h.upTo) // under mu, so before anyone sees the frames go
			o.send(h)
		}
		if h.end != nil {
			o.l.ends.Done()
		}
	}
}

// send hands a release to its connections; called with mu held.
func (o *outbox) send(r *release) {
	l := o.l
	for _, c := range r.conns {
		if r.frames != nil {
			_ = c.SendMsg(l.id(lspb.MsgFrames), r.frames)
		}
		if r.end != nil {
			_ = c.SendMsg(l.id(lspb.MsgMatchEnd), r.end)
		}
	}
	if r.frames != nil {
		l.met.bytesSent.Add(float64(len(r.conns) * (len(r.frames) + 8)))
	}
}

// dropped counts a release the store could not make durable, and logs the
// first and then one in a thousand.
func (o *outbox) dropped(r *release) {
	n := o.failures.Add(1)
	o.l.met.releasesDropped.Inc()
	if n == 1 || n%1000 == 0 {
		o.l.log.Error("game: frames not durable, so not sent (the store failed or closed)",
			"match", o.match, "up_to", r.upTo, "match_end", r.end != nil, "failures", n, "err", r.err)
	}
}

// handOverDurable is handOver with Sync frames: under the outbox's mutex,
// the seat gets directly the frames released so far that its stream has
// not sent, and joins the releases still waiting, which cover the frames
// after them; the store's goroutine, which sends under the same mutex,
// sends it nothing before, and everything after, with no gap.
func (m *match) handOverDurable(c caughtUp, s *seat) handOver {
	o := m.out
	o.mu.Lock()
	defer o.mu.Unlock()
	upTo := o.released.Load()
	if upTo > c.upTo+handOverFrames {
		return handOver{to: upTo}
	}
	if c.upTo < upTo {
		m.sendHistory(s.conn, c.upTo+1, upTo)
	}
	for _, r := range o.q {
		r.conns = append(r.conns, s.conn)
	}
	s.catching = 0
	return handOver{done: true}
}

// forget takes conn off the releases waiting: its seat is catching up
// again, and the stream will send it those frames.
func (o *outbox) forget(conn ziface.IConnection) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, r := range o.q {
		if i := slices.Index(r.conns, conn); i >= 0 {
			r.conns = slices.Delete(r.conns, i, i+1)
		}
	}
}

// liveUpTo is the last frame sent to the live seats: with Sync frames,
// the last released.
func (m *match) liveUpTo() uint32 {
	if m.l.framesDur != nil {
		return m.out.released.Load()
	}
	return m.sentUpTo
}

// held reports whether the tick must assemble no frame: the outbox holds
// more than holdFor of ticks. It logs once per pause and counts the ticks.
func (m *match) held(now time.Time) bool {
	waiting := m.sentUpTo - m.out.popped.Load()
	if m.pausedAt.IsZero() {
		if waiting <= m.maxWaiting {
			return false
		}
		m.pausedAt = now
		m.l.log.Warn("game: match paused: its frames wait for the store to make them durable",
			"room", m.r.ID(), "match", m.matchID, "frames_waiting", waiting)
	} else if waiting <= m.maxWaiting/2 {
		m.l.log.Info("game: match resumed: the store caught up", "room", m.r.ID(), "match", m.matchID,
			"paused", now.Sub(m.pausedAt))
		m.pausedAt = time.Time{}
		return false
	}
	m.l.met.pausedTicks.Inc()
	return true
}
