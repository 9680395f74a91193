package account_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/zinxgame/zinxgame/game/account"
	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

// A module mounts the service's login on its own IDs; any router (the
// application's too) then asks who a connection's player is.
func ExampleService_PlayerOf() {
	svc, err := account.New(account.Config{}, nil, slog.Default()) // memory accounts
	if err != nil {
		panic(err)
	}
	srv, err := znet.NewServer(zconf.Default())
	if err != nil {
		panic(err)
	}
	ids := account.Protocol{Login: 100, LoginAck: 101, Error: 102, Logout: 103, LogoutAck: 104}
	if err := srv.Mount("account", znet.ModuleFunc(func(m *znet.Mount) error {
		return svc.MountProtocol(m, ids, nil)
	})); err != nil {
		panic(err)
	}
	const hello = 200
	if err := srv.Handle(hello, func(req ziface.IRequest) {
		p, ok := svc.PlayerOf(req.GetConnection())
		if !ok {
			_ = req.GetConnection().SendMsg(hello, []byte("log in first"))
			return
		}
		_ = req.GetConnection().SendMsg(hello, fmt.Appendf(nil, "hello, %s (%d)", p.Name, p.ID))
	}); err != nil {
		panic(err)
	}
	fmt.Println("online:", svc.Online())
	// Output: online: 0
}

// Bans kept with the game's documents (on Redis they survive a restart),
// and shared by the replicas on one store: each loads them before
// serving and re-reads them until it stops.
func ExampleService_RefreshBans() {
	ctx, stop := context.WithCancel(context.Background())
	defer stop() // at the shutdown: the refreshes end

	// redisstore's Docs in production.
	docs := store.NewMemoryDocStore(store.DocLimits{})
	svc, err := account.New(account.Config{}, nil, slog.Default())
	if err != nil {
		panic(err)
	}
	srv, err := znet.NewServer(zconf.Default())
	if err != nil {
		panic(err)
	}
	if err := svc.LoadBans(ctx, docs); err != nil { // player bans
		panic(err)
	}
	if err := srv.LoadIPBans(ctx, account.IPBanDocs(docs)); err != nil { // IP bans
		panic(err)
	}
	every := svc.Config().BanRefresh // 10s by default
	go func() { _ = svc.RefreshBans(ctx, every) }()
	go func() { _ = srv.RefreshIPBans(ctx, every) }()

	if _, err := svc.BanPlayer(ctx, 42, time.Hour, "cheating"); err != nil {
		panic(err)
	}
	ban, _ := svc.Banned(42)
	fmt.Println("banned:", ban.Reason)
	// Output: banned: cheating
}
