package znet_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// quiet keeps the examples' output to what they print.
func quiet() znet.Option { return znet.WithLogger(slog.New(slog.DiscardHandler)) }

// loopback is a config serving TCP on a free loopback port.
func loopback() zconf.Config {
	cfg := zconf.Default()
	cfg.Host, cfg.TcpPort, cfg.Mode = "127.0.0.1", zconf.FreePort, zconf.ModeTCP
	return cfg
}

// A server that echoes message 1, served with Run until its context ends,
// and a client that talks to it.
func ExampleServer_Run() {
	srv, err := znet.NewServer(loopback(), quiet())
	if err != nil {
		fmt.Println(err)
		return
	}
	err = srv.Handle(1, func(req ziface.IRequest) {
		_ = req.GetConnection().SendMsg(1, req.GetData())
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, stop := context.WithCancel(context.Background()) // a real server: signal.NotifyContext
	defer stop()
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(ctx) }()
	for srv.Addr() == nil { // TcpPort 0: wait for the port to be picked
		time.Sleep(time.Millisecond)
	}

	ccfg := zconf.Default()
	ccfg.WorkerPoolSize = zconf.Off
	cl, err := znet.NewClient(ccfg, quiet())
	if err != nil {
		fmt.Println(err)
		return
	}
	echoed := make(chan string, 1)
	_ = cl.Handle(1, func(req ziface.IRequest) { echoed <- string(req.GetData()) })
	c, err := cl.Dial(context.Background(), srv.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = c.SendMsg(1, []byte("ping"))
	fmt.Println("echo:", <-echoed)
	_ = cl.Close()

	stop()
	fmt.Println("Run:", <-ran)
	// Output:
	// echo: ping
	// Run: <nil>
}

// How a production main serves: Run until SIGINT or SIGTERM, then a
// graceful shutdown. (Not run: it listens on the configured ports.)
func ExampleServer_Run_main() {
	srv, err := znet.NewServer(zconf.Default())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := srv.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// A module mounts its routes, hooks and shutdown work in one call; a
// second module taking the same message ID is refused, naming both.
func ExampleServer_Mount() {
	srv, err := znet.NewServer(loopback(), quiet())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	chat := znet.ModuleFunc(func(m *znet.Mount) error {
		m.OnConnect(func(c ziface.IConnection) { c.SetProperty("chat.muted", false) })
		m.OnShutdown(func(context.Context) error { return nil }) // flush the chat log
		return m.Handle(2, func(req ziface.IRequest) { /* broadcast the line */ })
	})
	fmt.Println(srv.Mount("chat", chat))
	rooms := znet.ModuleFunc(func(m *znet.Mount) error {
		return m.Handle(2, func(req ziface.IRequest) {})
	})
	err = srv.Mount("rooms", rooms)
	fmt.Println(errors.Is(err, znet.ErrRouteConflict))
	fmt.Println(err)
	// Output:
	// <nil>
	// true
	// znet: mounting rooms: znet: message ID already routed: message ID 2: rooms registers it, but chat already has
}

// Connect hooks run in the order they were added, disconnect hooks in
// reverse, so what one set up is torn down after what depends on it.
func ExampleServer_OnConnect() {
	srv, err := znet.NewServer(loopback(), quiet())
	if err != nil {
		fmt.Println(err)
		return
	}
	connected := make(chan struct{})
	srv.OnConnect(func(ziface.IConnection) { fmt.Println("connect: session") })
	srv.OnDisconnect(func(ziface.IConnection) { fmt.Println("disconnect: session") })
	srv.OnConnect(func(ziface.IConnection) { fmt.Println("connect: lobby"); close(connected) })
	srv.OnDisconnect(func(ziface.IConnection) { fmt.Println("disconnect: lobby") })

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	go func() { _ = srv.Serve(l) }()
	nc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	<-connected
	_ = nc.Close()
	_ = srv.Shutdown(context.Background()) // waits for the disconnect hooks
	// Output:
	// connect: session
	// connect: lobby
	// disconnect: lobby
	// disconnect: session
}

// Shutdown work runs last registered first, while players are still
// connected; drained work runs once they are all gone.
func ExampleServer_RegisterOnShutdown() {
	srv, err := znet.NewServer(loopback(), quiet())
	if err != nil {
		fmt.Println(err)
		return
	}
	say := func(what string) func(context.Context) error {
		return func(context.Context) error { fmt.Println(what); return nil }
	}
	srv.RegisterOnShutdown(say("rooms: end the matches"))
	srv.RegisterOnDrained(say("store: flush"))
	srv.RegisterOnShutdown(say("lobby: stop matchmaking"))
	fmt.Println("Shutdown:", srv.Shutdown(context.Background()))
	// Output:
	// lobby: stop matchmaking
	// rooms: end the matches
	// store: flush
	// Shutdown: <nil>
}

// Middleware wraps every handler, the first added outermost: here it
// refuses players who have not logged in.
func ExampleServer_Use() {
	srv, err := znet.NewServer(loopback(), quiet())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	srv.Use(func(next znet.HandlerFunc) znet.HandlerFunc {
		return func(req ziface.IRequest) {
			if _, ok := req.GetConnection().GetProperty("player"); !ok && req.GetMsgID() != 10 {
				_ = req.GetConnection().SendMsg(12, []byte("log in first"))
				return
			}
			next(req)
		}
	})
	_ = srv.Handle(10, func(req ziface.IRequest) { req.GetConnection().SetProperty("player", "ann") })
	_ = srv.Handle(3, func(req ziface.IRequest) { _ = req.GetConnection().SendMsg(200, []byte("moved")) })

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	go func() { _ = srv.Serve(l) }()
	ccfg := zconf.Default()
	ccfg.WorkerPoolSize = zconf.Off
	cl, err := znet.NewClient(ccfg, quiet())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cl.Close()
	got := make(chan string, 2)
	cl.SetNotFound(func(req ziface.IRequest) { got <- fmt.Sprintf("%d %s", req.GetMsgID(), req.GetData()) })
	c, err := cl.Dial(context.Background(), l.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = c.SendMsg(3, nil) // refused
	fmt.Println(<-got)
	_ = c.SendMsg(10, nil) // log in
	_ = c.SendMsg(3, nil)
	fmt.Println(<-got)
	// Output:
	// 12 log in first
	// 200 moved
}

// loginCheck is a Zinx-style router whose PreHandle stops the chain for
// a player who has not logged in.
type loginCheck struct{ znet.BaseRouter }

func (loginCheck) PreHandle(req ziface.IRequest) {
	if _, ok := req.GetConnection().GetProperty("player"); !ok {
		_ = req.GetConnection().SendMsg(12, []byte("log in first"))
		req.Abort() // Handle and PostHandle do not run
	}
}

func (loginCheck) Handle(req ziface.IRequest) {
	_ = req.GetConnection().SendMsg(200, []byte("moved"))
}

// A PreHandle that calls Abort keeps Handle and PostHandle from running,
// as in Zinx. The router is tested on a znettest.Recorder, with no
// network.
func ExampleRouterHandler() {
	h := znet.RouterHandler(loginCheck{})
	conn := znettest.NewRecorder()
	h(znettest.NewRequest(conn, 3, nil))
	conn.SetProperty("player", "ann")
	h(znettest.NewRequest(conn, 3, nil))
	for _, m := range conn.Sent() {
		fmt.Printf("%d %s\n", m.MsgID, m.Data)
	}
	// Output:
	// 12 log in first
	// 200 moved
}

// pingRouter answers message 1 with "pong", Zinx-style.
type pingRouter struct{ znet.BaseRouter }

func (pingRouter) Handle(req ziface.IRequest) {
	_ = req.GetConnection().SendMsg(1, []byte("pong"))
}

// A server written as Zinx's tutorial writes it: NewZinxServer, AddRouter
// and a Serve that takes no listener and blocks. (Not run: it listens on
// the configured port, 8999 by default.)
func ExampleNewZinxServer() {
	s, err := znet.NewZinxServer(zconf.Default())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s.AddRouter(1, pingRouter{})
	s.SetOnConnStart(func(c ziface.IConnection) { c.SetProperty("name", "guest") })
	if err := s.Serve(); err != nil && !errors.Is(err, znet.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
