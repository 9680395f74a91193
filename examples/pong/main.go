// Command pong is the server of the pong example (docs/first-game.md): a
// server-authoritative two-player pong at 20 Hz on zinxgame's room
// runtime (package examples/pong/pong, protocol examples/pong/pongpb).
// State is in memory unless ZINX_REDIS_ADDR names a Redis server.
//
//	go run ./examples/pong                   # TCP :8999
//	go run ./examples/pong/bot -serve        # a server in-process and two bots playing a match
//	go run ./examples/pong/bot               # two bots against the server above
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/zinxgame/zinxgame/examples/pong/pong"
	"github.com/zinxgame/zinxgame/game/account"
	"github.com/zinxgame/zinxgame/game/account/auth"
	"github.com/zinxgame/zinxgame/game/store/redisstore"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "pong server:", err)
		os.Exit(1)
	}
}

func run() error {
	file := flag.String("c", "", "JSON config file: server keys, plus \"Redis\" and \"Auth\" sections")
	port := flag.Int("port", -1, "TCP port, overriding the config")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	over := map[string]any{}
	if *port >= 0 {
		over["TcpPort"] = *port
	}
	authCfg := auth.Config{}   // the secret from the file or ZINX_AUTH_SECRET
	rc := zconf.DefaultRedis() // empty Addr: everything in memory
	cfg, err := zconf.Load(zconf.Source{File: *file, Overrides: over,
		// A client sends a Move when its direction changes, at most once a
		// tick (20 Hz); twice that, with two seconds of burst, is a flood.
		Defaults: map[string]any{"Name": "pong", "MsgRateLimit": 40.0, "MsgRateBurst": 80, "MsgRatePolicy": zconf.RateDisconnect},
		Sections: map[string]any{"Redis": &rc, "Auth": &authCfg},
	})
	if err != nil {
		return err
	}
	srv, err := znet.NewServer(cfg)
	if err != nil {
		return err
	}
	log := cfg.NewLogger(os.Stderr)
	stores, err := redisstore.Open(context.Background(), rc, log, nil)
	if err != nil {
		return err
	}
	// Registered first, so it runs last: after the matches ended and their
	// results were written (the game's own drained work), the Redis queue
	// is flushed.
	srv.RegisterOnDrained(stores.Close)
	accounts, ids, err := account.SetupAccounts(authCfg, cfg.NodeID, stores.Sessions, log)
	if err != nil {
		_ = stores.Close(context.Background())
		return err
	}
	acc, err := account.New(account.Config{}, accounts, log)
	if err != nil {
		_ = stores.Close(context.Background())
		return err
	}
	g, err := pong.New(pong.Config{IDs: ids.Next}, acc, stores.Docs, log)
	if err == nil {
		err = srv.Mount("pong", g)
	}
	if err != nil {
		_ = stores.Close(context.Background())
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return srv.Run(ctx)
}
