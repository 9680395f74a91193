package room

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zinxgame/zinxgame/ziface"
)

type evKind uint8

const (
	evJoin evKind = iota + 1
	evRejoin
	evLeave
	evInput
	evDrop
	evSignal
	evShutdown
)

// event is a request queued for a room's next tick.
type event struct {
	kind  evKind
	msgID uint32
	pid   uint64
	conn  ziface.IConnection
	data  []byte
	join  *pendingJoin
	sig   *signalCall
}

type pendingJoin struct {
	j    Join
	done func(error)
}

type signalCall struct {
	data  any
	reply chan signalResult
}

type signalResult struct {
	v   any
	err error
}

// member is one player in a room, owned by the room's tick.
type member struct {
	p       Player
	conn    ziface.IConnection // nil while held
	holdTil time.Time          // while held: when the hold expires
	held    bool
	idx     int // in Room.list
}

// Room is the handle a Logic acts through. Its methods are for the logic
// only: call them from Logic methods (on the room's tick), never from
// another goroutine, except ID, Type and Logic, which are safe anywhere.
type Room struct {
	m     *Manager
	id    uint64
	typ   string
	owner uint64
	logic Logic
	log   *slog.Logger
	st    schedState

	events chan event
	ctlMu  sync.Mutex
	ctl    []event      // joins, drops and the shutdown: never refused for space
	ctlN   atomic.Int32 // events in ctl, read without the lock
	done   bool         // under ctlMu: the room has drained for the last time

	// Listing state, written on the tick under the manager's mutex.
	label    string
	metadata []byte
	open     bool
	capacity int
	taken    int // members plus reserved joins; under the manager's mutex
	indexed  bool
	keys     []indexKey // the index keys it is listed under

	// Owned by the tick.
	members    map[uint64]*member
	list       []*member // the members in join order, for iteration without a map walk
	connected  int
	held       int // members holding a seat without a connection
	frame      uint64
	period     time.Duration
	emptySince time.Time
	ending     bool
	endReason  EndReason
	timers     timerHeap
	timerSeq   uint64
	now        time.Time
	ended      atomic.Bool
}

func (r *Room) sched() *schedState { return &r.st }

// ID is the room's ID. Safe for concurrent use.
func (r *Room) ID() uint64 { return r.id }

// Type is the room's type name. Safe for concurrent use.
func (r *Room) Type() string { return r.typ }

// Owner is the ID of the player who created the room (0 for a room the
// server made). Safe for concurrent use.
func (r *Room) Owner() uint64 { return r.owner }

// Logic is the room's logic. Safe for concurrent use, but the logic's own
// state is its tick's: read it from another goroutine through
// Manager.Signal.
func (r *Room) Logic() Logic { return r.logic }

// Logger is the room's logger, with the room's ID and type.
func (r *Room) Logger() *slog.Logger { return r.log }

// Frame is the number of the current tick (0 before the first).
func (r *Room) Frame() uint64 { return r.frame }

// Now is the time the current tick (or the call being applied) began.
func (r *Room) Now() time.Time { return r.now }

// Label is the room's label (SetLabel, or the one it was created with).
func (r *Room) Label() string { return r.label }

// Period is the time between two ticks.
func (r *Room) Period() time.Duration { return r.period }

// SetTickRate sets the room's ticks per second (1-1000). It takes effect
// when called from Init; later it returns an error, since a running
// room's clock does not change pace.
func (r *Room) SetTickRate(hz int) error {
	if hz < 1 || hz > 1000 {
		return fmt.Errorf("room: tick rate %d: must be between 1 and 1000", hz)
	}
	if r.st.period != 0 {
		return fmt.Errorf("room: the tick rate is set before the room starts ticking (in Init)")
	}
	r.period = time.Second / time.Duration(hz)
	return nil
}

// Members is the number of players in the room, held seats included.
func (r *Room) Members() int { return len(r.members) }

// Connected is the number of members with a connection.
func (r *Room) Connected() int { return r.connected }

// Member reports whether id is a member, and whether it is connected.
func (r *Room) Member(id uint64) (in, connected bool) {
	mb := r.members[id]
	return mb != nil, mb != nil && mb.conn != nil
}

// Conn is a member's connection, nil when it is held or not a member.
func (r *Room) Conn(id uint64) ziface.IConnection {
	if mb := r.members[id]; mb != nil {
		return mb.conn
	}
	return nil
}

// Each calls fn for every member, in join order (a member that leaves is replaced by the last); conn is nil for a
// held seat.
func (r *Room) Each(fn func(p Player, conn ziface.IConnection)) {
	for _, mb := range r.list {
		fn(mb.p, mb.conn)
	}
}

// Send sends one message to a member. It returns ErrNotConnected for a
// held seat or a player who is not a member; a connection that cannot take
// it (closed, too slow) returns its own error.
func (r *Room) Send(id uint64, msgID uint32, data []byte) error {
	mb := r.members[id]
	if mb == nil || mb.conn == nil {
		return ErrNotConnected
	}
	return SendNow(mb.conn, msgID, data)
}

// Broadcast sends one message, encoded once, to every connected member
// but except (0 for none). It returns how many it was sent to.
func (r *Room) Broadcast(msgID uint32, data []byte, except uint64) int {
	n := 0
	for _, mb := range r.list {
		if mb.conn != nil && mb.p.ID != except {
			_ = SendNow(mb.conn, msgID, data)
			n++
		}
	}
	return n
}

// Kick removes a member from the room now: the logic's Leave is called
// with LeaveKicked before Kick returns. Kick does not close the player's
// connection; tell the player why before kicking it.
func (r *Room) Kick(id uint64) {
	if mb := r.members[id]; mb != nil {
		r.remove(mb, LeaveKicked)
	}
}

// Hold keeps a dropped member's seat for d: call it from Leave with
// LeaveDropped. The member comes back with Manager.Rejoin (Join with
// Rejoin set), or leaves with LeaveExpired when d passes. A room with no
// connected member still ends after Config.EmptyTimeout, held seats or
// not: keep d under it when a lone player must be able to come back.
func (r *Room) Hold(id uint64, d time.Duration) {
	if mb := r.members[id]; mb != nil && mb.conn == nil {
		if !mb.held {
			r.held++
		}
		mb.held, mb.holdTil = true, r.now.Add(d)
	}
}

// End ends the room once the current call returns: the logic's End is
// called with reason, then the members are released. Later calls do
// nothing.
func (r *Room) End(reason EndReason) {
	if !r.ending {
		r.ending, r.endReason = true, reason
	}
}

// MoveTo moves member id, connected, to room to: a seat there is
// reserved first, so a refusal (ErrRoomNotFound, ErrRoomClosed,
// ErrRoomFull, ErrClosed, or ErrNotConnected for a held seat) leaves the
// member here and is returned. Then the member leaves this room at once
// (the logic's Leave is called with LeaveMoved before MoveTo returns, so
// the logic hands the player over there) and joins room to on its next
// tick, with meta as its Join's Meta; done is called as for
// Manager.Join. A move is not charged to the connection's request rate:
// the request that caused it was. Joins, moves and their order are the
// target room's, as for any join. If room to ended between the two steps
// (ErrRoomEnded), the member has left this room and is in none.
func (r *Room) MoveTo(id, to uint64, meta any, done func(error)) error {
	mb := r.members[id]
	switch {
	case mb == nil:
		return ErrNotInRoom
	case mb.conn == nil:
		return ErrNotConnected
	}
	m := r.m
	m.mu.Lock()
	t := m.rooms[to]
	var err error
	switch {
	case m.closed:
		err = ErrClosed
	case t == nil:
		err = ErrRoomNotFound
	case t == r:
		err = ErrAlreadyInRoom
	case !t.open:
		err = ErrRoomClosed
	case t.taken >= t.capacity:
		err = ErrRoomFull
	}
	if err != nil {
		m.mu.Unlock()
		return err
	}
	// One step under the lock: the seat moves, and the manager never sees
	// the player in no room or in two.
	m.index.remove(t)
	t.taken++
	m.index.add(t)
	m.index.remove(r)
	r.taken--
	m.index.add(r)
	m.members[id] = &membership{room: t, conn: mb.conn, pending: true}
	m.mu.Unlock()
	r.forget(mb)
	r.call(func() { r.logic.Leave(r, mb.p, LeaveMoved) })
	return m.queueJoin(t, Join{Player: mb.p, Conn: mb.conn, Meta: meta}, done)
}

// Ending reports whether End was called.
func (r *Room) Ending() bool { return r.ending }

// SetOpen says whether the room takes new players (listings with OpenOnly
// and JoinOrCreate show only open rooms that have a free seat). A new
// room is open.
func (r *Room) SetOpen(open bool) { r.m.setListing(r, func() { r.open = open }) }

// SetCapacity sets the most members the room takes (at least 1); joins
// beyond it are refused with ErrRoomFull before they reach JoinAttempt.
func (r *Room) SetCapacity(n int) error {
	if n < 1 {
		return fmt.Errorf("room: capacity %d: must be at least 1", n)
	}
	r.m.setListing(r, func() { r.capacity = n })
	return nil
}

// SetLabel sets the label listings and JoinOrCreate filter on (a game's
// mode, map or skill band), at most Config.MaxLabelBytes.
func (r *Room) SetLabel(label string) error {
	if len(label) > r.m.cfg.MaxLabelBytes {
		return fmt.Errorf("%w: label of %d bytes, at most %d", ErrTooLarge, len(label), r.m.cfg.MaxLabelBytes)
	}
	r.m.setListing(r, func() { r.label = label })
	return nil
}

// SetMetadata sets the bytes a listing shows for the room (the game's own
// encoding), at most Config.MaxMetadataBytes. The room keeps b; do not
// change it afterwards.
func (r *Room) SetMetadata(b []byte) error {
	if len(b) > r.m.cfg.MaxMetadataBytes {
		return fmt.Errorf("%w: metadata of %d bytes, at most %d", ErrTooLarge, len(b), r.m.cfg.MaxMetadataBytes)
	}
	r.m.setListing(r, func() { r.metadata = b })
	return nil
}

// nowSender is a connection that can write on the caller's goroutine
// (*znet.Connection): a tick sends one message to each member, and a
// writer goroutine per message would cost more than the write.
type nowSender interface {
	SendMsgNow(msgID uint32, data []byte) error
}

// SendNow sends a message from a room's tick: written on the caller's
// goroutine when the connection can (znet.Connection.SendMsgNow), queued
// as SendMsg otherwise. Room.Send and Broadcast use it; a logic that keeps
// its members' connections itself (lockstep's frame fan-out) calls it too.
func SendNow(c ziface.IConnection, msgID uint32, data []byte) error {
	if n, ok := c.(nowSender); ok {
		return n.SendMsgNow(msgID, data)
	}
	return c.SendMsg(msgID, data)
}
