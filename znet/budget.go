package znet

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	rtmetrics "runtime/metrics"
	"slices"
	"sync/atomic"
	"time"

	"github.com/zinxgame/zinxgame/zconf"
)

// The server-wide budget (MaxQueuedBytes) caps the bytes held for clients:
// what each send queue holds (queued and being written) and the received
// messages waiting for a handler (in the mailbox, or in a batch the reader
// waits to hand over). Per-connection bounds (MaxSendQueueBytes,
// MaxWorkerTaskLen) keep one client from holding much; the budget keeps a
// crowd of them, each within its bounds, from taking the server's memory.
//
// Accounting stays off the hot path's shared cache lines. Each connection
// keeps the exact count of what it holds in its own atomic, updated once
// per read batch, per handled batch and whenever its send queue settles
// (see sendQueue), and publishes it to the server's total only when it has
// moved by budgetGrain since the last time, or dropped to zero. An echo
// round trip of small messages, which the queue writes at the end of the
// batch that made it, so never publishes at all. The total is thus exact
// to within budgetGrain per connection holding something.
//
// Over the budget, the connections holding the most are cut, not the one
// that happened to push last: a publish that takes the total over starts
// a pass (one at a time, at most one per budgetPassEvery) that reads every
// connection's count, sorts those holding anything, and cuts from the top
// until what the others hold is under 15/16 of the budget. A cut drops the
// connection's send queue, offers it a notice (NoticeOverloaded) and
// closes its socket at once, so its bytes are released now, not after
// WriteTimeout; its handlers still drain and its hooks run as for any close.

const (
	// budgetGrain is how far a connection's count may move before the
	// total hears of it.
	budgetGrain = 4 << 10
	// budgetPassEvery spaces the passes: one reads every connection, so a
	// sustained overload must not run them back to back.
	budgetPassEvery = 2 * time.Millisecond
	// budgetWait bounds how long a reader waits for the budget before it
	// hands over a batch anyway (see admit), polling every budgetPoll.
	budgetWait = 10 * time.Millisecond
	budgetPoll = 200 * time.Microsecond
)

// budget is a server's MaxQueuedBytes. Its methods are safe for
// concurrent use.
type budget struct {
	max   int64
	conns *ConnManager
	log   *slog.Logger
	logs  *LogThrottle

	total atomic.Int64 // published bytes of every connection
	peak  atomic.Int64 // the highest total published
	cuts  atomic.Uint64
	busy  atomic.Bool  // a pass is running
	next  atomic.Int64 // Unix ns before which no pass starts
}

// newBudget returns the server's budget, or nil when MaxQueuedBytes is off.
func newBudget(cfg *zconf.Config, conns *ConnManager, log *slog.Logger, logs *LogThrottle) *budget {
	limit := cfg.QueuedBytesLimit()
	if limit <= 0 {
		return nil
	}
	return &budget{max: heldLimit(limit, gcPercent()), conns: conns, log: log, logs: logs}
}

// heldLimit is how many bytes the server may hold for a memory budget of
// limit. Queued bytes are live data, and a Go heap is bigger than its live
// data: between two collections it grows to 1 + GOGC/100 times what was
// live after the last one (twice, at the default GOGC of 100), and a heap
// that allocates as fast as an attack makes it (gigabytes a second of
// requests read, copied and dropped) keeps more again, in objects
// allocated during a collection and pages freed but not yet returned.
// Measured under the non-reading attack (tests/nonread), RSS rose by 3.5
// to 4 times the bytes held at GOGC 100, so the bytes get limit / ((1 +
// GOGC/100) × heapSlack): a quarter of it at the default. With the collector off
// (GOGC=off; a memory limit governs then), they get the whole budget.
func heldLimit(limit int64, gogc uint64) int64 {
	if gogc == 0 || gogc > 10_000 {
		return limit
	}
	return max(limit*100*heapSlackDen/(int64(100+gogc)*heapSlackNum), 64<<10)
}

// heapSlack (heapSlackNum/heapSlackDen, 2) is what the heap keeps beyond
// 1 + GOGC/100 times its live data under an attack's allocation rate; see
// heldLimit.
const heapSlackNum, heapSlackDen = 2, 1

// gcPercent is GOGC as the runtime has it now.
func gcPercent() uint64 {
	s := []rtmetrics.Sample{{Name: "/gc/gogc:percent"}}
	rtmetrics.Read(s)
	if s[0].Value.Kind() != rtmetrics.KindUint64 {
		return 100
	}
	return s[0].Value.Uint64()
}

// connBudget is a connection's share of the accounting.
type connBudget struct {
	held      atomic.Int64 // bytes held now, exactly
	published atomic.Int64 // what the server's total counts for them
	cut       atomic.Bool  // cut by the budget
}

// hold adds delta (negative: releases) to what the connection holds.
func (c *Connection) hold(delta int) {
	n := c.acct.held.Add(int64(delta))
	if b := c.eng.budget; b != nil {
		b.publish(&c.acct, n)
	}
}

// publish brings the total up to date with a connection now holding n,
// when it has moved by budgetGrain or dropped to zero. The loop re-reads
// held, so whichever goroutine publishes last publishes the latest count.
func (b *budget) publish(a *connBudget, n int64) {
	for {
		p := a.published.Load()
		d := n - p
		if d < budgetGrain && d > -budgetGrain && (n != 0 || p == 0) {
			return
		}
		if a.published.CompareAndSwap(p, n) {
			t := b.total.Add(d)
			if d > 0 {
				b.raisePeak(t)
				if t > b.max {
					b.over()
				}
			}
			return
		}
		n = a.held.Load()
	}
}

func (b *budget) raisePeak(t int64) {
	for {
		p := b.peak.Load()
		if t <= p || b.peak.CompareAndSwap(p, t) {
			return
		}
	}
}

// holdRead adds n bytes a reader is about to hand to the handlers. A batch
// of budgetGrain or more is admitted into the total first (reserve); a
// smaller one is published like any change.
func (c *Connection) holdRead(n int) {
	if b := c.eng.budget; b != nil && n >= budgetGrain {
		b.reserve(int64(n))
		c.acct.published.Add(int64(n)) // before held, so publish sees no change to make
	}
	c.hold(n)
}

// reserve adds n to the total once it fits under the budget. While it does
// not, the reader runs a pass itself (it holds no lock) or waits for the
// one running: a crowd that sends without reading is held back at the
// source, not only cut after the fact. It waits at most budgetWait, then
// adds n anyway: what keeps the total up may be bytes already on their way
// out, and a stalled reader must not become a stalled server.
func (b *budget) reserve(n int64) {
	var deadline time.Time
	for {
		t := b.total.Load()
		if t+n <= b.max || (!deadline.IsZero() && time.Now().After(deadline)) {
			if b.total.CompareAndSwap(t, t+n) {
				b.raisePeak(t + n)
				if t+n > b.max {
					b.over()
				}
				return
			}
			continue
		}
		if time.Now().UnixNano() >= b.next.Load() && b.busy.CompareAndSwap(false, true) {
			b.pass()
			continue
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(budgetWait)
		}
		time.Sleep(budgetPoll)
	}
}

// over starts a pass unless one runs or ran too recently. The pass runs on
// its own goroutine: publish is called with a send queue's lock held, and
// cutting takes other queues' locks.
func (b *budget) over() {
	if time.Now().UnixNano() < b.next.Load() || !b.busy.CompareAndSwap(false, true) {
		return
	}
	go b.pass()
}

type consumer struct {
	c    *Connection
	held int64
}

// pass cuts the connections holding the most until the rest hold under
// 15/16 of the budget. Connections already cut are left out: their bytes
// are on their way out.
func (b *budget) pass() {
	defer func() {
		b.next.Store(time.Now().Add(budgetPassEvery).UnixNano())
		b.busy.Store(false)
	}()
	var cs []consumer
	var live int64
	b.conns.rangeConns(func(c *Connection) {
		if h := c.acct.held.Load(); h > 0 && !c.acct.cut.Load() {
			live += h
			cs = append(cs, consumer{c, h})
		}
	})
	if live <= b.max {
		return
	}
	slices.SortFunc(cs, func(x, y consumer) int { return cmp.Compare(y.held, x.held) })
	target := b.max - b.max/16
	for _, x := range cs {
		if live <= target {
			break
		}
		if x.c.cutOverBudget(b, x.held) {
			b.cuts.Add(1)
		}
		live -= x.held
	}
}

// cutOverBudget closes c at once for the budget. It reports whether this
// call cut it.
func (c *Connection) cutOverBudget(b *budget, held int64) bool {
	if !c.cutNow(Notice{Code: NoticeOverloaded, Reason: fmt.Sprintf(
		"the server is short of memory for its clients and this connection held the most (%d bytes)", held)}) {
		return false
	}
	b.logs.Log(c.log, "over_budget", slog.LevelWarn,
		"znet: MaxQueuedBytes reached; closing the connection holding the most",
		"held_bytes", held, "max_queued_bytes", b.max)
	return true
}

// cutNow closes c at once, for a client that does not read what it is
// sent (its send queue is full, or it holds the most of the budget): what
// is queued for it is dropped, the notice is offered to the socket if it
// can take it without blocking, and the socket closes, which also ends a
// write in progress, so the bytes are released now rather than after
// WriteTimeout. Its handlers still drain and its hooks run as for any
// close. It reports whether this call cut it.
func (c *Connection) cutNow(n Notice) bool {
	if !c.acct.cut.CompareAndSwap(false, true) {
		return false
	}
	c.stop()
	c.sendq.abandon(c.eng.pack.appendPacket(nil, c.eng.cfg.NoticeMsgID, n.encode()))
	_ = c.conn.Close()
	return true
}

// waitSendRoom holds the reader while the client lets its send queue fill
// (sendQueue.backlog): a client that does not read its replies gets no more
// requests read, so it holds its replies, not its replies and its requests.
// TCP pushes back on it meanwhile. Stop ends the wait.
func (c *Connection) waitSendRoom() {
	for c.sendq.backlog.Load() {
		select {
		case <-c.sendq.room:
		case <-c.ctx.Done():
			return
		}
	}
}

// WaitSendRoom blocks while the connection's send queue holds half of its
// bytes bound or more (until it is down to a quarter), or until ctx ends
// or the connection stops; it returns ctx's error, or ErrConnClosed once
// the connection has stopped. A goroutine that streams bulk data to one
// client (a catch-up, a replay) calls it before each chunk, so the stream
// follows the client's reading instead of filling the queue and getting
// the client cut as too slow. Safe for concurrent use; it never holds the
// token the reader waits for.
func (c *Connection) WaitSendRoom(ctx context.Context) error {
	for c.sendq.backlog.Load() {
		select {
		case <-c.sendq.room:
			// Pass the token on: the reader may be waiting for it too.
			select {
			case c.sendq.room <- struct{}{}:
			default:
			}
			if c.sendq.backlog.Load() {
				// Still full: the token was stale; wait a moment rather
				// than spin on our own token.
				select {
				case <-time.After(time.Millisecond):
				case <-ctx.Done():
					return ctx.Err()
				case <-c.ctx.Done():
					return ErrConnClosed
				}
			}
		case <-ctx.Done():
			return ctx.Err()
		case <-c.ctx.Done():
			return ErrConnClosed
		}
	}
	if c.ctx.Err() != nil {
		return ErrConnClosed
	}
	return nil
}

// queuedBytes is the published total, its peak and its limit.
func (b *budget) queuedBytes() (now, peak, limit int64) {
	if b == nil {
		return 0, 0, 0
	}
	return b.total.Load(), b.peak.Load(), b.max
}

// overBudgetCuts is how many connections the budget cut.
func (b *budget) overBudgetCuts() uint64 {
	if b == nil {
		return 0
	}
	return b.cuts.Load()
}

// budgetSlack bounds how far over its budget a server may go: the replies
// of the batches running when it is reached (readers wait, handlers do not)
// and what each worker's connection had not published yet.
func budgetSlack(workers, maxPackage int) int64 {
	return int64(max(workers, 1)) * (maxReadBatch*int64(maxPackage+HeadLen) + budgetGrain)
}
