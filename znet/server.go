package znet

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zinxgame/zinxgame/zconf"
)

// Server is a game server over TCP and WebSocket, with TLS when the config
// names a certificate. Create it with NewServer; register routes (Handle),
// hooks (OnConnect, OnDisconnect) and modules (Mount); then serve with
// Run(ctx), ListenAndServe, or Serve(l) on a listener of your own, and
// stop with Shutdown(ctx) (graceful) or Close (hard), as with net/http.
// The Zinx names (Start, Stop, AddRouter, SetOnConnStart, ...) live in
// zinx.go. Every method is safe for concurrent use.
type Server struct {
	*engine

	// tlsTCP and tlsWS serve the configured certificate on the TCP and
	// WebSocket listeners that Start and Serve open; nil without TLS.
	tlsTCP, tlsWS *tls.Config

	mu          sync.Mutex
	listeners   map[net.Listener]struct{}
	httpServers []*http.Server
	addr        net.Addr    // of the first TCP listener
	wsAddr      net.Addr    // of the first WebSocket listener
	kcpAddr     net.Addr    // of the first KCP listener
	kcpSocks    []*udpBatch // of every KCP listener served: the metrics, and closed at the end
	shutting    atomic.Bool
	accepting   sync.WaitGroup
	refusing    sync.WaitGroup
	refusals    atomic.Int64

	ipLim        *ipLimiter // ConnRatePerIP; nil when off
	ops          *operator  // /admin/: the operator endpoints, IP bans, maintenance
	notReady     atomic.Bool
	adminServers []*http.Server
	adminAddr    net.Addr
	adminDone    bool // the shutdown completed: no more admin listeners

	sweepQuit  chan struct{} // ends the keep-alive sweeper
	beginOnce  sync.Once
	finishOnce sync.Once
	finished   chan struct{} // the shutdown has completed, gracefully or not
	hardOnce   sync.Once
	hardCh     chan struct{} // closed by hardClose

	// shutdownWork runs when a shutdown begins, drainedWork once every
	// connection has closed; both last registered first.
	shutdownWork, drainedWork workList
	workErrMu                 sync.Mutex
	workErr                   error // what the shutdown's work returned
}

// maxRefusalsInFlight bounds the goroutines spent telling refused clients
// why; past it, refused connections are closed without a notice.
const maxRefusalsInFlight = 1024

// NewServer validates cfg and returns a server using it. With TLS, the
// certificate and key are read here, so a bad file is NewServer's error.
// The worker pool and the keep-alive sweeper start here; Shutdown or Stop
// releases them.
func NewServer(cfg zconf.Config, opts ...Option) (*Server, error) {
	cfg = cfg.WithDefaults() // a zero field means its default
	// Validate before reading files, so every bad value is reported
	// together; read them before the engine starts its workers, so a bad
	// file leaves nothing running.
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tlsTCP, tlsWS, err := serverTLS(cfg)
	if err != nil {
		return nil, err
	}
	e, err := newEngine(cfg, opts)
	if err != nil {
		return nil, err
	}
	s := &Server{
		engine:    e,
		tlsTCP:    tlsTCP,
		tlsWS:     tlsWS,
		listeners: make(map[net.Listener]struct{}),
		finished:  make(chan struct{}),
		hardCh:    make(chan struct{}),
		sweepQuit: make(chan struct{}),
	}
	e.srv = s
	e.answerPings = true
	e.isReady = s.Ready
	s.ipLim = newIPLimiter(&e.cfg, e.log)
	s.ops = newOperator(s)
	s.ops.mountOperator()
	if e.registerer != nil {
		if err := s.ops.register(e.registerer); err != nil {
			e.stopWorkers(0)
			return nil, err
		}
	}
	e.logs.Burst, e.logs.Window = serverLogBurst, serverLogWindow
	e.budget = newBudget(&e.cfg, e.mgr, e.log, &e.logs)
	var also func(time.Time)
	if s.ipLim != nil {
		also = s.ipLim.sweep
	}
	e.startSweeper(s.sweepQuit, also)
	return s, nil
}

// listen binds Host:port, serving TLS with config unless it is nil; what
// names the transport in the error.
func (s *Server) listen(port int, what string, config *tls.Config) (net.Listener, error) {
	port = max(port, 0) // FreePort: the system picks
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("znet: listen for %s on %s: %w", what, addr, err)
	}
	if what == "TCP" {
		return s.tcpListener(l, config), nil // PROXY headers come before TLS
	}
	if config != nil {
		l = tls.NewListener(l, config) // handshakes later, never in Accept
	}
	return l, nil
}

// ListenAndServe listens on the configured ports (Mode: TCP on TcpPort,
// WebSocket on WsPort, or both, over TLS and WSS when TLSCertFile and
// TLSKeyFile are set) and on AdminAddr, and serves until the server shuts
// down; it then returns ErrServerClosed once the shutdown has completed.
// A route conflict registered through AddRouter is returned before
// anything is bound.
func (s *Server) ListenAndServe() error {
	serves, err := s.listenAll()
	if err != nil {
		return err
	}
	errc := make(chan error, len(serves))
	for _, serve := range serves {
		go func() { errc <- serve() }()
	}
	var first error
	for range serves {
		if err := <-errc; first == nil || errors.Is(first, ErrServerClosed) {
			first = err
		}
	}
	return first
}

// listenAll binds every listener Mode asks for and the admin listener, so
// a port in use fails before anything is served, and returns their serve
// loops.
func (s *Server) listenAll() ([]func() error, error) {
	if err := s.registrationErr(); err != nil {
		return nil, err
	}
	var bound []net.Listener
	closeAll := func() {
		for _, l := range bound {
			_ = l.Close()
		}
	}
	var tcp, ws, kl net.Listener
	var err error
	if s.cfg.ServesTCP() {
		if tcp, err = s.listen(s.cfg.TcpPort, "TCP", s.tlsTCP); err != nil {
			return nil, err
		}
		bound = append(bound, tcp)
	}
	if s.cfg.ServesWebSocket() {
		if ws, err = s.listen(s.cfg.WsPort, "WebSocket", s.tlsWS); err != nil {
			closeAll()
			return nil, err
		}
		bound = append(bound, ws)
	}
	if s.cfg.ServesKCP() {
		k, err := s.listenKCP()
		if err != nil {
			closeAll()
			return nil, err
		}
		kl = k
		bound = append(bound, kl)
	}
	if err := s.startAdmin(); err != nil {
		closeAll()
		return nil, err
	}
	var serves []func() error
	if tcp != nil {
		if err := s.track(tcp, false); err != nil {
			closeAll()
			return nil, err
		}
		serves = append(serves, func() error { return s.serve(tcp) })
	}
	if ws != nil {
		if err := s.track(ws, true); err != nil {
			if tcp != nil {
				s.untrack(tcp)
			}
			if kl != nil {
				_ = kl.Close() // bound, not yet tracked
			}
			return nil, err
		}
		serves = append(serves, func() error { return s.serveWebSocket(ws) })
	}
	if kl != nil {
		if err := s.track(kl, false); err != nil {
			for _, l := range []net.Listener{tcp, ws} {
				if l != nil {
					s.untrack(l)
				}
			}
			return nil, err
		}
		serves = append(serves, func() error { return s.serve(kl) })
	}
	s.logTLS()
	return serves, nil
}

// Run serves like ListenAndServe until ctx ends (wire it to SIGINT and
// SIGTERM with signal.NotifyContext), then shuts down gracefully within
// ShutdownTimeout. It returns nil after a clean shutdown, and otherwise
// the serving error or what Shutdown returned (the shutdown work's errors
// included), so a supervisor learns of a failed stop from the exit status.
func (s *Server) Run(ctx context.Context) error {
	served := make(chan error, 1)
	go func() { served <- s.ListenAndServe() }()
	select {
	case err := <-served:
		// Serving failed on its own (a port in use, a route conflict) or a
		// Shutdown from elsewhere completed.
		if errors.Is(err, ErrServerClosed) {
			return s.shutdownErr()
		}
		return err
	case <-ctx.Done():
	}
	sctx, cancel := s.shutdownContext()
	defer cancel()
	err := s.Shutdown(sctx)
	if serr := <-served; !errors.Is(serr, ErrServerClosed) {
		err = errors.Join(serr, err)
	}
	return err
}

// Serve serves TCP connections from l until the server shuts down, then
// returns ErrServerClosed once the shutdown has completed. l is closed on
// return. Any transport whose listener yields net.Conns (plain TCP, TLS,
// a Unix socket, KCP from ListenKCP) rides the same pipeline; WebSocket
// needs ServeWebSocket.
//
// l is served as it is: to serve TLS, wrap it with tls.NewListener (the
// configured certificate comes from Config.NewTLSConfig). ListenAndServe
// wraps the listeners it opens itself. With ProxyProtocol on, the PROXY
// header is read from l's connections, so l must not be a TLS listener
// (ListenAndServe reads it before the TLS handshake).
func (s *Server) Serve(l net.Listener) error {
	if err := s.registrationErr(); err != nil {
		_ = l.Close()
		return err
	}
	if _, ok := l.(*KCPListener); !ok {
		l = s.tcpListener(l, nil) // reads PROXY headers when ProxyProtocol is on
	}
	if err := s.track(l, false); err != nil {
		return err
	}
	return s.serve(l)
}

// Addr is the address of the first TCP listener, useful with TcpPort 0.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// WebSocketAddr is the address of the first WebSocket listener.
func (s *Server) WebSocketAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wsAddr
}

func (s *Server) track(l net.Listener, ws bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutting.Load() {
		_ = l.Close()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	if k, ok := l.(*KCPListener); ok {
		if s.kcpAddr == nil {
			s.kcpAddr = l.Addr()
		}
		s.kcpSocks = append(s.kcpSocks, k.sock)
	} else if ws && s.wsAddr == nil {
		s.wsAddr = l.Addr()
	} else if !ws && s.addr == nil {
		s.addr = l.Addr()
	}
	s.accepting.Add(1)
	return nil
}

// untrack forgets and closes a tracked listener.
func (s *Server) untrack(l net.Listener) {
	s.mu.Lock()
	delete(s.listeners, l)
	s.mu.Unlock()
	_ = l.Close()
	s.accepting.Done()
}

func (s *Server) serve(l net.Listener) error {
	// The transport is named so that a process serving several (Mode
	// "tcp,kcp") tells its users, and tests reading the log, which port
	// is which.
	transport := "tcp"
	if _, ok := l.(*KCPListener); ok {
		transport = "kcp"
	}
	s.log.Info("znet: serving", "transport", transport, "addr", l.Addr().String(), "framing", s.cfg.Framing,
		"workers", s.cfg.WorkerPoolSize, "max_conn", s.cfg.MaxConn)
	return s.served(l, s.acceptLoop(l))
}

// served ends a serve loop of l, which ended with err: it forgets l and,
// during a shutdown, waits for the shutdown to complete.
func (s *Server) served(l net.Listener, err error) error {
	s.untrack(l)
	if s.shutting.Load() {
		<-s.finished
		return ErrServerClosed
	}
	return err
}

func (s *Server) acceptLoop(l net.Listener) error {
	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.shutting.Load() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("znet: accept: %w", err)
			}
			// Out of file descriptors and the like: wait and retry
			// rather than spin or give up.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Error("znet: accept failed; retrying", "err", err, "in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		s.admit(nc)
	}
}

// admit starts a connection, or refuses it when its address is banned,
// opens connections too fast (ConnRatePerIP) or the server is full
// (MaxConn).
func (s *Server) admit(nc net.Conn) {
	if r, banned := s.bannedRefusal(nc.RemoteAddr()); banned {
		s.refuseWith(nc, r)
		return
	}
	if s.ipLim != nil && !s.ipLim.allow(nc.RemoteAddr(), time.Now()) {
		s.refuseWith(nc, s.refusedRate())
		return
	}
	if _, ok := s.open(nc); ok {
		s.stats.accepted.Add(1)
		return
	}
	s.refuseWith(nc, s.refusedFull())
}

// refuse tells a refused client why, then closes it. A flood of refusals
// is logged through the server's log throttle, with the total refused.
func (s *Server) refuse(nc net.Conn, n Notice, logMsg string, logArgs ...any) {
	s.logs.Log(s.log, n.Code, slog.LevelWarn, logMsg, append(logArgs, "remote", nc.RemoteAddr().String(),
		"refused_total", s.stats.refused.Load()+s.stats.refusedIP.Load())...)
	if s.refusals.Add(1) > maxRefusalsInFlight {
		s.refusals.Add(-1)
		_ = nc.Close()
		return
	}
	frame := s.pack.appendPacket(nil, s.cfg.NoticeMsgID, n.encode())
	s.refusing.Add(1)
	go func() {
		defer s.refusing.Done()
		defer s.refusals.Add(-1)
		_ = nc.SetDeadline(time.Now().Add(lingerTime))
		if _, err := nc.Write(frame); err == nil && !kcpLinger(nc) {
			// Half-close and let the client close first, so the notice is
			// not lost to a reset.
			if cw, ok := nc.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
				_, _ = io.CopyN(io.Discard, nc, 64<<10)
			}
		}
		_ = nc.Close()
	}()
}

// noticeAll queues a notice on every connection.
func (s *Server) noticeAll(n Notice) {
	if _, err := s.Broadcast(s.cfg.NoticeMsgID, n.encode()); err != nil {
		s.log.Error("znet: notice not sent", "code", n.Code, "err", err)
	}
}

// ErrUnknownConn is returned by Kick for a connection ID that is not live.
var ErrUnknownConn = errors.New("znet: no such connection")

// Kick sends the client a "kicked" notice with reason, then closes the
// connection gracefully (the notice is flushed before the close).
func (s *Server) Kick(connID uint64, reason string) error {
	c, ok := s.mgr.Get(connID)
	if !ok {
		return fmt.Errorf("%w: %d", ErrUnknownConn, connID)
	}
	err := c.(*Connection).Kick(reason)
	s.log.Info("znet: connection kicked", "conn_id", connID, "reason", reason)
	return err
}

// Online is the number of connected clients.
func (s *Server) Online() int { return s.mgr.Len() }

// Config is the server's configuration, with its defaults filled in: a
// module reads the limits it must announce or respect (MaxPackageSize).
// Safe for concurrent use.
func (s *Server) Config() zconf.Config { return s.cfg }
