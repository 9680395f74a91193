package znet

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// The WebSocket port speaks HTTP until a client upgrades, and HTTP that
// never upgrades (an idle keep-alive, a trickling body, a slow header) must
// not outlive its welcome or escape the limits a session has. So each
// accepted HTTP connection:
//   - passes the per-IP limit (ConnRatePerIP) and takes a MaxConn slot at
//     accept, as a TCP connection does; the slot passes to the session on
//     upgrade, or is released when the connection closes;
//   - has HandshakeTimeout from accept to upgrade, the TLS handshake
//     included, and is closed when it runs out;
//   - is answered once: every response says "Connection: close", and a
//     request that does not upgrade gets 426 (Upgrade Required).
//
// A connection over a limit is refused at accept: it holds no slot and is
// not read for longer than HandshakeTimeout. Its request is still read, so
// the refusal can be said in the client's terms: a WebSocket client is
// upgraded and gets the server_full or rate_limited notice, exactly as over
// TCP; plain HTTP gets 503 or 429. Refusals in flight share the TCP
// port's bound (maxRefusalsInFlight); past it, a refused connection is
// closed at once.
//
// Behind a trusted proxy (TrustedProxies) the per-IP limit cannot run at
// accept, because the client's address arrives with the request
// (X-Forwarded-For); it runs at the upgrade instead.

// wsMaxHeaderBytes bounds an upgrade request's header (net/http's default
// is 1 MB): a browser's upgrade with its cookies fits many times over.
const wsMaxHeaderBytes = 64 << 10

// wsIdleTimeout bounds the wait for a second request on one connection.
// No connection should see one (every response closes), so it is short.
const wsIdleTimeout = time.Second

// wsGuard admits the WebSocket port's HTTP connections; one per
// http.Server. Its methods are net/http's hooks and handler, safe for
// concurrent use.
type wsGuard struct {
	s       *Server
	trusted trustedNets
	timeout time.Duration
	up      *websocket.Upgrader
	mux     http.Handler // routes WsPath to upgrade

	mu    sync.Mutex
	conns map[net.Conn]*httpConn // until hijacked or closed
}

// httpConn is one HTTP connection on the WebSocket port.
type httpConn struct {
	g  *wsGuard
	nc net.Conn
	// viaProxy: its peer is a trusted proxy, so the per-IP limit waits for
	// the request's X-Forwarded-For.
	viaProxy bool
	refusal  *refusal // refused at accept; nil when admitted
	timer    *time.Timer
	hijacked atomic.Bool // gorilla took it over: the handler owns it now

	mu    sync.Mutex
	phase int  // httpOpen, httpUpgrading, httpExpired or httpDone
	slot  bool // holds a MaxConn slot
	token bool // holds one of the server's refusals in flight
}

const (
	httpOpen = iota
	httpUpgrading
	httpExpired
	httpDone
)

type httpConnKey struct{}

// guardWebSocket sets hs up to serve upgrades through up and mux (which
// routes WsPath to the guard's upgrade) under the guard.
func (s *Server) guardWebSocket(hs *http.Server, up *websocket.Upgrader, mux *http.ServeMux) {
	g := &wsGuard{
		s:       s,
		trusted: newTrustedNets(s.cfg.TrustedProxies),
		timeout: s.cfg.HandshakeTimeout,
		up:      up,
		mux:     mux,
		conns:   make(map[net.Conn]*httpConn),
	}
	up.HandshakeTimeout = g.timeout // writing the 101 response
	mux.HandleFunc(s.cfg.WsPath, g.upgrade)
	hs.Handler = g
	hs.ReadHeaderTimeout = g.timeout
	hs.ReadTimeout = g.timeout
	hs.WriteTimeout = g.timeout
	hs.IdleTimeout = wsIdleTimeout
	hs.MaxHeaderBytes = wsMaxHeaderBytes
	hs.ConnContext = g.connContext
	hs.ConnState = g.connState
}

// connContext runs on net/http's accept loop for each new connection: it
// admits or refuses it, and starts its deadline.
func (g *wsGuard) connContext(ctx context.Context, nc net.Conn) context.Context {
	s := g.s
	hc := &httpConn{g: g, nc: nc, viaProxy: g.trusted.trusts(nc.RemoteAddr())}
	if !hc.viaProxy {
		if r, banned := s.bannedRefusal(nc.RemoteAddr()); banned {
			hc.refusal = &r // behind a proxy, the upgrade checks the client
		}
	}
	switch {
	case hc.refusal != nil:
	case !hc.viaProxy && s.ipLim != nil && !s.ipLim.allow(nc.RemoteAddr(), time.Now()):
		r := s.refusedRate()
		hc.refusal = &r
	case !s.mgr.reserve():
		r := s.refusedFull()
		hc.refusal = &r
	default:
		hc.slot = true
	}
	if hc.refusal != nil {
		if s.refusals.Add(1) > maxRefusalsInFlight {
			s.refusals.Add(-1)
			hc.phase = httpDone
			closeRaw(nc)
			return ctx
		}
		hc.token = true
	}
	g.mu.Lock()
	g.conns[nc] = hc
	g.mu.Unlock()
	hc.timer = time.AfterFunc(g.timeout, hc.expire)
	return context.WithValue(ctx, httpConnKey{}, hc)
}

// connState releases what a connection holds when it closes without
// upgrading; a hijacked one is its handler's to release.
func (g *wsGuard) connState(nc net.Conn, st http.ConnState) {
	if st != http.StateHijacked && st != http.StateClosed {
		return
	}
	g.mu.Lock()
	hc := g.conns[nc]
	delete(g.conns, nc)
	g.mu.Unlock()
	switch {
	case hc == nil:
	case st == http.StateHijacked:
		hc.hijacked.Store(true)
	default:
		hc.finish()
	}
}

// ServeHTTP answers one request per connection: upgrades on WsPath, 426
// for anything else, and a refused connection's status.
func (g *wsGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// An answered connection that stayed open would idle outside every
	// limit; net/http closes it after this response.
	w.Header().Set("Connection", "close")
	hc, _ := r.Context().Value(httpConnKey{}).(*httpConn)
	if hc == nil {
		http.Error(w, "connection refused", http.StatusServiceUnavailable)
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		if hc.refusal != nil {
			http.Error(w, hc.refusal.notice.Reason, hc.refusal.status)
			return
		}
		w.Header().Set("Upgrade", "websocket")
		http.Error(w, "this port serves WebSocket clients only", http.StatusUpgradeRequired)
		return
	}
	g.mux.ServeHTTP(w, r)
}

// upgrade upgrades a request on WsPath and admits the session, passing it
// the connection's slot, or tells the client why it is refused.
func (g *wsGuard) upgrade(w http.ResponseWriter, r *http.Request) {
	hc := r.Context().Value(httpConnKey{}).(*httpConn) // ServeHTTP checked
	if !hc.beginUpgrade() {
		return // the deadline passed: closed
	}
	ws, err := g.up.Upgrade(w, r, nil)
	if err != nil {
		g.s.logs.Log(g.s.log, "ws_upgrade", slog.LevelInfo, "znet: WebSocket upgrade refused", "remote", r.RemoteAddr, "origin", r.Header.Get("Origin"), "err", err)
		if hc.hijacked.Load() {
			hc.finish() // gorilla closed it; net/http will not report it
		}
		return
	}
	s := g.s
	wc := s.wrapWebSocket(ws).(*wsConn)
	if hc.viaProxy {
		if ap, ok := g.trusted.forwardedFor(r.Header.Values("X-Forwarded-For")); ok {
			wc.remote = tcpAddr(ap)
		}
	}
	switch {
	case hc.refusal != nil:
		hc.finish()
		s.refuseWith(wc, *hc.refusal)
	case hc.viaProxy && s.refuseBanned(wc, hc):
	case hc.viaProxy && s.ipLim != nil && !s.ipLim.allow(wc.RemoteAddr(), time.Now()):
		hc.finish()
		s.refuseWith(wc, s.refusedRate())
	default:
		hc.takeSlot()
		s.openReserved(wc)
		s.stats.accepted.Add(1)
	}
}

// expire closes a connection that has not upgraded in time.
func (hc *httpConn) expire() {
	hc.mu.Lock()
	open := hc.phase == httpOpen
	if open {
		hc.phase = httpExpired
	}
	hc.mu.Unlock()
	if open {
		closeRaw(hc.nc) // net/http then reports it closed
	}
}

// beginUpgrade stops the deadline, unless it has passed.
func (hc *httpConn) beginUpgrade() bool {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	if hc.phase != httpOpen {
		return false
	}
	hc.phase = httpUpgrading
	hc.timer.Stop()
	return true
}

// takeSlot hands the connection's MaxConn slot to its session, and ends
// the connection's own accounting.
func (hc *httpConn) takeSlot() {
	hc.mu.Lock()
	hc.slot = false
	hc.mu.Unlock()
	hc.finish()
}

// finish releases whatever the connection still holds; later calls do
// nothing.
func (hc *httpConn) finish() {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	if hc.phase == httpDone {
		return
	}
	hc.phase = httpDone
	if hc.timer != nil {
		hc.timer.Stop()
	}
	if hc.slot {
		hc.slot = false
		hc.g.s.mgr.unreserve()
	}
	if hc.token {
		hc.token = false
		hc.g.s.refusals.Add(-1)
	}
}

// closeRaw closes nc's socket. Under TLS it skips the close_notify alert,
// which could wait on a peer that does not read.
func closeRaw(nc net.Conn) {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	_ = nc.Close()
}

// refusal is why a connection is refused: the client's notice, the HTTP
// status for a client that did not ask to upgrade, and the log line.
type refusal struct {
	notice Notice
	status int
	log    string
	args   []any
}

// refusedRate counts a refusal by ConnRatePerIP and describes it.
func (s *Server) refusedRate() refusal {
	s.stats.refusedIP.Add(1)
	return refusal{
		notice: Notice{
			Code:   NoticeRateLimited,
			Reason: fmt.Sprintf("too many new connections from your address (at most %d a minute)", s.cfg.ConnRatePerIP),
		},
		status: http.StatusTooManyRequests,
		log:    "znet: connection refused: ConnRatePerIP reached",
		args:   []any{"per_minute", s.cfg.ConnRatePerIP},
	}
}

// refusedFull counts a refusal by MaxConn and describes it.
func (s *Server) refusedFull() refusal {
	s.stats.refused.Add(1)
	return refusal{
		notice: Notice{Code: NoticeServerFull, Reason: fmt.Sprintf("server is full (%d connections)", s.cfg.MaxConn)},
		status: http.StatusServiceUnavailable,
		log:    "znet: connection refused: MaxConn reached",
		args:   []any{"max_conn", s.cfg.MaxConn},
	}
}

// refuseBanned refuses an upgraded connection from behind a trusted proxy
// whose client (X-Forwarded-For) is banned, releasing the slot hc took.
func (s *Server) refuseBanned(wc net.Conn, hc *httpConn) bool {
	r, banned := s.bannedRefusal(wc.RemoteAddr())
	if banned {
		hc.finish()
		s.refuseWith(wc, r)
	}
	return banned
}

// refuseWith tells a client it is refused, then closes it.
func (s *Server) refuseWith(nc net.Conn, r refusal) {
	s.refuse(nc, r.notice, r.log, r.args...)
}
