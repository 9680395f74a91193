package znet

import (
	"context"
	"log/slog"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
)

// TestZeroConfigServesLikeDefault: NewServer(zconf.Config{}) runs with
// exactly Default's settings, and serves: an echo round trip, and the
// framework's own answer on the default PingMsgID.
func TestZeroConfigServesLikeDefault(t *testing.T) {
	ts := startServer(t, zconf.Config{}, func(s *Server) { s.AddRouterFunc(1, echo) })
	if got, want := ts.Config(), zconf.Default(); !reflect.DeepEqual(got, want) {
		t.Fatalf("NewServer(Config{}).Config() = %+v\nwant Default() %+v", got, want)
	}
	if ts.sched == nil || ts.ipLim == nil || ts.sweeperDone == nil {
		t.Fatalf("worker pool %v, per-IP limit %v, keep-alive sweeper %v: want all three running, as with Default",
			ts.sched != nil, ts.ipLim != nil, ts.sweeperDone != nil)
	}
	c := dialRaw(t, ts.addr, zconf.Config{}.WithDefaults())
	c.send(1, []byte("hello"))
	if id, data := c.recv(); id != 1 || string(data) != "hello" {
		t.Fatalf("echo = %d %q, want 1 %q", id, data, "hello")
	}
	c.send(zconf.Default().PingMsgID, []byte("ping"))
	if id, data := c.recv(); id != zconf.Default().PingMsgID || string(data) != "ping" {
		t.Fatalf("ping answer = %d %q, want %d %q", id, data, zconf.Default().PingMsgID, "ping")
	}
}

// TestOffValues: each setting's documented off value (now that zero means
// the default) turns it off.
func TestOffValues(t *testing.T) {
	tests := []struct {
		name  string
		set   func(*zconf.Config)
		check func(t *testing.T, ts *testServer, cfg zconf.Config)
	}{
		{"WorkerPoolSize Off runs handlers inline", func(c *zconf.Config) { c.WorkerPoolSize = zconf.Off },
			func(t *testing.T, ts *testServer, cfg zconf.Config) {
				if ts.sched != nil {
					t.Fatal("a worker pool was started")
				}
				echoOnce(t, dialRaw(t, ts.addr, cfg))
			}},
		{"ConnRatePerIP Off admits any number", func(c *zconf.Config) {
			c.ConnRatePerIP, c.ConnRateExempt = zconf.Off, []string{} // loopback not exempt
		}, func(t *testing.T, ts *testServer, cfg zconf.Config) {
			// The default, 20 a minute, would refuse the 21st.
			for range zconf.Default().ConnRatePerIP + 5 {
				echoOnce(t, dialRaw(t, ts.addr, cfg))
			}
		}},
		{"negative HeartbeatTimeout and FirstMessageTimeout keep silent connections", func(c *zconf.Config) {
			c.HeartbeatTimeout, c.FirstMessageTimeout = zconf.Disabled, -time.Second
			c.ConnRatePerIP = zconf.Off // so no sweeper runs beside the test's own sweep
		}, func(t *testing.T, ts *testServer, cfg zconf.Config) {
			if ts.sweeperDone != nil {
				t.Fatal("the keep-alive sweeper runs with every check off")
			}
			silent := dialRaw(t, ts.addr, cfg) // never sends: FirstMessageTimeout's case
			spoke := dialRaw(t, ts.addr, cfg)  // then goes quiet: HeartbeatTimeout's case
			echoOnce(t, spoke)
			waitFor(t, func() bool { return ts.mgr.Len() == 2 }, "2 connections")
			ts.sweep(time.Now().Add(48 * time.Hour)) // past either default
			echoOnce(t, silent)
			echoOnce(t, spoke)
		}},
		{"PingMsgID MsgIDOff routes every ID", func(c *zconf.Config) { c.PingMsgID = zconf.MsgIDOff },
			func(t *testing.T, ts *testServer, cfg zconf.Config) {
				c := dialRaw(t, ts.addr, cfg)
				for _, id := range []uint32{zconf.Default().PingMsgID, zconf.MsgIDOff} {
					c.send(id, []byte("x"))
					if got, data := c.recv(); got != 2 || string(data) != "routed" {
						t.Fatalf("message %d answered with %d %q, want the router's 2 %q", id, got, data, "routed")
					}
				}
			}},
		{"negative ReconnectAfter sends no hint", func(c *zconf.Config) { c.ReconnectAfter = -time.Second },
			func(t *testing.T, ts *testServer, cfg zconf.Config) {
				c := dialRaw(t, ts.addr, cfg)
				echoOnce(t, c)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := ts.Shutdown(ctx); err != nil {
					t.Fatal(err)
				}
				if n := c.expectNotice(NoticeShutdown); n.RetryAfterMs != 0 {
					t.Fatalf("shutdown notice retry_after_ms = %d, want none", n.RetryAfterMs)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			tt.set(&cfg)
			ts := startServer(t, cfg, func(s *Server) {
				s.AddRouterFunc(1, echo)
				routed := func(req ziface.IRequest) { _ = req.GetConnection().SendMsg(2, []byte("routed")) }
				s.AddRouterFunc(zconf.Default().PingMsgID, routed)
				s.AddRouterFunc(zconf.MsgIDOff, routed)
			})
			tt.check(t, ts, cfg)
		})
	}
}

// TestFreePort: TcpPort and WsPort FreePort let the system pick, and an
// empty Mode serves TCP only (the default, "tcp").
func TestFreePort(t *testing.T) {
	for _, mode := range []string{"", zconf.ModeBoth} {
		t.Run("Mode "+mode, func(t *testing.T) {
			cfg := testConfig()
			cfg.Mode, cfg.TcpPort, cfg.WsPort = mode, zconf.FreePort, zconf.FreePort
			srv, err := NewServer(cfg, WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			srv.AddRouterFunc(1, echo)
			if err := srv.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = srv.Shutdown(ctx)
			})
			tcp := srv.Addr().(*net.TCPAddr)
			if tcp.Port == 0 || tcp.Port == zconf.Default().TcpPort {
				t.Fatalf("TCP listens on %v, want a free port", tcp)
			}
			echoOnce(t, dialRaw(t, tcp.String(), cfg))
			ws := srv.WebSocketAddr()
			switch {
			case mode == "" && ws != nil:
				t.Fatalf("empty Mode serves WebSocket on %v, want TCP only", ws)
			case mode == zconf.ModeBoth && (ws == nil || ws.(*net.TCPAddr).Port == 0 || ws.(*net.TCPAddr).Port == zconf.Default().WsPort):
				t.Fatalf("WebSocket listens on %v, want a free port", ws)
			}
		})
	}
}

// echoOnce sends message 1 and expects its echo.
func echoOnce(t *testing.T, c *rawConn) {
	t.Helper()
	c.send(1, []byte("hi"))
	if id, data := c.recv(); id != 1 || string(data) != "hi" {
		t.Fatalf("echo = %d %q, want 1 %q", id, data, "hi")
	}
}
