package pong_test

import (
	"fmt"
	"log"

	"github.com/zinxgame/zinxgame/examples/pong/pong"
	"github.com/zinxgame/zinxgame/game/account"
	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
)

// A server with the pong game mounted, everything in memory; srv.Run(ctx)
// would serve it (examples/pong/main.go does, with Redis when configured).
func ExampleNew() {
	srv, err := znet.NewServer(zconf.Default())
	if err != nil {
		log.Fatal(err)
	}
	acc, err := account.New(account.Config{}, account.NewMemoryAccounts(), nil)
	if err != nil {
		log.Fatal(err)
	}
	g, err := pong.New(pong.Config{}, acc, store.NewMemoryDocStore(store.DocLimits{}), nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.Mount("pong", g); err != nil {
		log.Fatal(err)
	}
	fmt.Println("pong mounted; room type", pong.RoomType)
	_ = g.Rooms().Close()
	// Output: pong mounted; room type pong
}

// The simulation alone: integer state, one Step a tick, the same every run.
func ExampleSim() {
	s := pong.NewSim()
	for s.Step() < 0 { // nobody moves: the serve goes past the right paddle
	}
	fmt.Println(s.Score, s.Ticks)
	// Output: [1 0] 21
}
