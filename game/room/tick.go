package room

import (
	"runtime/debug"
	"time"

	"github.com/zinxgame/zinxgame/ziface"
)

// A room's loop: its queue, its tick (requests, timers, the logic's Tick,
// the empty check), its end, and the calls it makes to its logic, each
// guarded so that a panic ends the room and nothing else.

// enqueue queues a request. Control events (ctl) are never refused for
// space; others get ErrBusy when the queue is full. Both get ErrRoomEnded
// once the room has drained for the last time.
func (r *Room) enqueue(ev event, ctl bool) error {
	if ctl {
		r.ctlMu.Lock()
		defer r.ctlMu.Unlock()
		if r.done {
			return ErrRoomEnded
		}
		r.ctl = append(r.ctl, ev)
		r.ctlN.Add(1)
		return nil
	}
	if r.ended.Load() {
		return ErrRoomEnded
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
	if r.m.cfg.Manual {
		r.now = due // the test's clock: timers, holds and the empty timeout follow Step's now
	}
	met := r.m.met
	met.lateness.Observe(max(start.Sub(due), 0).Seconds())
	r.drain()
	if !r.ending {
		r.fireTimers(r.now)
	}
	if !r.ending {
		r.frame++
		r.call(func() { r.logic.Tick(r, r.frame, r.now) })
	}
	if !r.ending {
		r.checkEmpty(r.now)
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

// drain applies the requests queued since the last tick: the control
// queue's joins (in order), then the bounded queue's events (inputs,
// leaves, rejoins, signals, in order), then the control queue's drops and
// shutdown (in order). The two queues have no common order, so this one
// is chosen for what a player's requests mean: a player's inputs may be
// queued right after its join is (the manager routes them to the room
// from the reservation on), so joins come first; a connection's drop is
// queued when it closes, after every input it sent, so drops come last,
// or the inputs queued before it were applied after it and lost. A
// rejoin on a new connection may so be applied before the old
// connection's drop; applyDrop ignores a drop of a connection that is no
// longer the member's.
func (r *Room) drain() {
	// Control events are rare (joins, drops): most ticks skip the lock.
	var ctl []event
	if r.ctlN.Load() > 0 {
		r.ctlMu.Lock()
		ctl = r.ctl
		r.ctl = nil
		r.ctlN.Store(0)
		r.ctlMu.Unlock()
		for i := range ctl {
			if ctl[i].kind == evJoin {
				r.apply(&ctl[i])
			}
		}
	}
	for n := len(r.events); n > 0; n-- {
		ev := <-r.events
		r.apply(&ev)
	}
	if ctl == nil {
		return
	}
	for i := range ctl {
		if ctl[i].kind != evJoin {
			r.apply(&ctl[i])
		}
		ctl[i] = event{}
	}
	if cap(ctl) <= 64 {
		r.ctlMu.Lock()
		if r.ctl == nil {
			r.ctl = ctl[:0] // keep the backing array: a busy room's joins do not allocate
		}
		r.ctlMu.Unlock()
	}
}

// finish calls the logic's End, releases every member, and answers the
// requests that raced with the end.
func (r *Room) finish() {
	r.ended.Store(true)
	// The manager forgets the room and its members before the logic's End
	// tells them the room is over, so a member who hears it can join or
	// create another room at once. The room keeps its own member list for
	// End to send to.
	r.m.removeRoom(r)
	r.call(func() { r.logic.End(r, r.endReason) })
	r.members, r.list, r.connected, r.held = nil, nil, 0, 0
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
			ev.join.done(ErrRoomEnded)
		}
	case evSignal:
		ev.sig.reply <- signalResult{err: ErrRoomEnded}
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
	if closedConn(j.Conn) {
		// Gone before its turn: refused without asking the logic, and the
		// drop queued when it closed finds no member.
		r.m.unreserve(r, j.ID, true)
		if pj.done != nil {
			pj.done(ErrDisconnected)
		}
		return
	}
	var err error
	r.call(func() { err = r.logic.JoinAttempt(r, j) })
	if err == nil && r.ending {
		err = ErrRoomEnded
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
	if closedConn(j.Conn) {
		// The seat stays as it was: held, or with the connection it has.
		if pj.done != nil {
			pj.done(ErrDisconnected)
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

// closedConn reports whether conn has closed already: znet cancels a
// connection's Context as soon as it stops (Stop, Kick, the peer's close,
// a cut), before its disconnect hook runs, and a Recorder's Stop does too.
// A connection with no Context (a test's stub) counts as open.
func closedConn(conn ziface.IConnection) bool {
	if conn == nil {
		return false
	}
	ctx := conn.Context()
	return ctx != nil && ctx.Err() != nil
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
	if r.forget(mb) {
		r.m.left(r, mb)
	}
}

// forget takes a member off the room's own books; false if it was not
// the room's.
func (r *Room) forget(mb *member) bool {
	if r.members[mb.p.ID] != mb {
		return false
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
	return true
}
