package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/zinxgame/zinxgame/game/account"
	"github.com/zinxgame/zinxgame/game/lockstep"
	"github.com/zinxgame/zinxgame/internal/botkit"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
)

// inproc is the lockstep server run in this process with -serve, as
// examples/lockstep runs it with its defaults, on TCP and KCP (Mode
// "tcp,kcp"), so that -transport picks either and -switch-every moves
// between them.
type inproc struct {
	srv      *znet.Server
	ls       *lockstep.Service
	reg      *prometheus.Registry // the lockstep metrics and GOMAXPROCS
	addr     string               // TCP, host:port
	kcpAddr  string               // KCP, kcp://host:port
	served   chan error
	stopOnce sync.Once
	err      error
}

func startServer(conns int, log *slog.Logger, opts []lockstep.Option) (*inproc, error) {
	return startServerAt("", conns, log, opts)
}

// startServerAt is startServer with its TCP listener on addr ("" for a
// free port): a test restarts a server on the same address.
func startServerAt(addr string, conns int, log *slog.Logger, opts []lockstep.Option) (*inproc, error) {
	cfg := zconf.Default()
	cfg.Host = "127.0.0.1"
	cfg.MaxConn = max(cfg.MaxConn, conns+100)
	cfg.LogLevel = "warn"
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector())
	// The bots are many players from one address: new identities are not
	// limited per address here, as they are by default.
	opts = append([]lockstep.Option{lockstep.WithIdentityConfig(account.Config{NewIdentityRate: account.Disabled})},
		append(slices.Clip(opts), lockstep.WithMetrics(reg))...)
	ls, err := lockstep.New(lockstep.DefaultConfig(), log, opts...)
	if err != nil {
		return nil, fmt.Errorf("-serve: %w", err)
	}
	srv, err := znet.NewServer(cfg, znet.WithLogger(log))
	if err != nil {
		ls.Close()
		return nil, fmt.Errorf("-serve: %w", err)
	}
	if err := srv.Mount("lockstep", ls); err != nil {
		ls.Close()
		return nil, fmt.Errorf("-serve: %w", err)
	}
	if addr == "" {
		addr = net.JoinHostPort(cfg.Host, "0") // a free port
	}
	l, err := net.Listen("tcp", addr)
	var kl *znet.KCPListener
	if err == nil {
		if kl, err = znet.ListenKCP(net.JoinHostPort(cfg.Host, "0"), cfg); err != nil {
			_ = l.Close()
		}
	}
	if err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ls.Close()
		return nil, fmt.Errorf("-serve: %w", err)
	}
	s := &inproc{srv: srv, ls: ls, reg: reg, addr: l.Addr().String(), kcpAddr: botkit.KCPScheme + kl.Addr().String(),
		served: make(chan error, 2)}
	go func() { s.served <- srv.Serve(l) }()
	go func() { s.served <- srv.Serve(kl) }()
	return s, nil
}

func (s *inproc) stop() error {
	s.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		s.err = s.srv.Shutdown(ctx)
		for range cap(s.served) {
			if err := <-s.served; !errors.Is(err, znet.ErrServerClosed) {
				s.err = errors.Join(s.err, err)
			}
		}
		s.ls.Close()
	})
	return s.err
}
