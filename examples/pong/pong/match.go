package pong

import (
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/examples/pong/pongpb"
	"github.com/zinxgame/zinxgame/game/room"
	"github.com/zinxgame/zinxgame/ziface"
)

// modeOpts is what Play passes to a new room's Init.
type modeOpts struct {
	name  string
	rules Rules
}

type phase uint8

const (
	waiting   phase = iota // for the second player
	countdown              // both are in; the serve comes at the end of the countdown
	playing
	over
)

// endMatch is the reason a match ends its room with.
const endMatch = room.EndCustom

// match is one room's logic: a match between two players. The room calls
// it on its tick only, one call at a time, so it takes no locks.
type match struct {
	room.BaseLogic
	g        *Game
	mode     modeOpts
	sim      *Sim
	seats    [2]room.Player // ID 0: a free seat
	phase    phase
	maxTicks uint64
	cancel   func() // the countdown's timer
	result   *pongpb.MatchEnd
}

func (m *match) Init(r *room.Room, opts any) error {
	m.mode = opts.(modeOpts)
	m.sim = NewSim()
	m.maxTicks = uint64(m.mode.rules.MaxTime * time.Duration(m.mode.rules.TickRate) / time.Second)
	return r.SetTickRate(m.mode.rules.TickRate)
}

func (m *match) side(id uint64) int {
	for i, p := range m.seats {
		if p.ID == id {
			return i
		}
	}
	return -1
}

// JoinAttempt refuses a join that raced with the match's start.
func (m *match) JoinAttempt(_ *room.Room, _ room.Join) error {
	if m.phase != waiting {
		return &room.Refusal{Code: int32(pongpb.ErrorCode_ERROR_ROOM_FULL), Reason: "that room's match has started"}
	}
	return nil
}

func (m *match) Join(r *room.Room, j room.Join) {
	side := m.side(j.ID)
	if side < 0 { // a new player: the free seat
		side = m.side(0)
		m.seats[side] = j.Player
	}
	m.send(r, j.ID, pongpb.MsgJoined, &pongpb.Joined{RoomId: r.ID(), Side: pongpb.Side(side), Rejoin: j.Rejoin, Mode: m.mode.name})
	if m.side(0) < 0 && r.Connected() == 2 { // both are in, or back
		r.SetOpen(false)
		m.startCountdown(r)
	}
}

// startCountdown tells both players the match starts (or resumes) after
// the countdown, and starts it then.
func (m *match) startCountdown(r *room.Room) {
	if m.cancel != nil {
		m.cancel()
	}
	m.phase = countdown
	rules := m.mode.rules
	f := &pongpb.Field{Width: Width, Height: Height, PaddleHeight: PaddleHeight, PaddleX: PaddleX}
	m.broadcast(r, pongpb.MsgMatchStart, &pongpb.MatchStart{MatchId: r.ID(), LeftId: m.seats[0].ID, RightId: m.seats[1].ID,
		LeftName: m.seats[0].Name, RightName: m.seats[1].Name, Field: f, TickRate: uint32(rules.TickRate),
		PointsToWin: rules.PointsToWin, StartInMs: uint32(rules.Countdown.Milliseconds())})
	m.cancel, _ = r.After(rules.Countdown, func() { m.phase, m.cancel = playing, nil }) // one timer at most: never ErrTooManyTimers
}

// Leave holds a dropped player's seat for the grace; a player who does not
// come back (or leaves otherwise) forfeits.
func (m *match) Leave(r *room.Room, p room.Player, why room.LeaveReason) {
	side := m.side(p.ID)
	switch {
	case side < 0 || m.phase == over:
	case m.phase == waiting: // alone in the room: free the seat for the next player
		m.seats[side] = room.Player{}
	case why == room.LeaveDropped:
		r.Hold(p.ID, m.g.cfg.Grace)
	default:
		m.finish(r, pongpb.EndReason_END_FORFEIT, 1-side)
	}
}

func (m *match) Input(r *room.Room, p room.Player, msgID uint32, data []byte) {
	var mv pongpb.Move
	if err := proto.Unmarshal(data, &mv); err != nil || msgID != pongpb.MsgMove {
		m.send(r, p.ID, pongpb.MsgError, &pongpb.PongError{Code: pongpb.ErrorCode_ERROR_BAD_REQUEST, Message: "malformed Move", RequestId: msgID})
		return
	}
	m.sim.Dir[m.side(p.ID)] = mv.Dir
}

// Tick advances the ball while both players are connected and the
// countdown is over, and sends the State. A dropped player pauses the
// match; its rejoin runs the countdown again (Join).
func (m *match) Tick(r *room.Room, _ uint64, _ time.Time) {
	if m.phase == waiting || m.phase == over {
		return
	}
	live := m.phase == playing && r.Connected() == 2
	scored := -1
	if live {
		scored = m.sim.Step()
	}
	m.broadcast(r, pongpb.MsgState, m.sim.State(!live))
	switch s := m.sim.Score; {
	case scored >= 0 && s[scored] >= m.mode.rules.PointsToWin:
		m.finish(r, pongpb.EndReason_END_POINTS, scored)
	case m.maxTicks > 0 && m.sim.Ticks >= m.maxTicks:
		winner := -1 // a draw
		if s[0] > s[1] {
			winner = 0
		} else if s[1] > s[0] {
			winner = 1
		}
		m.finish(r, pongpb.EndReason_END_TIME, winner)
	}
}

// finish ends the match; End tells the players and saves the result.
func (m *match) finish(r *room.Room, reason pongpb.EndReason, winner int) {
	m.phase = over
	m.result = &pongpb.MatchEnd{MatchId: r.ID(), Reason: reason, LeftId: m.seats[0].ID, RightId: m.seats[1].ID,
		LeftScore: m.sim.Score[0], RightScore: m.sim.Score[1], Ticks: m.sim.Ticks}
	if winner >= 0 {
		m.result.WinnerId = m.seats[winner].ID
	}
	r.End(endMatch)
}

// End is the room's last call: the match ended, or the room ended without
// it (the server shut down: the match is aborted, and nobody's stats
// change). The players are still members here, so they are told.
func (m *match) End(r *room.Room, _ room.EndReason) {
	if m.result == nil && m.phase != waiting {
		m.finish(r, pongpb.EndReason_END_ABORTED, -1)
	}
	if m.result == nil {
		return // nobody played
	}
	m.broadcast(r, pongpb.MsgMatchEnd, m.result)
	m.g.record(m.result, [2]ziface.IConnection{r.Conn(m.seats[0].ID), r.Conn(m.seats[1].ID)})
}

func (m *match) send(r *room.Room, id uint64, msgID uint32, msg proto.Message) {
	if b, err := proto.Marshal(msg); err == nil {
		_ = r.Send(id, msgID, b)
	}
}

// broadcast encodes msg once and sends it to every connected player.
func (m *match) broadcast(r *room.Room, msgID uint32, msg proto.Message) {
	if b, err := proto.Marshal(msg); err == nil {
		r.Broadcast(msgID, b, 0)
	}
}
