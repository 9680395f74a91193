package znet

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
)

// burst writes n echo requests in one write.
func (r *rawConn) burst(n int) {
	r.t.Helper()
	var b []byte
	for i := range n {
		b, _ = r.pack.AppendPack(b, 1, []byte{byte(i)})
	}
	r.write(b)
}

func TestMsgRateLimitDrop(t *testing.T) {
	for _, workers := range []int{4, zconf.Off} {
		cfg := testConfig()
		cfg.WorkerPoolSize = workers
		cfg.MsgRateLimit, cfg.MsgRateBurst, cfg.MsgRatePolicy = 20, 5, zconf.RateDrop
		var handled atomic.Int64
		ts := startServer(t, cfg, func(s *Server) {
			s.AddRouterFunc(1, func(req ziface.IRequest) { handled.Add(1); echo(req) })
		})
		c := dialRaw(t, ts.addr, cfg)
		c.burst(50)
		// The first five pass, the sixth is refused and brings the notice.
		var notices, echoes int
		for notices+echoes < 6 {
			id, data := c.recv()
			switch id {
			case cfg.NoticeMsgID:
				if n, err := ParseNotice(data); err != nil || n.Code != NoticeRateLimited {
					t.Fatalf("notice %q (%v)", data, err)
				}
				notices++
			case 1:
				echoes++
			}
		}
		if notices != 1 || echoes != 5 {
			t.Fatalf("workers=%d: %d notices, %d echoes; want 1 and the burst of 5", workers, notices, echoes)
		}
		waitFor(t, func() bool { return ts.Stats().RateLimited >= 40 }, "the flood to be counted")
		// Still connected: once the bucket refills a message goes through,
		// and no second notice comes.
		time.Sleep(100 * time.Millisecond)
		c.send(1, []byte("later"))
		if id, data := c.recv(); id != 1 || string(data) != "later" {
			t.Fatalf("after the flood got %d %q, want the echo", id, data)
		}
		if got := handled.Load(); got > 10 {
			t.Fatalf("workers=%d: %d messages handled of 51; the limit let the flood through", workers, got)
		}
		ts.logs.waitLog(t, "message rate limit exceeded")
	}
}

func TestMsgRateLimitDisconnect(t *testing.T) {
	cfg := testConfig()
	cfg.MsgRateLimit, cfg.MsgRateBurst, cfg.MsgRatePolicy = 20, 5, zconf.RateDisconnect
	ts := startServer(t, cfg, func(s *Server) { s.AddRouterFunc(1, echo) })
	c := dialRaw(t, ts.addr, cfg)
	c.burst(50)
	for {
		id, data := c.recv()
		if id == cfg.NoticeMsgID {
			if n, err := ParseNotice(data); err != nil || n.Code != NoticeRateLimited {
				t.Fatalf("notice %q (%v)", data, err)
			}
			break
		}
	}
	c.expectClosed()
	waitFor(t, func() bool { return ts.Online() == 0 }, "the limited connection to close")
}

func TestConnRatePerIP(t *testing.T) {
	cfg := testConfig()
	cfg.ConnRatePerIP, cfg.ConnRateExempt = 3, []string{} // nil would mean the loopback default
	ts := startServer(t, cfg, func(s *Server) { s.AddRouterFunc(1, echo) })
	for i := range 3 {
		c := dialRaw(t, ts.addr, cfg)
		c.send(1, []byte{byte(i)})
		c.recv()
	}
	refused := dialRaw(t, ts.addr, cfg)
	id, data := refused.recv()
	if n, err := ParseNotice(data); id != cfg.NoticeMsgID || err != nil || n.Code != NoticeRateLimited {
		t.Fatalf("4th connection got %d %q (%v); want a rate_limited notice", id, data, err)
	}
	refused.expectClosed()
	if st := ts.Stats(); st.ConnsRefusedIP != 1 || st.ConnsAccepted != 3 {
		t.Fatalf("refused by IP %d, accepted %d; want 1 and 3", st.ConnsRefusedIP, st.ConnsAccepted)
	}
	ts.logs.waitLog(t, "ConnRatePerIP reached")
}

func TestConnRatePerIPExemptsLoopbackByDefault(t *testing.T) {
	cfg := testConfig()
	cfg.ConnRatePerIP = 2
	ts := startServer(t, cfg, func(s *Server) { s.AddRouterFunc(1, echo) })
	for i := range 6 {
		c := dialRaw(t, ts.addr, cfg)
		c.send(1, []byte{byte(i)})
		if id, _ := c.recv(); id != 1 {
			t.Fatalf("connection %d got message %d, want its echo", i, id)
		}
	}
}

func TestIPLimiterForgetsRefilledAddresses(t *testing.T) {
	cfg := zconf.Default()
	cfg.ConnRatePerIP, cfg.ConnRateExempt = 60, []string{} // one a second; none exempt
	l := newIPLimiter(&cfg, discardLogger())
	now := time.Now()
	a := &netTCPAddr{"10.0.0.1"}
	if !l.allow(a.addr(), now) || l.tracked() != 1 {
		t.Fatalf("first connection refused or not tracked")
	}
	l.sweep(now.Add(500 * time.Millisecond))
	if l.tracked() != 1 {
		t.Fatalf("bucket dropped before it refilled")
	}
	l.sweep(now.Add(2 * time.Second))
	if l.tracked() != 0 {
		t.Fatalf("refilled bucket kept: %d tracked", l.tracked())
	}
}

type netTCPAddr struct{ ip string }

func (a netTCPAddr) addr() *net.TCPAddr { return &net.TCPAddr{IP: net.ParseIP(a.ip), Port: 1234} }
