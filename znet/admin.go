package znet

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The admin listener (AdminAddr) is for operators and orchestrators:
// /metrics for Prometheus, /healthz (the process is alive) and /readyz (it
// takes new players: false before the first listener is up, after
// SetReady(false), and from the moment a shutdown begins), plus pprof
// when AdminPprof is set. It stays up until the shutdown has completed, so
// a load balancer sees /readyz fail while the server drains.

// Ready reports whether the server takes new players: it is serving at
// least one listener, is not shutting down, and the application has not
// called SetReady(false).
func (s *Server) Ready() bool {
	s.mu.Lock()
	serving := len(s.listeners) > 0
	s.mu.Unlock()
	return serving && !s.shutting.Load() && !s.notReady.Load()
}

// SetReady lets the application hold readiness down, for example until its
// database is reachable. The server starts ready; a shutdown makes it not
// ready whatever this says.
func (s *Server) SetReady(ready bool) { s.notReady.Store(!ready) }

// AdminHandler returns the admin endpoints as an http.Handler, to mount on
// a listener of the application's own instead of AdminAddr.
func (s *Server) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	if s.gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{}))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.Ready() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	if s.ops.on {
		mux.Handle("/admin/", s.ops) // behind the token; routes added later show at once
	}
	if s.cfg.AdminPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// ServeAdmin serves the admin endpoints on l until the server's shutdown
// has completed, then returns ErrServerClosed. Start and Serve call it for
// AdminAddr themselves.
func (s *Server) ServeAdmin(l net.Listener) error {
	hs := &http.Server{Handler: s.AdminHandler(), ReadHeaderTimeout: 5 * time.Second}
	s.mu.Lock()
	if s.adminDone {
		s.mu.Unlock()
		_ = l.Close()
		return ErrServerClosed
	}
	s.adminServers = append(s.adminServers, hs)
	if s.adminAddr == nil {
		s.adminAddr = l.Addr()
	}
	s.mu.Unlock()
	s.log.Info("znet: admin listener", "addr", l.Addr().String(), "pprof", s.cfg.AdminPprof)
	if err := hs.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("znet: admin listener: %w", err)
	}
	return ErrServerClosed
}

// AdminAddr is the address of the admin listener, once it is up.
func (s *Server) AdminAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.adminAddr
}

// startAdmin binds AdminAddr, when set, and serves it in the background.
func (s *Server) startAdmin() error {
	if s.cfg.AdminAddr == "" {
		return nil
	}
	l, err := net.Listen("tcp", s.cfg.AdminAddr)
	if err != nil {
		return fmt.Errorf("znet: listen for admin on %s: %w", s.cfg.AdminAddr, err)
	}
	s.mu.Lock()
	if s.adminAddr == nil {
		s.adminAddr = l.Addr() // valid when Start returns
	}
	s.mu.Unlock()
	go func() {
		if err := s.ServeAdmin(l); !errors.Is(err, ErrServerClosed) {
			s.log.Error("znet: admin listener stopped", "err", err)
		}
	}()
	return nil
}

// closeAdmin closes the admin listeners once the shutdown has completed.
func (s *Server) closeAdmin() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.adminDone = true
	for _, hs := range s.adminServers {
		_ = hs.Close()
	}
	s.adminServers = nil
}
