package znettest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
)

// Peer is a hand-driven client connection, over TCP, WebSocket or KCP, for
// tests that send exactly what they mean and check what comes back. It
// does nothing on its own: no heartbeats, no answers to server pings, no
// reading until the test reads.
//
// Each read method waits at most Timeout and fails the test (Fatalf) with
// a description of what arrived instead. A frame is taken off the stream
// only once it has arrived whole, so a read that times out, as in
// ExpectSilence, leaves the stream intact for the next one.
//
// A Peer belongs to one test goroutine: its methods are not safe for
// concurrent use, except Close, which may be called from anywhere.
type Peer struct {
	// Timeout bounds each expectation; DefaultTimeout unless set. Set it
	// before use.
	Timeout time.Duration

	t        TB
	nc       net.Conn
	br       *bufio.Reader
	pack     *znet.DataPack
	noticeID uint32
	name     string // for messages: "peer tcp 127.0.0.1:1234"

	closeOnce sync.Once
}

// Dial connects a Peer to addr (host:port) over TCP, framing with cfg's
// Framing and MaxPackageSize and reading notices under its NoticeMsgID.
// It is closed when the test ends.
func Dial(t TB, addr string, cfg zconf.Config) *Peer {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, DefaultTimeout)
	if err != nil {
		t.Fatalf("znettest: dial %s: %v", addr, err)
		return nil
	}
	return newPeer(t, nc, cfg, "tcp "+addr)
}

// DialWebSocket connects a Peer to url (ws://host:port/path), as Dial.
// Each Send is one binary WebSocket message; received messages are read
// as one stream of frames, whatever their boundaries.
func DialWebSocket(t TB, url string, cfg zconf.Config) *Peer {
	t.Helper()
	nc, err := dialWS(url, DefaultTimeout)
	if err != nil {
		t.Fatalf("znettest: dial %s: %v", url, err)
		return nil
	}
	return newPeer(t, nc, cfg, "websocket "+url)
}

// NewPeer drives nc, a connection the test opened itself (through a
// proxy, over TLS, one end of a net.Pipe), as Dial does; the Peer owns nc
// and closes it when the test ends.
func NewPeer(t TB, nc net.Conn, cfg zconf.Config) *Peer {
	return newPeer(t, nc, cfg, nc.RemoteAddr().String())
}

func newPeer(t TB, nc net.Conn, cfg zconf.Config, name string) *Peer {
	p := &Peer{
		t:  t,
		nc: nc,
		// A buffer that holds the largest frame lets a read that times out
		// keep what has arrived, instead of losing half a frame.
		br:       bufio.NewReaderSize(nc, znet.HeadLen+cfg.MaxPackageSize),
		pack:     znet.NewDataPack(cfg.Framing, cfg.MaxPackageSize),
		noticeID: cfg.NoticeMsgID,
		name:     name,
	}
	t.Cleanup(p.Close)
	return p
}

// Conn is the peer's connection, for what the helpers do not cover: raw
// writes, a half-close, deadlines. Reading from it directly loses frames
// the Peer has buffered.
func (p *Peer) Conn() net.Conn { return p.nc }

// Close closes the connection. It is safe to call more than once and from
// any goroutine.
func (p *Peer) Close() {
	p.closeOnce.Do(func() { _ = p.nc.Close() })
}

func (p *Peer) timeout() time.Duration {
	if p.Timeout > 0 {
		return p.Timeout
	}
	return DefaultTimeout
}

// Send sends one frame. A payload over MaxPackageSize fails the test: use
// Write to send what the framing would refuse.
func (p *Peer) Send(msgID uint32, data []byte) {
	p.t.Helper()
	frame, err := p.pack.AppendPack(nil, msgID, data)
	if err != nil {
		p.t.Fatalf("znettest: %s: send message %d: %v", p.name, msgID, err)
		return
	}
	p.Write(frame)
}

// SendProto marshals m and sends it as message msgID.
func (p *Peer) SendProto(msgID uint32, m proto.Message) {
	p.t.Helper()
	data, err := proto.Marshal(m)
	if err != nil {
		p.t.Fatalf("znettest: %s: marshal message %d: %v", p.name, msgID, err)
		return
	}
	p.Send(msgID, data)
}

// Write sends raw bytes (half a head, a head that lies about its length,
// several frames in one write), failing the test if the write fails
// within Timeout.
func (p *Peer) Write(b []byte) {
	p.t.Helper()
	_ = p.nc.SetWriteDeadline(time.Now().Add(p.timeout()))
	if _, err := p.nc.Write(b); err != nil {
		p.t.Fatalf("znettest: %s: write %d bytes: %v", p.name, len(b), err)
	}
}

// ReadFrame reads the next frame, waiting at most Timeout, and returns the
// error instead of failing the test: a timeout is a net.Error whose
// Timeout() is true, a closed connection io.EOF or the reset.
func (p *Peer) ReadFrame() (msgID uint32, data []byte, err error) {
	return p.readFrame(time.Now().Add(p.timeout()))
}

func (p *Peer) readFrame(deadline time.Time) (uint32, []byte, error) {
	_ = p.nc.SetReadDeadline(deadline)
	head, err := p.br.Peek(znet.HeadLen)
	if err != nil {
		return 0, nil, p.eof(len(head), err)
	}
	msg, err := p.pack.Unpack(head)
	if err != nil {
		return 0, nil, fmt.Errorf("znettest: the server sent a bad frame head: %w", err)
	}
	n := znet.HeadLen + int(msg.GetDataLen())
	frame, err := p.br.Peek(n)
	if err != nil {
		return 0, nil, p.eof(len(frame), err)
	}
	data := bytes.Clone(frame[znet.HeadLen:])
	_, _ = p.br.Discard(n)
	return msg.GetMsgID(), data, nil
}

// eof reports an end of stream in the middle of a frame as such.
func (p *Peer) eof(buffered int, err error) error {
	if errors.Is(err, io.EOF) && buffered > 0 {
		return fmt.Errorf("znettest: connection closed in the middle of a frame: %w", io.ErrUnexpectedEOF)
	}
	return err
}

// Recv reads the next frame, whatever its ID, and fails the test if none
// arrives within Timeout.
func (p *Peer) Recv() (msgID uint32, data []byte) {
	p.t.Helper()
	id, data, err := p.ReadFrame()
	if err != nil {
		p.t.Fatalf("znettest: %s: no message within %v: %v", p.name, p.timeout(), err)
	}
	return id, data
}

// Expect reads the next frame and fails the test unless its ID is msgID;
// it returns the payload. Use ExpectSkip when other messages may come
// first.
func (p *Peer) Expect(msgID uint32) []byte {
	p.t.Helper()
	data, _ := p.expect(msgID)
	return data
}

// expect is Expect, reporting whether it succeeded.
func (p *Peer) expect(msgID uint32) ([]byte, bool) {
	p.t.Helper()
	id, data, err := p.ReadFrame()
	if err != nil {
		p.t.Fatalf("znettest: %s: want message %d, got none within %v: %v", p.name, msgID, p.timeout(), err)
		return nil, false
	}
	if id != msgID {
		p.t.Fatalf("znettest: %s: want message %d, got %s", p.name, msgID, p.describe(id, data))
		return nil, false
	}
	return data, true
}

// ExpectSkip reads frames until one with ID msgID arrives, dropping the
// others, and returns its payload. It fails the test if none arrives
// within Timeout in all, saying how many others it skipped and the last.
func (p *Peer) ExpectSkip(msgID uint32) []byte {
	p.t.Helper()
	data, _ := p.expectSkip(msgID)
	return data
}

// expectSkip is ExpectSkip, reporting whether it succeeded.
func (p *Peer) expectSkip(msgID uint32) ([]byte, bool) {
	p.t.Helper()
	deadline := time.Now().Add(p.timeout())
	skipped, last := 0, ""
	for {
		id, data, err := p.readFrame(deadline)
		if err != nil {
			p.t.Fatalf("znettest: %s: want message %d, got none within %v (%d others skipped, the last %s): %v",
				p.name, msgID, p.timeout(), skipped, last, err)
			return nil, false
		}
		if id == msgID {
			return data, true
		}
		skipped++
		last = p.describe(id, data)
	}
}

// ExpectProto is Expect followed by unmarshalling the payload into m.
func (p *Peer) ExpectProto(msgID uint32, m proto.Message) {
	p.t.Helper()
	if data, ok := p.expect(msgID); ok {
		p.unmarshal(msgID, data, m)
	}
}

// ExpectSkipProto is ExpectSkip followed by unmarshalling the payload
// into m.
func (p *Peer) ExpectSkipProto(msgID uint32, m proto.Message) {
	p.t.Helper()
	if data, ok := p.expectSkip(msgID); ok {
		p.unmarshal(msgID, data, m)
	}
}

func (p *Peer) unmarshal(msgID uint32, data []byte, m proto.Message) {
	p.t.Helper()
	if err := proto.Unmarshal(data, m); err != nil {
		p.t.Fatalf("znettest: %s: message %d does not unmarshal as %T: %v (% x)", p.name, msgID, m, err, data)
	}
}

// ExpectNotice reads until a server notice (the config's NoticeMsgID)
// arrives, dropping other messages, and fails the test unless its code is
// code (znet.NoticeKicked, znet.NoticeRateLimited, ...). It returns the
// notice.
func (p *Peer) ExpectNotice(code string) znet.Notice {
	p.t.Helper()
	data, ok := p.expectSkip(p.noticeID)
	if !ok {
		return znet.Notice{}
	}
	n, err := znet.ParseNotice(data)
	if err != nil {
		p.t.Fatalf("znettest: %s: want notice %q: %v", p.name, code, err)
		return znet.Notice{}
	}
	if n.Code != code {
		p.t.Fatalf("znettest: %s: want notice %q, got notice %q (%s)", p.name, code, n.Code, n.Reason)
	}
	return n
}

// ExpectClosed reads, dropping whatever arrives, until the server closes
// the connection, and fails the test if it is still open after Timeout.
// It then closes the peer's side too (a server lingering after its
// half-close need not wait), and returns how many frames arrived before
// the close.
func (p *Peer) ExpectClosed() (frames int) {
	p.t.Helper()
	deadline := time.Now().Add(p.timeout())
	last := ""
	for {
		id, data, err := p.readFrame(deadline)
		if err == nil {
			frames++
			last = p.describe(id, data)
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			p.t.Fatalf("znettest: %s: still open after %v, want it closed by the server (%d messages meanwhile, the last %s)",
				p.name, p.timeout(), frames, last)
			return frames
		}
		if errors.Is(err, net.ErrClosed) {
			p.t.Fatalf("znettest: %s: ExpectClosed after the peer itself was closed", p.name)
			return frames
		}
		p.Close()
		return frames
	}
}

// ExpectSilence fails the test if a frame arrives, or the connection
// closes, within d. It is the one expectation whose wait is its point:
// keep d short, and assert silence only where something would surely have
// arrived by then.
func (p *Peer) ExpectSilence(d time.Duration) {
	p.t.Helper()
	id, data, err := p.readFrame(time.Now().Add(d))
	if err == nil {
		p.t.Fatalf("znettest: %s: want silence for %v, got %s", p.name, d, p.describe(id, data))
		return
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		p.t.Fatalf("znettest: %s: want silence for %v on an open connection, got %v", p.name, d, err)
	}
}

// describe names a frame for a failure message: a notice decoded, any
// other message by ID with the start of its payload.
func (p *Peer) describe(id uint32, data []byte) string {
	if id == p.noticeID {
		if n, err := znet.ParseNotice(data); err == nil {
			return fmt.Sprintf("notice %q (%s)", n.Code, n.Reason)
		}
	}
	const show = 48
	if len(data) > show {
		return fmt.Sprintf("message %d (%d bytes: %q...)", id, len(data), data[:show])
	}
	return fmt.Sprintf("message %d (%d bytes: %q)", id, len(data), data)
}
