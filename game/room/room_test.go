package room_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/game/room"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// recLogic records every call on a channel, in the order the room made
// them, and checks that no two calls overlap.
type recLogic struct {
	room.BaseLogic
	calls  chan string
	busy   atomic.Bool
	refuse map[uint64]bool
	hold   time.Duration
	onTick func(r *room.Room, frame uint64)
}

func (l *recLogic) enter() {
	if !l.busy.CompareAndSwap(false, true) {
		panic("two logic calls at once")
	}
}
func (l *recLogic) exit() { l.busy.Store(false) }
func (l *recLogic) rec(format string, args ...any) {
	select {
	case l.calls <- fmt.Sprintf(format, args...):
	default:
	}
}

func (l *recLogic) Init(r *room.Room, opts any) error {
	l.enter()
	defer l.exit()
	if opts == "fail" {
		return errors.New("bad options")
	}
	l.rec("init %v", opts)
	return nil
}
func (l *recLogic) JoinAttempt(r *room.Room, j room.Join) error {
	l.enter()
	defer l.exit()
	if l.refuse[j.ID] {
		l.rec("refuse %d", j.ID)
		return &room.Refusal{Code: 7, Reason: "not you"}
	}
	return nil
}
func (l *recLogic) Join(r *room.Room, j room.Join) {
	l.enter()
	defer l.exit()
	l.rec("join %d rejoin=%v", j.ID, j.Rejoin)
}
func (l *recLogic) Leave(r *room.Room, p room.Player, why room.LeaveReason) {
	l.enter()
	defer l.exit()
	l.rec("leave %d %s", p.ID, why)
	if why == room.LeaveDropped && l.hold > 0 {
		r.Hold(p.ID, l.hold)
	}
}
func (l *recLogic) Input(r *room.Room, p room.Player, msgID uint32, data []byte) {
	l.enter()
	defer l.exit()
	l.rec("input %d %d %s", p.ID, msgID, data)
	if string(data) == "panic" {
		panic("the game's bug")
	}
	if string(data) == "end" {
		r.End(room.EndCustom + 1)
	}
	_ = r.Send(p.ID, msgID+1, data)
}
func (l *recLogic) Tick(r *room.Room, frame uint64, now time.Time) {
	l.enter()
	defer l.exit()
	if l.onTick != nil {
		l.onTick(r, frame)
	}
}
func (l *recLogic) End(r *room.Room, reason room.EndReason) {
	l.enter()
	defer l.exit()
	l.rec("end %s", reason)
}
func (l *recLogic) Signal(r *room.Room, data any) (any, error) {
	l.enter()
	defer l.exit()
	return fmt.Sprintf("frame>0=%v %v", r.Frame() > 0, data), nil
}

func newRec() *recLogic { return &recLogic{calls: make(chan string, 1024), refuse: map[uint64]bool{}} }

func newManager(t *testing.T, cfg room.Config, l *recLogic) *room.Manager {
	t.Helper()
	m, err := room.NewManager(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	if err := m.Register("test", func() room.Logic { return l }, room.TypeOptions{TickRate: 100}); err != nil {
		t.Fatal(err)
	}
	return m
}

func expectCall(t *testing.T, l *recLogic, want string) {
	t.Helper()
	select {
	case got := <-l.calls:
		if got != want {
			t.Fatalf("logic call %q, want %q", got, want)
		}
	case <-time.After(3 * time.Second):
		t.Fatalf("no logic call; want %q", want)
	}
}

func player(id uint64) (room.Join, *znettest.Recorder) {
	c := znettest.NewRecorder(znettest.WithConnID(id))
	return room.Join{Player: room.Player{ID: id, Name: fmt.Sprint("p", id)}, Conn: c}, c
}

func waitDone(t *testing.T) (func(error), func() error) {
	ch := make(chan error, 1)
	return func(err error) { ch <- err }, func() error {
		t.Helper()
		select {
		case err := <-ch:
			return err
		case <-time.After(3 * time.Second):
			t.Fatal("join never answered")
			return nil
		}
	}
}

func TestLogicCallsInOrder(t *testing.T) {
	l := newRec()
	m := newManager(t, room.Config{}, l)
	a, ca := player(1)
	done, wait := waitDone(t)
	r, err := m.Create("test", "", "opts", a, done)
	if err != nil {
		t.Fatal(err)
	}
	expectCall(t, l, "init opts")
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	expectCall(t, l, "join 1 rejoin=false")
	b, _ := player(2)
	l.refuse[3] = true // read on the tick only after this write: the join below is queued after it
	if err := m.Join(r.ID(), b, nil); err != nil {
		t.Fatal(err)
	}
	expectCall(t, l, "join 2 rejoin=false")
	c, _ := player(3)
	done, wait = waitDone(t)
	if err := m.Join(r.ID(), c, done); err != nil {
		t.Fatal(err)
	}
	expectCall(t, l, "refuse 3")
	var ref *room.Refusal
	if err := wait(); !errors.As(err, &ref) || ref.Code != 7 {
		t.Fatalf("refused join: %v, want the logic's Refusal", err)
	}
	if m.RoomOf(3) != nil {
		t.Fatal("a refused player is still counted in the room")
	}
	for i := range 3 {
		if err := m.Input(1, ca, 50, []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		expectCall(t, l, fmt.Sprintf("input 1 50 %d", i))
	}
	znettest.Eventually(t, func() bool { return len(ca.SentTo(51)) == 3 }, "the logic's replies")
	if err := m.Input(1, znettest.NewRecorder(), 50, nil); !errors.Is(err, room.ErrNotInRoom) {
		t.Fatalf("input from another connection: %v, want ErrNotInRoom", err)
	}
	if err := m.Leave(2, b.Conn); err != nil {
		t.Fatal(err)
	}
	expectCall(t, l, "leave 2 left")
	v, err := m.Signal(context.Background(), r.ID(), "hi")
	if err != nil || v != "frame>0=true hi" {
		t.Fatalf("signal: %v %v", v, err)
	}
	if err := m.Input(1, ca, 50, []byte("end")); err != nil {
		t.Fatal(err)
	}
	expectCall(t, l, "input 1 50 end")
	expectCall(t, l, "end custom_101")
	znettest.Eventually(t, func() bool { return m.Rooms() == 0 && m.RoomOf(1) == nil }, "the ended room forgotten")
}

func TestQueueBoundAndRate(t *testing.T) {
	l := newRec()
	m := newManager(t, room.Config{QueueLen: 4, RequestRate: 1000}, l)
	// A room that ticks once a second: the queue fills between ticks.
	if err := m.Register("slow", func() room.Logic { return l }, room.TypeOptions{TickRate: 1}); err != nil {
		t.Fatal(err)
	}
	a, ca := player(1)
	if _, err := m.Create("slow", "", nil, a, nil); err != nil {
		t.Fatal(err)
	}
	expectCall(t, l, "init <nil>")
	expectCall(t, l, "join 1 rejoin=false")
	busy := 0
	for range 10 {
		if err := m.Input(1, ca, 9, nil); errors.Is(err, room.ErrBusy) {
			busy++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if busy < 6 {
		t.Fatalf("%d of 10 inputs refused with ErrBusy; a queue of 4 between ticks must refuse at least 6", busy)
	}

	l2 := newRec()
	m2 := newManager(t, room.Config{RequestRate: 10}, l2)
	b, cb := player(2)
	if _, err := m2.Create("test", "", nil, b, nil); err != nil {
		t.Fatal(err)
	}
	limited := 0
	for range 40 {
		if err := m2.Input(2, cb, 9, nil); errors.Is(err, room.ErrRateLimited) {
			limited++
		}
	}
	if limited < 25 {
		t.Fatalf("%d of 40 requests refused with ErrRateLimited at 10 a second (burst 11)", limited)
	}
}

func TestRoomCaps(t *testing.T) {
	l := newRec()
	m := newManager(t, room.Config{MaxRooms: 3, MaxRoomsPerOwner: 1, EmptyTimeout: room.Disabled}, l)
	a, _ := player(1)
	if _, err := m.Create("test", "", nil, a, nil); err != nil {
		t.Fatal(err)
	}
	expectCall(t, l, "init <nil>")
	expectCall(t, l, "join 1 rejoin=false")
	if err := m.Leave(1, a.Conn); err != nil {
		t.Fatal(err)
	}
	expectCall(t, l, "leave 1 left")
	znettest.Eventually(t, func() bool { return m.RoomOf(1) == nil }, "the leave applied")
	if _, err := m.Create("test", "", nil, a, nil); !errors.Is(err, room.ErrOwnerLimit) {
		t.Fatalf("second room of one owner: %v, want ErrOwnerLimit", err)
	}
	// The other rooms get a logic of their own: the recorder's is one
	// value, and its check that no two calls overlap would trip on room 1
	// ticking while another room's Init runs.
	if err := m.Register("plain", func() room.Logic { return room.BaseLogic{} }, room.TypeOptions{}); err != nil {
		t.Fatal(err)
	}
	for id := uint64(2); id <= 3; id++ {
		p, _ := player(id)
		if _, err := m.Create("plain", "", nil, p, nil); err != nil {
			t.Fatal(err)
		}
	}
	p, _ := player(4)
	if _, err := m.Create("plain", "", nil, p, nil); !errors.Is(err, room.ErrTooManyRooms) {
		t.Fatalf("fourth room: %v, want ErrTooManyRooms", err)
	}
	if _, err := m.Create("nope", "", nil, room.Join{}, nil); !errors.Is(err, room.ErrUnknownType) {
		t.Fatalf("unknown type: %v", err)
	}
}

func TestInitErrorRefusesCreation(t *testing.T) {
	l := newRec()
	m := newManager(t, room.Config{}, l)
	a, _ := player(1)
	if _, err := m.Create("test", "", "fail", a, nil); err == nil {
		t.Fatal("Init's error did not refuse the room")
	}
	if m.Rooms() != 0 || m.RoomOf(1) != nil {
		t.Fatal("a refused creation left a room or a membership")
	}
	if _, err := m.Create("test", "", nil, a, nil); err != nil {
		t.Fatalf("the owner's count was not given back: %v", err)
	}
}

func TestEmptyRoomEnds(t *testing.T) {
	l := newRec()
	l.hold = time.Minute // a seat held far longer than the empty timeout
	m := newManager(t, room.Config{EmptyTimeout: 150 * time.Millisecond}, l)
	a, ca := player(1)
	if _, err := m.Create("test", "", nil, a, nil); err != nil {
		t.Fatal(err)
	}
	expectCall(t, l, "init <nil>")
	expectCall(t, l, "join 1 rejoin=false")
	start := time.Now()
	m.Drop(1, ca)
	expectCall(t, l, "leave 1 dropped")
	expectCall(t, l, "end empty")
	if d := time.Since(start); d < 150*time.Millisecond || d > 2*time.Second {
		t.Fatalf("the empty room ended after %s, want about the 150ms EmptyTimeout (not the minute's hold)", d)
	}
}

func TestHoldRejoinAndExpiry(t *testing.T) {
	l := newRec()
	l.hold = 200 * time.Millisecond
	m := newManager(t, room.Config{EmptyTimeout: room.Disabled}, l)
	a, ca := player(1)
	r, err := m.Create("test", "", nil, a, nil)
	if err != nil {
		t.Fatal(err)
	}
	expectCall(t, l, "init <nil>")
	expectCall(t, l, "join 1 rejoin=false")
	m.Drop(1, ca)
	expectCall(t, l, "leave 1 dropped")
	if m.RoomOf(1) != r {
		t.Fatal("a held seat is not the player's room")
	}
	if err := m.Input(1, ca, 5, nil); !errors.Is(err, room.ErrNotInRoom) && err != nil {
		t.Fatal(err)
	}
	a2, ca2 := player(1)
	done, wait := waitDone(t)
	if err := m.Rejoin(a2, done); err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	expectCall(t, l, "join 1 rejoin=true")
	if err := m.Input(1, ca2, 5, []byte("x")); err != nil {
		t.Fatal(err)
	}
	expectCall(t, l, "input 1 5 x")
	if err := m.Input(1, ca, 5, nil); !errors.Is(err, room.ErrNotInRoom) {
		t.Fatalf("input from the replaced connection: %v, want ErrNotInRoom", err)
	}
	m.Drop(1, ca) // the old connection's late close changes nothing
	m.Drop(1, ca2)
	expectCall(t, l, "leave 1 dropped")
	expectCall(t, l, "leave 1 expired")
	znettest.Eventually(t, func() bool { return m.RoomOf(1) == nil }, "the expired seat forgotten")
	if err := m.Rejoin(a2, nil); !errors.Is(err, room.ErrNoSeat) {
		t.Fatalf("rejoin after expiry: %v, want ErrNoSeat", err)
	}
}

func TestPanicEndsOnlyItsRoom(t *testing.T) {
	l1, l2 := newRec(), newRec()
	m := newManager(t, room.Config{Shards: 1}, l1)
	if err := m.Register("other", func() room.Logic { return l2 }, room.TypeOptions{}); err != nil {
		t.Fatal(err)
	}
	a, ca := player(1)
	b, cb := player(2)
	if _, err := m.Create("test", "", nil, a, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create("other", "", nil, b, nil); err != nil {
		t.Fatal(err)
	}
	expectCall(t, l1, "init <nil>")
	expectCall(t, l1, "join 1 rejoin=false")
	expectCall(t, l2, "init <nil>")
	expectCall(t, l2, "join 2 rejoin=false")
	if err := m.Input(1, ca, 1, []byte("panic")); err != nil {
		t.Fatal(err)
	}
	expectCall(t, l1, "input 1 1 panic")
	l1.busy.Store(false) // the panic left the recorder's flag set
	expectCall(t, l1, "end failed")
	if err := m.Input(2, cb, 1, []byte("ok")); err != nil {
		t.Fatal(err)
	}
	expectCall(t, l2, "input 2 1 ok")
}

func TestTimers(t *testing.T) {
	fired := make(chan string, 8)
	l := newRec()
	var armed bool
	l.onTick = func(r *room.Room, frame uint64) {
		if armed {
			return
		}
		armed = true
		_, _ = r.After(60*time.Millisecond, func() { fired <- "b" })
		_, _ = r.After(20*time.Millisecond, func() { fired <- "a" })
		cancel, _ := r.After(40*time.Millisecond, func() { fired <- "cancelled" })
		cancel()
		for range 10 {
			if _, err := r.After(time.Hour, func() {}); err != nil {
				fired <- "limit"
				return
			}
		}
	}
	m := newManager(t, room.Config{MaxTimers: 8}, l)
	a, _ := player(1)
	if _, err := m.Create("test", "", nil, a, nil); err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < 3 {
		select {
		case s := <-fired:
			got = append(got, s)
		case <-time.After(3 * time.Second):
			t.Fatalf("timers fired %v", got)
		}
	}
	if fmt.Sprint(got) != "[limit a b]" {
		t.Fatalf("timers fired %v, want the limit refusal, then a, then b (and never the cancelled one)", got)
	}
}

func TestShutdownEndsEveryRoom(t *testing.T) {
	l := newRec()
	m, err := room.NewManager(room.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Register("test", func() room.Logic { return l }, room.TypeOptions{}); err != nil {
		t.Fatal(err)
	}
	for id := uint64(1); id <= 3; id++ {
		p, _ := player(id)
		if _, err := m.Create("test", "", nil, p, nil); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := m.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	ends := 0
	for len(l.calls) > 0 {
		if <-l.calls == "end shutdown" {
			ends++
		}
	}
	if ends != 3 {
		t.Fatalf("%d rooms ended with EndShutdown, want 3", ends)
	}
	p, _ := player(9)
	if _, err := m.Create("test", "", nil, p, nil); !errors.Is(err, room.ErrClosed) {
		t.Fatalf("create after shutdown: %v, want ErrClosed", err)
	}
}

// A manual manager's rooms run on the clock Step gives: a minute's hold
// and the empty timeout pass in two calls, not in a minute.
func TestManualClock(t *testing.T) {
	l := newRec()
	l.hold = time.Minute
	m, err := room.NewManager(room.Config{Manual: true, EmptyTimeout: 2 * time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Register("test", func() room.Logic { return l }, room.TypeOptions{}); err != nil {
		t.Fatal(err)
	}
	a, ca := player(1)
	if _, err := m.Create("test", "", nil, a, nil); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	m.Step(now)
	expectCall(t, l, "init <nil>")
	expectCall(t, l, "join 1 rejoin=false")
	m.Drop(1, ca)
	m.Step(now.Add(time.Second))
	expectCall(t, l, "leave 1 dropped")
	m.Step(now.Add(62 * time.Second))
	expectCall(t, l, "leave 1 expired")
	if left := m.Step(now.Add(5 * time.Minute)); left != 0 {
		t.Fatalf("%d rooms left after the empty timeout on the test's clock", left)
	}
	expectCall(t, l, "end empty")
}

// endLogic records, from its End, whether the manager still counts its
// member in the room.
type endLogic struct {
	room.BaseLogic
	m       *room.Manager
	inRoom  chan bool
	sentEnd chan error
}

func (l *endLogic) Input(r *room.Room, _ room.Player, _ uint32, _ []byte) { r.End(room.EndCustom) }
func (l *endLogic) End(r *room.Room, _ room.EndReason) {
	l.inRoom <- l.m.RoomOf(1) != nil
	l.sentEnd <- r.Send(1, 9, []byte("over"))
}

// A member told by End that its room is over can join another room at
// once: the manager has forgotten the membership before End runs, while
// End can still send to the member.
func TestEndedRoomsMembersAreFreeDuringEnd(t *testing.T) {
	m, err := room.NewManager(room.Config{Manual: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	l := &endLogic{m: m, inRoom: make(chan bool, 1), sentEnd: make(chan error, 1)}
	if err := m.Register("end", func() room.Logic { return l }, room.TypeOptions{}); err != nil {
		t.Fatal(err)
	}
	a, ca := player(1)
	if _, err := m.Create("end", "", nil, a, nil); err != nil {
		t.Fatal(err)
	}
	m.Step(time.Now())
	if err := m.Input(1, ca, 1, nil); err != nil {
		t.Fatal(err)
	}
	m.Step(time.Now())
	if <-l.inRoom {
		t.Fatal("during End the manager still counted the member in the ended room")
	}
	if err := <-l.sentEnd; err != nil || len(ca.SentTo(9)) != 1 {
		t.Fatalf("End could not tell its member: %v", err)
	}
}
