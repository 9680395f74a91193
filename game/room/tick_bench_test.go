package room

import (
	"sync"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/znet"
)

// frameLogic broadcasts one small message a tick, the shape of a lockstep
// frame, so the benchmark measures the runtime around a game's own work.
type frameLogic struct {
	BaseLogic
	frame []byte
}

func (l *frameLogic) Input(_ *Room, _ Player, _ uint32, data []byte) {
	l.frame = append(l.frame[:0], data...)
}
func (l *frameLogic) Tick(r *Room, _ uint64, _ time.Time) { r.Broadcast(2, l.frame, 0) }

// BenchmarkRuntimeTick: one 4-member room's tick through the runtime (queue
// drained, timers checked, the logic's Tick, an empty check), with an
// input from each member every third tick (10 a second at 30 Hz) and one
// broadcast a tick. The members' connections count what they are sent,
// so the write itself is not measured.
func BenchmarkRuntimeTick(b *testing.B) {
	m, err := NewManager(Config{TickRate: 1}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	l := &frameLogic{}
	if err := m.Register("bench", func() Logic { return l }, TypeOptions{}); err != nil {
		b.Fatal(err)
	}
	r := &Room{m: m, id: 1, typ: "bench", logic: l, open: true, capacity: 4, events: make(chan event, 128),
		members: make(map[uint64]*member), log: m.log}
	var conns [4]*countConn
	for i := range conns {
		conns[i] = &countConn{}
		id := uint64(i + 1)
		mb := &member{p: Player{ID: id}, conn: conns[i], idx: i}
		r.members[id] = mb
		r.list = append(r.list, mb)
		r.connected++
	}
	input := []byte{1, 0xff}
	now := time.Now()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%3 == 0 {
			for _, mb := range r.list {
				r.events <- event{kind: evInput, pid: mb.p.ID, conn: mb.conn, msgID: 1, data: input}
			}
		}
		r.tick(now)
		i++
	}
}

type countConn struct {
	znet.Connection // unused methods; calling one would panic
	msgs, bytes     int
	props           sync.Map
}

func (c *countConn) SetProperty(k string, v any)      { c.props.Store(k, v) }
func (c *countConn) GetProperty(k string) (any, bool) { return c.props.Load(k) }

func (c *countConn) SendMsg(_ uint32, data []byte) error {
	c.msgs++
	c.bytes += len(data) + 8
	return nil
}

func (c *countConn) SendMsgNow(id uint32, data []byte) error { return c.SendMsg(id, data) }

// BenchmarkManagerInput: what a handler pays to queue one member's input
// on its room (rate limit, membership, the queue), drained as it goes.
func BenchmarkManagerInput(b *testing.B) {
	m, err := NewManager(Config{Manual: true, RequestRate: 1e6, QueueLen: 1 << 16}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	if err := m.Register("bench", func() Logic { return &frameLogic{} }, TypeOptions{}); err != nil {
		b.Fatal(err)
	}
	c := &countConn{}
	r, err := m.Create("bench", "", nil, Join{Player: Player{ID: 1}, Conn: c}, nil)
	if err != nil {
		b.Fatal(err)
	}
	m.Step(time.Now())
	data := []byte{1, 2}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := m.Input(1, c, 1, data); err != nil {
			b.Fatal(err)
		}
		if i++; i%1024 == 0 {
			for len(r.events) > 0 {
				<-r.events
			}
		}
	}
}
