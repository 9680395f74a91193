package room_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/game/room"
)

// seqLogic records every call of a manual manager's rooms, in order. The
// calls run on Step, on the test's goroutine, so it needs no lock.
type seqLogic struct {
	room.BaseLogic
	calls []string
}

func (l *seqLogic) JoinAttempt(_ *room.Room, j room.Join) error {
	l.calls = append(l.calls, fmt.Sprintf("attempt %d", j.ID))
	return nil
}
func (l *seqLogic) Join(_ *room.Room, j room.Join) {
	l.calls = append(l.calls, fmt.Sprintf("join %d rejoin=%v", j.ID, j.Rejoin))
}
func (l *seqLogic) Leave(_ *room.Room, p room.Player, why room.LeaveReason) {
	l.calls = append(l.calls, fmt.Sprintf("leave %d %s", p.ID, why))
}
func (l *seqLogic) Input(_ *room.Room, p room.Player, _ uint32, data []byte) {
	l.calls = append(l.calls, fmt.Sprintf("input %d %s", p.ID, data))
}

// take returns the calls recorded since the last take.
func (l *seqLogic) take() []string {
	c := l.calls
	l.calls = nil
	return c
}

// newSeqRoom is a manual manager with one room of a type with opts and no
// owner, stepped once.
func newSeqRoom(t *testing.T, cfg room.Config, opts room.TypeOptions) (*room.Manager, *room.Room, *seqLogic) {
	t.Helper()
	cfg.Manual = true
	m, err := room.NewManager(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	l := &seqLogic{}
	if err := m.Register("seq", func() room.Logic { return l }, opts); err != nil {
		t.Fatal(err)
	}
	r, err := m.Create("seq", "", nil, room.Join{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Step(time.Now())
	return m, r, l
}

// outcome records a join's answer; until one comes, it reads "not answered".
func outcome() (func(error), *error) {
	got := errors.New("not answered")
	return func(err error) { got = err }, &got
}

func expectCalls(t *testing.T, l *seqLogic, want ...string) {
	t.Helper()
	if got := l.take(); !slices.Equal(got, want) {
		t.Fatalf("logic calls %q, want %q", got, want)
	}
}

// TestJoinOfClosedConnRefused: a join or a rejoin whose connection closed
// before the room's tick applied it is refused with ErrDisconnected, and
// the logic hears nothing of it: no JoinAttempt, Join or Leave. The seat
// a join reserved is given back; a rejoin leaves the seat as it was.
func TestJoinOfClosedConnRefused(t *testing.T) {
	m, r, l := newSeqRoom(t, room.Config{}, room.TypeOptions{Capacity: 1})
	gone, cg := player(1)
	done, got := outcome()
	if err := m.Join(r.ID(), gone, done); err != nil {
		t.Fatal(err)
	}
	cg.Stop()
	m.Drop(1, cg) // what the disconnect hook does, after the Context ends
	m.Step(time.Now())
	if !errors.Is(*got, room.ErrDisconnected) {
		t.Fatalf("join of a closed connection: %v, want ErrDisconnected", *got)
	}
	expectCalls(t, l)
	if m.RoomOf(1) != nil {
		t.Fatal("the refused player is still counted in the room")
	}

	// The seat is free again: the room of capacity 1 takes another player.
	p, cp := player(2)
	done, got = outcome()
	if err := m.Join(r.ID(), p, done); err != nil {
		t.Fatalf("join after the refused one: %v", err)
	}
	m.Step(time.Now())
	if *got != nil {
		t.Fatal(*got)
	}
	expectCalls(t, l, "attempt 2", "join 2 rejoin=false")

	moved, cm := player(2)
	done, got = outcome()
	if err := m.Rejoin(moved, done); err != nil {
		t.Fatal(err)
	}
	cm.Stop()
	m.Step(time.Now())
	if !errors.Is(*got, room.ErrDisconnected) {
		t.Fatalf("rejoin on a closed connection: %v, want ErrDisconnected", *got)
	}
	expectCalls(t, l)
	if err := m.Input(2, cp, 1, []byte("still here")); err != nil {
		t.Fatalf("input on the seat's own connection after the refused rejoin: %v", err)
	}
	m.Step(time.Now())
	expectCalls(t, l, "input 2 still here")
}

// TestInputsBeforeDropApplied: inputs a connection sent before it closed
// are applied before its drop, in order, although the drop goes through
// the control queue.
func TestInputsBeforeDropApplied(t *testing.T) {
	m, r, l := newSeqRoom(t, room.Config{}, room.TypeOptions{})
	p, cp := player(1)
	if err := m.Join(r.ID(), p, nil); err != nil {
		t.Fatal(err)
	}
	m.Step(time.Now())
	expectCalls(t, l, "attempt 1", "join 1 rejoin=false")
	for _, s := range []string{"a", "b", "c"} {
		if err := m.Input(1, cp, 1, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	m.Drop(1, cp)
	m.Step(time.Now())
	expectCalls(t, l, "input 1 a", "input 1 b", "input 1 c", "leave 1 dropped")
}

// TestRejoinBeforeOldDrop: a rejoin on a new connection and the old
// connection's drop in one tick: the rejoin (bounded queue) is applied
// before the drop (control queue), which then finds the seat on the new
// connection and is ignored. The member stays, on the new connection.
func TestRejoinBeforeOldDrop(t *testing.T) {
	m, r, l := newSeqRoom(t, room.Config{}, room.TypeOptions{})
	p, old := player(1)
	if err := m.Join(r.ID(), p, nil); err != nil {
		t.Fatal(err)
	}
	m.Step(time.Now())
	expectCalls(t, l, "attempt 1", "join 1 rejoin=false")
	m.Drop(1, old)
	p2, cur := player(1)
	done, got := outcome()
	if err := m.Rejoin(p2, done); err != nil {
		t.Fatal(err)
	}
	m.Step(time.Now())
	if *got != nil {
		t.Fatalf("rejoin: %v", *got)
	}
	expectCalls(t, l, "join 1 rejoin=true")
	if err := m.Input(1, cur, 1, []byte("x")); err != nil {
		t.Fatalf("input on the new connection: %v", err)
	}
	m.Drop(1, cur)
	m.Step(time.Now())
	expectCalls(t, l, "input 1 x", "leave 1 dropped")
	if m.RoomOf(1) != nil {
		t.Fatal("the member dropped from its new connection is still in the room")
	}
}

// TestTypeQueueLen: a type's QueueLen bounds each of its rooms' queues
// between two ticks in place of Config.QueueLen; 0 keeps Config.QueueLen.
func TestTypeQueueLen(t *testing.T) {
	cfg := room.Config{QueueLen: 8, RequestRate: 1e4} // the rate limit must not refuse first
	for _, tc := range []struct{ typ, want int }{{300, 300}, {0, 8}} {
		t.Run(fmt.Sprint(tc.typ), func(t *testing.T) {
			m, r, _ := newSeqRoom(t, cfg, room.TypeOptions{QueueLen: tc.typ})
			p, cp := player(1)
			if err := m.Join(r.ID(), p, nil); err != nil {
				t.Fatal(err)
			}
			m.Step(time.Now())
			for round := range 2 {
				for i := range tc.want {
					if err := m.Input(1, cp, 1, nil); err != nil {
						t.Fatalf("round %d: input %d of %d: %v", round, i+1, tc.want, err)
					}
				}
				if err := m.Input(1, cp, 1, nil); !errors.Is(err, room.ErrBusy) {
					t.Fatalf("round %d: input %d over a queue of %d: %v, want ErrBusy", round, tc.want+1, tc.want, err)
				}
				m.Step(time.Now()) // drains the queue
			}
		})
	}
	m, err := room.NewManager(room.Config{Manual: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, n := range []int{-1, 1<<20 + 1} {
		if err := m.Register(fmt.Sprint("bad", n), func() room.Logic { return &seqLogic{} }, room.TypeOptions{QueueLen: n}); err == nil {
			t.Fatalf("Register with QueueLen %d: nil error", n)
		}
	}
}

// TestMoveTo: a logic moves a member to another room: the target's seat is
// taken first, so a full target leaves the member where it was; a move
// leaves with LeaveMoved, joins the target on its tick with the meta, and
// is not charged to the connection's request rate.
func TestMoveTo(t *testing.T) {
	m, from, lf := newSeqRoom(t, room.Config{RequestRate: 1}, room.TypeOptions{Capacity: 1})
	to, err := m.Create("seq", "", nil, room.Join{}, nil) // the same logic: calls of both rooms in one list
	if err != nil {
		t.Fatal(err)
	}
	a, _ := player(1)
	if err := m.Join(from.ID(), a, nil); err != nil {
		t.Fatal(err)
	}
	b, _ := player(2)
	if err := m.Join(to.ID(), b, nil); err != nil {
		t.Fatal(err)
	}
	m.Step(time.Now())
	lf.take()
	if err := from.MoveTo(1, to.ID(), "meta", nil); !errors.Is(err, room.ErrRoomFull) {
		t.Fatalf("move to a full room: %v, want ErrRoomFull", err)
	}
	if in, _ := from.Member(1); !in || m.RoomOf(1) != from {
		t.Fatal("a refused move took the member out of its room")
	}
	to.Kick(2)
	lf.take()
	done, got := outcome()
	if err := from.MoveTo(1, to.ID(), "meta", done); err != nil {
		t.Fatalf("move (the connection's rate of 1 a second is spent): %v", err)
	}
	expectCalls(t, lf, "leave 1 moved")
	if in, _ := from.Member(1); in || m.RoomOf(1) != to {
		t.Fatal("the moved member is not on its way to the target")
	}
	m.Step(time.Now())
	if *got != nil {
		t.Fatalf("the move's join: %v", *got)
	}
	expectCalls(t, lf, "attempt 1", "join 1 rejoin=false")
	if in, _ := to.Member(1); !in {
		t.Fatal("the moved member is not in the target")
	}
}
