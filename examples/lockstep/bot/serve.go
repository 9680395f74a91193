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

	"github.com/zinxgame/zinxgame/game"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
)

// inproc is the lockstep server run in this process with -serve, as
// examples/lockstep runs it with its defaults.
type inproc struct {
	srv      *znet.Server
	ls       *game.Lockstep
	reg      *prometheus.Registry // the lockstep metrics and GOMAXPROCS
	addr     string
	served   chan error
	stopOnce sync.Once
	err      error
}

func startServer(conns int, log *slog.Logger, opts []game.LockstepOption) (*inproc, error) {
	cfg := zconf.Default()
	cfg.Host = "127.0.0.1"
	cfg.MaxConn = max(cfg.MaxConn, conns+100)
	cfg.LogLevel = "warn"
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector())
	opts = append(slices.Clip(opts), game.WithLockstepMetrics(reg))
	ls, err := game.NewLockstep(game.DefaultLockstepConfig(), log, opts...)
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
	l, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, "0")) // a free port)
	if err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ls.Close()
		return nil, fmt.Errorf("-serve: %w", err)
	}
	s := &inproc{srv: srv, ls: ls, reg: reg, addr: l.Addr().String(), served: make(chan error, 1)}
	go func() { s.served <- srv.Serve(l) }()
	return s, nil
}

func (s *inproc) stop() error {
	s.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		s.err = s.srv.Shutdown(ctx)
		if err := <-s.served; !errors.Is(err, znet.ErrServerClosed) {
			s.err = errors.Join(s.err, err)
		}
		s.ls.Close()
	})
	return s.err
}
