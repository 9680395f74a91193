package game_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/game/lockstep"
	"github.com/zinxgame/zinxgame/game/mmo"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/protocol/mmopb"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

// The MMO world, the lockstep rooms and an application's own router on one
// server, served with one Run and stopped by its context: the shutdown
// ends the matches, then drains the players.
func Example() {
	log := slog.New(slog.DiscardHandler)
	cfg := zconf.Default()
	cfg.Host, cfg.TcpPort, cfg.Mode = "127.0.0.1", zconf.FreePort, zconf.ModeTCP
	srv, err := znet.NewServer(cfg, znet.WithLogger(log))
	if err != nil {
		fmt.Println(err)
		return
	}
	world, err := mmo.NewWorld(mmo.DefaultConfig(), log)
	if err != nil {
		fmt.Println(err)
		return
	}
	rooms, err := lockstep.New(lockstep.DefaultConfig(), log)
	if err != nil {
		fmt.Println(err)
		return
	}
	const msgHello, msgWelcome = 5000, 5001 // the application's own range
	app := znet.ModuleFunc(func(m *znet.Mount) error {
		return m.Handle(msgHello, func(req ziface.IRequest) {
			_ = req.GetConnection().SendMsg(msgWelcome, append([]byte("welcome, "), req.GetData()...))
		})
	})
	for _, mod := range []struct {
		name string
		m    znet.Module
	}{{"mmo", world}, {"lockstep", rooms}, {"app", app}} {
		if err := srv.Mount(mod.name, mod.m); err != nil {
			fmt.Println(err) // a message ID taken twice is refused here
			return
		}
	}
	ctx, stop := context.WithCancel(context.Background()) // a real server: signal.NotifyContext
	defer stop()
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(ctx) }()
	for srv.Addr() == nil { // TcpPort 0: wait for the port to be picked
		time.Sleep(time.Millisecond)
	}

	// One player, speaking to all three.
	ccfg := zconf.Default()
	ccfg.WorkerPoolSize = zconf.Off
	cl, err := znet.NewClient(ccfg, znet.WithLogger(log))
	if err != nil {
		fmt.Println(err)
		return
	}
	type msg struct {
		id   uint32
		data []byte
	}
	inbox := make(chan msg, 64)
	cl.SetNotFound(func(req ziface.IRequest) { inbox <- msg{req.GetMsgID(), req.GetData()} })
	await := func(id uint32) []byte { // the next message id, skipping others
		timeout := time.After(10 * time.Second)
		for {
			select {
			case m := <-inbox:
				if m.id == id {
					return m.data
				}
			case <-timeout:
				return nil
			}
		}
	}
	c, err := cl.Dial(context.Background(), srv.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	var pid mmopb.SyncPID
	_ = proto.Unmarshal(await(mmopb.MsgSyncPID), &pid)
	fmt.Println("mmo: in the world as player", pid.PID)

	login, _ := proto.Marshal(&commonpb.Login{Name: "ann"})
	_ = c.SendMsg(lspb.MsgLogin, login)
	var ack commonpb.LoginAck
	_ = proto.Unmarshal(await(lspb.MsgLoginAck), &ack)
	fmt.Println("lockstep: logged in:", ack.PlayerId != 0 && ack.Token != "")

	_ = c.SendMsg(msgHello, []byte("ann"))
	fmt.Printf("app: %s\n", await(msgWelcome))
	_ = cl.Close()

	stop()
	fmt.Println("Run:", <-ran)
	// Output:
	// mmo: in the world as player 1
	// lockstep: logged in: true
	// app: welcome, ann
	// Run: <nil>
}
