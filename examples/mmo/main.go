// Command server is the MMO demo: Zinx's MMO demo world (a 10x20 grid map,
// world chat, moves with appear/disappear by area of interest) on zinxgame,
// wire-compatible with the Zinx MMO demo clients. State is in memory.
//
//	go run ./examples/mmo              # TCP :8999 and WebSocket :9000
//	go run ./examples/mmo -c conf/mmo.json
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zinxgame/zinxgame/game/account"
	"github.com/zinxgame/zinxgame/game/account/auth"
	"github.com/zinxgame/zinxgame/game/mmo"
	"github.com/zinxgame/zinxgame/game/store/redisstore"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mmo server:", err)
		os.Exit(1)
	}
}

func run() error {
	file := flag.String("c", "", "JSON config file: server keys, plus an \"MMO\" section for the world and an \"Account\" section for logins")
	port := flag.Int("port", -1, "TCP port, overriding the config")
	flag.Parse()

	over := map[string]any{}
	if *port >= 0 {
		over["TcpPort"] = *port
	}
	world := mmo.DefaultConfig()
	// Zinx's demo clients never log in: they play anonymously, so no
	// connection is closed for not logging in (a file may still set it).
	acct := account.DefaultConfig()
	acct.LoginTimeout = account.Disabled
	authCfg := auth.Config{}   // the secret from the file or ZINX_AUTH_SECRET
	rc := zconf.DefaultRedis() // empty Addr: everything in memory
	cfg, err := zconf.Load(zconf.Source{
		File:      *file,
		Overrides: over,
		// The demo serves Zinx's TCP clients and browser clients at once.
		// Its scenes coalesce each tick's messages per player themselves,
		// so FlushDelay stays 0. A player sends a move or a chat a few
		// times a second; one that keeps up more than 30 a second past a
		// burst of 60 is flooding, and every player in view would pay for
		// it, so it is cut, config file or not.
		Defaults: map[string]any{"Name": "mmo", "Mode": zconf.ModeBoth,
			"MsgRateLimit": 30.0, "MsgRateBurst": 60, "MsgRatePolicy": zconf.RateDisconnect},
		Sections: map[string]any{"MMO": &world, "Account": &acct, "Auth": &authCfg, "Redis": &rc},
	})
	if err != nil {
		return err
	}
	// One registry for the server's metrics and the world's (AdminAddr
	// serves it on /metrics).
	reg := prometheus.NewRegistry()
	srv, err := znet.NewServer(cfg, znet.WithMetrics(reg))
	if err != nil {
		return err
	}
	log := cfg.NewLogger(os.Stderr)
	stores, err := redisstore.Open(context.Background(), rc, log, nil)
	if err != nil {
		return err
	}
	// Registered first, so it runs last: once every player has left and
	// been saved, what is still queued for Redis is written.
	srv.RegisterOnDrained(stores.Close)
	accounts, _, err := account.SetupAccounts(authCfg, cfg.NodeID, stores.Sessions, log)
	if err != nil {
		_ = stores.Close(context.Background())
		return err
	}
	svc, err := account.New(acct, accounts, log)
	if err != nil {
		_ = stores.Close(context.Background())
		return err
	}
	// Player bans (POST /admin/players/{id}/ban, with AdminToken) are kept
	// with the game's documents: on Redis they survive a restart.
	if err := svc.LoadBans(context.Background(), stores.Docs); err != nil {
		_ = stores.Close(context.Background())
		return err
	}
	w, err := mmo.NewWorld(world, log, mmo.WithAccountService(svc), mmo.WithPlayerStore(stores.Players),
		mmo.WithMetrics(reg))
	if err != nil {
		_ = stores.Close(context.Background())
		return err
	}
	if err := srv.Mount("mmo", w); err != nil {
		_ = stores.Close(context.Background())
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Serves until SIGINT or SIGTERM, then shuts down in order: every
	// player leaves and is saved, then the stores flush. A write that could
	// not be stored is Run's error, and the exit status says so.
	return srv.Run(ctx)
}
