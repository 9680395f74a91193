package znet

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

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
