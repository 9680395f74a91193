package lockstep

import (
	"runtime"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

// countConn is a connection that counts what it is sent; benchmarks of the
// room need no network.
type countConn struct {
	znet.Connection // unused methods; calling one would panic
	msgs, bytes     int
}

func (c *countConn) SendMsg(_ uint32, data []byte) error {
	c.msgs++
	c.bytes += len(data) + 8
	return nil
}

func (c *countConn) SendMsgNow(id uint32, data []byte) error { return c.SendMsg(id, data) }

// runningRoom returns a 4-player room whose match has started, ticked by
// hand (no scheduler).
func runningRoom(tb testing.TB, l *Service) (*Room, []*countConn) {
	tb.Helper()
	var conns []*countConn
	var ics []ziface.IConnection
	for range 4 {
		c := &countConn{}
		conns = append(conns, c)
		ics = append(ics, c)
	}
	return startedRoom(tb, l, ics), conns
}

// startedRoom returns a room whose match has started with a player on each
// of conns, ticked by hand (no scheduler).
func startedRoom(tb testing.TB, l *Service, conns []ziface.IConnection) *Room {
	tb.Helper()
	opts, err := l.roomOptions(nil)
	if err != nil {
		tb.Fatal(err)
	}
	r := newRoom(l, l.newID(), l.newID(), opts) // not registered: the caller ticks it
	for i, c := range conns {
		p := &lsPlayer{id: uint64(i + 1), room: r}
		r.enqueue(roomEvent{kind: evJoin, p: p, conn: c}, false)
	}
	now := time.Now()
	r.tick(now)
	if r.state != stateRunning {
		tb.Fatalf("room state %d after %d joins", r.state, len(conns))
	}
	return r
}

// BenchmarkRoomTick: one 4-player room's tick with 10 inputs a second per
// player at 30 Hz (an input in about one tick in three), frames sent to
// four seats. Reports the bytes each player receives per second at 30 Hz.
func BenchmarkRoomTick(b *testing.B) {
	l, err := New(DefaultConfig(), discardLog())
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	r, conns := runningRoom(b, l)
	now := time.Now()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		tickWithInputs(r, i, now)
		i++
	}
	perTick := float64(conns[0].bytes) / float64(i)
	b.ReportMetric(perTick*30, "B/s/player@30Hz")
}

// benchInput is the input every benchmark player sends.
var benchInput = []byte{1, 0xff}

// tickWithInputs runs tick i of a benchmark room: on every third tick each
// seated player sends an input first, which at 30 Hz is 10 inputs a second
// per player.
func tickWithInputs(r *Room, i int, now time.Time) {
	if i%3 == 0 {
		for _, s := range r.seats {
			if s != nil {
				r.events <- roomEvent{kind: evInput, p: s.p, data: benchInput, u32: uint32(i)}
			}
		}
	}
	r.tick(now)
}

// TestRoomMemory reports what a running room costs, history aside, and
// holds it under the 64 KB.
func TestRoomMemory(t *testing.T) {
	l, err := New(DefaultConfig(), discardLog())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const n = 500
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rooms := make([]*Room, 0, n)
	for range n {
		r, _ := runningRoom(t, l)
		now := time.Now()
		for range 10 { // warm the frame buffers
			r.tick(now)
		}
		rooms = append(rooms, r)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%.0f bytes of heap per running 4-player room (queue of %d requests included)", per, l.cfg.RoomQueueLen)
	if per > 64<<10 {
		t.Fatalf("a running room takes %.0f bytes, over 64 KB", per)
	}
	runtime.KeepAlive(rooms)
}
