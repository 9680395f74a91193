package znet

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/ziface"
)

// events records what hooks and shutdown work saw, in order.
type events struct {
	mu  sync.Mutex
	got []string
}

func (e *events) add(s string) {
	e.mu.Lock()
	e.got = append(e.got, s)
	e.mu.Unlock()
}

func (e *events) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.got)
}

func (e *events) waitLen(t *testing.T, n int) []string {
	t.Helper()
	waitFor(t, func() bool { return len(e.list()) >= n }, "%d events; have %q", n, e.list())
	return e.list()
}

// TestHooksAddUp: modules and the application each keep their hooks;
// SetOnConnStart replaces only its own slot; removal works; disconnect
// hooks run in reverse order.
func TestHooksAddUp(t *testing.T) {
	var ev events
	ts := startServer(t, testConfig(), func(s *Server) {
		s.SetOnConnStart(func(ziface.IConnection) { ev.add("zinx-start-old") })
		if err := s.Mount("a", ModuleFunc(func(m *Mount) error {
			m.OnConnect(func(ziface.IConnection) { ev.add("a-start") })
			m.OnDisconnect(func(ziface.IConnection) { ev.add("a-stop") })
			return nil
		})); err != nil {
			t.Fatal(err)
		}
		remove := s.OnConnect(func(ziface.IConnection) { ev.add("removed") })
		s.OnConnect(func(ziface.IConnection) { ev.add("app-start") })
		s.OnDisconnect(func(ziface.IConnection) { ev.add("app-stop") })
		remove()
		remove() // twice does nothing
		// Zinx's setter replaces its own hook only, in its first place.
		s.SetOnConnStart(func(ziface.IConnection) { ev.add("zinx-start") })
		s.SetOnConnStop(func(ziface.IConnection) { ev.add("zinx-stop") })
	})
	c := dialRaw(t, ts.addr, testConfig())
	got := ev.waitLen(t, 3)
	if want := []string{"zinx-start", "a-start", "app-start"}; !slices.Equal(got, want) {
		t.Fatalf("connect hooks ran %q, want %q", got, want)
	}
	c.nc.Close()
	got = ev.waitLen(t, 6)
	if want := []string{"zinx-start", "a-start", "app-start", "zinx-stop", "app-stop", "a-stop"}; !slices.Equal(got, want) {
		t.Fatalf("hooks ran %q, want %q", got, want)
	}
}

// TestRouteConflictIsAnError: a second registration of an ID is an error
// naming the ID and both owners, the first route keeps serving, and a
// failed mount leaves nothing of itself behind.
func TestRouteConflictIsAnError(t *testing.T) {
	var ev events
	ts := startServer(t, testConfig(), func(s *Server) {
		if err := s.Mount("chat", ModuleFunc(func(m *Mount) error {
			return m.Handle(7, echo)
		})); err != nil {
			t.Fatal(err)
		}
		err := s.Mount("rooms", ModuleFunc(func(m *Mount) error {
			m.OnConnect(func(ziface.IConnection) { ev.add("rooms-start") })
			if err := m.Handle(8, echo); err != nil {
				return err
			}
			return m.Handle(7, echo)
		}))
		if !errors.Is(err, ErrRouteConflict) {
			t.Fatalf("Mount = %v, want ErrRouteConflict", err)
		}
		for _, want := range []string{"message ID 7", "rooms", "chat"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %q", err, want)
			}
		}
		if err := s.Handle(7, echo); !errors.Is(err, ErrRouteConflict) || !strings.Contains(err.Error(), "chat") {
			t.Errorf("Handle(7) = %v, want a conflict with chat", err)
		}
		// The rolled-back mount released ID 8.
		if err := s.Handle(8, func(req ziface.IRequest) { _ = req.GetConnection().SendMsg(80, nil) }); err != nil {
			t.Errorf("Handle(8) after the failed mount: %v", err)
		}
	})
	c := dialRaw(t, ts.addr, testConfig())
	c.send(7, []byte("hi"))
	if id, data := c.recv(); id != 7 || string(data) != "hi" {
		t.Fatalf("got %d %q from the first owner's route", id, data)
	}
	c.send(8, nil)
	if id, _ := c.recv(); id != 80 {
		t.Fatalf("ID 8 answered %d, want the application's route (80)", id)
	}
	if got := ev.list(); len(got) != 0 {
		t.Fatalf("the failed mount's hook ran: %q", got)
	}
}

// TestAddRouterConflictFailsServe: Zinx's AddRouter has no error result, so
// its conflict is returned by the serving call, before anything is served.
func TestAddRouterConflictFailsServe(t *testing.T) {
	srv, err := NewServer(testConfig(), WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.AddRouterFunc(1, echo)
	srv.AddRouter(1, BaseRouter{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(l); !errors.Is(err, ErrRouteConflict) {
		t.Fatalf("Serve = %v, want ErrRouteConflict", err)
	}
	if _, err := net.Dial("tcp", l.Addr().String()); err == nil {
		t.Fatal("the listener is still open after Serve refused to serve")
	}
	if err := srv.ListenAndServe(); !errors.Is(err, ErrRouteConflict) {
		t.Fatalf("ListenAndServe = %v, want ErrRouteConflict", err)
	}
}

// TestShutdownOrder: shutdown work runs last registered first while the
// clients are still connected (it can still send to them), then the
// connections drain and their disconnect hooks run, then the drained work
// runs, last registered first; the work's errors come back from Shutdown.
func TestShutdownOrder(t *testing.T) {
	var ev events
	boom := errors.New("store unreachable")
	var conn ziface.IConnection
	var connMu sync.Mutex
	srv, err := NewServer(testConfig(), WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	srv.RegisterOnDrained(func(context.Context) error { ev.add("store-flush"); return boom })
	srv.RegisterOnShutdown(func(context.Context) error { ev.add("store-shutdown"); return nil })
	if err := srv.Mount("rooms", ModuleFunc(func(m *Mount) error {
		m.OnConnect(func(c ziface.IConnection) { connMu.Lock(); conn = c; connMu.Unlock() })
		m.OnDisconnect(func(ziface.IConnection) { ev.add("disconnect") })
		m.OnShutdown(func(ctx context.Context) error {
			if _, ok := ctx.Deadline(); !ok {
				t.Error("shutdown work got a context without the shutdown's deadline")
			}
			connMu.Lock()
			defer connMu.Unlock()
			ev.add("rooms-end")
			return conn.SendMsg(42, []byte("match over"))
		})
		m.OnDrained(func(context.Context) error { ev.add("rooms-drained"); return nil })
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	c := dialRaw(t, l.Addr().String(), testConfig())
	waitFor(t, func() bool { connMu.Lock(); defer connMu.Unlock(); return conn != nil }, "the connect hook")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(ctx)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), OwnerApp) {
		t.Fatalf("Shutdown = %v, want the drained work's error, naming its owner", err)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve = %v", err)
	}
	want := []string{"rooms-end", "store-shutdown", "disconnect", "rooms-drained", "store-flush"}
	if got := ev.list(); !slices.Equal(got, want) {
		t.Fatalf("shutdown ran %q, want %q", got, want)
	}
	// The message the shutdown work sent arrived before the shutdown notice.
	if id, data := c.recv(); id != 42 || string(data) != "match over" {
		t.Fatalf("first frame after shutdown began: %d %q, want the room's message", id, data)
	}
	c.expectNotice(NoticeShutdown)
	if err := srv.Shutdown(ctx); !errors.Is(err, boom) {
		t.Fatalf("a second Shutdown = %v, want the same errors", err)
	}
}

// TestRunReturnsShutdownErrors: Run shuts down when its context ends and
// returns what the shutdown work returned, so a main can exit non-zero.
func TestRunReturnsShutdownErrors(t *testing.T) {
	cfg := testConfig()
	srv, err := NewServer(cfg, WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("writes not stored")
	srv.RegisterOnDrained(func(context.Context) error { return boom })
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(ctx) }()
	waitFor(t, func() bool { return srv.Addr() != nil }, "the listener")
	cancel()
	if err := <-ran; !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want the drained work's error", err)
	}

	clean, err := NewServer(cfg, WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { ran <- clean.Run(ctx2) }()
	waitFor(t, func() bool { return clean.Addr() != nil }, "the listener")
	cancel2()
	if err := <-ran; err != nil {
		t.Fatalf("Run after a clean shutdown = %v, want nil", err)
	}
}

// TestShutdownWorkPanicIsAnError: one module's panicking work does not stop
// the others from running.
func TestShutdownWorkPanicIsAnError(t *testing.T) {
	srv, err := NewServer(testConfig(), WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	ran := false
	srv.RegisterOnShutdown(func(context.Context) error { ran = true; return nil })
	srv.RegisterOnShutdown(func(context.Context) error { panic("bug") })
	if err := srv.Close(); err == nil || !strings.Contains(err.Error(), "panic: bug") {
		t.Fatalf("Close = %v, want the panic as an error", err)
	}
	if !ran {
		t.Fatal("the work registered before the panicking one did not run")
	}
}

// TestAbortStopsTheRouter: a PreHandle that aborts keeps Handle and
// PostHandle from running, as in Zinx; the next request starts fresh.
func TestAbortStopsTheRouter(t *testing.T) {
	var ev events
	ts := startServer(t, testConfig(), func(s *Server) {
		s.AddRouter(1, &authRouter{ev: &ev})
	})
	c := dialRaw(t, ts.addr, testConfig())
	c.send(1, []byte("no"))
	c.send(1, []byte("yes"))
	if id, data := c.recv(); id != 1 || string(data) != "yes" {
		t.Fatalf("got %d %q, want only the allowed request answered", id, data)
	}
	if got, want := ev.waitLen(t, 4), []string{"pre no", "pre yes", "handle yes", "post yes"}; !slices.Equal(got, want) {
		t.Fatalf("router ran %q, want %q", got, want)
	}
}

type authRouter struct {
	BaseRouter
	ev *events
}

func (r *authRouter) PreHandle(req ziface.IRequest) {
	r.ev.add("pre " + string(req.GetData()))
	if string(req.GetData()) != "yes" {
		req.Abort()
	}
}

func (r *authRouter) Handle(req ziface.IRequest) {
	r.ev.add("handle " + string(req.GetData()))
	_ = req.GetConnection().SendMsg(1, req.GetData())
}

func (r *authRouter) PostHandle(req ziface.IRequest) { r.ev.add("post " + string(req.GetData())) }

// TestHandlerReachesItsServer: a handler finds its server from the request.
func TestHandlerReachesItsServer(t *testing.T) {
	var got *Server
	done := make(chan struct{})
	ts := startServer(t, testConfig(), func(s *Server) {
		_ = s.Handle(1, func(req ziface.IRequest) {
			got = ServerOf(req.GetConnection())
			close(done)
		})
	})
	c := dialRaw(t, ts.addr, testConfig())
	c.send(1, nil)
	<-done
	if got != ts.Server {
		t.Fatalf("ServerOf = %p, want the serving server %p", got, ts.Server)
	}
}
