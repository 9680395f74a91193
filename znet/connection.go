package znet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/zinxgame/zinxgame/ziface"
)

// Connection is the one connection type: the server's accepted connections
// and the client's dialled ones share it, and any transport that provides a
// net.Conn rides the same reader, executor and writer.
//
// Lifecycle: the reader goroutine completes the TLS handshake if the
// transport has one (a failed handshake closes the connection before any
// hook runs), calls OnConnStart, reads frames and
// submits them to the executor until the peer closes, an error occurs or
// Stop is called. It then waits until every received message and Async
// completion has run, closes the send queue, waits for the writer to flush
// it, closes the socket and calls OnConnStop. That one path is the only way
// a connection ends, which is what makes Stop idempotent and the hooks run
// exactly once.
type Connection struct {
	eng    *engine
	conn   net.Conn
	id     uint64
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc

	exec  executor
	sendq *sendQueue
	// rw is the non-blocking write path (rawwrite_*.go); rw.raw is nil when
	// the transport or the platform has none. The send queue calls it, as
	// its tryWrite, under its lock.
	rw rawWrite
	// deadlineAt is when the writer next refreshes its write deadline; only
	// the writer goroutine (one at a time) touches it.
	deadlineAt time.Time

	started  atomic.Bool
	stopping atomic.Bool
	hardOnce sync.Once
	hard     chan struct{} // closed by hardClose: stop waiting for anything
	done     chan struct{} // closed after OnConnStop returned
	fullOnce sync.Once
	aborted  bool        // the request being handled called Abort; only the executor touches it
	peerDone bool        // the reader saw the peer finish (EOF or error); only the reader touches it
	hooked   bool        // OnConnStart ran, so OnConnStop must; only the reader touches it
	timedOut atomic.Bool // the keep-alive sweeper closed it for silence

	lim         *rate.Limiter // MsgRateLimit; nil when off
	rateNoticed bool          // the client was told it is limited; only the reader touches it
	sample      uint32        // picks the handler runs that are timed; only the executor touches it
	// msgsIn and bytesIn count whole frames received (the reader adds once
	// per batch); the metrics read them.
	msgsIn, bytesIn atomic.Uint64
	// lastPing is when the keep-alive sweeper last pinged (engine clock).
	lastPing int64

	// openedAt and lastSeen are the engine's coarse clock (Unix ms) when the
	// connection opened and when its last whole message arrived (0: none
	// yet); the keep-alive sweeper reads them.
	openedAt int64
	lastSeen atomic.Int64

	// refs counts the reader plus every queued message and Async call in
	// flight; drained is closed when it drops to zero.
	refs    atomic.Int64
	drained chan struct{}

	async asyncQueue

	kcpIdle *kcpIdle // a served KCP session's clock (kcp.go); nil otherwise

	acct connBudget // what it holds, for MaxQueuedBytes (budget.go)
	logs connLogs   // LogLimited's throttle (logthrottle.go)

	propMu sync.RWMutex
	props  map[string]any
}

var _ ziface.IConnection = (*Connection)(nil)

func newConnection(eng *engine, nc net.Conn, id uint64) *Connection {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Connection{
		eng:     eng,
		conn:    nc,
		id:      id,
		log:     eng.log.With("conn_id", id, "remote", nc.RemoteAddr().String()),
		ctx:     ctx,
		cancel:  cancel,
		hard:    make(chan struct{}),
		done:    make(chan struct{}),
		drained: make(chan struct{}),
	}
	c.sendq = newSendQueue(eng.cfg.MaxMsgChanLen, eng.cfg.FlushDelay, c.blockingWrite)
	c.sendq.maxBytes, c.sendq.pack, c.sendq.acct = eng.cfg.SendQueueLimit(), eng.pack, c.hold
	c.openedAt = eng.clock.Load()
	c.lastPing = c.openedAt
	c.lim = newMsgLimiter(&eng.cfg)
	bindTransport(c, nc)
	bindKCP(c, nc)
	c.refs.Store(1)
	if eng.sched != nil {
		c.exec = newMailbox(eng.sched, c, eng.cfg.MaxWorkerTaskLen)
	} else {
		c.exec = &inline{conn: c}
	}
	// Only plain TCP: a TLS or WebSocket conn wraps its own framing around
	// the bytes, so raw writes to its socket would corrupt the stream.
	if tc, ok := plainTCP(nc); ok {
		c.bindRawWrite(tc) // rawwrite_*.go: a no-op where there is no raw path
	}
	return c
}

// Start launches the reader goroutine; later calls do nothing. A writer
// goroutine runs only while there are bytes a batch could not write itself.
func (c *Connection) Start() {
	if !c.started.CompareAndSwap(false, true) {
		return
	}
	go c.readLoop()
}

// Stop begins a graceful close; see ziface.IConnection.
func (c *Connection) Stop() { c.stop() }

// stop is Stop, reporting whether this call began the close.
func (c *Connection) stop() bool {
	if !c.stopping.CompareAndSwap(false, true) {
		return false
	}
	c.cancel()
	// Unblock a pending Read; the reader notices stopping and tears down.
	_ = c.conn.SetReadDeadline(time.Now())
	return true
}

// Kick sends the client a "kicked" notice with reason, then closes the
// connection gracefully (the notice is flushed before the close). The
// error is the notice's, if it could not be queued; the close happens
// anyway.
func (c *Connection) Kick(reason string) error {
	err := c.SendMsg(c.eng.cfg.NoticeMsgID, Notice{Code: NoticeKicked, Reason: reason}.encode())
	c.Stop()
	return err
}

// hardClose abandons the graceful path: pending work is no longer waited
// for and the socket closes at once.
func (c *Connection) hardClose() {
	c.Stop()
	c.hardOnce.Do(func() {
		close(c.hard)
		_ = c.conn.Close()
	})
}

// Done is closed once the connection has fully closed and OnConnStop has run.
func (c *Connection) Done() <-chan struct{} { return c.done }

// Server is the server that accepted the connection, so a handler can
// reach it (Kick, Broadcast, Online, ...); nil for a client's connection.
func (c *Connection) Server() *Server { return c.eng.srv }

// ServerOf is the server a connection belongs to: what a handler given an
// ziface.IConnection (or req.GetConnection()) uses to reach its server.
// It is nil for a client's connection or another implementation.
func ServerOf(c ziface.IConnection) *Server {
	if zc, ok := c.(*Connection); ok {
		return zc.Server()
	}
	return nil
}

func (c *Connection) Context() context.Context { return c.ctx }
func (c *Connection) GetConnection() net.Conn  { return c.conn }
func (c *Connection) GetConnID() uint64        { return c.id }
func (c *Connection) RemoteAddr() net.Addr     { return c.conn.RemoteAddr() }
func (c *Connection) LocalAddr() net.Addr      { return c.conn.LocalAddr() }

// SendMsg queues one message; see ziface.IConnection.
func (c *Connection) SendMsg(msgID uint32, data []byte) error {
	if uint64(len(data)) > uint64(c.eng.pack.max) {
		return fmt.Errorf("%w: %d bytes, max %d", ErrPacketTooLarge, len(data), c.eng.pack.max)
	}
	return c.queued(c.sendq.push(c.eng.pack, msgID, data))
}

// SendMsgNow is SendMsg for a goroutine that sends one message to each of
// many connections, such as a lockstep room's tick: instead of starting a
// writer goroutine for the message, it writes it on the caller's goroutine
// when the socket takes it at once (a non-blocking write, TCP only), which
// saves a goroutine start and a scheduler round trip per message. When
// the connection's own handlers are mid-batch, a writer is running, or the
// socket is full, it behaves as SendMsg. It ignores FlushDelay: use it for
// messages that must leave now.
func (c *Connection) SendMsgNow(msgID uint32, data []byte) error {
	if uint64(len(data)) > uint64(c.eng.pack.max) {
		return fmt.Errorf("%w: %d bytes, max %d", ErrPacketTooLarge, len(data), c.eng.pack.max)
	}
	return c.queued(c.sendq.pushNow(c.eng.pack, msgID, data))
}

// SendFramesNow is SendMsgNow for count frames at once: frames holds count
// whole frames back to back, packed with the server's DataPack
// (Server.DataPack().AppendPack). It exists for a room tick that coalesces
// the messages of one tick for each player: appending them to one buffer
// and sending it with one call costs one lock round and, when the socket
// takes it, one syscall per player per tick instead of one per message.
//
// The frames are not parsed: a buffer that is not whole frames of this
// server's framing corrupts the stream. They are copied into the send
// queue, so the caller may reuse frames as soon as the call returns.
// Like SendMsgNow, it writes on the caller's goroutine, without blocking,
// when no batch of the connection's own handlers is running and no writer
// goroutine is writing, queues otherwise, and ignores FlushDelay.
//
// The bounds are those of one SendMsg of len(frames) bytes: over
// MaxSendQueueBytes, or while MaxMsgChanLen frames wait behind the socket,
// it fails with ErrSendQueueFull and cuts the connection as too slow. It
// fails with ErrConnClosed once the connection is closed. Empty frames are
// a no-op (nil); count < 1 with bytes is an error and sends nothing.
// Safe for concurrent use, like SendMsg: concurrent calls queue their
// frames whole, in the order they take the queue's lock.
func (c *Connection) SendFramesNow(frames []byte, count int) error {
	if len(frames) == 0 {
		return nil
	}
	if count < 1 {
		return fmt.Errorf("znet: SendFramesNow: %d bytes counted as %d frames; want 1 or more", len(frames), count)
	}
	return c.queued(c.sendq.pushFramesNow(frames, count))
}

// sendFrame queues a frame packed by the caller, so a broadcast is packed
// once for all its receivers.
func (c *Connection) sendFrame(frame []byte) error {
	return c.queued(c.sendq.pushRaw(frame))
}

func (c *Connection) queued(err error) error {
	if errors.Is(err, ErrSendQueueFull) {
		c.fullOnce.Do(func() {
			// What is queued would not be read in time: drop it now.
			if !c.cutNow(Notice{Code: NoticeTooSlow, Reason: "the connection stopped reading what the server sent"}) {
				return // the budget cut it first
			}
			c.eng.stats.sendQueueFull.Add(1)
			c.eng.logs.Log(c.log, "send_queue_full", slog.LevelWarn, "znet: send queue full, client is not reading; closing",
				"max_msg_chan_len", c.eng.cfg.MaxMsgChanLen, "max_send_queue_bytes", c.sendq.maxBytes, "err", err)
		})
	}
	return err
}

func (c *Connection) SetProperty(key string, value any) {
	c.propMu.Lock()
	defer c.propMu.Unlock()
	if c.props == nil {
		c.props = make(map[string]any)
	}
	c.props[key] = value
}

func (c *Connection) GetProperty(key string) (any, bool) {
	c.propMu.RLock()
	defer c.propMu.RUnlock()
	v, ok := c.props[key]
	return v, ok
}

func (c *Connection) RemoveProperty(key string) {
	c.propMu.Lock()
	defer c.propMu.Unlock()
	delete(c.props, key)
}

// acquire takes a reference unless the connection has drained.
func (c *Connection) acquire() bool {
	for {
		n := c.refs.Load()
		if n <= 0 {
			return false
		}
		if c.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (c *Connection) release(n int) {
	if c.refs.Add(-int64(n)) == 0 {
		close(c.drained)
	}
}

// maxReadBatch bounds how many frames the reader hands over at once.
const maxReadBatch = 64

// runBatch runs tasks on the connection's executor, then flushes what they
// queued and releases their references.
func (c *Connection) runBatch(ts []task) {
	c.sendq.startBatch()
	var since time.Time
	if len(ts) > 8 {
		since = time.Now()
	}
	held := 0 // the received messages' bytes, held since the reader read them
	for i := range ts {
		if ts[i].req.conn != nil {
			held += HeadLen + len(ts[i].req.data)
		}
		c.eng.runTask(c, &ts[i])
		since = c.flushIfSlow(i, since)
	}
	c.flushBatch()
	if held > 0 {
		c.hold(-held)
	}
	c.release(len(ts))
}

// flushSlowBatch is how long a batch may hold its replies: slow handlers
// must not delay the replies of the fast ones before them.
const flushSlowBatch = time.Millisecond

// flushIfSlow flushes mid-batch when the batch has run for flushSlowBatch
// since the last flush. It reads the clock every eighth task only, and not
// at all for batches of up to eight (since is zero): the common case never
// pays for it. since is when the batch started or last flushed; the new
// value is returned.
func (c *Connection) flushIfSlow(i int, since time.Time) time.Time {
	if since.IsZero() || i&7 != 7 {
		return since
	}
	now := time.Now()
	if now.Sub(since) < flushSlowBatch {
		return since
	}
	c.flushBatch()
	c.sendq.startBatch()
	return now
}

// flushBatch ends a batch started with sendq.startBatch: it writes what the
// batch queued, or leaves it to the writer goroutine.
func (c *Connection) flushBatch() {
	c.sendq.endBatch()
}

func (c *Connection) readLoop() {
	defer c.teardown()
	if err := c.handshake(); err != nil {
		c.handshakeFailed(err)
		return
	}
	c.hooked = true
	c.eng.onStart.run(c.eng, c, "OnConnect", false)
	fr := newFrameReader(c.eng.pack, c.conn, c.eng.cfg.IOReadBuffSize)
	var msgID uint32
	var err error
	if x, ok := c.exec.(*inline); ok {
		msgID, err = c.readInline(fr, x)
	} else {
		msgID, err = c.readQueued(fr)
	}
	if err != nil {
		c.peerDone = !(c.stopping.Load() && isTimeout(err))
		c.logReadError(msgID, err)
	}
}

// readQueued reads frames and hands them to the worker pool, every frame
// already buffered at once: one queue operation, one wake-up and one flush
// for the lot. It returns nil once the connection is stopping.
func (c *Connection) readQueued(fr *frameReader) (uint32, error) {
	// The batch starts small and doubles up to maxReadBatch as bursts need:
	// an idle connection should not hold 64 slots it never fills.
	batch := make([]task, 0, 4)
	var bytes int
	for !c.stopping.Load() {
		msgID, data, err := fr.next()
		if err == nil {
			if c.lim == nil || !c.limited() {
				// Fill the slot field by field: copying a whole composite
				// literal into the heap slice costs a typed memmove per frame.
				if len(batch) == cap(batch) {
					batch = append(make([]task, 0, min(2*cap(batch), maxReadBatch)), batch...)
				}
				batch = batch[:len(batch)+1]
				t := &batch[len(batch)-1]
				t.req.conn, t.req.msgID, t.req.data = c, msgID, data
				bytes += len(data)
			}
			if len(batch) < maxReadBatch && fr.frameBuffered() && !c.stopping.Load() {
				continue
			}
		}
		if len(batch) > 0 {
			c.touch()
			c.received(len(batch), bytes)
			// Held from now, while submit waits for mailbox space too,
			// until runBatch has run them.
			held := bytes + len(batch)*HeadLen
			bytes = 0
			c.holdRead(held)
			c.refs.Add(int64(len(batch)))
			if !c.exec.submit(batch, c.hard) {
				c.hold(-held)
				c.release(len(batch))
				return 0, nil
			}
			clear(batch)
			batch = batch[:0]
			c.waitSendRoom()
		}
		if err != nil {
			return msgID, err
		}
	}
	return 0, nil
}

// readInline handles frames on the reader goroutine (WorkerPoolSize = zconf.Off):
// it blocks for a frame, then, holding the executor lock, handles it and
// every frame already buffered, and flushes the replies once. The request
// is one reused struct: no queue, no copying.
func (c *Connection) readInline(fr *frameReader, x *inline) (uint32, error) {
	req := request{conn: c}
	for !c.stopping.Load() {
		msgID, data, err := fr.next()
		if err != nil {
			return msgID, err
		}
		c.touch()
		x.mu.Lock()
		c.sendq.startBatch()
		var since time.Time
		handled, bytes := 0, 0
		for n := 1; ; n++ {
			if c.lim == nil || !c.limited() {
				req.msgID, req.data = msgID, data
				c.eng.dispatch(c, &req)
				handled++
				bytes += len(data)
			}
			if n == 8 {
				since = time.Now() // a long batch: start timing it
			}
			since = c.flushIfSlow(n-1, since)
			if n == maxReadBatch || c.stopping.Load() || !fr.frameBuffered() {
				break
			}
			if msgID, data, err = fr.next(); err != nil {
				break
			}
		}
		req.data = nil
		c.flushBatch()
		x.mu.Unlock()
		c.received(handled, bytes)
		if err != nil {
			return msgID, err
		}
		c.waitSendRoom()
	}
	return 0, nil
}

// isTimeout reports whether err is a read deadline passing: Stop sets one to
// end the reader. gorilla/websocket does not wrap os.ErrDeadlineExceeded,
// but its error still says Timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// received counts n frames with payloads of bytes in all.
func (c *Connection) received(n, bytes int) {
	c.msgsIn.Add(uint64(n))
	c.bytesIn.Add(uint64(bytes + n*HeadLen))
}

// logReadError logs why reading ended. Each connection logs it once, and
// the server-wide throttle bounds what a crowd of them logs.
func (c *Connection) logReadError(msgID uint32, err error) {
	switch {
	case c.stopping.Load() && (isTimeout(err) || errors.Is(err, net.ErrClosed)):
		c.log.Debug("znet: connection stopped")
	case errors.Is(err, io.EOF):
		c.log.Debug("znet: client closed the connection")
	case errors.Is(err, ErrPacketTooLarge):
		c.eng.stats.decodeErrors.Add(1)
		c.eng.logs.Log(c.log, "frame_too_large", slog.LevelWarn, "znet: frame over MaxPackageSize; closing", "msg_id", msgID, "err", err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		c.eng.stats.decodeErrors.Add(1)
		c.eng.logs.Log(c.log, "frame_cut_short", slog.LevelWarn, "znet: connection closed in the middle of a frame", "msg_id", msgID)
	default:
		c.eng.logs.Log(c.log, "read_failed", slog.LevelInfo, "znet: read failed; closing", "err", err)
	}
}

// blockingWrite is the writer goroutine's write: bounded by WriteTimeout,
// and on failure it closes the connection. The deadline is refreshed only
// when half of it has passed, so a busy writer does not reset a timer per
// write; a write still gets between half and all of WriteTimeout. It is
// left set when the writer exits: once it expires, a batch's non-blocking
// write fails before any syscall and hands its bytes to the writer, which
// refreshes it, so an idle connection costs one extra goroutine start
// instead of every busy one paying two deadline updates per write.
func (c *Connection) blockingWrite(b []byte) error {
	if now := time.Now(); now.After(c.deadlineAt) {
		c.deadlineAt = now.Add(c.eng.cfg.WriteTimeout / 2)
		_ = c.conn.SetWriteDeadline(now.Add(c.eng.cfg.WriteTimeout))
	}
	_, err := c.conn.Write(b)
	if err != nil {
		if !c.isHard() && !c.acct.cut.Load() {
			c.eng.logs.Log(c.log, "write_failed", slog.LevelInfo, "znet: write failed; closing", "err", err)
		}
		c.Stop()
	}
	return err
}

func (c *Connection) isHard() bool {
	select {
	case <-c.hard:
		return true
	default:
		return false
	}
}

// teardown runs on the reader goroutine once reading has ended.
func (c *Connection) teardown() {
	c.stopping.Store(true)
	c.cancel()
	c.release(1) // the reader's own reference
	select {
	case <-c.drained:
	case <-c.hard:
	}
	c.sendq.close()
	select {
	case <-c.sendq.done:
	case <-c.hard:
	}
	if !c.peerDone && !c.isHard() {
		c.linger()
	}
	_ = c.conn.Close()
	if c.hooked {
		c.eng.onStop.run(c.eng, c, "OnDisconnect", true)
	}
	c.flushLogs()
	c.eng.connClosed(c)
	close(c.done)
}

// lingerTime bounds how long a closing connection waits for the peer to
// close after our last bytes went out.
const lingerTime = time.Second

// linger half-closes the connection and reads until the peer closes. When
// we stop reading while the peer is still sending, closing at once makes
// the kernel answer with a reset, and the peer may lose our last messages
// (a kick reason, a shutdown notice) before reading them.
func (c *Connection) linger() {
	if kcpLinger(c.conn) {
		return
	}
	cw, ok := c.conn.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(lingerTime))
	_, _ = io.CopyN(io.Discard, c.conn, 64<<10)
}
