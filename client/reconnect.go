package client

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
)

// stats are a client's counters (Stats).
type stats struct {
	bytesIn, msgsIn                  atomic.Uint64
	frames                           atomic.Uint64
	gaps, gapFrames, dups, dupFrames atomic.Uint64
	stale, malformed, unknown        atomic.Uint64
	desyncs                          atomic.Uint64
	reconnects, reconnectsFailed     atomic.Uint64
}

// Stats are a client's counters since it was dialled.
type Stats struct {
	BytesIn, MsgsIn uint64 // received, frame heads included
	Frames          uint64 // frames processed
	// Gaps counts batches that skipped frames (GapFrames of them); the
	// client asked for them again. Dups counts batches that repeated
	// frames already processed (DupFrames); they were skipped. Either is
	// the server's fault, or a network's that reorders.
	Gaps, GapFrames, Dups, DupFrames uint64
	Stale                            uint64 // messages of a replaced connection, or frames outside a match, ignored
	Malformed, Unknown               uint64 // messages that did not decode; of an ID the client does not read
	Desyncs                          uint64
	Reconnects, ReconnectsFailed     uint64 // reconnections that resumed; attempts that failed
}

// Stats returns the client's counters. Safe for concurrent use.
func (c *Lockstep) Stats() Stats {
	s := &c.stats
	return Stats{
		BytesIn: s.bytesIn.Load(), MsgsIn: s.msgsIn.Load(), Frames: s.frames.Load(),
		Gaps: s.gaps.Load(), GapFrames: s.gapFrames.Load(), Dups: s.dups.Load(), DupFrames: s.dupFrames.Load(),
		Stale: s.stale.Load(), Malformed: s.malformed.Load(), Unknown: s.unknown.Load(), Desyncs: s.desyncs.Load(),
		Reconnects: s.reconnects.Load(), ReconnectsFailed: s.reconnectsFailed.Load(),
	}
}

// lost is a link's connection closing. For the link in use it ends the
// requests waiting on it and, unless the client is closing or Redial is
// at work, reconnects.
func (l *link) lost() {
	c := l.c
	c.failWaiters(l.gen, errLost)
	if l.gen != c.gen.Load() || c.manual.Load() {
		return
	}
	select {
	case <-c.closing:
		return
	default:
	}
	if c.kicked.Load() {
		c.shut(ErrKicked)
		return
	}
	if c.banned.Load() {
		err := ErrBanned
		if n := l.refusal.Load(); n != nil && n.Code == znet.NoticeBanned {
			err = fmt.Errorf("%w (%s)", ErrBanned, n.Reason) // the player is shown why
		}
		c.shut(err)
		return
	}
	if c.reconnecting.CompareAndSwap(false, true) {
		go c.reconnect()
	}
}

// reconnect dials again on the Backoff schedule until a login succeeds,
// the Backoff gives up, or the client closes.
func (c *Lockstep) reconnect() {
	defer c.reconnecting.Store(false)
	c.push(event{state: StateReconnecting, err: errLost})
	b := c.d.cfg.Backoff
	if b.Attempts < 0 {
		c.shut(fmt.Errorf("client: connection lost, and Backoff.Attempts < 0: %w", errLost))
		return
	}
	var err error
	n := 0
	for ; n < b.Attempts; n++ {
		wait := b.Delay(n, nil)
		if ra := time.Duration(c.retryAfter.Swap(0)); ra > 0 {
			wait += ra // the server said when it will be back
		}
		t := time.NewTimer(wait)
		select {
		case <-c.closing:
			t.Stop()
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), c.d.cfg.DialTimeout+c.d.cfg.RequestTimeout)
		go func() {
			select {
			case <-c.closing:
				cancel()
			case <-ctx.Done():
			}
		}()
		err = c.connect(ctx, true)
		cancel()
		if err == nil {
			c.resumed()
			return
		}
		c.stats.reconnectsFailed.Add(1)
		c.log.Warn("client: reconnection failed", "attempt", n+1, "err", err)
		if permanent(err) || errors.Is(err, ErrNoSeat) {
			n++
			break
		}
	}
	c.shut(fmt.Errorf("client: reconnecting: gave up after %d attempts: %w", n, err))
}

// resumed tells the handler a reconnection logged in.
func (c *Lockstep) resumed() {
	c.stats.reconnects.Add(1)
	var err error
	if c.noSeat.Load() {
		err = ErrNoSeat
	}
	c.push(event{state: StateResumed, err: err})
}

// SwitchTo moves the client to addr, another of the server's transports
// (kcp://host:port from host:port, say, when the measured jitter grows,
// or back), as Redial does with no time offline: the seat is resumed on
// the new connection and the frames caught up from the last one taken,
// so none is lost or repeated. Later reconnections use addr too.
func (c *Lockstep) SwitchTo(ctx context.Context, addr string) error {
	c.mu.Lock()
	c.addr = addr
	c.mu.Unlock()
	return c.Redial(ctx, 0)
}

// Addr is the address the client dials (the last SwitchTo's, or the
// one it was dialled with). Safe for concurrent use.
func (c *Lockstep) Addr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addr
}

// Redial replaces the connection as a player switching networks would:
// it closes the connection, stays offline for offline, dials again, logs
// in with the token and resumes the seat, then returns. The match's
// frames are caught up from the last one taken; none is lost or repeated.
func (c *Lockstep) Redial(ctx context.Context, offline time.Duration) error {
	if !c.manual.CompareAndSwap(false, true) {
		return errors.New("client: Redial already under way")
	}
	defer c.manual.Store(false)
	for c.reconnecting.Load() { // let an automatic reconnection finish first
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.closing:
			return ErrClosed
		case <-time.After(10 * time.Millisecond):
		}
	}
	c.mu.Lock()
	l := c.link
	c.mu.Unlock()
	if l != nil {
		l.conn.Stop()
		select {
		case <-l.conn.Done():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if offline > 0 {
		t := time.NewTimer(offline)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	c.push(event{state: StateReconnecting, err: errLost})
	if err := c.connect(ctx, true); err != nil {
		c.stats.reconnectsFailed.Add(1)
		// The automatic reconnection takes over.
		if c.reconnecting.CompareAndSwap(false, true) {
			go c.reconnect()
		}
		return err
	}
	c.resumed()
	return nil
}

// Drop closes the connection as a network fault would; the client then
// reconnects by itself. For tests and drills.
func (c *Lockstep) Drop() {
	c.mu.Lock()
	l := c.link
	c.mu.Unlock()
	if l != nil {
		l.conn.Stop()
	}
}

// keepAlive pings the server every d on the link in use, for the RTT and
// to stay clear of its HeartbeatTimeout.
func (c *Lockstep) keepAlive(d time.Duration) {
	id := c.d.cfg.Net.PingMsgID
	if id == zconf.MsgIDOff {
		return
	}
	t := time.NewTicker(d)
	defer t.Stop()
	var b [8]byte
	for {
		select {
		case <-c.closing:
			return
		case now := <-t.C:
			if l, err := c.current(); err == nil {
				if dead := c.d.cfg.DeadAfter; dead > 0 && now.Sub(time.Unix(0, l.heard.Load())) > dead {
					c.log.Warn("client: the server has been silent; reconnecting", "silent_for", dead)
					l.conn.Stop() // lost: reconnects as after a drop
					continue
				}
				binary.LittleEndian.PutUint64(b[:], uint64(now.UnixNano()))
				_ = l.conn.SendMsg(id, b[:])
			}
		}
	}
}

// shut closes the client with err (once): the connection, the event
// goroutine after its queue, and a Dialer of its own.
func (c *Lockstep) shut(err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed, c.err = true, err
	l := c.link
	c.mu.Unlock()
	close(c.closing)
	if l != nil {
		l.conn.Stop()
	}
	go func() {
		<-c.evDone
		if c.ownD {
			_ = c.d.Close()
		}
		close(c.done)
	}()
}
