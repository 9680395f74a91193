package account_test

import (
	"fmt"
	"log/slog"

	"github.com/zinxgame/zinxgame/game/account"
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
