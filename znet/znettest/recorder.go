package znettest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

// Sent is one message a handler sent through a Recorder.
type Sent struct {
	MsgID uint32
	Data  []byte // a copy, taken when it was sent
}

// DefaultKeep is how many sent messages a Recorder keeps unless
// WithKeep says otherwise; older ones are dropped (and still counted).
const DefaultKeep = 10_000

// Recorder is an ziface.IConnection with no network, for unit tests of
// handlers, hooks and game logic, as httptest.ResponseRecorder is for an
// http.Handler. It records every message sent to it (ID and a copy of the
// payload, the most recent DefaultKeep of them), keeps properties, and
// records Start, Stop and Kick. Like a real connection it refuses
// payloads over MaxPackageSize (znet.ErrPacketTooLarge) and sends after a
// Stop (znet.ErrConnClosed), its Context is cancelled by Stop, and Kick
// sends the kicked notice before stopping.
//
// Async runs its work and then its continuation at once, on the calling
// goroutine, in that order, so a test sees Async's effects when the
// handler returns. znet.ServerOf returns nil for a Recorder.
//
// All methods are safe for concurrent use.
type Recorder struct {
	id       uint64
	remote   net.Addr
	max      int
	noticeID uint32
	keep     int

	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	sent    []Sent
	total   int // messages sent, kept or not
	bytes   int // their payload bytes
	props   map[string]any
	started bool
	stopped bool
	kicked  bool
	reason  string // the kick's
	stopCh  chan struct{}
}

var _ ziface.IConnection = (*Recorder)(nil)

// RecorderOption configures a Recorder.
type RecorderOption func(*Recorder)

// WithConfig takes MaxPackageSize and NoticeMsgID from cfg (by default,
// zconf.Default's).
func WithConfig(cfg zconf.Config) RecorderOption {
	return func(r *Recorder) { r.max, r.noticeID = cfg.MaxPackageSize, cfg.NoticeMsgID }
}

// WithConnID sets GetConnID's result (by default 1).
func WithConnID(id uint64) RecorderOption { return func(r *Recorder) { r.id = id } }

// WithRemoteAddr sets RemoteAddr's result (by default 127.0.0.1:50000).
func WithRemoteAddr(addr net.Addr) RecorderOption { return func(r *Recorder) { r.remote = addr } }

// WithKeep keeps the most recent n sent messages (DefaultKeep by
// default); 0 or less keeps none, for tests that only count.
func WithKeep(n int) RecorderOption { return func(r *Recorder) { r.keep = max(n, 0) } }

// NewRecorder returns an open connection that has sent nothing.
func NewRecorder(opts ...RecorderOption) *Recorder {
	def := zconf.Default()
	r := &Recorder{
		id:       1,
		remote:   &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50000},
		max:      def.MaxPackageSize,
		noticeID: def.NoticeMsgID,
		keep:     DefaultKeep,
		props:    make(map[string]any),
		stopCh:   make(chan struct{}),
	}
	for _, o := range opts {
		o(r)
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	return r
}

// Start records that the connection was started.
func (r *Recorder) Start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started = true
}

// Stop closes the recorder: its Context is cancelled, Done is closed and
// later sends fail with znet.ErrConnClosed. Later calls do nothing.
func (r *Recorder) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopLocked()
}

func (r *Recorder) stopLocked() {
	if r.stopped {
		return
	}
	r.stopped = true
	r.cancel()
	close(r.stopCh)
}

// Kick sends a znet.NoticeKicked notice with reason, then stops, as
// *znet.Connection's Kick does; game code reaches it through an
// interface{ Kick(string) error }.
func (r *Recorder) Kick(reason string) error {
	data, err := jsonNotice(znet.Notice{Code: znet.NoticeKicked, Reason: reason})
	if err == nil {
		err = r.SendMsg(r.noticeID, data)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.kicked {
		r.kicked, r.reason = true, reason
	}
	r.stopLocked()
	return err
}

// Context is cancelled by Stop.
func (r *Recorder) Context() context.Context { return r.ctx }

// Done is closed by Stop, as *znet.Connection's Done is once it closed.
func (r *Recorder) Done() <-chan struct{} { return r.stopCh }

// GetConnection returns a net.Conn that only has addresses: reading and
// writing it fail, as they should in a handler.
func (r *Recorder) GetConnection() net.Conn { return addrConn{remote: r.remote} }

func (r *Recorder) GetConnID() uint64    { return r.id }
func (r *Recorder) RemoteAddr() net.Addr { return r.remote }

// SendMsg records the message: a copy of data, so a handler reusing its
// buffer cannot change what was recorded.
func (r *Recorder) SendMsg(msgID uint32, data []byte) error {
	if len(data) > r.max {
		return fmt.Errorf("%w: %d bytes, max %d", znet.ErrPacketTooLarge, len(data), r.max)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return znet.ErrConnClosed
	}
	r.total++
	r.bytes += len(data)
	if r.keep == 0 {
		return nil
	}
	if len(r.sent) == r.keep {
		// Drop the oldest half at once, so keeping the newest stays cheap.
		r.sent = append(r.sent[:0], r.sent[r.keep/2:]...)
	}
	r.sent = append(r.sent, Sent{MsgID: msgID, Data: bytes.Clone(data)})
	return nil
}

// SendMsgNow is SendMsg; *znet.Connection has it for a room's tick.
func (r *Recorder) SendMsgNow(msgID uint32, data []byte) error { return r.SendMsg(msgID, data) }

// Async runs work with the recorder's Context, then then, before it
// returns; after Stop it fails with znet.ErrConnClosed and runs neither.
func (r *Recorder) Async(work func(ctx context.Context), then func()) error {
	if r.Stopped() {
		return znet.ErrConnClosed
	}
	if work != nil {
		work(r.ctx)
	}
	if then != nil {
		then()
	}
	return nil
}

func (r *Recorder) SetProperty(key string, value any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.props[key] = value
}

func (r *Recorder) GetProperty(key string) (any, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.props[key]
	return v, ok
}

func (r *Recorder) RemoveProperty(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.props, key)
}

// Sent returns the kept messages, oldest first. The slice is the
// caller's; the payloads are shared with later calls and must not be
// changed.
func (r *Recorder) Sent() []Sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Sent(nil), r.sent...)
}

// SentTo returns the payloads of the kept messages with ID msgID, oldest
// first.
func (r *Recorder) SentTo(msgID uint32) [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out [][]byte
	for _, s := range r.sent {
		if s.MsgID == msgID {
			out = append(out, s.Data)
		}
	}
	return out
}

// Last returns the most recent message kept, and false if there is none.
func (r *Recorder) Last() (Sent, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.sent) == 0 {
		return Sent{}, false
	}
	return r.sent[len(r.sent)-1], true
}

// Count returns how many messages were sent and their payload bytes,
// counting those no longer kept.
func (r *Recorder) Count() (msgs, bytes int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total, r.bytes
}

// Reset forgets the sent messages and their count, so a test can check
// what one step sent.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent, r.total, r.bytes = nil, 0, 0
}

// Started reports whether Start was called.
func (r *Recorder) Started() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.started
}

// Stopped reports whether Stop (or Kick) was called.
func (r *Recorder) Stopped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopped
}

// Kicked reports whether Kick was called, with the first kick's reason.
func (r *Recorder) Kicked() (reason string, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reason, r.kicked
}

// jsonNotice encodes a notice as the server does (JSON, see znet.Notice).
func jsonNotice(n znet.Notice) ([]byte, error) { return json.Marshal(n) }

// errNoNetwork is what reading or writing a Recorder's net.Conn returns.
var errNoNetwork = errors.New("znettest: a Recorder has no network connection")

// addrConn is the net.Conn of a Recorder: addresses and nothing else.
type addrConn struct{ remote net.Addr }

func (addrConn) Read([]byte) (int, error)         { return 0, errNoNetwork }
func (addrConn) Write([]byte) (int, error)        { return 0, errNoNetwork }
func (addrConn) Close() error                     { return nil }
func (addrConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8999} }
func (c addrConn) RemoteAddr() net.Addr           { return c.remote }
func (addrConn) SetDeadline(time.Time) error      { return nil }
func (addrConn) SetReadDeadline(time.Time) error  { return nil }
func (addrConn) SetWriteDeadline(time.Time) error { return nil }
