package znet

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/ziface"
)

// echoP99 runs clients that each do sequential echo round trips for d and
// returns the p99 round trip over all of them.
func echoP99(t *testing.T, addr string, clients int, d time.Duration) time.Duration {
	t.Helper()
	cfg := testConfig()
	var mu sync.Mutex
	var all []time.Duration
	var wg sync.WaitGroup
	conns := make([]*rawConn, clients)
	for i := range conns {
		conns[i] = dialRaw(t, addr, cfg)
	}
	deadline := time.Now().Add(d)
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			frame, _ := c.pack.AppendPack(nil, 1, []byte("ping"))
			for time.Now().Before(deadline) {
				start := time.Now()
				if _, err := c.nc.Write(frame); err != nil {
					return
				}
				if _, _, err := c.tryRecv(); err != nil {
					return
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, c := range conns {
		c.nc.Close()
	}
	if len(all) < 100 {
		t.Fatalf("only %d round trips", len(all))
	}
	slices.Sort(all)
	return all[len(all)*99/100]
}

// TestSlowConsumerDoesNotSlowOthers: a client that never reads, flooded by
// the server, is disconnected, and 50 echoing clients' p99 stays within 2x
// of a run without it. The floor keeps scheduler noise on a sub-millisecond
// p99 from deciding the test: a slow consumer that held a worker or a lock
// would add WriteTimeout (500 ms) to someone's round trip.
func TestSlowConsumerDoesNotSlowOthers(t *testing.T) {
	cfg := testConfig()
	cfg.WriteTimeout = 500 * time.Millisecond
	cfg.MaxPackageSize = 64 << 10
	var flooders sync.WaitGroup
	ts := startServer(t, cfg, func(s *Server) {
		s.AddRouterFunc(1, echo)
		s.AddRouterFunc(2, func(req ziface.IRequest) {
			c := req.GetConnection()
			flooders.Add(1)
			go func() { // the game pushing state to a player who stopped reading
				defer flooders.Done()
				chunk := make([]byte, 16<<10)
				for c.SendMsg(3, chunk) == nil {
					time.Sleep(200 * time.Microsecond)
				}
			}()
		})
	})
	const clients, d = 50, 1500 * time.Millisecond
	floor := 2 * time.Millisecond
	var base, with time.Duration
	for attempt := range 3 {
		base = echoP99(t, ts.addr, clients, d)
		slow := dialRaw(t, ts.addr, cfg)
		slow.send(2, nil)
		with = echoP99(t, ts.addr, clients, d)
		// The echo clients have closed; the slow one must have been
		// closed by the server (a full queue or a write timeout).
		waitFor(t, func() bool { return ts.Online() == 0 }, "the slow consumer to be disconnected")
		flooders.Wait()
		t.Logf("attempt %d: p99 %v without the slow consumer, %v with it", attempt, base, with)
		if with <= 2*max(base, floor) {
			break
		}
		if attempt == 2 {
			t.Fatalf("p99 with a slow consumer %v > 2 x %v", with, max(base, floor))
		}
	}
	ts.logs.waitLog(t, "closing")
}

// TestShutdownWithBusyClients: 100 clients keep requests in flight when
// Shutdown starts. Every client gets the notice, every request the server
// read is answered before the close, OnConnStop runs for each, and goleak
// (TestMain) finds nothing left.
func TestShutdownWithBusyClients(t *testing.T) {
	cfg := testConfig()
	srv, err := NewServer(cfg, WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	var stops atomic.Int32
	handled := make([]atomic.Int64, 101)
	srv.SetOnConnStop(func(ziface.IConnection) { stops.Add(1) })
	srv.AddRouterFunc(1, func(req ziface.IRequest) {
		id := binary.LittleEndian.Uint32(req.GetData())
		handled[id].Add(1)
		echo(req)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()

	const n = 100
	type result struct {
		echoes, notices int
		err             error
	}
	results := make(chan result, n)
	started := make(chan struct{}, n)
	for i := 1; i <= n; i++ {
		c := dialRaw(t, l.Addr().String(), cfg)
		frame, _ := c.pack.AppendPack(nil, 1, binary.LittleEndian.AppendUint32(nil, uint32(i)))
		// Four requests in flight: each echo sends the next one.
		c.write(slices.Concat(frame, frame, frame, frame))
		go func() {
			defer c.nc.Close()
			var r result
			for {
				id, data, err := c.tryRecv()
				if err != nil {
					if r.notices == 0 {
						r.err = err
					}
					results <- r
					return
				}
				switch id {
				case 1:
					if r.echoes++; r.echoes == 1 {
						started <- struct{}{}
					}
					if binary.LittleEndian.Uint32(data) != uint32(i) {
						r.err = errors.New("echo for another client")
					}
					_, _ = c.nc.Write(frame) // fails once the server has closed
				case cfg.NoticeMsgID:
					if nt, err := ParseNotice(data); err != nil || nt.Code != NoticeShutdown {
						r.err = errors.New("bad notice")
					}
					r.notices++
				}
			}
		}()
	}
	for range n {
		<-started
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	got := map[int]int{}
	for range n {
		r := <-results
		if r.err != nil || r.notices != 1 {
			t.Fatalf("client: %d notices, err %v; want 1 notice and a clean close", r.notices, r.err)
		}
		got[r.echoes]++
	}
	var handledTotal int64
	for i := 1; i <= n; i++ {
		handledTotal += handled[i].Load()
	}
	echoed := 0
	for e, k := range got {
		echoed += e * k
	}
	if int64(echoed) != handledTotal {
		t.Fatalf("server handled %d requests, clients got %d echoes: a request read was not answered", handledTotal, echoed)
	}
	if stops.Load() != n {
		t.Fatalf("OnConnStop ran %d times, want %d", stops.Load(), n)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve = %v", err)
	}
}

// TestShutdownIgnoringClient: a client that reads nothing while the server
// has megabytes queued for it cannot hold Shutdown past its deadline.
func TestShutdownIgnoringClient(t *testing.T) {
	cfg := testConfig()
	cfg.MaxPackageSize = 64 << 10
	cfg.MaxSendQueueBytes = 16 << 20 // hold all 12 MB: the queue bound is not what this tests
	cfg.WriteTimeout = time.Minute
	filled := make(chan struct{})
	ts := startServer(t, cfg, func(s *Server) {
		s.AddRouterFunc(2, func(req ziface.IRequest) {
			chunk := make([]byte, 60<<10)
			for range 200 { // 12 MB: more than the socket buffers hold
				if req.GetConnection().SendMsg(3, chunk) != nil {
					break
				}
			}
			close(filled)
		})
	})
	c := dialRaw(t, ts.addr, cfg)
	c.send(2, nil)
	<-filled
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := ts.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Shutdown took %v with a 300ms deadline", d)
	}
	waitFor(t, func() bool { return ts.Online() == 0 }, "the ignoring client to be closed")
}
