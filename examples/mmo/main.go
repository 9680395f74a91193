// Command server is the MMO demo: Zinx's MMO demo world (a 10x20 grid map,
// world chat, moves with appear/disappear by area of interest) on zinxgame,
// wire-compatible with the Zinx MMO demo clients. State is in memory.
//
//	go run ./examples/mmo              # TCP :8999 and WebSocket :9000
//	go run ./examples/mmo -c conf/mmo.json
//	mmo healthcheck -ready   # GET AdminAddr's /readyz: exit 0 on 200 (internal/servercmd)
//	mmo checkconfig          # refuses ZINX_* variables that no key reads
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/zinxgame/zinxgame/game/account"
	"github.com/zinxgame/zinxgame/game/account/auth"
	"github.com/zinxgame/zinxgame/game/mmo"
	"github.com/zinxgame/zinxgame/game/store/redisstore"
	"github.com/zinxgame/zinxgame/internal/servercmd"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
)

// main runs the server, or an operator subcommand (healthcheck,
// checkconfig) over the same loadSettings.
func main() {
	cmd := servercmd.Command{Name: "mmo server", Run: run,
		Load: func(src zconf.Source) (zconf.Config, error) {
			st, err := loadSettings(src)
			return st.net, err
		}}
	os.Exit(cmd.Main(os.Args[1:]))
}

// settings are the server's configuration: zconf's keys and the sections.
type settings struct {
	net     zconf.Config
	world   mmo.Config
	account account.Config
	auth    auth.Config
	redis   zconf.RedisConfig
}

// loadSettings reads src's file (if any), environment and overrides, in
// zconf's order, with the server's defaults and sections added to src: the
// one loading the server and its subcommands share.
func loadSettings(src zconf.Source) (settings, error) {
	st := settings{
		world:   mmo.DefaultConfig(),
		account: account.DefaultConfig(),
		auth:    auth.Config{},        // the secret from the file or ZINX_AUTH_SECRET
		redis:   zconf.DefaultRedis(), // empty Addr: everything in memory
	}
	// Zinx's demo clients never log in: they play anonymously, so no
	// connection is closed for not logging in (a file may still set it).
	st.account.LoginTimeout = account.Disabled
	// The demo serves Zinx's TCP clients and browser clients at once.
	// Its scenes coalesce each tick's messages per player themselves,
	// so FlushDelay stays 0. A player sends a move or a chat a few
	// times a second; one that keeps up more than 30 a second past a
	// burst of 60 is flooding, and every player in view would pay for
	// it, so it is cut, config file or not.
	src.Defaults = map[string]any{"Name": "mmo", "Mode": zconf.ModeBoth,
		"MsgRateLimit": 30.0, "MsgRateBurst": 60, "MsgRatePolicy": zconf.RateDisconnect}
	src.Sections = map[string]any{"MMO": &st.world, "Account": &st.account, "Auth": &st.auth,
		"Redis": &st.redis}
	var err error
	st.net, err = zconf.Load(src)
	return st, err
}

func run(args []string) error {
	fs := servercmd.FlagSet("mmo")
	file := fs.String("c", "", "JSON config file: server keys, plus an \"MMO\" section for the world and an \"Account\" section for logins")
	port := fs.Int("port", -1, "TCP port, overriding the config")
	_ = fs.Parse(args) // ExitOnError
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	over := map[string]any{}
	if *port >= 0 {
		over["TcpPort"] = *port
	}
	st, err := loadSettings(zconf.Source{File: *file, Overrides: over})
	if err != nil {
		return err
	}
	cfg, world, acct, authCfg, rc := st.net, st.world, st.account, st.auth, st.redis
	// One registry for the server's metrics, the world's, the Redis
	// store's and the Go runtime's and process's (AdminAddr serves it on
	// /metrics; the dashboards read all of them).
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv, err := znet.NewServer(cfg, znet.WithMetrics(reg))
	if err != nil {
		return err
	}
	log := cfg.NewLogger(os.Stderr)
	stores, err := redisstore.Open(context.Background(), rc, log, reg)
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
	// Player bans (POST /admin/players/{id}/ban, with AdminToken) and IP
	// bans (POST /admin/bans/ip) are kept with the game's documents: on
	// Redis they survive a restart.
	if err := svc.LoadBans(context.Background(), stores.Docs); err != nil {
		_ = stores.Close(context.Background())
		return err
	}
	if err := srv.LoadIPBans(context.Background(), account.IPBanDocs(stores.Docs)); err != nil {
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
	// The replicas on one store share their bans: each re-reads them.
	if every := acct.WithDefaults().BanRefresh; every > 0 {
		go func() { _ = srv.RefreshIPBans(ctx, every) }()
		go func() { _ = svc.RefreshBans(ctx, every) }()
	}
	// Serves until SIGINT or SIGTERM, then shuts down in order: every
	// player leaves and is saved, then the stores flush. A write that could
	// not be stored is Run's error, and the exit status says so.
	return srv.Run(ctx)
}
