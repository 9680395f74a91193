package znet

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	kcp "github.com/xtaci/kcp-go/v5"

	"github.com/zinxgame/zinxgame/zconf"
)

// KCP (reliable UDP, github.com/xtaci/kcp-go/v5) is one more transport of
// the one pipeline: kcp-go's listener is a net.Listener and its sessions
// are net.Conns, so Serve(l) serves them with the same reader, executor,
// send queue, limits, keep-alive, notices and shutdown as TCP. What KCP
// needs of its own is here: the session settings (zconf's Kcp* keys), the
// shared socket that batches every session's packets (udpbatch.go), and
// the linger before a close, since KCP has no FIN: a session closed at once
// drops what is not yet acknowledged, a kick's reason or a shutdown notice.

// KCPListener is a KCP listener whose sessions get the configured settings
// as they are accepted. Serve it with Server.Serve. Safe for concurrent
// use.
type KCPListener struct {
	l    *kcp.Listener
	sock *udpBatch
	set  zconf.KCPSettings

	closeOnce sync.Once
	closeErr  error
}

// ListenKCP listens for KCP on addr (host:port, UDP) with cfg's Kcp*
// settings. Its sessions share one UDP socket, whose sends are batched
// across sessions (sendmmsg on Linux).
func ListenKCP(addr string, cfg zconf.Config) (*KCPListener, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("znet: listen for KCP on %s: %w", addr, err)
	}
	uc, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("znet: listen for KCP on %s: %w", addr, err)
	}
	set := cfg.KCP()
	// Best effort: the kernel caps both at net.core.[rw]mem_max.
	_ = uc.SetReadBuffer(set.SocketBuffer)
	_ = uc.SetWriteBuffer(set.SocketBuffer)
	sock := newUDPBatch(uc, set.SocketBuffer)
	l, err := kcp.ServeConn(nil, set.DataShards, set.ParityShards, sock)
	if err != nil {
		_ = sock.Close()
		return nil, fmt.Errorf("znet: listen for KCP on %s: %w", addr, err)
	}
	return &KCPListener{l: l, sock: sock, set: set}, nil
}

// Accept waits for a new session and returns it with the settings applied.
func (k *KCPListener) Accept() (net.Conn, error) {
	s, err := k.l.AcceptKCP()
	if err != nil {
		if k.isClosed() {
			return nil, fmt.Errorf("znet: KCP accept: %w", net.ErrClosed)
		}
		return nil, err
	}
	applyKCP(s, k.set)
	return s, nil
}

func (k *KCPListener) isClosed() bool { return k.sock.lastUser.Load() }

// Close stops accepting. The sessions still open keep the shared socket,
// so a shutdown's notices and lingering closes still go out; it closes
// once the last of them has. Idempotent.
func (k *KCPListener) Close() error {
	k.closeOnce.Do(func() {
		k.sock.lastUser.Store(true)
		k.closeErr = k.l.Close()
	})
	return k.closeErr
}

// Addr is the UDP address listened on.
func (k *KCPListener) Addr() net.Addr { return k.sock.LocalAddr() }

// ConfigureKCP gives a KCP session made outside znet (kcp.DialWithOptions,
// kcp.NewConn4) the settings znet's own sessions take from cfg's Kcp*
// keys, so a tool or a test that needs a raw net.Conn over KCP speaks as
// the framework does. Call it before the session is used.
func ConfigureKCP(s *kcp.UDPSession, cfg zconf.Config) { applyKCP(s, cfg.KCP()) }

// applyKCP gives a session zinxgame's settings. Stream mode, because
// frames are a byte stream whose packets need not match KCP messages; no
// write delay, so each Write (a tick's frames for one player, or a batch's
// replies) is flushed at once rather than at the next interval.
func applyKCP(s *kcp.UDPSession, set zconf.KCPSettings) {
	//lint:ignore SA1019 kcp-go marks it deprecated without a replacement; stream mode packs small writes into one segment, which message mode does not
	s.SetStreamMode(true)
	s.SetWriteDelay(false)
	s.SetNoDelay(set.NoDelay, set.Interval, set.Resend, set.NoCongestion)
	s.SetWindowSize(set.SendWindow, set.RecvWindow)
	s.SetMtu(set.MTU)
	s.SetACKNoDelay(set.ACKNoDelay)
}

// DialKCP connects to a KCP server at addr (host:port) and starts the
// connection, with the client's Kcp* settings. KCP has no handshake: the
// dial succeeds without the server, and a missing server shows as no
// answer (the client's first request times out).
func (cl *Client) DialKCP(ctx context.Context, addr string) (*Connection, error) {
	if err := cl.registrationErr(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("znet: dial %s: %w", addr, err)
	}
	set := cl.cfg.KCP()
	s, err := kcp.DialWithOptions(addr, nil, set.DataShards, set.ParityShards)
	if err != nil {
		return nil, fmt.Errorf("znet: dial KCP %s: %w", addr, err)
	}
	applyKCP(s, set)
	_ = s.SetReadBuffer(256 << 10)
	_ = s.SetWriteBuffer(256 << 10)
	return cl.start(s, addr)
}

// kcpLinger waits, before a KCP session is closed, for what was written to
// be acknowledged: kcp-go drops unacknowledged data at Close. It cannot
// see the acknowledgements (the library does not export its send buffer),
// so it waits three retransmission timeouts, which a packet lost twice in
// a row still makes, within lingerTime. It reports whether nc is KCP.
func kcpLinger(nc net.Conn) bool {
	s, ok := nc.(*kcp.UDPSession)
	if !ok {
		return false
	}
	rto := time.Duration(s.GetRTO()) * time.Millisecond
	time.Sleep(min(lingerTime, max(3*rto, 100*time.Millisecond)))
	return true
}

// kcpIdle is a served KCP session's clock setting. kcp-go runs every
// session's update (flush acknowledgements, check for retransmissions)
// every KcpInterval, whether it has anything to do or not: at 10 ms that
// is 100 runs a second for a player in the lobby, the whole idle cost of a
// session (docs/performance.md, "KCP: idle cost"). A session that sent us fewer than
// kcpBusyMsgs messages since the last keep-alive sweep is switched to
// kcpIdleInterval, with acknowledgements sent as packets arrive (so the
// peer's round-trip estimate does not wait for the slower clock), and
// back at the next sweep that finds it busy. Writes flush when made and
// check for retransmissions as they do, so a session the server writes to
// every tick loses nothing; one written to rarely may see a retransmission
// up to kcpIdleInterval later.
type kcpIdle struct {
	s        *kcp.UDPSession
	set      zconf.KCPSettings
	idle     atomic.Bool // set by the sweeper; atomic for the tests that read it
	lastMsgs uint64      // messages received at the last sweep; only the sweeper touches it
}

const (
	kcpIdleInterval = 100 // ms
	kcpBusyMsgs     = 4   // per sweep (a second by default)
)

// sweep switches the session's clock by what it received since the last
// sweep; msgs is the connection's count of messages received.
func (k *kcpIdle) sweep(msgs uint64) {
	busy := msgs-k.lastMsgs >= kcpBusyMsgs
	k.lastMsgs = msgs
	switch {
	case busy && k.idle.Load():
		k.s.SetNoDelay(k.set.NoDelay, k.set.Interval, k.set.Resend, k.set.NoCongestion)
		k.s.SetACKNoDelay(k.set.ACKNoDelay)
		k.idle.Store(false)
	case !busy && !k.idle.Load() && k.set.Interval < kcpIdleInterval:
		k.s.SetNoDelay(k.set.NoDelay, kcpIdleInterval, k.set.Resend, k.set.NoCongestion)
		k.s.SetACKNoDelay(true)
		k.idle.Store(true)
	}
}

// bindKCP gives a served KCP session its idle clock.
func bindKCP(c *Connection, nc net.Conn) {
	if s, ok := nc.(*kcp.UDPSession); ok && c.eng.srv != nil {
		c.kcpIdle = &kcpIdle{s: s, set: c.eng.cfg.KCP()}
	}
}

// listenKCP binds the configured KCP port.
func (s *Server) listenKCP() (*KCPListener, error) {
	port := max(s.cfg.KcpPort, 0) // FreePort: the system picks
	return ListenKCP(net.JoinHostPort(s.cfg.Host, strconv.Itoa(port)), s.cfg)
}

// KCPAddr is the address of the first KCP listener, useful with KcpPort
// -1 (FreePort); nil when none is served.
func (s *Server) KCPAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kcpAddr
}
