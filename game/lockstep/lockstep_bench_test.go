package lockstep

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/game/room"
	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

// countConn is a connection that counts what it is sent; benchmarks of the
// room need no network.
type countConn struct {
	znet.Connection // unused methods; calling one would panic
	msgs, bytes     int
	props           sync.Map
}

func (c *countConn) SendMsg(_ uint32, data []byte) error {
	c.msgs++
	c.bytes += len(data) + 8
	return nil
}

func (c *countConn) SendMsgNow(id uint32, data []byte) error { return c.SendMsg(id, data) }
func (c *countConn) SetProperty(k string, v any)             { c.props.Store(k, v) }
func (c *countConn) GetProperty(k string) (any, bool)        { return c.props.Load(k) }
func (c *countConn) RemoveProperty(k string)                 { c.props.Delete(k) }
func (c *countConn) Context() context.Context                { return context.Background() }

// benchRoom is a running match on a manual room manager: the benchmark
// ticks it by hand (Manager.Step), with no scheduler.
type benchRoom struct {
	l     *Service
	r     *room.Room
	m     *match
	conns []ziface.IConnection
	ids   []uint64
}

var benchPlayers atomic.Uint64

// benchService is a lockstep service on a manual room manager, with no
// request rate to speak of (benchmarks run faster than real time).
func benchService(tb testing.TB) *Service {
	tb.Helper()
	mgr, err := room.NewManager(room.Config{Manual: true, RequestRate: 1e6, MaxRooms: 1 << 20, MaxRoomsPerOwner: 1 << 20,
		EmptyTimeout: room.Disabled}, discardLog())
	if err != nil {
		tb.Fatal(err)
	}
	l, err := New(DefaultConfig(), discardLog(), WithRooms(mgr))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = mgr.Close() })
	return l
}

// runningRoom returns a 4-player room whose match has started.
func runningRoom(tb testing.TB, l *Service) (*benchRoom, []*countConn) {
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
// of conns.
func startedRoom(tb testing.TB, l *Service, conns []ziface.IConnection) *benchRoom {
	tb.Helper()
	opts, err := l.roomOptions(nil)
	if err != nil {
		tb.Fatal(err)
	}
	br := &benchRoom{l: l, conns: conns}
	for range conns {
		br.ids = append(br.ids, benchPlayers.Add(1))
	}
	join := func(i int) room.Join { return room.Join{Player: room.Player{ID: br.ids[i]}, Conn: conns[i]} }
	br.r, err = l.rooms.Create(RoomType, "", &createOpts{opts: opts, matchID: l.newID()}, join(0), nil)
	if err != nil {
		tb.Fatal(err)
	}
	for i := 1; i < len(conns); i++ {
		if err := l.rooms.Join(br.r.ID(), join(i), nil); err != nil {
			tb.Fatal(err)
		}
	}
	l.rooms.Step(time.Now())
	br.m = br.r.Logic().(*match)
	if br.m.state != stateRunning {
		tb.Fatalf("room state %d after %d joins", br.m.state, len(conns))
	}
	return br
}

// BenchmarkRoomTick: one 4-player room's tick with 10 inputs a second per
// player at 30 Hz (an input in about one tick in three), frames sent to
// four seats. Reports the bytes each player receives per second at 30 Hz.
//
// ns/op is the whole room path: the inputs are queued through the room
// manager as a handler queues them (rate limit, membership, the room's
// queue), then the tick. ns/tick-alone takes the queueing out: right
// after the loop the same number of inputs is queued again, timed on its
// own, and subtracted. The lockstep service before the room runtime timed
// a raw channel send and the tick (its handlers' checks were outside it),
// so ns/tick-alone is the figure to hold against it.
func BenchmarkRoomTick(b *testing.B) {
	l := benchService(b)
	r, conns := runningRoom(b, l)
	now := time.Now()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		tickWithInputs(r, i, now)
		i++
	}
	total := b.Elapsed()
	perTick := float64(conns[0].bytes) / float64(i)
	b.ReportMetric(perTick*30, "B/s/player@30Hz")
	inputs := 4 * ((i + 2) / 3)
	// Queue them again in chunks the room's queue holds, each chunk timed,
	// the room drained between chunks off the clock.
	var queueing time.Duration
	for left := min(inputs, 1<<18); left > 0; left -= 96 {
		start := time.Now()
		for k := range min(left, 96) {
			_ = l.rooms.Input(r.ids[k%4], r.conns[k%4], l.id(lspb.MsgInput), benchPayload)
		}
		queueing += time.Since(start)
		l.rooms.Step(now)
	}
	perInput := float64(queueing) / float64(min(inputs, 1<<18))
	b.ReportMetric((float64(total)-perInput*float64(inputs))/float64(i), "ns/tick-alone")
}

// benchInput is the input every benchmark player sends.
var (
	benchInput   = []byte{1, 0xff}
	benchPayload = marshal(&lspb.Input{Data: benchInput, Seq: 1})
)

// tickWithInputs runs tick i of a benchmark room: on every third tick each
// seated player sends an input first, which at 30 Hz is 10 inputs a second
// per player. The inputs go through the room manager, as a handler's do.
func tickWithInputs(br *benchRoom, i int, now time.Time) {
	if i%3 == 0 {
		for j, c := range br.conns {
			_ = br.l.rooms.Input(br.ids[j], c, br.l.id(lspb.MsgInput), benchPayload)
		}
	}
	br.l.rooms.Step(now)
}

// TestRoomMemory reports what a running room costs, history aside, and
// holds it under the 64 KB.
func TestRoomMemory(t *testing.T) {
	l := benchService(t)
	const n = 500
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rooms := make([]*benchRoom, 0, n)
	for range n {
		r, _ := runningRoom(t, l)
		rooms = append(rooms, r)
	}
	now := time.Now()
	for range 10 { // warm the frame buffers: inputs into every room, then one Step ticks them all
		for _, r := range rooms {
			for j, c := range r.conns {
				_ = l.rooms.Input(r.ids[j], c, l.id(lspb.MsgInput), benchPayload)
			}
		}
		l.rooms.Step(now)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%.0f bytes of heap per running 4-player room (queue of %d requests included)", per, l.rooms.Config().QueueLen)
	if per > 64<<10 {
		t.Fatalf("a running room takes %.0f bytes, over 64 KB", per)
	}
	runtime.KeepAlive(rooms)
}

// BenchmarkOpenRoomTick: the tick of a room still open (one player in a
// 4-seat room, nobody ready), which is what a server full of lobbies
// spends its ticks on.
func BenchmarkOpenRoomTick(b *testing.B) {
	l := benchService(b)
	opts, err := l.roomOptions(&lspb.RoomOptions{ReadyTimeoutMs: 3600_000})
	if err != nil {
		b.Fatal(err)
	}
	c := &countConn{}
	if _, err := l.rooms.Create(RoomType, "", &createOpts{opts: opts, matchID: l.newID()},
		room.Join{Player: room.Player{ID: benchPlayers.Add(1)}, Conn: c}, nil); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	l.rooms.Step(now)
	b.ReportAllocs()
	for b.Loop() {
		l.rooms.Step(now)
	}
}
