package znet

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
)

// Server is a game server over TCP and WebSocket, with TLS when the config
// names a certificate. Create it with NewServer, register routers and
// hooks, then call Serve (blocking), Start (background) or ServeListener.
// Every method is safe for concurrent use.
type Server struct {
	*engine

	// tlsTCP and tlsWS serve the configured certificate on the TCP and
	// WebSocket listeners that Start and Serve open; nil without TLS.
	tlsTCP, tlsWS *tls.Config

	mu          sync.Mutex
	listeners   map[net.Listener]struct{}
	httpServers []*http.Server
	addr        net.Addr // of the first TCP listener
	wsAddr      net.Addr // of the first WebSocket listener
	shutting    atomic.Bool
	accepting   sync.WaitGroup
	refusing    sync.WaitGroup
	refusals    atomic.Int64

	ipLim        *ipLimiter // ConnRatePerIP; nil when off
	notReady     atomic.Bool
	adminServers []*http.Server
	adminAddr    net.Addr
	adminDone    bool         // the shutdown completed: no more admin listeners
	refusalLog   atomic.Int64 // Unix ms of the last refusal logged

	sweepQuit  chan struct{} // ends the keep-alive sweeper
	beginOnce  sync.Once
	finishOnce sync.Once
	finished   chan struct{} // the shutdown has completed, gracefully or not
}

var _ ziface.IServer = (*Server)(nil)

// maxRefusalsInFlight bounds the goroutines spent telling refused clients
// why; past it, refused connections are closed without a notice.
const maxRefusalsInFlight = 1024

// NewServer validates cfg and returns a server using it. With TLS, the
// certificate and key are read here, so a bad file is NewServer's error.
// The worker pool and the keep-alive sweeper start here; Shutdown or Stop
// releases them.
func NewServer(cfg zconf.Config, opts ...Option) (*Server, error) {
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
		sweepQuit: make(chan struct{}),
	}
	e.answerPings = true
	e.isReady = s.Ready
	s.ipLim = newIPLimiter(&e.cfg, e.log)
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

// Start listens on the configured ports (Mode: TCP on TcpPort, WebSocket
// on WsPort, or both) and serves in the background, over TLS and WSS when
// TLSCertFile and TLSKeyFile are set. It returns once the listeners are
// bound, so Addr is valid afterwards.
func (s *Server) Start() error {
	serves, err := s.listenAll()
	if err != nil {
		return err
	}
	if err := s.startAdmin(); err != nil {
		s.Stop()
		return err
	}
	for _, serve := range serves {
		go func() {
			if err := serve(); err != nil && !errors.Is(err, ErrServerClosed) {
				s.log.Error("znet: serving stopped", "err", err)
			}
		}()
	}
	return nil
}

// Serve listens on the configured ports and serves until the server shuts
// down; it then returns ErrServerClosed once the shutdown has completed.
func (s *Server) Serve() error {
	serves, err := s.listenAll()
	if err != nil {
		return err
	}
	if err := s.startAdmin(); err != nil {
		s.Stop()
		<-s.finished
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

// listenAll binds every listener Mode asks for, so a port in use fails
// before anything is served, and returns their serve loops.
func (s *Server) listenAll() ([]func() error, error) {
	var tcp, ws net.Listener
	var err error
	if s.cfg.ServesTCP() {
		if tcp, err = s.listen(s.cfg.TcpPort, "TCP", s.tlsTCP); err != nil {
			return nil, err
		}
	}
	if s.cfg.ServesWebSocket() {
		if ws, err = s.listen(s.cfg.WsPort, "WebSocket", s.tlsWS); err != nil {
			if tcp != nil {
				_ = tcp.Close()
			}
			return nil, err
		}
	}
	var serves []func() error
	if tcp != nil {
		if err := s.track(tcp, false); err != nil {
			if ws != nil {
				_ = ws.Close()
			}
			return nil, err
		}
		serves = append(serves, func() error { return s.serve(tcp) })
	}
	if ws != nil {
		if err := s.track(ws, true); err != nil {
			if tcp != nil {
				s.untrack(tcp)
			}
			return nil, err
		}
		serves = append(serves, func() error { return s.serveWebSocket(ws) })
	}
	s.logTLS()
	return serves, nil
}

// Run serves like Serve until ctx ends (wire it to SIGINT/SIGTERM with
// signal.NotifyContext), then shuts down gracefully within ShutdownTimeout.
// It returns nil after a clean shutdown.
func (s *Server) Run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, s.Stop)
	defer stop()
	if err := s.Serve(); !errors.Is(err, ErrServerClosed) {
		return err
	}
	return nil
}

// ListenAndServe is Serve, under net/http's name.
func (s *Server) ListenAndServe() error { return s.Serve() }

// ServeListener serves TCP connections from l until the server shuts down,
// then returns ErrServerClosed once the shutdown has completed. l is closed
// on return.
//
// l is served as it is: to serve TLS, wrap it with tls.NewListener (the
// configured certificate comes from Config.NewTLSConfig). Start and Serve
// wrap the listeners they open themselves. With ProxyProtocol on, the PROXY
// header is read from l's connections, so l must not be a TLS listener
// (Start and Serve read it before the TLS handshake).
func (s *Server) ServeListener(l net.Listener) error {
	l = s.tcpListener(l, nil) // reads PROXY headers when ProxyProtocol is on
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
	if ws && s.wsAddr == nil {
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
	s.log.Info("znet: serving", "addr", l.Addr().String(), "framing", s.cfg.Framing,
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

// admit starts a connection, or refuses it when its address opens
// connections too fast (ConnRatePerIP) or the server is full (MaxConn).
func (s *Server) admit(nc net.Conn) {
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
// is logged once a second, with the total refused so far.
func (s *Server) refuse(nc net.Conn, n Notice, logMsg string, logArgs ...any) {
	if now := time.Now().UnixMilli(); now-s.refusalLog.Load() >= 1000 {
		s.refusalLog.Store(now)
		s.log.Warn(logMsg, append(logArgs, "remote", nc.RemoteAddr().String(),
			"refused_total", s.stats.refused.Load()+s.stats.refusedIP.Load())...)
	}
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
		if _, err := nc.Write(frame); err == nil {
			// Half-close and let the client close first, so the notice is
			// not lost to a reset.
			if cw, ok := nc.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
				_, _ = io.CopyN(io.Discard, nc, 64<<10)
			}
		}
		_ = nc.Close()
	}()
}

// Shutdown shuts the server down gracefully; see ziface.IServer. It may be
// called any number of times, from any goroutine; every call waits for the
// same shutdown. Calling it from a handler waits until ctx ends, because
// that handler's connection cannot drain while it runs: use Stop there.
func (s *Server) Shutdown(ctx context.Context) error {
	s.begin()
	select {
	case <-s.finished:
		return nil
	case <-ctx.Done():
		s.hardClose()
		return ctx.Err()
	}
}

// Stop starts a graceful shutdown bounded by ShutdownTimeout and returns at
// once; Serve returns when it completes. Safe to call from handlers and
// hooks.
func (s *Server) Stop() {
	s.begin()
	go func() {
		t := time.NewTimer(s.cfg.ShutdownTimeout)
		defer t.Stop()
		select {
		case <-s.finished:
		case <-t.C:
			s.log.Warn("znet: graceful shutdown timed out; closing the remaining connections", "timeout", s.cfg.ShutdownTimeout)
			s.hardClose()
		}
	}()
}

// Done is closed when a shutdown has completed.
func (s *Server) Done() <-chan struct{} { return s.finished }

func (s *Server) begin() {
	s.beginOnce.Do(func() {
		s.mu.Lock()
		s.shutting.Store(true)
		for l := range s.listeners {
			_ = l.Close()
		}
		for _, hs := range s.httpServers {
			_ = hs.Close() // its Serve returns; upgraded connections are ours
		}
		s.mu.Unlock()
		s.log.Info("znet: shutting down", "connections", s.mgr.Len())
		go func() {
			s.accepting.Wait()
			s.noticeAll(Notice{
				Code:         NoticeShutdown,
				Reason:       "the server is shutting down",
				RetryAfterMs: s.cfg.ReconnectAfter.Milliseconds(),
			})
			s.mgr.ClearConn()
			s.conns.Wait()
			s.refusing.Wait()
			close(s.sweepQuit)
			s.stopWorkers(s.cfg.ShutdownTimeout)
			s.log.Info("znet: shutdown complete")
			s.finish()
		}()
	})
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

// hardClose closes every remaining connection without waiting for its
// queues, and ends the shutdown.
func (s *Server) hardClose() {
	s.mgr.Range(func(c ziface.IConnection) bool {
		c.(*Connection).hardClose()
		return true
	})
	s.finish()
}

func (s *Server) finish() {
	s.finishOnce.Do(func() {
		s.closeAdmin()
		close(s.finished)
	})
}
