package lockstep

import (
	"time"

	"github.com/zinxgame/zinxgame/game/room"
	"github.com/zinxgame/zinxgame/protocol/lspb"
)

// Hooks are a game's callbacks on its matches: to record results (ratings,
// stats) or watch players come and go. Every hook runs on the room's tick,
// in order with everything else the room does: it must be quick and must
// not block (write through a store's write-behind path, such as a
// store.DocStore's PutDoc from a goroutine, or queue the work). A nil hook
// is skipped.
type Hooks struct {
	// OnJoin runs when a player takes a seat in an open room.
	OnJoin func(roomID uint64, s Seat)
	// OnLeave runs when a seat is freed for good: the player left, was
	// kicked, dropped before the start, or did not come back within
	// ReconnectGrace. A player who drops mid-match and comes back is not
	// a leave.
	OnLeave func(roomID uint64, s Seat, why room.LeaveReason)
	// OnMatchStart runs when a match starts, with its seats.
	OnMatchStart func(m MatchInfo)
	// OnMatchEnd runs when a match ends, with every seat that played
	// (leavers included), its last frame, reason and result.
	OnMatchEnd func(m MatchResult)
}

// Seat is a player in a room.
type Seat struct {
	Slot     uint32
	PlayerID uint64
	Name     string
}

// MatchInfo describes a started match.
type MatchInfo struct {
	RoomID, MatchID uint64
	Seed            uint64
	TickRate        uint32
	Seats           []Seat // at the start
	StartedAt       time.Time
}

// MatchResult is a match that ended.
type MatchResult struct {
	MatchInfo
	EndedAt   time.Time
	LastFrame uint32
	Reason    lspb.MatchEndReason
	Result    []byte // the result the players voted, for MATCH_END_RESULT
}
