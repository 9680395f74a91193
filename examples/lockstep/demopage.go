package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/zinxgame/zinxgame/examples/lockstep/web"
	"github.com/zinxgame/zinxgame/game/lockstep"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
)

// demoConfig is the "Demo" section: where the browser demo page is served
// (examples/lockstep/web). Off unless Addr is set.
type demoConfig struct {
	// Addr is host:port for the page's HTTP server, for example
	// "127.0.0.1:8080". Empty: no page.
	Addr string
}

// Validate checks Addr is a host:port.
func (c *demoConfig) Validate() error {
	if c.Addr == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("lockstep: Demo.Addr = %q: %w", c.Addr, err)
	}
	return nil
}

// serveDemo listens on dc.Addr (so a port in use stops the start) and
// serves the page until the server shuts down: the HTTP server is shut
// down with the server's shutdown work, before the players drain. The
// close it returns stops it at once, for a server that never ran; addr is
// where it listens.
func serveDemo(srv *znet.Server, dc demoConfig, ls lockstep.Config, log *slog.Logger) (addr net.Addr, closeFn func(), err error) {
	nc := srv.Config()
	if !nc.ServesWebSocket() {
		return nil, nil, errors.New("the demo page needs the WebSocket listener: set Mode to \"both\" or \"websocket\"")
	}
	if nc.WsPort == zconf.FreePort {
		return nil, nil, errors.New("the demo page needs a fixed WsPort to tell the page, not a free one")
	}
	l, err := net.Listen("tcp", dc.Addr)
	if err != nil {
		return nil, nil, fmt.Errorf("demo page: %w", err)
	}
	wc := web.ConfigFor(nc, ls)
	wc.Logger = log
	hs := &http.Server{
		Handler:           web.Handler(wc),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	srv.RegisterOnShutdown(func(ctx context.Context) error {
		if err := hs.Shutdown(ctx); err != nil {
			return fmt.Errorf("demo page: %w", err)
		}
		return nil
	})
	go func() {
		if err := hs.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			log.Error("demo page: serving stopped", "err", err)
		}
	}()
	log.Info("demo page", "url", "http://"+displayAddr(l.Addr().String())+"/")
	return l.Addr(), func() { _ = hs.Close() }, nil
}

// displayAddr is an address a browser on this machine can open: an
// unspecified host (":8080", "0.0.0.0:8080") becomes localhost.
func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
