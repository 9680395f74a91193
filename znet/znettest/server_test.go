package znettest_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

func TestMain(m *testing.M) {
	// ants starts a default pool in its init; ignore what exists before the tests.
	// kcp-go starts process-wide goroutines at its first session and keeps them.
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent(),
		goleak.IgnoreAnyFunction("github.com/xtaci/kcp-go/v5.postProcessWorker"))
}

func echo(req ziface.IRequest) {
	_ = req.GetConnection().SendMsg(req.GetMsgID(), req.GetData())
}

func echoServer(t znettest.TB, opts ...znettest.Option) *znettest.Server {
	return znettest.NewServer(t, znettest.Config(), func(s *znet.Server) {
		if err := s.Handle(1, echo); err != nil {
			t.Fatalf("Handle: %v", err)
		}
	}, opts...)
}

func TestServerEchoesOverTCPAndWebSocket(t *testing.T) {
	ts := echoServer(t, znettest.WithWebSocket())
	if !strings.HasPrefix(ts.Addr, "127.0.0.1:") || !strings.HasPrefix(ts.URL, "ws://127.0.0.1:") {
		t.Fatalf("Addr %q, URL %q; want loopback", ts.Addr, ts.URL)
	}
	for name, p := range map[string]*znettest.Peer{"tcp": ts.Dial(), "websocket": ts.DialWebSocket()} {
		p.Send(1, []byte("hi"))
		if got := p.Expect(1); string(got) != "hi" {
			t.Errorf("%s: echo %q, want hi", name, got)
		}
	}
	if n := ts.Server.Online(); n != 2 {
		t.Errorf("%d online, want 2", n)
	}
	ts.WaitLog("znet: serving", "znet: serving WebSocket")
}

// The test's end shuts the server down gracefully: peers close first, the
// disconnect hooks run, and serving returns ErrServerClosed, with nothing
// reported and no log printed.
func TestServerShutsDownCleanly(t *testing.T) {
	var disconnected atomic.Int32
	ft := runFake(func(ft *fakeT) {
		ts := znettest.NewServer(ft, znettest.Config(), func(s *znet.Server) {
			s.OnDisconnect(func(ziface.IConnection) { disconnected.Add(1) })
		}, znettest.WithWebSocket())
		ts.Dial().Send(1, nil)
		ts.DialWebSocket().Send(1, nil)
		znettest.Eventually(ft, func() bool { return ts.Server.Online() == 2 }, "two connections")
	})
	if ft.Failed() || ft.logged() != "" {
		t.Fatalf("a clean run reported %q and logged %q", ft.failures(), ft.logged())
	}
	if n := disconnected.Load(); n != 2 {
		t.Fatalf("%d disconnect hooks ran by the end of the test, want 2", n)
	}
}

// A shutdown whose work fails fails the test, and the server's log is
// printed with it.
func TestServerReportsShutdownErrors(t *testing.T) {
	ft := runFake(func(ft *fakeT) {
		znettest.NewServer(ft, znettest.Config(), func(s *znet.Server) {
			s.RegisterOnShutdown(func(context.Context) error { return errors.New("flush failed") })
		})
	})
	if f := ft.failures(); !strings.Contains(f, "server shutdown") || !strings.Contains(f, "flush failed") {
		t.Fatalf("failures %q; want the shutdown work's error", f)
	}
	if l := ft.logged(); !strings.Contains(l, "server log:") || !strings.Contains(l, "shutdown work failed") {
		t.Fatalf("logged %q; want the server log, with the failure", l)
	}
}

// Shutdown hands the shutdown's error to the test instead.
func TestServerShutdownReturnsErrors(t *testing.T) {
	var err error
	ft := runFake(func(ft *fakeT) {
		ts := znettest.NewServer(ft, znettest.Config(), func(s *znet.Server) {
			s.RegisterOnShutdown(func(context.Context) error { return errors.New("flush failed") })
		})
		err = ts.Shutdown(context.Background())
	})
	if err == nil || !strings.Contains(err.Error(), "flush failed") || ft.Failed() {
		t.Fatalf("Shutdown = %v, failures %q; want the error returned, nothing reported", err, ft.failures())
	}
}

// A route conflict makes Serve return at once; the test hears of it.
func TestServerReportsServeErrors(t *testing.T) {
	ft := runFake(func(ft *fakeT) {
		znettest.NewServer(ft, znettest.Config(), func(s *znet.Server) {
			s.AddRouterFunc(1, echo)
			s.AddRouterFunc(1, echo)
		})
	})
	if f := ft.failures(); !strings.Contains(f, "serving returned") || !strings.Contains(f, "already routed") {
		t.Fatalf("failures %q; want Serve's route conflict", f)
	}
}

func TestServerRefusesBadConfig(t *testing.T) {
	ft := runFake(func(ft *fakeT) {
		cfg := znettest.Config()
		cfg.MaxConn = -1
		znettest.NewServer(ft, cfg, nil)
		ft.Errorf("NewServer returned")
	})
	if f := ft.failures(); !strings.Contains(f, "MaxConn") || strings.Contains(f, "returned") {
		t.Fatalf("failures %q; want MaxConn named, and the test stopped", f)
	}
}

// An unstarted server has its addresses before it serves, and a test may
// close it without ever starting it.
func TestUnstartedServer(t *testing.T) {
	ts := znettest.NewUnstartedServer(t, znettest.Config())
	if ts.Addr == "" {
		t.Fatal("no Addr before Start")
	}
	if err := ts.Server.Handle(1, echo); err != nil {
		t.Fatal(err)
	}
	ts.Start()
	p := ts.Dial()
	p.Send(1, []byte("x"))
	p.Expect(1)
	go ts.Close()
	p.ExpectNotice(znet.NoticeShutdown)
	p.ExpectClosed()
	ts.Close() // waits for the first

	never := znettest.NewUnstartedServer(t, znettest.Config())
	never.Close()
}

// Close during a test is the graceful shutdown: the peer is told, then
// closed.
func TestServerCloseWaits(t *testing.T) {
	ts := echoServer(t)
	p := ts.Dial()
	p.Send(1, nil)
	p.Expect(1)
	done := make(chan struct{})
	go func() { ts.Close(); close(done) }()
	n := p.ExpectNotice(znet.NoticeShutdown)
	if n.RetryAfterMs == 0 {
		t.Errorf("shutdown notice %+v without a retry hint", n)
	}
	p.ExpectClosed()
	select {
	case <-done:
	case <-time.After(znettest.DefaultTimeout):
		t.Fatal("Close did not return")
	}
	if ts.Server.Online() != 0 {
		t.Fatalf("%d online after Close", ts.Server.Online())
	}
}

// A server made WithKCP serves KCP beside TCP, and a KCP Peer echoes and
// hears the shutdown notice; that the server closed it cannot be read off
// the Peer (KCP has no close signal), so Online says it instead.
func TestServerEchoesOverKCP(t *testing.T) {
	ts := echoServer(t, znettest.WithKCP())
	if !strings.HasPrefix(ts.KCPAddr, "127.0.0.1:") || ts.KCPAddr == ts.Addr {
		t.Fatalf("KCPAddr %q (TCP %q); want a loopback address of its own", ts.KCPAddr, ts.Addr)
	}
	kp, tp := ts.DialKCP(), ts.Dial()
	for name, p := range map[string]*znettest.Peer{"kcp": kp, "tcp": tp} {
		p.Send(1, []byte("hi "+name))
		if got := p.Expect(1); string(got) != "hi "+name {
			t.Errorf("%s: echo %q", name, got)
		}
	}
	if n := ts.Server.Online(); n != 2 {
		t.Errorf("%d online, want 2", n)
	}
	ts.WaitLog("transport=kcp addr="+ts.KCPAddr, "transport=tcp addr="+ts.Addr)
	ts.Close()
	kp.ExpectNotice(znet.NoticeShutdown)
	if n := ts.Server.Online(); n != 0 {
		t.Errorf("%d online after the shutdown, want 0", n)
	}
}

// DialKCP has no handshake to fail: with no server, the first
// expectation is what fails, after the Peer's Timeout.
func TestDialKCPWithoutServer(t *testing.T) {
	ft := runFake(func(ft *fakeT) {
		p := znettest.DialKCP(ft, "127.0.0.1:9", znettest.Config())
		p.Timeout = 100 * time.Millisecond
		p.Send(1, []byte("anyone?"))
		p.Expect(1)
	})
	if f := ft.failures(); !strings.Contains(f, "kcp 127.0.0.1:9") {
		t.Fatalf("failures %q; want the expectation to fail naming the KCP peer", f)
	}
}
