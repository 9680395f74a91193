package lockstep

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// BenchmarkRoomTickLoopback is BenchmarkRoomTick with the frames sent to
// four real connections over loopback TCP ("room"), against the floor any
// server pays for the same frames: one write(2) of a packet of the same
// size to each of four sockets, and nothing else ("floor"). Run both in one
// invocation and compare them: the ratio is the framework's overhead over
// the kernel's own cost, and holds on a noisy machine where the absolute
// figures do not. Readers in this process drain the sockets on the other
// cores, as bots would.
//
// rooms/core@30Hz is 1 s / (30 × the time per tick): how many 4-player
// rooms one core could tick at 30 Hz if sending frames were all it did (no
// inputs read, no scheduling), so an upper bound for the whole server.
//
//	go test -run '^$' -bench RoomTickLoopback -count 5 ./game
func BenchmarkRoomTickLoopback(b *testing.B) {
	size := meanFramePacket(b, benchService(b))
	l := benchService(b)

	b.Run("floor", func(b *testing.B) {
		fds := drainedSockets(b, 4)
		packet := make([]byte, size)
		for b.Loop() {
			for _, fd := range fds {
				if n, err := writeFD(fd, packet); err != nil || n != len(packet) {
					b.Fatalf("write: %d bytes, %v", n, err)
				}
			}
		}
		b.ReportMetric(float64(size), "B/packet")
		reportRoomsPerCore(b)
	})

	b.Run("room", func(b *testing.B) {
		r := startedRoom(b, l, frameworkConns(b, 4))
		now := time.Now()
		i := 0
		for b.Loop() {
			tickWithInputs(r, i, now)
			i++
		}
		for _, s := range r.m.seats {
			if s == nil || s.conn == nil {
				b.Fatal("a player lost its connection during the benchmark")
			}
		}
		reportRoomsPerCore(b)
	})
}

func reportRoomsPerCore(b *testing.B) {
	perTick := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(1/(30*perTick), "rooms/core@30Hz")
}

// meanFramePacket is the mean size on the wire (header included) of the
// frame packets BenchmarkRoomTick's room sends, so the floor writes the
// same bytes.
func meanFramePacket(tb testing.TB, l *Service) int {
	tb.Helper()
	r, conns := runningRoom(tb, l)
	now := time.Now()
	c := conns[0]
	c.msgs, c.bytes = 0, 0
	for i := range 300 {
		tickWithInputs(r, i, now)
	}
	return c.bytes / c.msgs
}

// drain reads and discards everything nc receives until it is closed.
func drain(tb testing.TB, nc net.Conn) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(io.Discard, nc)
	}()
	tb.Cleanup(func() {
		nc.Close()
		<-done
	})
}

// frameworkConns returns the server side of n connections to a znet
// server over loopback, whose clients read everything.
func frameworkConns(tb testing.TB, n int) []ziface.IConnection {
	started := make(chan ziface.IConnection, n)
	ts := znettest.NewServer(tb, zconf.Default(), func(srv *znet.Server) {
		srv.SetOnConnStart(func(c ziface.IConnection) { started <- c })
	})
	conns := make([]ziface.IConnection, 0, n)
	for range n {
		cl, err := net.Dial("tcp", ts.Addr)
		if err != nil {
			tb.Fatal(err)
		}
		drain(tb, cl)
		conns = append(conns, <-started)
	}
	return conns
}
