package client

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/znet"
)

// link is one connection of a client. A reconnection makes a new link;
// the old one's late messages are told apart by gen.
type link struct {
	c     *Lockstep
	conn  *znet.Connection
	gen   uint32
	ready atomic.Bool // logged in (and the seat resumed): requests may use it
	// ended is set by the reader when a MatchEnd arrives, before the
	// request it precedes is answered: a Reconnect answered MatchEnd then
	// ERROR_NO_SEAT found the match over (its server stopped), not the
	// seat lost.
	ended atomic.Bool
	// heard is when the server last sent anything (Unix ns), for
	// DeadAfter; set at the dial and by the reader.
	heard atomic.Int64
	// refusal is a "banned" or "maintenance" notice the link received: the
	// server sends it before refusing the login or closing, so the login's
	// error can say why (ErrBanned, ErrMaintenance).
	refusal atomic.Pointer[znet.Notice]
}

// refused is err, a failed login on l, wrapped with ErrBanned or
// ErrMaintenance when the server said so first.
func (l *link) refused(err error) error {
	n := l.refusal.Load()
	switch {
	case n == nil:
		return err
	case n.Code == znet.NoticeBanned:
		return fmt.Errorf("%w (%s): %w", ErrBanned, n.Reason, err)
	case n.Code == znet.NoticeMaintenance:
		return fmt.Errorf("%w (%s): %w", ErrMaintenance, n.Reason, err)
	}
	return err
}

// headLen is the frame head every message carries (Zinx framing).
const headLen = 8

// waiter is a request waiting for its answer on one link.
type waiter struct {
	gen  uint32
	req  uint32                                // the request's message ID, matched to Error.request_id
	want func(id uint32, m proto.Message) bool // whether a message answers it
	ch   chan reply                            // buffered: the reader never blocks on it
}

type reply struct {
	msg proto.Message
	err error
}

// newMessage returns the message type of a server message ID, nil for an
// ID the client does not read.
func newMessage(id uint32) proto.Message {
	switch id {
	case lspb.MsgLoginAck:
		return &commonpb.LoginAck{}
	case lspb.MsgRoomListAck:
		return &lspb.RoomListAck{}
	case lspb.MsgRoomState:
		return &lspb.RoomState{}
	case lspb.MsgPlayerEvent:
		return &lspb.PlayerEvent{}
	case lspb.MsgMatchStart:
		return &lspb.MatchStart{}
	case lspb.MsgFrames, lspb.MsgCatchUp:
		return &lspb.FrameBatch{}
	case lspb.MsgDesync:
		return &lspb.Desync{}
	case lspb.MsgMatchEnd:
		return &lspb.MatchEnd{}
	case lspb.MsgError:
		return &commonpb.Error{}
	case lspb.MsgLogoutAck:
		return &commonpb.LogoutAck{}
	}
	return nil
}

// receive takes one message off the link's connection. It runs on the
// connection's reader, one message at a time: it answers a waiting
// request at once, then queues the message for the client's event
// goroutine (blocking while that queue is full, which holds the reader
// back, and so the server, instead of dropping a frame).
func (l *link) receive(id uint32, data []byte) {
	c := l.c
	l.heard.Store(time.Now().UnixNano())
	c.stats.bytesIn.Add(uint64(len(data) + headLen))
	c.stats.msgsIn.Add(1)
	if f := c.h.OnMessage; f != nil {
		f(id, len(data))
	}
	net := c.d.cfg.Net
	switch id {
	case net.PingMsgID:
		if len(data) == 8 {
			sent := time.Unix(0, int64(binary.LittleEndian.Uint64(data)))
			if rtt := time.Since(sent); rtt >= 0 && rtt < time.Minute {
				c.rtt.Store(int64(rtt))
			}
		}
		return
	case net.NoticeMsgID:
		n, err := znet.ParseNotice(data)
		if err != nil {
			c.stats.malformed.Add(1)
			return
		}
		switch n.Code {
		case znet.NoticeKicked:
			c.kicked.Store(true)
		case znet.NoticeBanned:
			c.banned.Store(true)
			l.refusal.Store(&n)
		case znet.NoticeMaintenance:
			l.refusal.Store(&n)
		case znet.NoticeShutdown:
			c.retryAfter.Store(int64(time.Duration(n.RetryAfterMs) * time.Millisecond))
		}
		c.push(event{l: l, notice: &n})
		return
	}
	m := newMessage(id)
	if m == nil {
		c.stats.unknown.Add(1)
		return
	}
	if err := proto.Unmarshal(data, m); err != nil {
		c.stats.malformed.Add(1)
		c.log.Warn("client: a message did not decode", "msg_id", id, "err", err)
		return
	}
	if id == lspb.MsgMatchEnd {
		l.ended.Store(true)
	}
	answered := c.answer(l, id, m)
	c.push(event{l: l, id: id, msg: m, at: time.Now(), answered: answered})
}

// answer hands m to the request on l it answers, if any; it reports
// whether one took it.
func (c *Lockstep) answer(l *link, id uint32, m proto.Message) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, w := range c.waiters {
		if w.gen != l.gen {
			continue
		}
		var r reply
		if e, ok := m.(*commonpb.Error); ok {
			if e.RequestId != w.req {
				continue
			}
			r.err = &ServerError{Code: e.Code, Message: e.Message, Request: e.RequestId}
		} else if w.want(id, m) {
			r.msg = m
		} else {
			continue
		}
		w.ch <- r
		c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
		return true
	}
	return false
}

// failWaiters ends every request waiting on link gen with err.
func (c *Lockstep) failWaiters(gen uint32, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.gen == gen {
			w.ch <- reply{err: err}
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

// maxWaiters bounds the requests waiting at once on a client.
const maxWaiters = 64

// request sends m (message ID id) on l and waits for the message want
// accepts, or an Error answering id, or the end of ctx (bounded by
// RequestTimeout when ctx has no deadline), or of the connection.
func (c *Lockstep) request(ctx context.Context, l *link, id uint32, m proto.Message, want func(uint32, proto.Message) bool) (proto.Message, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.d.cfg.RequestTimeout)
		defer cancel()
	}
	w := &waiter{gen: l.gen, req: id, want: want, ch: make(chan reply, 1)}
	c.mu.Lock()
	if len(c.waiters) >= maxWaiters {
		c.mu.Unlock()
		return nil, fmt.Errorf("client: %d requests already waiting", maxWaiters)
	}
	c.waiters = append(c.waiters, w)
	c.mu.Unlock()
	if err := l.send(id, m); err != nil {
		c.dropWaiter(w)
		return nil, err
	}
	select {
	case r := <-w.ch:
		return r.msg, r.err
	case <-l.conn.Done():
		c.dropWaiter(w)
		return nil, errLost
	case <-ctx.Done():
		c.dropWaiter(w)
		if ctx.Err() == context.DeadlineExceeded {
			return nil, fmt.Errorf("%w (message %d)", ErrTimeout, id)
		}
		return nil, ctx.Err()
	}
}

func (c *Lockstep) dropWaiter(w *waiter) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.waiters {
		if x == w {
			c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
			return
		}
	}
}

// send encodes and sends m on l.
func (l *link) send(id uint32, m proto.Message) error {
	data, err := proto.Marshal(m)
	if err != nil {
		return fmt.Errorf("client: encoding %d: %w", id, err)
	}
	if err := l.conn.SendMsg(id, data); err != nil {
		return fmt.Errorf("client: sending %d: %w", id, err)
	}
	return nil
}
