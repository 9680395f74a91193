package znettest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
)

// Config returns the configuration tests start from: zconf.Default on
// loopback with ports picked by the kernel, a small worker pool, 256
// connections at most, a 5 s shutdown bound and debug logs (kept in the
// test server's buffer, so they cost nothing unless the test fails).
func Config() zconf.Config {
	cfg := zconf.Default()
	cfg.Name = "znettest"
	cfg.Host = "127.0.0.1"
	cfg.TcpPort, cfg.WsPort = zconf.FreePort, zconf.FreePort
	cfg.WorkerPoolSize = 4
	cfg.BlockingPoolSize = 16
	cfg.MaxConn = 256
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.LogLevel = "debug"
	return cfg
}

// Server is a *znet.Server serving on loopback ports for one test, as
// httptest.Server is for net/http. Its fields are set by NewServer or
// NewUnstartedServer and not changed afterwards; its methods are safe for
// concurrent use.
type Server struct {
	// Server is the server under test: register routes, hooks and modules
	// on it before Start (or in NewServer's setup), and inspect it after.
	Server *znet.Server
	// Config is the configuration the server was made with; Peers dialled
	// through Dial and DialWebSocket frame with it.
	Config zconf.Config
	// Addr is the TCP listener's address, host:port.
	Addr string
	// URL is the WebSocket endpoint, ws://host:port/WsPath; empty unless
	// the server was made WithWebSocket.
	URL string
	// KCPAddr is the KCP listener's address, host:port (UDP); empty
	// unless the server was made WithKCP.
	KCPAddr string

	t      TB
	logs   *logBuffer
	tcp    net.Listener
	ws     net.Listener // nil without WithWebSocket
	kcp    net.Listener // nil without WithKCP
	served chan error   // one result per serve loop started

	startOnce sync.Once
	loops     int // serve loops started; set by Start

	closeOnce    sync.Once
	shutdownOnce sync.Once
	shutdownErr  error
	handedOver   bool // Shutdown's caller took the shutdown's error
}

// Option configures a test server.
type Option func(*options)

type options struct {
	websocket bool
	kcp       bool
	srvOpts   []znet.Option
}

// WithWebSocket serves WebSocket as well, on a second loopback port at the
// config's WsPath; the server's URL is then set.
func WithWebSocket() Option { return func(o *options) { o.websocket = true } }

// WithServerOptions passes opts to znet.NewServer, after the kit's own
// logger option: a znet.WithLogger here takes the logs away from the
// kept buffer.
func WithServerOptions(opts ...znet.Option) Option {
	return func(o *options) { o.srvOpts = append(o.srvOpts, opts...) }
}

// NewServer makes a server with cfg (start from Config), calls setup on it
// (nil for none) to register routes, hooks and modules, and serves it on
// loopback until the test ends; see NewUnstartedServer for what happens
// then. A cfg that does not validate fails t.
func NewServer(t TB, cfg zconf.Config, setup func(*znet.Server), opts ...Option) *Server {
	t.Helper()
	ts := NewUnstartedServer(t, cfg, opts...)
	if ts == nil {
		return nil
	}
	if setup != nil {
		setup(ts.Server)
	}
	ts.Start()
	return ts
}

// NewUnstartedServer makes a server with cfg and binds its loopback
// listeners (so Addr and URL are known), but does not serve until Start.
// The server's logs go to a bounded buffer (Logs), which is printed
// through t.Logf if the test fails. When the test ends, Close shuts the
// server down and checks that it went cleanly.
func NewUnstartedServer(t TB, cfg zconf.Config, opts ...Option) *Server {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := znet.NewServer(cfg, append([]znet.Option{znet.WithLogger(log)}, o.srvOpts...)...)
	if err != nil {
		t.Fatalf("znettest: NewServer: %v", err)
		return nil
	}
	ts := &Server{Server: srv, Config: cfg, t: t, logs: logs, served: make(chan error, 3)}
	// Registered before anything can fail, so a half-made server is closed
	// too; the logs are printed after the shutdown, with its lines.
	t.Cleanup(func() {
		ts.Close()
		if t.Failed() {
			t.Logf("znettest: server log:\n%s", logs)
		}
	})
	if ts.tcp, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatalf("znettest: listen: %v", err)
		return nil
	}
	ts.Addr = ts.tcp.Addr().String()
	if o.websocket {
		if ts.ws, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatalf("znettest: listen: %v", err)
			return nil
		}
		ts.URL = "ws://" + ts.ws.Addr().String() + cfg.WsPath
	}
	if o.kcp {
		kl, err := znet.ListenKCP("127.0.0.1:0", cfg)
		if err != nil {
			t.Fatalf("znettest: listen for KCP: %v", err)
			return nil
		}
		ts.kcp, ts.KCPAddr = kl, kl.Addr().String()
	}
	return ts
}

// Start serves the bound listeners, TCP and KCP with Serve and WebSocket
// with ServeWebSocket, each on its own goroutine. A second call does nothing;
// calling it after Close does nothing either.
func (s *Server) Start() {
	s.startOnce.Do(func() {
		s.loops = 1
		go func() { s.served <- s.Server.Serve(s.tcp) }()
		if s.ws != nil {
			s.loops++
			go func() { s.served <- s.Server.ServeWebSocket(s.ws) }()
		}
		if s.kcp != nil {
			s.loops++
			go func() { s.served <- s.Server.Serve(s.kcp) }()
		}
	})
}

// Shutdown shuts the server down gracefully within ctx and returns what
// znet.Server.Shutdown returned, so a test can check the errors of its
// shutdown work; Close then reports nothing about them. Later calls
// return the first call's result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() {
		s.handedOver = true
		s.shutdownErr = s.Server.Shutdown(ctx)
	})
	return s.shutdownErr
}

// Close shuts the server down gracefully, bounded by the config's
// ShutdownTimeout plus 5 s, waits (5 s at most) until every serve loop
// has returned, and
// fails the test (Errorf) when the shutdown returned an error (unless
// Shutdown handed it to the caller) or a serve loop returned anything but
// znet.ErrServerClosed. It is called when the test ends; a test calls it
// earlier to check what happens after. Later calls do nothing.
func (s *Server) Close() {
	s.t.Helper()
	s.closeOnce.Do(func() {
		// Listeners of a server never started are the kit's to close.
		s.startOnce.Do(func() {})
		if s.loops == 0 {
			for _, l := range []net.Listener{s.tcp, s.ws, s.kcp} {
				if l != nil {
					_ = l.Close()
				}
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.Config.ShutdownTimeout+5*time.Second)
		defer cancel()
		s.shutdownOnce.Do(func() { s.shutdownErr = s.Server.Shutdown(ctx) })
		if s.shutdownErr != nil && !s.handedOver {
			s.t.Errorf("znettest: server shutdown: %v (%d connections still open)", s.shutdownErr, s.Server.Online())
		}
		// Serving returns once the shutdown has completed, even a hard one;
		// the wait has a bound of its own, as ctx may be spent.
		timeout := time.NewTimer(5 * time.Second)
		defer timeout.Stop()
		for range s.loops {
			select {
			case err := <-s.served:
				if !errors.Is(err, znet.ErrServerClosed) {
					s.t.Errorf("znettest: serving returned %v, want znet.ErrServerClosed", err)
				}
			case <-timeout.C:
				s.t.Errorf("znettest: serving did not return after the shutdown")
				return
			}
		}
	})
}

// Logs returns the server's log so far (its most recent MiB).
func (s *Server) Logs() string { return s.logs.String() }

// WaitLog waits until the server's log contains every one of want, and
// fails the test if it does not within DefaultTimeout.
func (s *Server) WaitLog(want ...string) {
	s.t.Helper()
	var missing string
	Eventually(s.t, func() bool {
		log := s.logs.String()
		for _, w := range want {
			if !strings.Contains(log, w) {
				missing = w
				return false
			}
		}
		return true
	}, "the server log to contain %s", logWant{&missing, s.logs})
}

// logWant prints the missing line and the log when a WaitLog times out.
type logWant struct {
	missing *string
	logs    *logBuffer
}

func (w logWant) String() string { return fmt.Sprintf("%q; log:\n%s", *w.missing, w.logs) }

// Dial connects a Peer to the server over TCP; it is closed when the test
// ends.
func (s *Server) Dial() *Peer {
	s.t.Helper()
	return Dial(s.t, s.Addr, s.Config)
}

// DialWebSocket connects a Peer to the server's WebSocket endpoint; the
// server must have been made WithWebSocket.
func (s *Server) DialWebSocket() *Peer {
	s.t.Helper()
	if s.URL == "" {
		s.t.Fatalf("znettest: DialWebSocket on a server made without WithWebSocket")
		return nil
	}
	return DialWebSocket(s.t, s.URL, s.Config)
}
