// Command lockstep is the lockstep (frame sync) demo server: players log in,
// create or join rooms, and once a room is full its match ticks at a fixed
// rate, relaying every player's inputs to every seat as numbered frames
// (protocol/lspb/lockstep.proto). It checks the clients' state hashes,
// holds a dropped player's seat for a reconnection and catches it up.
// State is in memory.
//
//	go run ./examples/lockstep                 # TCP :8999 and WebSocket :9000
//	go run ./examples/lockstep -c conf/lockstep.json
//	go run ./examples/lockstep -demo 127.0.0.1:8080   # also the browser demo page (or "Demo": {"Addr": ...}, ZINX_DEMO_ADDR)
//	go run ./examples/lockstep/bot -addr 127.0.0.1:8999   # the bot swarm
//	lockstep healthcheck -ready   # GET AdminAddr's /readyz: exit 0 on 200 (internal/servercmd)
//	lockstep checkconfig -c conf/lockstep.json   # refuses ZINX_* variables that no key reads
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
	"github.com/zinxgame/zinxgame/game/lockstep"
	"github.com/zinxgame/zinxgame/game/store/redisstore"
	"github.com/zinxgame/zinxgame/internal/servercmd"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
)

// main runs the server, or an operator subcommand (healthcheck,
// checkconfig) over the same loadSettings.
func main() {
	cmd := servercmd.Command{Name: "lockstep server", Run: run,
		Load: func(src zconf.Source) (zconf.Config, error) {
			st, err := loadSettings(src)
			return st.net, err
		}}
	os.Exit(cmd.Main(os.Args[1:]))
}

// settings are the server's configuration: zconf's keys and the sections.
type settings struct {
	net      zconf.Config
	lockstep lockstep.Config
	account  account.Config
	auth     auth.Config
	redis    zconf.RedisConfig
	demo     demoConfig
}

// loadSettings reads src's file (if any), environment and overrides, in
// zconf's order, with the server's defaults and sections added to src: the
// one loading the server and its subcommands share.
func loadSettings(src zconf.Source) (settings, error) {
	st := settings{
		lockstep: lockstep.DefaultConfig(),
		account:  account.DefaultConfig(), // login timeout, name bound, new identities per address
		auth:     auth.Config{},           // the secret from the file or ZINX_AUTH_SECRET
		redis:    zconf.DefaultRedis(),    // empty Addr: everything in memory
		demo:     demoConfig{},            // empty Addr: no demo page
	}
	// Native clients over TCP and browser clients over WebSocket at once.
	// FlushDelay stays 0: a frame is due at every tick, and holding it
	// back would add to every player's input latency.
	// Inputs come at most once a tick (30 Hz) and the room limits them
	// too (InputRate); twice that, with a second of burst, is a flood.
	src.Defaults = map[string]any{"Name": "lockstep", "Mode": zconf.ModeBoth,
		"MsgRateLimit": 60.0, "MsgRateBurst": 120, "MsgRatePolicy": zconf.RateDisconnect}
	src.Sections = map[string]any{"Lockstep": &st.lockstep, "Account": &st.account, "Auth": &st.auth,
		"Redis": &st.redis, "Demo": &st.demo}
	var err error
	st.net, err = zconf.Load(src)
	return st, err
}

func run(args []string) error {
	fs := servercmd.FlagSet("lockstep")
	file := fs.String("c", "", "JSON config file: server keys, plus a \"Lockstep\" section for rooms and matches")
	port := fs.Int("port", -1, "TCP port, overriding the config")
	demoAddr := fs.String("demo", "", "serve the browser demo page on this address (host:port), overriding the config's Demo.Addr")
	_ = fs.Parse(args) // ExitOnError
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	over := map[string]any{}
	if *port >= 0 {
		over["TcpPort"] = *port
	}
	if *demoAddr != "" {
		over["Demo.Addr"] = *demoAddr
	}
	st, err := loadSettings(zconf.Source{File: *file, Overrides: over})
	if err != nil {
		return err
	}
	cfg, ls, acct, authCfg, rc, dc := st.net, st.lockstep, st.account, st.auth, st.redis, st.demo
	// One registry for the network layer's metrics and the matches', served
	// on AdminAddr.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv, err := znet.NewServer(cfg, znet.WithMetrics(reg))
	if err != nil {
		return err
	}
	log := cfg.NewLogger(os.Stderr)
	if dc.Addr != "" {
		_, closeDemo, err := serveDemo(srv, dc, ls, log)
		if err != nil {
			return err
		}
		defer closeDemo() // after a clean shutdown it is closed already
	}
	stores, err := redisstore.Open(context.Background(), rc, log, reg)
	if err != nil {
		return err
	}
	// Registered first, so it runs last: after the matches ended and every
	// player left, what is still queued for Redis is written.
	srv.RegisterOnDrained(stores.Close)
	accounts, ids, err := account.SetupAccounts(authCfg, cfg.NodeID, stores.Sessions, log)
	if err != nil {
		_ = stores.Close(context.Background())
		return err
	}
	identity, err := account.New(acct, accounts, log)
	if err != nil {
		_ = stores.Close(context.Background())
		return err
	}
	// Player bans (POST /admin/players/{id}/ban, with AdminToken) and IP
	// bans (POST /admin/bans/ip) are kept with the game's documents: on
	// Redis they survive a restart.
	if err := identity.LoadBans(context.Background(), stores.Docs); err != nil {
		_ = stores.Close(context.Background())
		return err
	}
	if err := srv.LoadIPBans(context.Background(), account.IPBanDocs(stores.Docs)); err != nil {
		_ = stores.Close(context.Background())
		return err
	}
	opts := []lockstep.Option{lockstep.WithMetrics(reg), lockstep.WithIdentity(identity),
		lockstep.WithIDs(ids), lockstep.WithMatchStore(stores.Matches)}
	if stores.Frames != nil {
		opts = append(opts, lockstep.WithFrameStore(stores.Frames))
	}
	l, err := lockstep.New(ls, log, opts...)
	if err != nil {
		_ = stores.Close(context.Background())
		return err
	}
	// The lockstep module's shutdown work ends every match
	// (MATCH_END_SHUTDOWN) while the players are still connected.
	if err := srv.Mount("lockstep", l); err != nil {
		l.Close()
		_ = stores.Close(context.Background())
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The replicas on one store share their bans: each re-reads them.
	if every := acct.WithDefaults().BanRefresh; every > 0 {
		go func() { _ = srv.RefreshIPBans(ctx, every) }()
		go func() { _ = identity.RefreshBans(ctx, every) }()
	}
	return srv.Run(ctx)
}
