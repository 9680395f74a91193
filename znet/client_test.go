package znet

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/ziface"
)

func TestClientRoundTrip(t *testing.T) {
	cfg := testConfig()
	ts := startServer(t, cfg, func(s *Server) { s.AddRouterFunc(1, echo) })
	cl := newTestClient(t, cfg)
	got := make(chan string, 10)
	var started, stopped atomic.Int32
	cl.SetOnConnStart(func(ziface.IConnection) { started.Add(1) })
	cl.SetOnConnStop(func(ziface.IConnection) { stopped.Add(1) })
	cl.AddRouterFunc(1, func(req ziface.IRequest) { got <- string(req.GetData()) })
	c, err := cl.Dial(context.Background(), ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"a", "b", "c"} {
		if err := c.SendMsg(1, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"a", "b", "c"} {
		if s := <-got; s != want {
			t.Fatalf("got %q, want %q", s, want)
		}
	}
	if err := cl.Close(); err != nil {
		t.Fatal(err)
	}
	<-c.Done()
	if started.Load() != 1 || stopped.Load() != 1 {
		t.Fatalf("client hooks: started %d stopped %d", started.Load(), stopped.Load())
	}
	if _, err := cl.Dial(context.Background(), ts.addr); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Dial after Close = %v", err)
	}
}

func TestClientSeesServerFullNotice(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConn = 1
	ts := startServer(t, cfg, nil)
	dialRaw(t, ts.addr, cfg)
	waitFor(t, func() bool { return ts.GetConnMgr().Len() == 1 }, "1 connection")
	cl := newTestClient(t, testConfig())
	notices := make(chan Notice, 1)
	cl.AddRouterFunc(cfg.NoticeMsgID, func(req ziface.IRequest) {
		n, err := ParseNotice(req.GetData())
		if err != nil {
			t.Error(err)
		}
		notices <- n
	})
	c, err := cl.Dial(context.Background(), ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	if n := <-notices; n.Code != NoticeServerFull {
		t.Fatalf("notice = %+v", n)
	}
	<-c.Done()
}

// TestClientPingPong: the server answers a client's ping, and the client
// hands the pong to its router instead of answering it back.
func TestClientPingPong(t *testing.T) {
	cfg := testConfig()
	var serverRouted atomic.Int32
	ts := startServer(t, cfg, func(s *Server) {
		s.AddRouterFunc(cfg.PingMsgID, func(ziface.IRequest) { serverRouted.Add(1) })
	})
	cl := newTestClient(t, cfg)
	pongs := make(chan string, 100)
	cl.AddRouterFunc(cfg.PingMsgID, func(req ziface.IRequest) {
		select {
		case pongs <- string(req.GetData()):
		default: // a ping-pong loop; the check below reports it
		}
	})
	c, err := cl.Dial(context.Background(), ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendMsg(cfg.PingMsgID, []byte("t0")); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-pongs:
		if p != "t0" {
			t.Fatalf("pong %q", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no pong reached the client's router")
	}
	time.Sleep(50 * time.Millisecond)
	if len(pongs) != 0 || serverRouted.Load() != 0 {
		t.Fatalf("ping-pong loop: %d more pongs, %d pings routed on the server", len(pongs), serverRouted.Load())
	}
}
