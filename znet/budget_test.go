package znet

import (
	"context"
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/ziface"
)

// TestNonReadingCrowdStaysWithinBudget: 50 clients send 4 KiB requests to
// an echo handler and never read. Each stays within its own bounds (a
// send queue of 1 MiB), but together they would hold 50 MiB; the server
// holds no more than its budget allows (MaxQueuedBytes 8 MiB: 2 MiB of
// bytes at GOGC 100) and cuts them, the biggest first. (Nothing bounded
// the sum once: 50 of them took the server to 920 MiB.)
func TestNonReadingCrowdStaysWithinBudget(t *testing.T) {
	const clients = 50
	cfg := testConfig()
	cfg.LogLevel = "info"
	cfg.MaxSendQueueBytes = 1 << 20
	cfg.MaxQueuedBytes = 8 << 20
	cfg.WriteTimeout = time.Second // who is not cut first times out
	ts := startServer(t, cfg, func(s *Server) { s.AddRouterFunc(1, echo) })
	pack := NewDataPack(cfg.Framing, cfg.MaxPackageSize)
	var burst []byte
	for range 16 {
		burst = pack.appendPacket(burst, 1, make([]byte, 4<<10))
	}
	var wg sync.WaitGroup
	for range clients {
		nc, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		wg.Go(func() {
			_ = nc.SetWriteDeadline(time.Now().Add(20 * time.Second))
			for {
				if _, err := nc.Write(burst); err != nil {
					return // cut (or the bound passed, which the checks below report)
				}
			}
		})
	}
	wg.Wait()
	waitFor(t, func() bool { return ts.Online() == 0 }, "every client to be cut")
	s := ts.Stats()
	t.Logf("peak %d bytes held against a limit of %d; %d cut over budget, %d for a full send queue",
		s.QueuedBytesPeak, s.QueuedBytesLimit, s.OverBudgetCuts, s.SendQueueFull)
	if want := heldLimit(cfg.MaxQueuedBytes, gcPercent()); s.QueuedBytesLimit != want {
		t.Errorf("QueuedBytesLimit = %d, want %d", s.QueuedBytesLimit, want)
	}
	if s.QueuedBytesPeak > s.QueuedBytesLimit+budgetSlack(cfg.WorkerPoolSize, cfg.MaxPackageSize) {
		t.Errorf("the server held %d bytes at its peak, over its limit of %d", s.QueuedBytesPeak, s.QueuedBytesLimit)
	}
	if s.OverBudgetCuts == 0 {
		t.Errorf("no client was cut over budget; stats %+v", s)
	}
	waitFor(t, func() bool { return ts.Stats().QueuedBytes == 0 }, "the cut clients' bytes to be released")
}

// TestBudgetCutsTheBiggestNotTheLastToPush: three clients that do not read
// hold 55%, 15% and then 45% of the budget; the third takes the server
// over, and the first, which holds the most, is cut, not the third.
func TestBudgetCutsTheBiggestNotTheLastToPush(t *testing.T) {
	cfg := testConfig()
	cfg.MaxPackageSize = 64 << 10
	cfg.MaxQueuedBytes = 32 << 20 // 8 MiB of bytes at GOGC 100
	cfg.MaxSendQueueBytes = 16 << 20
	limit := heldLimit(cfg.MaxQueuedBytes, gcPercent())
	conns := make(chan *Connection, 3)
	ts := startServer(t, cfg, func(s *Server) {
		s.SetOnConnStart(func(c ziface.IConnection) {
			// A small socket buffer, so what the client does not read
			// stays in the send queue rather than in the kernel.
			_ = c.GetConnection().(*net.TCPConn).SetWriteBuffer(16 << 10)
			conns <- c.(*Connection)
		})
		s.AddRouterFunc(2, func(req ziface.IRequest) { // send the asked number of 60 KiB frames
			chunk := make([]byte, 60<<10)
			for range binary.LittleEndian.Uint32(req.GetData()) {
				if req.GetConnection().SendMsg(3, chunk) != nil {
					return
				}
			}
		})
	})
	var cs []*Connection
	held := int64(0)
	for _, share := range []float64{0.55, 0.15, 0.45} {
		c := dialRaw(t, ts.addr, cfg)
		_ = c.nc.(*net.TCPConn).SetReadBuffer(16 << 10)
		cs = append(cs, <-conns)
		frames := uint32(share * float64(limit) / (60 << 10))
		c.send(2, binary.LittleEndian.AppendUint32(nil, frames))
		held += int64(frames) * (60<<10 + HeadLen)
		if len(cs) < 3 {
			waitFor(t, func() bool { return ts.Stats().QueuedBytes >= held-512<<10 }, "the server to hold %d bytes", held)
		}
	}
	waitFor(t, func() bool { return ts.Stats().OverBudgetCuts > 0 }, "a cut over budget")
	<-cs[0].Done()
	for i, c := range cs[1:] {
		if c.acct.cut.Load() || c.stopping.Load() {
			t.Errorf("client %d (holding less) was cut too", i+2)
		}
	}
	if s := ts.Stats(); s.OverBudgetCuts != 1 {
		t.Errorf("%d cuts over budget, want 1 (the biggest brings the rest under)", s.OverBudgetCuts)
	}
}

func TestHeldLimitFollowsGOGC(t *testing.T) {
	for _, tt := range []struct {
		gogc uint64
		want int64
	}{
		{100, 64 << 20}, // a quarter: the heap's 2x, and 2x again under churn
		{50, 256 << 20 / 3},
		{300, 32 << 20},
		{^uint64(0), 256 << 20}, // GOGC=off: a memory limit governs
	} {
		if got := heldLimit(256<<20, tt.gogc); got != tt.want {
			t.Errorf("heldLimit(256 MiB, GOGC %d) = %d, want %d", tt.gogc, got, tt.want)
		}
	}
}

// TestWaitSendRoomPacesAStream: a goroutine streaming far more than the
// send queue holds to a client that reads slowly waits for room before
// each chunk, so the client gets every chunk in order and is never cut as
// too slow (it is cut without the wait: TestSlowClientDisconnected).
func TestWaitSendRoomPacesAStream(t *testing.T) {
	cfg := testConfig()
	cfg.MaxPackageSize = 64 << 10
	cfg.MaxSendQueueBytes = 512 << 10
	const chunks = 160 // 160 x 48 KiB = 7.5 MiB, fifteen times the queue
	streamed := make(chan error, 1)
	ts := startServer(t, cfg, func(s *Server) {
		s.AddRouterFunc(1, func(req ziface.IRequest) {
			c := req.GetConnection().(*Connection)
			go func() {
				for i := range chunks {
					if err := c.WaitSendRoom(context.Background()); err != nil {
						streamed <- err
						return
					}
					data := make([]byte, 48<<10)
					binary.LittleEndian.PutUint32(data, uint32(i))
					if err := c.SendMsg(2, data); err != nil {
						streamed <- err
						return
					}
				}
				streamed <- nil
			}()
		})
	})
	c := dialRaw(t, ts.addr, cfg)
	c.send(1, nil)
	for i := range chunks {
		if i%20 == 0 {
			time.Sleep(20 * time.Millisecond) // a slow reader
		}
		id, data := c.recv()
		if id != 2 || binary.LittleEndian.Uint32(data) != uint32(i) {
			t.Fatalf("chunk %d: got message %d, chunk %d", i, id, binary.LittleEndian.Uint32(data))
		}
	}
	if err := <-streamed; err != nil {
		t.Fatalf("the stream failed: %v", err)
	}
	if s := ts.Stats(); s.SendQueueFull != 0 {
		t.Fatalf("the paced stream overflowed the send queue %d times", s.SendQueueFull)
	}
}
