package room

import (
	"context"

	"github.com/zinxgame/zinxgame/ziface"
)

// The requests a game's routes make for their players (join, rejoin,
// leave, input, signal, drop), and the books the rooms keep in the
// manager as players come and go.

// setPlayer records on conn which player it joined as, for the disconnect
// hook.
func (m *Manager) setPlayer(conn ziface.IConnection, id uint64) {
	if conn != nil {
		conn.SetProperty(m.propKey, id)
	}
}

// Join asks room id to take j.Player. The manager refuses at once a player
// already in a room (ErrAlreadyInRoom), a room that is not open
// (ErrRoomClosed) or has no free seat (ErrRoomFull); otherwise a seat is
// reserved, and the room's logic decides on its next tick (JoinAttempt).
// done, if not nil, is called on the room's tick with the outcome: nil, the
// logic's refusal, ErrRoomEnded if the room ended first, or ErrDisconnected
// if j.Conn closed first (the logic is not asked then: a player who is
// gone costs the room no JoinAttempt, Join and Leave).
func (m *Manager) Join(id uint64, j Join, done func(error)) error {
	if err := m.allow(j.Conn); err != nil {
		return err
	}
	m.mu.Lock()
	r := m.rooms[id]
	if err := m.reserve(r, j); err != nil {
		m.mu.Unlock()
		return err
	}
	m.mu.Unlock()
	return m.queueJoin(r, j, done)
}

// reserve takes a seat in r for j; call it with mu held.
func (m *Manager) reserve(r *Room, j Join) error {
	switch {
	case m.closed:
		return ErrClosed
	case r == nil:
		return ErrRoomNotFound
	case m.members[j.ID] != nil:
		return ErrAlreadyInRoom
	case !r.open:
		return ErrRoomClosed
	case r.taken >= r.capacity:
		return ErrRoomFull
	}
	m.index.remove(r)
	r.taken++
	m.index.add(r)
	m.members[j.ID] = &membership{room: r, conn: j.Conn, pending: true}
	return nil
}

func (m *Manager) queueJoin(r *Room, j Join, done func(error)) error {
	m.setPlayer(j.Conn, j.ID)
	if err := r.enqueue(event{kind: evJoin, join: &pendingJoin{j: j, done: done}}, true); err != nil {
		m.unreserve(r, j.ID, true)
		return err
	}
	return nil
}

// JoinOrCreate puts j.Player in an open room of type typ and label (any
// label when label is empty) with a free seat, the oldest first, or, when
// there is none, creates one with opts and label, owned by the player.
// done is called as for Join. It returns the room chosen. Calls are
// serialized with each other, so two players who find no open room at the
// same moment meet in the one the first creates, instead of each waiting
// alone in a room of its own.
func (m *Manager) JoinOrCreate(typ, label string, opts any, j Join, done func(error)) (*Room, error) {
	if err := m.allow(j.Conn); err != nil {
		return nil, err
	}
	m.jocMu.Lock()
	defer m.jocMu.Unlock()
	m.mu.Lock()
	if m.types[typ] == nil {
		m.mu.Unlock()
		return nil, ErrUnknownType
	}
	if r := m.firstOpen(typ, label); r != nil {
		err := m.reserve(r, j)
		m.mu.Unlock()
		if err != nil {
			return nil, err
		}
		return r, m.queueJoin(r, j, done)
	}
	m.mu.Unlock()
	return m.create(typ, label, opts, j, done)
}

// Rejoin brings a member back to its held seat (or moves it to a new
// connection) with j.Conn: the logic's Join is called with Rejoin set on
// the room's next tick. It returns ErrNoSeat for a player who is in no
// room, and ErrBusy when the room's queue is full (a rejoin goes through
// the bounded queue: the client can ask again). done, if not nil, is
// called on the room's tick with the outcome: nil, ErrNoSeat if the seat
// was gone by then, ErrRoomEnded, or ErrDisconnected if j.Conn closed
// first (the seat stays as it was, and the logic is not called).
func (m *Manager) Rejoin(j Join, done func(error)) error {
	if err := m.allow(j.Conn); err != nil {
		return err
	}
	m.mu.Lock()
	ms := m.members[j.ID]
	if ms == nil || ms.pending {
		m.mu.Unlock()
		return ErrNoSeat
	}
	r := ms.room
	m.mu.Unlock()
	m.setPlayer(j.Conn, j.ID)
	j.Rejoin = true
	return r.count(r.enqueue(event{kind: evRejoin, join: &pendingJoin{j: j, done: done}}, false))
}

// Leave asks the player's room to let it go (LeaveLeft) on its next tick.
func (m *Manager) Leave(pid uint64, conn ziface.IConnection) error {
	r, err := m.roomFor(pid, conn)
	if err != nil {
		return err
	}
	return r.count(r.enqueue(event{kind: evLeave, pid: pid, conn: conn}, false))
}

// Input queues a message from a member for its room's logic (Input, in
// arrival order). conn must be the connection the player joined or
// rejoined with: a request from a replaced connection is ErrNotInRoom.
func (m *Manager) Input(pid uint64, conn ziface.IConnection, msgID uint32, data []byte) error {
	r, err := m.roomFor(pid, conn)
	if err != nil {
		return err
	}
	return r.count(r.enqueue(event{kind: evInput, pid: pid, conn: conn, msgID: msgID, data: data}, false))
}

// count counts a refused request.
func (r *Room) count(err error) error {
	if err == ErrBusy {
		r.m.met.refused.WithLabelValues("busy").Inc()
	}
	return err
}

func (m *Manager) roomFor(pid uint64, conn ziface.IConnection) (*Room, error) {
	if err := m.allow(conn); err != nil {
		return nil, err
	}
	m.mu.RLock()
	ms := m.members[pid]
	var r *Room
	if ms != nil && ms.room != nil && (conn == nil || ms.conn == conn) {
		r = ms.room
	}
	m.mu.RUnlock()
	if r == nil {
		return nil, ErrNotInRoom
	}
	return r, nil
}

// RoomOf returns the room a player is in or joining, or nil.
func (m *Manager) RoomOf(pid uint64) *Room {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if ms := m.members[pid]; ms != nil {
		return ms.room
	}
	return nil
}

// Room returns room id, or nil.
func (m *Manager) Room(id uint64) *Room {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.rooms[id]
}

// Rooms is the number of rooms.
func (m *Manager) Rooms() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.rooms)
}

// Signal calls room id's logic's Signal with data on its next tick and
// returns its answer, or ctx's error if ctx ends first. It goes through the
// room's bounded queue (ErrBusy when full).
func (m *Manager) Signal(ctx context.Context, id uint64, data any) (any, error) {
	r := m.Room(id)
	if r == nil {
		return nil, ErrRoomNotFound
	}
	call := &signalCall{data: data, reply: make(chan signalResult, 1)}
	if err := r.count(r.enqueue(event{kind: evSignal, sig: call}, false)); err != nil {
		return nil, err
	}
	select {
	case res := <-call.reply:
		return res.v, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Drop tells the player's room that conn closed (LeaveDropped), as the
// mounted disconnect hook does for every connection.
func (m *Manager) Drop(pid uint64, conn ziface.IConnection) {
	m.mu.RLock()
	ms := m.members[pid]
	var r *Room
	if ms != nil && ms.room != nil && ms.conn == conn {
		r = ms.room
	}
	m.mu.RUnlock()
	if r != nil {
		_ = r.enqueue(event{kind: evDrop, pid: pid, conn: conn}, true)
	}
}

func (m *Manager) onDisconnect(c ziface.IConnection) {
	if v, ok := c.GetProperty(m.propKey); ok {
		m.Drop(v.(uint64), c)
	}
}

// Hooks the rooms call on their tick to keep the manager's books.

func (m *Manager) unreserve(r *Room, pid uint64, counted bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ms := m.members[pid]; ms != nil && ms.room == r && ms.pending {
		delete(m.members, pid)
	}
	if counted {
		m.index.remove(r)
		r.taken--
		m.index.add(r)
	}
}

func (m *Manager) joined(r *Room, mb *member) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ms := m.members[mb.p.ID]; ms != nil && ms.room == r {
		ms.pending, ms.conn = false, mb.conn
	}
}

func (m *Manager) rejoined(r *Room, mb *member) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ms := m.members[mb.p.ID]; ms != nil && ms.room == r {
		ms.conn = mb.conn
	}
}

func (m *Manager) left(r *Room, mb *member) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ms := m.members[mb.p.ID]; ms != nil && ms.room == r {
		delete(m.members, mb.p.ID)
	}
	m.index.remove(r)
	r.taken--
	m.index.add(r)
}

func (m *Manager) removeRoom(r *Room) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rooms[r.id] != r {
		return
	}
	delete(m.rooms, r.id)
	m.index.remove(r)
	r.indexed, r.open = false, false
	if r.owner != 0 {
		m.dropOwner(r.owner)
	}
	for _, mb := range r.list {
		if ms := m.members[mb.p.ID]; ms != nil && ms.room == r {
			delete(m.members, mb.p.ID)
		}
	}
}

// setListing changes a room's listed state under the manager's mutex,
// keeping the index in step.
func (m *Manager) setListing(r *Room, fn func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	listed := m.rooms[r.id] == r
	if listed {
		m.index.remove(r)
	}
	fn()
	if listed {
		m.index.add(r)
	}
}
