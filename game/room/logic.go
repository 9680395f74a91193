package room

import (
	"fmt"
	"time"

	"github.com/zinxgame/zinxgame/ziface"
)

// Logic is a game's room logic. The room calls every method on its tick
// goroutine, one call at a time and never concurrently, so an
// implementation needs no locks; it must not block either (the tick of
// every other room on its shard waits). Work that blocks (a store read)
// belongs off the tick, with its result brought back through
// Manager.Signal.
//
// A panic in a method ends the room with EndFailed and is logged; the
// other rooms on the shard are not affected.
//
// Embed BaseLogic for no-op defaults and implement what the game needs.
type Logic interface {
	// Init prepares a new room with the options given to Manager.Create,
	// before any player joins. It may set the tick rate, capacity, label
	// and metadata. An error refuses the creation.
	Init(r *Room, opts any) error
	// JoinAttempt accepts a joining player (nil) or refuses it with an
	// error, normally a *Refusal with the game's code. It is not called
	// for a player coming back to a held seat (Join.Rejoin).
	JoinAttempt(r *Room, j Join) error
	// Join tells the logic a player is in the room: newly accepted, or
	// back on a held seat with a new connection (j.Rejoin).
	Join(r *Room, j Join)
	// Leave tells the logic a player is gone, and why. For LeaveDropped
	// the player is still a member during the call (without a
	// connection), and the logic may keep its seat with r.Hold; a held
	// player stays a member until it comes back (Join with Rejoin) or the
	// hold expires (Leave with LeaveExpired). For every other reason the
	// player is no longer a member when Leave runs.
	Leave(r *Room, p Player, why LeaveReason)
	// Input is a message a member sent to the room, in arrival order.
	// data is the message's payload; it is not reused, and the logic may
	// keep it.
	Input(r *Room, p Player, msgID uint32, data []byte)
	// Tick runs once per tick period, after the tick's queued requests and
	// due timers. frame counts ticks from 1; now is when the tick began.
	// A tick that is due is never skipped: a late shard runs the ticks it
	// owes at once, in order.
	Tick(r *Room, frame uint64, now time.Time)
	// End is the room's last call: the logic ended it (r.End), it stayed
	// empty for Config.EmptyTimeout, the manager shut down, or a method
	// panicked. The members are still the room's, so End can tell them;
	// the manager has already let them go, so one told the room is over
	// can join another at once.
	End(r *Room, reason EndReason)
	// Signal answers an out-of-band call made with Manager.Signal (an
	// admin action, a store read coming back).
	Signal(r *Room, data any) (any, error)
}

// BaseLogic implements every Logic method as a no-op that accepts every
// join; embed it and override what the game needs.
type BaseLogic struct{}

// Init does nothing.
func (BaseLogic) Init(*Room, any) error { return nil }

// JoinAttempt accepts.
func (BaseLogic) JoinAttempt(*Room, Join) error { return nil }

// Join does nothing.
func (BaseLogic) Join(*Room, Join) {}

// Leave does nothing.
func (BaseLogic) Leave(*Room, Player, LeaveReason) {}

// Input does nothing.
func (BaseLogic) Input(*Room, Player, uint32, []byte) {}

// Tick does nothing.
func (BaseLogic) Tick(*Room, uint64, time.Time) {}

// End does nothing.
func (BaseLogic) End(*Room, EndReason) {}

// Signal answers nil.
func (BaseLogic) Signal(*Room, any) (any, error) { return nil, nil }

// Factory makes the Logic of one new room of a type.
type Factory func() Logic

// Player is a member of a room, as the room sees it: the identity the
// game's account layer bound to the connection.
type Player struct {
	ID   uint64
	Name string
}

// Join is a player joining a room.
type Join struct {
	Player
	// Conn is the player's connection.
	Conn ziface.IConnection
	// Rejoin is true for a player coming back to a seat held for it.
	Rejoin bool
	// Meta is what the caller of Manager.Join (or Rejoin, Create,
	// JoinOrCreate) passed along: the game's own join request.
	Meta any
}

// LeaveReason says why a player left a room.
type LeaveReason uint8

const (
	// LeaveLeft: the player asked to leave (Manager.Leave).
	LeaveLeft LeaveReason = iota + 1
	// LeaveDropped: the player's connection closed. The logic may hold the
	// seat (Room.Hold).
	LeaveDropped
	// LeaveKicked: the logic kicked it (Room.Kick) or the manager did.
	LeaveKicked
	// LeaveExpired: a held seat's time ran out before the player came back.
	LeaveExpired
	// LeaveMoved: the logic moved the player to another room
	// (Room.MoveTo).
	LeaveMoved
)

func (r LeaveReason) String() string {
	switch r {
	case LeaveLeft:
		return "left"
	case LeaveDropped:
		return "dropped"
	case LeaveKicked:
		return "kicked"
	case LeaveExpired:
		return "expired"
	case LeaveMoved:
		return "moved"
	}
	return fmt.Sprintf("LeaveReason(%d)", r)
}

// EndReason says why a room ended. A game defines its own reasons from
// EndCustom up and passes them to Room.End.
type EndReason int

const (
	// EndLogic: the logic called End with no reason of its own.
	EndLogic EndReason = iota
	// EndEmpty: no member was connected for Config.EmptyTimeout.
	EndEmpty
	// EndShutdown: the manager shut down.
	EndShutdown
	// EndFailed: a Logic method panicked.
	EndFailed
	// EndCustom is the first of a game's own reasons.
	EndCustom EndReason = 100
)

func (r EndReason) String() string {
	switch r {
	case EndLogic:
		return "logic"
	case EndEmpty:
		return "empty"
	case EndShutdown:
		return "shutdown"
	case EndFailed:
		return "failed"
	}
	return fmt.Sprintf("custom_%d", int(r))
}

// Refusal is a join refused by the logic, with the game's own code for its
// client. JoinAttempt returns it; the caller of Manager.Join gets it (wrapped
// in nothing) through its done callback, and errors.As finds it.
type Refusal struct {
	Code   int32
	Reason string
}

func (r *Refusal) Error() string { return fmt.Sprintf("room: join refused (%d): %s", r.Code, r.Reason) }
