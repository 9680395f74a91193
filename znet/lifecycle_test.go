package znet

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
)

// TestShutdownDrains: queued requests finish and their replies are flushed
// before the connection closes, and Serve returns ErrServerClosed.
func TestShutdownDrains(t *testing.T) {
	cfg := testConfig()
	srv, err := NewServer(cfg, WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	var stops atomic.Int32
	srv.SetOnConnStop(func(ziface.IConnection) { stops.Add(1) })
	srv.AddRouterFunc(1, func(req ziface.IRequest) {
		time.Sleep(5 * time.Millisecond)
		echo(req)
	})
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()

	const n = 40
	c := dialRaw(t, l.Addr().String(), cfg)
	var b []byte
	for i := range n {
		b, _ = c.pack.AppendPack(b, 1, binary.LittleEndian.AppendUint32(nil, uint32(i)))
	}
	c.write(b)
	c.recv() // the first is handled; the rest are queued
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	notices := 0
	for i := 1; i < n; {
		id, data := c.recv()
		if id == cfg.NoticeMsgID {
			n, err := ParseNotice(data)
			if err != nil || n.Code != NoticeShutdown || n.RetryAfterMs != cfg.ReconnectAfter.Milliseconds() {
				t.Fatalf("shutdown notice = %+v (%v)", n, err)
			}
			notices++
			continue
		}
		if got := binary.LittleEndian.Uint32(data); got != uint32(i) {
			t.Fatalf("reply %d carries %d", i, got)
		}
		i++
	}
	if notices != 1 {
		t.Fatalf("%d shutdown notices, want 1", notices)
	}
	c.expectClosed()
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve = %v, want ErrServerClosed", err)
	}
	if stops.Load() != 1 {
		t.Fatalf("OnConnStop ran %d times", stops.Load())
	}
	// After shutdown nothing new is served.
	l2, _ := net.Listen("tcp", "127.0.0.1:0")
	if err := srv.Serve(l2); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Shutdown = %v", err)
	}
}

// TestShutdownHardOnDeadline: a handler that never finishes cannot hold
// Shutdown past its context.
func TestShutdownHardOnDeadline(t *testing.T) {
	cfg := testConfig()
	release := make(chan struct{})
	entered := make(chan struct{})
	srv, err := NewServer(cfg, WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	srv.AddRouterFunc(1, func(ziface.IRequest) {
		close(entered)
		<-release
	})
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	c := dialRaw(t, l.Addr().String(), cfg)
	c.send(1, nil)
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Shutdown took %v", d)
	}
	c.expectClosed()
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve = %v", err)
	}
	close(release)
	// Let the background shutdown finish so goleak sees nothing left.
	waitFor(t, func() bool { return srv.Stats().ConnsActive == 0 }, "connections to close")
	time.Sleep(50 * time.Millisecond)
}

// TestStopShutdownFromEverywhere calls Stop and Shutdown at once from
// handlers, hooks and other goroutines: no panic, no deadlock, every call
// returns, Serve returns ErrServerClosed, no goroutine is left.
func TestStopShutdownFromEverywhere(t *testing.T) {
	for round := range 5 {
		cfg := testConfig()
		srv, err := NewServer(cfg, WithLogger(discardLogger()))
		if err != nil {
			t.Fatal(err)
		}
		srv.SetOnConnStart(func(c ziface.IConnection) {
			if c.GetConnID()%3 == 0 {
				srv.Stop()
				c.Stop()
			}
		})
		srv.SetOnConnStop(func(c ziface.IConnection) { srv.Stop(); c.Stop() })
		srv.AddRouterFunc(1, func(req ziface.IRequest) {
			req.GetConnection().Stop()
			srv.Stop()
			echo(req)
		})
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		served := make(chan error, 1)
		go func() { served <- srv.Serve(l) }()
		var wg sync.WaitGroup
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				nc, err := net.Dial("tcp", l.Addr().String())
				if err != nil {
					return // the listener may already be closed
				}
				defer nc.Close()
				b, _ := srv.DataPack().AppendPack(nil, 1, []byte("x"))
				_, _ = nc.Write(b)
				_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, _ = nc.Read(make([]byte, 64))
			}()
		}
		for range 5 {
			wg.Add(2)
			go func() {
				defer wg.Done()
				time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
				if err := srv.Shutdown(context.Background()); err != nil {
					t.Errorf("round %d: Shutdown = %v", round, err)
				}
			}()
			go func() { defer wg.Done(); srv.Stop() }()
		}
		wg.Wait()
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Fatalf("round %d: Serve = %v", round, err)
		}
	}
}

func TestMaxConnRefusal(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConn = 2
	ts := startServer(t, cfg, func(s *Server) { s.AddRouterFunc(1, echo) })
	a := dialRaw(t, ts.addr, cfg)
	b := dialRaw(t, ts.addr, cfg)
	waitFor(t, func() bool { return ts.GetConnMgr().Len() == 2 }, "2 connections")
	over := dialRaw(t, ts.addr, cfg)
	id, data := over.recv()
	n, err := ParseNotice(data)
	if id != cfg.NoticeMsgID || err != nil || n.Code != NoticeServerFull || n.Reason == "" {
		t.Fatalf("refusal = id %d %q (%v)", id, data, err)
	}
	over.expectClosed()
	for _, c := range []*rawConn{a, b} {
		c.send(1, []byte("still here"))
		if _, data := c.recv(); string(data) != "still here" {
			t.Fatalf("admitted connection broken: %q", data)
		}
	}
	if s := ts.Stats(); s.ConnsRefused != 1 || s.ConnsActive != 2 {
		t.Fatalf("stats = %+v", s)
	}
	ts.logs.waitLog(t, "MaxConn reached")
	// A slot frees when a client leaves.
	a.nc.Close()
	waitFor(t, func() bool { return ts.GetConnMgr().Len() == 1 }, "a slot to free")
	c := dialRaw(t, ts.addr, cfg)
	c.send(1, []byte("in"))
	if _, data := c.recv(); string(data) != "in" {
		t.Fatalf("got %q", data)
	}
}

// TestBadInput: each kind of bad input is handled as documented, with a log
// line, and the server keeps serving others.
func TestBadInput(t *testing.T) {
	cfg := testConfig()
	cfg.MaxPackageSize = 1024
	ts := startServer(t, cfg, func(s *Server) { s.AddRouterFunc(1, echo) })
	healthy := dialRaw(t, ts.addr, cfg)
	checkHealthy := func() {
		t.Helper()
		healthy.send(1, []byte("ok"))
		if _, data := healthy.recv(); string(data) != "ok" {
			t.Fatalf("healthy connection got %q", data)
		}
	}

	t.Run("unknown message ID is ignored", func(t *testing.T) {
		c := dialRaw(t, ts.addr, cfg)
		c.send(777, []byte("?"))
		c.send(778, []byte("?"))
		c.send(1, []byte("after"))
		if _, data := c.recv(); string(data) != "after" {
			t.Fatalf("got %q", data)
		}
		ts.logs.waitLog(t, "no route for message ID", "msg_id=777")
		if s := ts.Stats(); s.UnknownMsgs != 2 {
			t.Fatalf("UnknownMsgs = %d", s.UnknownMsgs)
		}
	})
	t.Run("length 0xFFFFFFFF closes", func(t *testing.T) {
		c := dialRaw(t, ts.addr, cfg)
		c.write([]byte{0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0})
		c.expectClosed()
		ts.logs.waitLog(t, "frame over MaxPackageSize")
	})
	t.Run("random bytes close", func(t *testing.T) {
		c := dialRaw(t, ts.addr, cfg)
		junk := make([]byte, 4096)
		for i := range junk {
			junk[i] = byte(rand.IntN(256)) | 0x80 // lengths far over the max
		}
		_, _ = c.nc.Write(junk)
		c.expectClosed()
	})
	t.Run("half frame then close", func(t *testing.T) {
		c := dialRaw(t, ts.addr, cfg)
		c.write([]byte{100, 0, 0, 0, 1, 0, 0, 0, 'a', 'b'})
		c.nc.Close()
		ts.logs.waitLog(t, "in the middle of a frame")
	})
	checkHealthy()
	if s := ts.Stats(); s.DecodeErrors < 3 {
		t.Fatalf("DecodeErrors = %d, want >= 3", s.DecodeErrors)
	}
}

func TestHandlerPanicRecovered(t *testing.T) {
	for _, workers := range []int{4, zconf.Off} {
		cfg := testConfig()
		cfg.WorkerPoolSize = workers
		ts := startServer(t, cfg, func(s *Server) {
			s.AddRouterFunc(1, echo)
			s.AddRouterFunc(2, func(ziface.IRequest) { panic("boom") })
		})
		c := dialRaw(t, ts.addr, cfg)
		for range 3 {
			c.send(2, nil)
			c.send(1, []byte("alive"))
			if _, data := c.recv(); string(data) != "alive" {
				t.Fatalf("after a panic got %q", data)
			}
		}
		ts.logs.waitLog(t, "handler panicked", "msg_id=2", "boom")
		if s := ts.Stats(); s.Panics != 3 {
			t.Fatalf("Panics = %d", s.Panics)
		}
	}
}

// TestAsyncOrdered: blocking work finishing in random order still posts its
// results in call order, serialized with the connection's handlers, and
// OnConnStop waits for the last of them.
func TestAsyncOrdered(t *testing.T) {
	for _, workers := range []int{4, zconf.Off} {
		cfg := testConfig()
		cfg.WorkerPoolSize = workers
		var inThen, overlap, afterStop atomic.Int32
		var stopped atomic.Bool
		ts := startServer(t, cfg, func(s *Server) {
			s.SetOnConnStop(func(ziface.IConnection) { stopped.Store(true) })
			s.AddRouterFunc(1, func(req ziface.IRequest) {
				c := req.GetConnection()
				data := req.GetData()
				err := c.Async(func(ctx context.Context) {
					time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
				}, func() {
					if inThen.Add(1) != 1 {
						overlap.Add(1)
					}
					if stopped.Load() {
						afterStop.Add(1)
					}
					_ = c.SendMsg(1, data)
					inThen.Add(-1)
				})
				if err != nil {
					t.Errorf("Async: %v", err)
				}
			})
		})
		c := dialRaw(t, ts.addr, cfg)
		const n = 200
		var b []byte
		for i := range n {
			b, _ = c.pack.AppendPack(b, 1, binary.LittleEndian.AppendUint32(nil, uint32(i)))
		}
		c.write(b)
		for i := range n {
			_, data := c.recv()
			if got := binary.LittleEndian.Uint32(data); got != uint32(i) {
				t.Fatalf("workers=%d: result %d is for call %d", workers, i, got)
			}
		}
		if overlap.Load() != 0 {
			t.Fatalf("workers=%d: Async completions overlapped", workers)
		}
		// Close with work in flight: OnConnStop must come after it.
		c.write(b[:len(b)/2])
		c.nc.Close()
		waitFor(t, stopped.Load, "OnConnStop")
		if afterStop.Load() != 0 {
			t.Fatalf("workers=%d: %d completions ran after OnConnStop", workers, afterStop.Load())
		}
	}
}

// TestSlowClientDisconnected: a client that stops reading fills only its own
// send queue and is disconnected; others are unaffected and no worker
// blocks.
func TestSlowClientDisconnected(t *testing.T) {
	cfg := testConfig()
	cfg.MaxMsgChanLen = 8
	cfg.MaxPackageSize = 64 << 10
	cfg.WriteTimeout = 200 * time.Millisecond
	full := make(chan error, 1)
	ts := startServer(t, cfg, func(s *Server) {
		s.AddRouterFunc(1, echo)
		s.AddRouterFunc(2, func(req ziface.IRequest) {
			chunk := make([]byte, 60<<10)
			for {
				if err := req.GetConnection().SendMsg(3, chunk); err != nil {
					full <- err
					return
				}
			}
		})
	})
	slow := dialRaw(t, ts.addr, cfg)
	fast := dialRaw(t, ts.addr, cfg)
	slow.send(2, nil)
	if err := <-full; !errors.Is(err, ErrSendQueueFull) {
		t.Fatalf("SendMsg to a stalled client = %v, want ErrSendQueueFull", err)
	}
	for range 3 {
		fast.send(1, []byte("fast"))
		if _, data := fast.recv(); string(data) != "fast" {
			t.Fatalf("got %q", data)
		}
	}
	ts.logs.waitLog(t, "send queue full")
	waitFor(t, func() bool { return ts.GetConnMgr().Len() == 1 }, "the slow client to be dropped")
	if s := ts.Stats(); s.SendQueueFull != 1 {
		t.Fatalf("SendQueueFull = %d", s.SendQueueFull)
	}
}

// TestSlowReaderGetsEverythingInOrder: when the socket buffer fills, what a
// batch cannot write goes to the writer goroutine; a client that reads
// slowly still gets every frame, in order.
func TestSlowReaderGetsEverythingInOrder(t *testing.T) {
	for _, workers := range []int{4, zconf.Off} {
		cfg := testConfig()
		cfg.WorkerPoolSize = workers
		cfg.MaxPackageSize = 32 << 10
		cfg.MaxMsgChanLen = 512
		cfg.MaxSendQueueBytes = 16 << 20 // the handler queues 9 MB in one call
		const n = 300
		ts := startServer(t, cfg, func(s *Server) {
			s.AddRouterFunc(1, func(req ziface.IRequest) {
				c := req.GetConnection()
				for i := range n {
					data := make([]byte, 30<<10)
					binary.LittleEndian.PutUint32(data, uint32(i))
					if err := c.SendMsg(2, data); err != nil {
						t.Errorf("SendMsg %d: %v", i, err)
						return
					}
					if i%100 == 0 {
						// Frames queued from another goroutine interleave
						// with the batch's own: order must still hold.
						go func() { _ = c.SendMsg(3, nil) }()
					}
				}
			})
		})
		c := dialRaw(t, ts.addr, cfg)
		c.send(1, nil)
		next := 0
		for next < n {
			id, data := c.recv()
			if id == 3 {
				continue
			}
			if got := binary.LittleEndian.Uint32(data); id != 2 || got != uint32(next) {
				t.Fatalf("workers=%d: frame %d is id %d seq %d", workers, next, id, got)
			}
			next++
			if next%50 == 0 {
				time.Sleep(20 * time.Millisecond) // let the socket buffer fill
			}
		}
	}
}

// TestRunStopsWhenContextEnds: Run serves until its context ends, then
// drains and returns nil.
func TestRunStopsWhenContextEnds(t *testing.T) {
	cfg := testConfig()
	srv, err := NewServer(cfg, WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	var stopped atomic.Int32
	srv.SetOnConnStop(func(ziface.IConnection) { stopped.Add(1) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	waitFor(t, func() bool { return srv.Addr() != nil }, "the listener")
	dialRaw(t, srv.Addr().String(), cfg)
	waitFor(t, func() bool { return srv.GetConnMgr().Len() == 1 }, "a connection")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil after a clean shutdown", err)
	}
	if stopped.Load() != 1 {
		t.Fatalf("OnConnStop ran %d times", stopped.Load())
	}
}

func TestKick(t *testing.T) {
	cfg := testConfig()
	got := make(chan ziface.IConnection, 1)
	ts := startServer(t, cfg, func(s *Server) {
		s.AddRouterFunc(1, echo)
		s.SetOnConnStart(func(c ziface.IConnection) { got <- c })
	})
	victim := dialRaw(t, ts.addr, cfg)
	c := <-got // the victim's, before the other connection exists
	other := dialRaw(t, ts.addr, cfg)
	<-got
	if ts.Online() != 2 {
		t.Fatalf("Online = %d", ts.Online())
	}
	if err := ts.Kick(c.GetConnID(), "cheating"); err != nil {
		t.Fatal(err)
	}
	id, data := victim.recv()
	if n, err := ParseNotice(data); id != cfg.NoticeMsgID || err != nil || n.Code != NoticeKicked || n.Reason != "cheating" {
		t.Fatalf("kick notice = %d %q (%v)", id, data, err)
	}
	victim.expectClosed()
	other.send(1, []byte("fine"))
	if _, data := other.recv(); string(data) != "fine" {
		t.Fatalf("got %q", data)
	}
	waitFor(t, func() bool { return ts.Online() == 1 }, "the kicked connection to go")
	if err := ts.Kick(c.GetConnID(), "again"); !errors.Is(err, ErrUnknownConn) {
		t.Fatalf("Kick of a gone connection = %v", err)
	}
}

// TestSlowBatchFlushesEarly: when a batch of handlers is slow, replies of
// the first ones leave before the whole batch has run.
func TestSlowBatchFlushesEarly(t *testing.T) {
	for _, workers := range []int{4, zconf.Off} {
		cfg := testConfig()
		cfg.WorkerPoolSize = workers
		ts := startServer(t, cfg, func(s *Server) {
			s.AddRouterFunc(1, func(req ziface.IRequest) {
				time.Sleep(5 * time.Millisecond)
				echo(req)
			})
		})
		c := dialRaw(t, ts.addr, cfg)
		var b []byte
		for range 40 {
			b, _ = c.pack.AppendPack(b, 1, []byte("x"))
		}
		start := time.Now()
		c.write(b)
		c.recv()
		// All 40 take 200 ms; the first reply must not wait for them
		// (it waits for at most 8 handlers, 16 with WorkerPoolSize 0).
		if d := time.Since(start); d > 150*time.Millisecond {
			t.Fatalf("workers=%d: first reply after %v", workers, d)
		}
		for range 39 {
			c.recv()
		}
	}
}

// TestKeepAlive: a silent client is closed after HeartbeatTimeout, one that
// never completes a message after FirstMessageTimeout, and pings are
// answered by the framework without reaching a router.
func TestKeepAlive(t *testing.T) {
	cfg := testConfig()
	cfg.HeartbeatTimeout = 300 * time.Millisecond
	cfg.FirstMessageTimeout = 200 * time.Millisecond
	var routed atomic.Int32
	ts := startServer(t, cfg, func(s *Server) {
		s.AddRouterFunc(cfg.PingMsgID, func(ziface.IRequest) { routed.Add(1) })
		s.AddRouterFunc(1, echo)
	})

	// Half a head, then silence: closed by the first-message deadline.
	slow := dialRaw(t, ts.addr, cfg)
	slow.write([]byte{1, 0, 0})
	start := time.Now()
	slow.expectNotice(NoticeTimeout)
	slow.expectClosed()
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("closed after %v, before FirstMessageTimeout", d)
	}
	ts.logs.waitLog(t, "no whole message within FirstMessageTimeout")

	// Pings keep a client alive well past HeartbeatTimeout, and come back.
	alive := dialRaw(t, ts.addr, cfg)
	for i := range 8 {
		if i > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		alive.send(cfg.PingMsgID, []byte("p"))
		if id, data := alive.recv(); id != cfg.PingMsgID || string(data) != "p" {
			t.Fatalf("pong = %d %q", id, data)
		}
	}
	if routed.Load() != 0 {
		t.Fatal("a ping reached the router")
	}

	// Then silence: closed by the heartbeat timeout (give or take the
	// sweeper's coarse clock, a quarter of the timeout).
	start = time.Now()
	alive.expectNotice(NoticeTimeout)
	alive.expectClosed()
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("closed after %v of silence, before HeartbeatTimeout", d)
	}
	ts.logs.waitLog(t, "heartbeat timeout")
	if s := ts.Stats(); s.HeartbeatTimeouts != 2 {
		t.Fatalf("HeartbeatTimeouts = %d", s.HeartbeatTimeouts)
	}
}
