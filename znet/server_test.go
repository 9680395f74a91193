package znet

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
)

func TestEchoBothFramings(t *testing.T) {
	for _, framing := range framings {
		t.Run(framing, func(t *testing.T) {
			cfg := testConfig()
			cfg.Framing = framing
			ts := startServer(t, cfg, func(s *Server) { s.AddRouterFunc(1, echo) })
			c := dialRaw(t, ts.addr, cfg)
			c.send(1, []byte("ping"))
			if id, data := c.recv(); id != 1 || string(data) != "ping" {
				t.Fatalf("echo = %d %q", id, data)
			}
		})
	}
}

func TestZinxStyleRouter(t *testing.T) {
	var calls []string
	var mu sync.Mutex
	rec := func(s string) { mu.Lock(); calls = append(calls, s); mu.Unlock() }
	r := &recRouter{rec: rec}
	ts := startServer(t, testConfig(), func(s *Server) {
		s.AddRouter(5, r)
		s.Use(func(next HandlerFunc) HandlerFunc {
			return func(req ziface.IRequest) { rec("mw1>"); next(req); rec("<mw1") }
		}, func(next HandlerFunc) HandlerFunc {
			return func(req ziface.IRequest) { rec("mw2>"); next(req); rec("<mw2") }
		})
	})
	c := dialRaw(t, ts.addr, testConfig())
	c.send(5, []byte("x"))
	c.recv()
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(calls) == 7 }, "7 calls")
	want := []string{"mw1>", "mw2>", "pre", "handle", "post", "<mw2", "<mw1"}
	for i := range want {
		if calls[i] != want[i] {
			t.Fatalf("calls = %v, want %v", calls, want)
		}
	}
}

type recRouter struct {
	BaseRouter
	rec func(string)
}

func (r *recRouter) PreHandle(ziface.IRequest) { r.rec("pre") }
func (r *recRouter) Handle(req ziface.IRequest) {
	r.rec("handle")
	_ = req.GetConnection().SendMsg(req.GetMsgID(), nil)
}
func (r *recRouter) PostHandle(ziface.IRequest) { r.rec("post") }

func TestNewServerRejectsBadConfig(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConn = -1
	if _, err := NewServer(cfg); err == nil {
		t.Fatal("NewServer accepted MaxConn = -1")
	}
}

// TestOrdering: 100 connections x 1,000 messages through 8 workers reach the
// handler in the order each connection sent them.
func TestOrdering(t *testing.T) {
	for _, workers := range []int{8, zconf.Off} {
		t.Run(map[int]string{8: "8 workers", zconf.Off: "inline"}[workers], func(t *testing.T) {
			const conns, msgs = 100, 1000
			cfg := testConfig()
			cfg.WorkerPoolSize = workers
			var handled, disorder atomic.Int64
			ts := startServer(t, cfg, func(s *Server) {
				s.AddRouterFunc(1, func(req ziface.IRequest) {
					c := req.GetConnection()
					seq := binary.LittleEndian.Uint32(req.GetData())
					last, _ := c.GetProperty("last")
					want := uint32(0)
					if last != nil {
						want = last.(uint32) + 1
					}
					if seq != want {
						disorder.Add(1)
					}
					c.SetProperty("last", seq)
					if seq%97 == 0 {
						time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
					}
					if handled.Add(1) == conns*msgs {
						_ = c.SendMsg(2, nil)
					}
				})
			})
			cl := newTestClient(t, cfg)
			var done atomic.Bool
			cl.AddRouterFunc(2, func(ziface.IRequest) { done.Store(true) })
			var wg sync.WaitGroup
			for range conns {
				c, err := cl.Dial(context.Background(), ts.addr)
				if err != nil {
					t.Fatal(err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					frame := make([]byte, 4)
					for i := range msgs {
						binary.LittleEndian.PutUint32(frame, uint32(i))
						for c.SendMsg(1, frame) != nil {
							t.Error("send failed")
							return
						}
						if i%100 == 0 {
							time.Sleep(time.Millisecond) // stay under the client's send queue
						}
					}
				}()
			}
			wg.Wait()
			waitFor(t, func() bool { return handled.Load() == conns*msgs }, "%d messages handled, have %d", conns*msgs, handled.Load())
			if d := disorder.Load(); d != 0 {
				t.Fatalf("%d messages arrived out of order", d)
			}
		})
	}
}

func newTestClient(t *testing.T, cfg zconf.Config) *Client {
	t.Helper()
	cfg.WorkerPoolSize = zconf.Off
	cl, err := NewClient(cfg, WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cl.Close(); err != nil {
			t.Errorf("client Close: %v", err)
		}
	})
	return cl
}

// TestHooksOnceInOrder: OnConnStart runs before any handler, OnConnStop
// after the last one, each exactly once per connection, even when the
// client disconnects with messages still queued.
func TestHooksOnceInOrder(t *testing.T) {
	const conns, msgs = 50, 200
	cfg := testConfig()
	type state struct {
		started, stopped atomic.Int32
		handled          atomic.Int32
	}
	var mu sync.Mutex
	states := map[uint64]*state{}
	get := func(c ziface.IConnection) *state {
		mu.Lock()
		defer mu.Unlock()
		if states[c.GetConnID()] == nil {
			states[c.GetConnID()] = &state{}
		}
		return states[c.GetConnID()]
	}
	var bad atomic.Int32
	ts := startServer(t, cfg, func(s *Server) {
		s.SetOnConnStart(func(c ziface.IConnection) {
			time.Sleep(time.Millisecond) // a slow hook must still run first
			get(c).started.Add(1)
		})
		s.SetOnConnStop(func(c ziface.IConnection) {
			st := get(c)
			if st.handled.Load() != msgs {
				bad.Add(1)
			}
			st.stopped.Add(1)
		})
		s.AddRouterFunc(1, func(req ziface.IRequest) {
			st := get(req.GetConnection())
			if st.started.Load() != 1 || st.stopped.Load() != 0 {
				bad.Add(1)
			}
			time.Sleep(20 * time.Microsecond)
			st.handled.Add(1)
		})
	})
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := dialRaw(t, ts.addr, cfg)
			var b []byte
			for range msgs {
				b, _ = c.pack.AppendPack(b, 1, []byte("m"))
			}
			c.write(b)
			c.nc.Close() // leave with messages still queued on the server
		}()
	}
	wg.Wait()
	waitFor(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		if len(states) != conns {
			return false
		}
		for _, st := range states {
			if st.stopped.Load() == 0 {
				return false
			}
		}
		return true
	}, "all OnConnStop hooks")
	time.Sleep(20 * time.Millisecond) // a duplicate hook call would land now
	mu.Lock()
	defer mu.Unlock()
	for id, st := range states {
		if st.started.Load() != 1 || st.stopped.Load() != 1 || st.handled.Load() != msgs {
			t.Errorf("conn %d: started %d stopped %d handled %d", id, st.started.Load(), st.stopped.Load(), st.handled.Load())
		}
	}
	if bad.Load() != 0 {
		t.Fatalf("%d hook/handler calls out of order", bad.Load())
	}
	if n := ts.GetConnMgr().Len(); n != 0 {
		t.Fatalf("connection manager still holds %d connections", n)
	}
}

func TestPropertiesConcurrent(t *testing.T) {
	cfg := testConfig()
	got := make(chan ziface.IConnection, 1)
	ts := startServer(t, cfg, func(s *Server) { s.SetOnConnStart(func(c ziface.IConnection) { got <- c }) })
	dialRaw(t, ts.addr, cfg)
	c := <-got
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := string(rune('a' + g))
			for i := range 1000 {
				c.SetProperty(key, i)
				if v, ok := c.GetProperty(key); !ok || v.(int) != i {
					t.Errorf("GetProperty(%s) = %v %v, want %d", key, v, ok, i)
					return
				}
				c.SetProperty("shared", i)
				c.GetProperty("shared")
				if i%2 == 0 {
					c.RemoveProperty(key)
					if _, ok := c.GetProperty(key); ok {
						t.Errorf("property %s survived RemoveProperty", key)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

func TestContextCancelledAndSendAfterClose(t *testing.T) {
	cfg := testConfig()
	got := make(chan ziface.IConnection, 1)
	ts := startServer(t, cfg, func(s *Server) { s.SetOnConnStart(func(c ziface.IConnection) { got <- c }) })
	raw := dialRaw(t, ts.addr, cfg)
	c := <-got
	if c.Context().Err() != nil {
		t.Fatal("context cancelled on a live connection")
	}
	raw.nc.Close()
	select {
	case <-c.Context().Done():
	case <-time.After(10 * time.Second):
		t.Fatal("context not cancelled after the client left")
	}
	<-c.(*Connection).Done()
	if err := c.SendMsg(1, nil); !errors.Is(err, ErrConnClosed) {
		t.Fatalf("SendMsg after close = %v, want ErrConnClosed", err)
	}
	if err := c.Async(func(context.Context) {}, nil); !errors.Is(err, ErrConnClosed) {
		t.Fatalf("Async after close = %v, want ErrConnClosed", err)
	}
	c.Stop() // idempotent after close
	c.Start()
}

func TestSendTooLarge(t *testing.T) {
	cfg := testConfig()
	cfg.MaxPackageSize = 16
	errc := make(chan error, 1)
	ts := startServer(t, cfg, func(s *Server) {
		s.AddRouterFunc(1, func(req ziface.IRequest) { errc <- req.GetConnection().SendMsg(1, make([]byte, 17)) })
	})
	dialRaw(t, ts.addr, cfg).send(1, nil)
	if err := <-errc; !errors.Is(err, ErrPacketTooLarge) {
		t.Fatalf("SendMsg over max = %v, want ErrPacketTooLarge", err)
	}
}

func TestBroadcast(t *testing.T) {
	cfg := testConfig()
	ts := startServer(t, cfg, nil)
	var clients []*rawConn
	for range 5 {
		clients = append(clients, dialRaw(t, ts.addr, cfg))
	}
	waitFor(t, func() bool { return ts.GetConnMgr().Len() == 5 }, "5 connections")
	n, err := ts.Broadcast(9, []byte("all"))
	if err != nil || n != 5 {
		t.Fatalf("Broadcast = %d, %v", n, err)
	}
	for _, c := range clients {
		if id, data := c.recv(); id != 9 || string(data) != "all" {
			t.Fatalf("got %d %q", id, data)
		}
	}
}

// TestWorkerPoolBoundsConcurrency: at most WorkerPoolSize handlers run at
// once, whichever goroutine runs them, and the pool is really used.
func TestWorkerPoolBoundsConcurrency(t *testing.T) {
	cfg := testConfig()
	cfg.WorkerPoolSize = 3
	var running, peak, handled atomic.Int32
	ts := startServer(t, cfg, func(s *Server) {
		s.AddRouterFunc(1, func(req ziface.IRequest) {
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(2 * time.Millisecond)
			running.Add(-1)
			handled.Add(1)
		})
	})
	const conns, msgs = 12, 10
	for range conns {
		c := dialRaw(t, ts.addr, cfg)
		var b []byte
		for range msgs {
			b, _ = c.pack.AppendPack(b, 1, nil)
		}
		c.write(b)
	}
	waitFor(t, func() bool { return handled.Load() == conns*msgs }, "all messages handled")
	if p := peak.Load(); p > 3 || p < 2 {
		t.Fatalf("peak concurrent handlers = %d, want 2..3 with WorkerPoolSize 3", p)
	}
}
