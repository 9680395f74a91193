package znet

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pires/go-proxyproto"

	"github.com/zinxgame/zinxgame/zconf"
)

// PROXY protocol on the TCP listener (ProxyProtocol). A load balancer in
// TCP mode (HAProxy, AWS NLB, nginx stream) opens each backend connection
// with one header naming the client; we read it before anything else,
// TLS included, and the connection then reports the client's address.
//
// Why github.com/pires/go-proxyproto parses it: it is the PROXY library Go
// servers use (Traefik, Caddy's listener wrapper), maintained, fuzzed, and
// bounded where it matters: a v1 line is read byte by byte up to its 107
// bytes, a v2 block up to 4 KiB. Its Listener does not fit us: it reads
// the header lazily on the first Read or RemoteAddr call, and the accept
// loop asks for RemoteAddr at once (the per-IP limit), so a silent peer
// would hold the accept loop. proxyListener reads headers off the accept
// loop instead, with a deadline, and only from trusted peers.
//
// A peer outside TrustedProxies never has a header read: with "required"
// it is closed at accept; with "optional" it is served directly, and its
// first bytes are checked as they are read, on the connection's own
// goroutine (proxyConn.Read). A PROXY signature there closes the
// connection: that client was trying to choose its own address.

// proxyHeaderReads bounds the headers read at once. Only trusted proxies
// get one, and a proxy sends its header with the connection, so each read
// takes microseconds; past the bound, accepting waits.
const proxyHeaderReads = 256

// proxyBufSize is the read buffer for a header: a v1 line (107 bytes at
// most) must arrive in one read, as the library requires.
const proxyBufSize = 512

var (
	errNoProxyHeader        = errors.New("znet: no PROXY header")
	errUntrustedProxyHeader = errors.New("znet: PROXY header from a peer outside TrustedProxies; closing")
	// sigV1 is a v1 header's start: "PROXY" and its separator.
	sigV1 = []byte("PROXY ")
)

// tcpListener is how ListenAndServe and Serve(l) serve TCP on l: with
// ProxyProtocol on, PROXY headers are read first and TLS (config, nil for
// plain TCP) starts after them; otherwise l, TLS-wrapped with config.
func (s *Server) tcpListener(l net.Listener, config *tls.Config) net.Listener {
	if s.cfg.ProxyProtocol == "" || s.cfg.ProxyProtocol == zconf.ProxyOff {
		if config != nil {
			l = tls.NewListener(l, config) // handshakes later, never in Accept
		}
		return l
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &proxyListener{
		Listener: l,
		trusted:  newTrustedNets(s.cfg.TrustedProxies),
		required: s.cfg.ProxyProtocol == zconf.ProxyRequired,
		mode:     s.cfg.ProxyProtocol,
		timeout:  s.cfg.HandshakeTimeout,
		tls:      config,
		log:      s.log,
		ctx:      ctx,
		cancel:   cancel,
		ready:    make(chan accepted),
		reads:    make(chan struct{}, proxyHeaderReads),
	}
}

// proxyListener hands out connections whose PROXY header has been read.
// One goroutine accepts from the wrapped listener; each trusted peer's
// header is read on a goroutine of its own (at most proxyHeaderReads at
// once), so Accept never waits for a slow peer. Accept and Close are safe
// for concurrent use.
type proxyListener struct {
	net.Listener
	trusted  trustedNets
	required bool
	mode     string // ProxyProtocol, for the log
	timeout  time.Duration
	tls      *tls.Config // started on each connection after its header; nil: plain
	log      *slog.Logger
	logged   logEvery

	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	start  sync.Once
	ready  chan accepted
	reads  chan struct{} // one token per header being read
}

type accepted struct {
	nc  net.Conn
	err error
}

// Accept returns the next connection, its header read.
func (l *proxyListener) Accept() (net.Conn, error) {
	l.start.Do(func() { go l.run() })
	select {
	case a := <-l.ready:
		return a.nc, a.err
	case <-l.ctx.Done():
		return nil, net.ErrClosed
	}
}

// Close stops accepting and abandons the headers being read.
func (l *proxyListener) Close() error {
	l.cancel()
	return l.Listener.Close()
}

func (l *proxyListener) run() {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			// Errors go to the serve loop, which backs off; one at a time,
			// so a failing Accept does not spin here meanwhile.
			if !l.deliver(nil, err) || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if !l.trusted.trusts(nc.RemoteAddr()) {
			if l.required {
				l.refuse(nc, errors.New("not in TrustedProxies, and ProxyProtocol is required"))
				continue
			}
			l.deliver(l.wrap(&proxyConn{Conn: nc, sniff: true}), nil)
			continue
		}
		select {
		case l.reads <- struct{}{}:
		case <-l.ctx.Done():
			_ = nc.Close()
			return
		}
		go func() {
			defer func() { <-l.reads }()
			l.readHeader(nc)
		}()
	}
}

// readHeader reads a trusted peer's header within the timeout, then hands
// the connection to Accept.
func (l *proxyListener) readHeader(nc net.Conn) {
	_ = nc.SetReadDeadline(time.Now().Add(l.timeout))
	stop := context.AfterFunc(l.ctx, func() { _ = nc.Close() })
	br := bufio.NewReaderSize(nc, proxyBufSize)
	remote, err := readProxyHeader(br)
	if !stop() {
		return // closed by Close
	}
	_ = nc.SetReadDeadline(time.Time{})
	switch {
	case err == nil:
	case !l.required && (errors.Is(err, errNoProxyHeader) || isTimeout(err) && br.Buffered() == 0):
		// "optional": the proxy may connect without one.
	case errors.Is(err, errNoProxyHeader) && br.Buffered() == 0:
		// Connected and closed: a load balancer's TCP health check.
		_ = nc.Close()
		return
	default:
		l.refuse(nc, err)
		return
	}
	pc := &proxyConn{Conn: nc, remote: remote}
	if n := br.Buffered(); n > 0 {
		b, _ := br.Peek(n)
		pc.pending = bytes.Clone(b) // the client's first bytes, read with the header
	}
	l.deliver(l.wrap(pc), nil)
}

// deliver hands a connection or an error to Accept; false once closed.
func (l *proxyListener) deliver(nc net.Conn, err error) bool {
	select {
	case l.ready <- accepted{nc, err}:
		return true
	case <-l.ctx.Done():
		if nc != nil {
			_ = nc.Close()
		}
		return false
	}
}

func (l *proxyListener) wrap(pc *proxyConn) net.Conn {
	if l.tls != nil {
		return tls.Server(pc, l.tls)
	}
	return pc
}

// refuse closes a connection whose header is missing, bad or not allowed.
// It gets no notice: it is not a game client speaking our protocol yet.
// The log says so at most once a second, with the count held back.
func (l *proxyListener) refuse(nc net.Conn, why error) {
	if ok, held := l.logged.allow(time.Now()); ok {
		l.log.Warn("znet: connection refused: PROXY protocol", "remote", nc.RemoteAddr().String(),
			"mode", l.mode,
			"err", why, "not_logged", held)
	}
	_ = nc.Close()
}

// readProxyHeader reads a PROXY header (v1 or v2) from br, and returns the
// client's address: nil for a LOCAL header (the proxy's own health check),
// an UNKNOWN or unspecified family, or a Unix socket, where the socket's
// address stands. errNoProxyHeader means the stream does not begin with
// one; br then still holds what was read.
func readProxyHeader(br *bufio.Reader) (net.Addr, error) {
	h, err := proxyproto.Read(br)
	if errors.Is(err, proxyproto.ErrNoProxyProtocol) {
		return nil, errNoProxyHeader
	}
	if err != nil {
		return nil, fmt.Errorf("znet: bad PROXY header: %w", err)
	}
	if h.Command.IsLocal() {
		return nil, nil
	}
	switch a := h.SourceAddr.(type) {
	case *net.TCPAddr:
		if ap := a.AddrPort(); ap.Addr().IsValid() {
			return net.TCPAddrFromAddrPort(unmapPort(ap)), nil
		}
	case *net.UDPAddr:
		if ap := a.AddrPort(); ap.Addr().IsValid() {
			return net.TCPAddrFromAddrPort(unmapPort(ap)), nil
		}
	}
	return nil, nil
}

// proxyConn is a connection whose client address came from a PROXY header
// (remote; nil: the socket's), with the bytes read past the header served
// first; or, for a peer outside TrustedProxies, one whose first bytes are
// checked for a PROXY signature. Read is the reader goroutine's, as for
// any net.Conn; the rest is safe for concurrent use.
type proxyConn struct {
	net.Conn
	remote  net.Addr
	pending []byte
	sniff   bool    // check the first bytes (untrusted peer)
	sig     sniffer // the check's state
	bad     bool    // a signature was found
}

func (c *proxyConn) Read(p []byte) (int, error) {
	if c.bad {
		return 0, errUntrustedProxyHeader
	}
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		if c.pending = c.pending[n:]; len(c.pending) == 0 {
			c.pending = nil
		}
		return n, nil
	}
	n, err := c.Conn.Read(p)
	if c.sniff && n > 0 && c.sig.feed(p[:n]) {
		c.bad = true
		return 0, errUntrustedProxyHeader
	}
	return n, err
}

func (c *proxyConn) RemoteAddr() net.Addr {
	if c.remote != nil {
		return c.remote
	}
	return c.Conn.RemoteAddr()
}

// CloseWrite half-closes, as the TCP connection does: the close path
// lingers on it so the client reads the last notice.
func (c *proxyConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// plainTCP is the TCP connection under nc when nothing but the PROXY
// header wraps it, so the batch flush may write to its socket directly.
func plainTCP(nc net.Conn) (*net.TCPConn, bool) {
	switch c := nc.(type) {
	case *net.TCPConn:
		return c, true
	case *proxyConn:
		tc, ok := c.Conn.(*net.TCPConn)
		return tc, ok
	}
	return nil, false
}

// sniffer recognises a PROXY signature at the start of a stream, fed the
// bytes as they are read. It needs no buffer: it stops looking at the
// first byte that fits neither signature, which for a game client (a
// frame head) or a TLS ClientHello is the first or second byte.
type sniffer struct {
	n            int
	dead1, dead2 bool
	done         bool
}

// feed reports whether b, the stream's next bytes, completed a signature.
func (s *sniffer) feed(b []byte) bool {
	for _, x := range b {
		if s.done {
			return false
		}
		s.dead1 = s.dead1 || s.n >= len(sigV1) || sigV1[s.n] != x
		s.dead2 = s.dead2 || s.n >= len(proxyproto.SIGV2) || proxyproto.SIGV2[s.n] != x
		s.n++
		if !s.dead1 && s.n == len(sigV1) || !s.dead2 && s.n == len(proxyproto.SIGV2) {
			return true
		}
		s.done = s.dead1 && s.dead2
	}
	return false
}

// logEvery lets one log line a second through and counts the rest, so a
// client cannot make log lines on demand.
type logEvery struct {
	last atomic.Int64 // Unix ms of the last line
	held atomic.Int64
}

// allow reports whether a line may be logged now, and how many were held
// back since the last one.
func (e *logEvery) allow(now time.Time) (bool, int64) {
	ms, last := now.UnixMilli(), e.last.Load()
	if ms-last < 1000 || !e.last.CompareAndSwap(last, ms) {
		e.held.Add(1)
		return false, 0
	}
	return true, e.held.Swap(0)
}
