package room

import (
	"fmt"
	"log/slog"
	"runtime/debug"
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
	ctl    []event // joins, drops and the shutdown: never refused for space
	done   bool    // under ctlMu: the room has drained for the last time

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
	return sendNow(mb.conn, msgID, data)
}

// Broadcast sends one message, encoded once, to every connected member
// but except (0 for none). It returns how many it was sent to.
func (r *Room) Broadcast(msgID uint32, data []byte, except uint64) int {
	n := 0
	for _, mb := range r.list {
		if mb.conn != nil && mb.p.ID != except {
			_ = sendNow(mb.conn, msgID, data)
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
// Rejoin set), or leaves with LeaveExpired when d passes.
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

func sendNow(c ziface.IConnection, msgID uint32, data []byte) error {
	if n, ok := c.(nowSender); ok {
		return n.SendMsgNow(msgID, data)
	}
	return c.SendMsg(msgID, data)
}

// enqueue queues a request. Control events (ctl) are never refused for
// space; others get ErrBusy when the queue is full. Both get ErrRoomClosed
// once the room has drained for the last time.
func (r *Room) enqueue(ev event, ctl bool) error {
	if ctl {
		r.ctlMu.Lock()
		defer r.ctlMu.Unlock()
		if r.done {
			return ErrRoomClosed
		}
		r.ctl = append(r.ctl, ev)
		return nil
	}
	if r.ended.Load() {
		return ErrRoomClosed
	}
	select {
	case r.events <- ev:
		return nil
	default:
		return ErrBusy
	}
}

// tick runs one tick that was due at due; false ends the room.
func (r *Room) tick(due time.Time) bool {
	start := time.Now()
	r.now = start
	met := r.m.met
	met.lateness.Observe(max(start.Sub(due), 0).Seconds())
	r.drain()
	if !r.ending {
		r.fireTimers(start)
	}
	if !r.ending {
		r.frame++
		r.call(func() { r.logic.Tick(r, r.frame, start) })
	}
	if !r.ending {
		r.checkEmpty(start)
	}
	if r.ending {
		r.finish()
		met.duration.Observe(time.Since(start).Seconds())
		return false
	}
	met.duration.Observe(time.Since(start).Seconds())
	return true
}

// checkEmpty expires held seats and ends a room nobody is connected to.
func (r *Room) checkEmpty(now time.Time) {
	for i := 0; r.held > 0 && i < len(r.list); i++ {
		if mb := r.list[i]; mb.held && !now.Before(mb.holdTil) {
			r.remove(mb, LeaveExpired)
			i-- // remove moved the last member here
		}
	}
	if r.connected > 0 || r.m.cfg.EmptyTimeout < 0 {
		r.emptySince = time.Time{}
		return
	}
	if r.emptySince.IsZero() {
		r.emptySince = now
		return
	}
	if now.Sub(r.emptySince) >= r.m.cfg.EmptyTimeout {
		r.End(EndEmpty)
	}
}

func (r *Room) drain() {
	r.ctlMu.Lock()
	ctl := r.ctl
	r.ctl = nil
	r.ctlMu.Unlock()
	for i := range ctl {
		r.apply(&ctl[i])
		ctl[i] = event{}
	}
	if cap(ctl) <= 64 {
		r.ctlMu.Lock()
		if r.ctl == nil {
			r.ctl = ctl[:0] // keep the backing array: a busy room's joins do not allocate
		}
		r.ctlMu.Unlock()
	}
	for n := len(r.events); n > 0; n-- {
		ev := <-r.events
		r.apply(&ev)
	}
}

// finish calls the logic's End, releases every member, and answers the
// requests that raced with the end.
func (r *Room) finish() {
	r.ended.Store(true)
	r.call(func() { r.logic.End(r, r.endReason) })
	for len(r.list) > 0 {
		r.release(r.list[len(r.list)-1])
	}
	r.m.removeRoom(r)
	r.ctlMu.Lock()
	r.done = true
	ctl := r.ctl
	r.ctl = nil
	r.ctlMu.Unlock()
	for i := range ctl {
		r.refuse(&ctl[i])
	}
	for n := len(r.events); n > 0; n-- {
		ev := <-r.events
		r.refuse(&ev)
	}
	r.m.met.ended.WithLabelValues(r.typ, r.endReason.String()).Inc()
}

// refuse answers a request to an ended room.
func (r *Room) refuse(ev *event) {
	switch ev.kind {
	case evJoin, evRejoin:
		r.m.unreserve(r, ev.join.j.ID, ev.kind == evJoin)
		if ev.join.done != nil {
			ev.join.done(ErrRoomClosed)
		}
	case evSignal:
		ev.sig.reply <- signalResult{err: ErrRoomClosed}
	}
}

// call runs a logic method, turning a panic into the room's end.
func (r *Room) call(fn func()) {
	defer func() {
		if v := recover(); v != nil {
			r.log.Error("room: the room's logic panicked; ending the room", "panic", v, "stack", string(debug.Stack()))
			r.m.met.panics.WithLabelValues(r.typ).Inc()
			if !r.ending || r.endReason != EndFailed {
				r.ending, r.endReason = true, EndFailed
			}
		}
	}()
	fn()
}

func (r *Room) apply(ev *event) {
	if r.ending {
		r.refuse(ev)
		return
	}
	switch ev.kind {
	case evJoin:
		r.applyJoin(ev.join)
	case evRejoin:
		r.applyRejoin(ev.join)
	case evLeave:
		if mb := r.members[ev.pid]; mb != nil {
			r.remove(mb, LeaveLeft)
		}
	case evInput:
		if mb := r.members[ev.pid]; mb != nil && mb.conn == ev.conn {
			r.call(func() { r.logic.Input(r, mb.p, ev.msgID, ev.data) })
		}
	case evDrop:
		r.applyDrop(ev.pid, ev.conn)
	case evSignal:
		var res signalResult
		r.call(func() { res.v, res.err = r.logic.Signal(r, ev.sig.data) })
		ev.sig.reply <- res
	case evShutdown:
		r.End(EndShutdown)
	}
}

func (r *Room) applyJoin(pj *pendingJoin) {
	j := pj.j
	if _, ok := r.members[j.ID]; ok {
		r.m.unreserve(r, j.ID, false)
		if pj.done != nil {
			pj.done(ErrAlreadyInRoom)
		}
		return
	}
	var err error
	r.call(func() { err = r.logic.JoinAttempt(r, j) })
	if err == nil && r.ending {
		err = ErrRoomClosed
	}
	if err != nil {
		r.m.unreserve(r, j.ID, true)
		if pj.done != nil {
			pj.done(err)
		}
		return
	}
	mb := &member{p: j.Player, conn: j.Conn, idx: len(r.list)}
	r.members[j.ID] = mb
	r.list = append(r.list, mb)
	r.connected++
	r.m.joined(r, mb)
	if pj.done != nil {
		pj.done(nil)
	}
	r.call(func() { r.logic.Join(r, j) })
}

func (r *Room) applyRejoin(pj *pendingJoin) {
	j := pj.j
	mb := r.members[j.ID]
	if mb == nil {
		if pj.done != nil {
			pj.done(ErrNoSeat)
		}
		return
	}
	if mb.conn == nil {
		r.connected++
	}
	if mb.held {
		r.held--
	}
	mb.conn, mb.held = j.Conn, false
	mb.p = j.Player
	r.m.rejoined(r, mb)
	if pj.done != nil {
		pj.done(nil)
	}
	r.call(func() { r.logic.Join(r, j) })
}

func (r *Room) applyDrop(pid uint64, conn ziface.IConnection) {
	mb := r.members[pid]
	if mb == nil || mb.conn != conn || conn == nil {
		return // a connection the player has already replaced
	}
	mb.conn = nil
	r.connected--
	r.call(func() { r.logic.Leave(r, mb.p, LeaveDropped) })
	if !mb.held && r.members[pid] == mb {
		r.release(mb)
	}
}

// remove takes a member out of the room and tells the logic.
func (r *Room) remove(mb *member, why LeaveReason) {
	r.release(mb)
	r.call(func() { r.logic.Leave(r, mb.p, why) })
}

// release forgets a member here and in the manager.
func (r *Room) release(mb *member) {
	if r.members[mb.p.ID] != mb {
		return
	}
	delete(r.members, mb.p.ID)
	last := r.list[len(r.list)-1]
	r.list[mb.idx], last.idx = last, mb.idx
	r.list[len(r.list)-1] = nil
	r.list = r.list[:len(r.list)-1]
	if mb.conn != nil {
		r.connected--
	}
	if mb.held {
		r.held--
	}
	r.m.left(r, mb)
}
