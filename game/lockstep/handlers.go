package lockstep

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/game/account"
	"github.com/zinxgame/zinxgame/game/room"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/ziface"
)

// Handlers run on the connection's worker. They validate a request and
// hand it to the room manager, which queues it on the player's room; the
// room answers on its tick. Refusals the manager makes at once (room full,
// rate limited, busy) are answered here.

// id is the wire ID of a lockstep message: lspb's ID moved to MsgIDBase.
func (l *Service) id(protocolID uint32) uint32 {
	return protocolID - lspb.MsgLogin + l.cfg.MsgIDBase
}

// sendError answers a failed request.
func (l *Service) sendError(c ziface.IConnection, req uint32, code commonpb.ErrorCode, msg string) {
	if c == nil {
		return
	}
	b, _ := proto.Marshal(&commonpb.Error{Code: code, Message: msg, RequestId: req})
	_ = c.SendMsg(l.id(lspb.MsgError), b)
}

func send(c ziface.IConnection, id uint32, m proto.Message) {
	if c == nil {
		return
	}
	_ = c.SendMsg(id, marshal(m))
}

func marshal(m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err) // our own messages always marshal
	}
	return b
}

// decode unmarshals a request, answering ERROR_BAD_REQUEST when it fails.
func (l *Service) decode(req ziface.IRequest, m proto.Message) bool {
	if err := proto.Unmarshal(req.GetData(), m); err != nil {
		l.sendError(req.GetConnection(), req.GetMsgID(), commonpb.ErrorCode_ERROR_BAD_REQUEST, "malformed message")
		return false
	}
	return true
}

// player returns the request's player, answering ERROR_NOT_LOGGED_IN.
func (l *Service) player(req ziface.IRequest) (account.Player, bool) {
	p, ok := l.acc.PlayerOf(req.GetConnection())
	if !ok {
		l.sendError(req.GetConnection(), req.GetMsgID(), commonpb.ErrorCode_ERROR_NOT_LOGGED_IN, "send Login first")
	}
	return p, ok
}

func joinOf(p account.Player, c ziface.IConnection, meta *joinMeta) room.Join {
	meta.session = p.Session
	return room.Join{Player: room.Player{ID: p.ID, Name: p.Name}, Conn: c, Meta: meta}
}

// ack fills lockstep's part of a LoginAck: the room holding the player's
// seat, and the server's limits. A session naming a room this process
// does not have (its server stopped) names it too: the client's Reconnect
// then learns how its match ended (staleRoom).
func (l *Service) ack(_ ziface.IConnection, p account.Player, a *commonpb.LoginAck) {
	if r := l.rooms.RoomOf(p.ID); r != nil {
		if r.Type() == RoomType {
			a.RoomId = r.ID()
		}
	} else {
		a.RoomId = l.staleRoomOf(p)
	}
	a.Limits = &commonpb.Limits{MaxInputBytes: uint32(l.cfg.MaxInputBytes), InputRate: l.cfg.InputRate,
		MaxPacketSize: l.maxPacket.Load(), ReconnectGraceMs: uint32(l.cfg.ReconnectGrace.Milliseconds()),
		MaxNameBytes: uint32(l.acc.Config().MaxNameBytes), RequestRate: l.cfg.RequestRate}
}

// roomError answers a refusal of the room manager, or of the room's logic
// (a *room.Refusal carries lockstep's own code).
func (l *Service) roomError(c ziface.IConnection, req uint32, err error) {
	var ref *room.Refusal
	code, msg := commonpb.ErrorCode_ERROR_BUSY, "server busy, try again"
	switch {
	case errors.As(err, &ref):
		code, msg = commonpb.ErrorCode(ref.Code), ref.Reason
	case errors.Is(err, room.ErrAlreadyInRoom):
		code, msg = commonpb.ErrorCode_ERROR_ALREADY_IN_ROOM, "leave your room first"
	case errors.Is(err, room.ErrRoomNotFound):
		code, msg = commonpb.ErrorCode_ERROR_ROOM_NOT_FOUND, "no such room"
	case errors.Is(err, room.ErrRoomClosed):
		code, msg = commonpb.ErrorCode_ERROR_ROOM_CLOSED, "the room is not taking players"
	case errors.Is(err, room.ErrRoomEnded):
		code, msg = commonpb.ErrorCode_ERROR_ROOM_CLOSED, "the room has ended"
	case errors.Is(err, room.ErrRoomFull):
		code, msg = commonpb.ErrorCode_ERROR_ROOM_FULL, "the room is full"
	case errors.Is(err, room.ErrNotInRoom):
		code, msg = commonpb.ErrorCode_ERROR_NOT_IN_ROOM, "you are not in a room"
	case errors.Is(err, room.ErrNoSeat):
		code, msg = commonpb.ErrorCode_ERROR_NO_SEAT, "no seat is held for you"
	case errors.Is(err, room.ErrRateLimited):
		code, msg = commonpb.ErrorCode_ERROR_RATE_LIMITED, fmt.Sprintf("over %g requests a second", l.cfg.RequestRate)
	case errors.Is(err, room.ErrOwnerLimit):
		code, msg = commonpb.ErrorCode_ERROR_ROOM_LIMIT, fmt.Sprintf("you already hold %d rooms", l.cfg.MaxRoomsPerOwner)
	case errors.Is(err, room.ErrTooLarge):
		code, msg = commonpb.ErrorCode_ERROR_BAD_OPTIONS, err.Error()
	case errors.Is(err, room.ErrTooManyRooms), errors.Is(err, room.ErrClosed):
		msg = "no room can be created now"
	}
	l.sendError(c, req, code, msg)
}

// done is a join's answer, called on the room's tick: a refusal gets its
// error; an accepted join is answered by the room (RoomState).
func (l *Service) done(c ziface.IConnection, req uint32) func(error) {
	return func(err error) {
		if err != nil {
			l.roomError(c, req, err)
		}
	}
}

// createOpts are a new room's options, checked; a refusal is answered.
func (l *Service) createOpts(req ziface.IRequest, o *lspb.RoomOptions, label string) (*createOpts, bool) {
	opts, err := l.roomOptions(o)
	if err != nil {
		l.sendError(req.GetConnection(), req.GetMsgID(), commonpb.ErrorCode_ERROR_BAD_OPTIONS, err.Error())
		return nil, false
	}
	return &createOpts{opts: opts, label: label, matchID: l.newID()}, true
}

func (l *Service) handleCreate(req ziface.IRequest) {
	c := req.GetConnection()
	p, ok := l.player(req)
	var m lspb.RoomCreate
	if !ok || !l.decode(req, &m) {
		return
	}
	co, ok := l.createOpts(req, m.Options, m.Label)
	if !ok {
		return
	}
	meta := &joinMeta{req: req.GetMsgID()}
	if _, err := l.rooms.Create(RoomType, m.Label, co, joinOf(p, c, meta), l.done(c, req.GetMsgID())); err != nil {
		l.roomError(c, req.GetMsgID(), err)
	}
}

// handleJoinOrCreate seats the player in the oldest open room of the label
// or in a new one: the room manager serializes these, so two players who
// find none at once meet in one room.
func (l *Service) handleJoinOrCreate(req ziface.IRequest) {
	c := req.GetConnection()
	p, ok := l.player(req)
	var m lspb.RoomJoinOrCreate
	if !ok || !l.decode(req, &m) {
		return
	}
	co, ok := l.createOpts(req, m.Options, m.Label)
	if !ok {
		return
	}
	meta := &joinMeta{req: req.GetMsgID()}
	if _, err := l.rooms.JoinOrCreate(RoomType, m.Label, co, joinOf(p, c, meta), l.done(c, req.GetMsgID())); err != nil {
		l.roomError(c, req.GetMsgID(), err)
	}
}

func (l *Service) handleJoin(req ziface.IRequest) {
	c := req.GetConnection()
	p, ok := l.player(req)
	var m lspb.RoomJoin
	if !ok || !l.decode(req, &m) {
		return
	}
	meta := &joinMeta{req: req.GetMsgID()}
	err := l.rooms.Join(m.RoomId, joinOf(p, c, meta), l.done(c, req.GetMsgID()))
	if errors.Is(err, room.ErrAlreadyInRoom) {
		if r := l.rooms.RoomOf(p.ID); r != nil && r.ID() == m.RoomId {
			// One's own room: its state (and a seat taken back).
			err = l.rooms.Rejoin(joinOf(p, c, meta), l.done(c, req.GetMsgID()))
		}
	}
	if err != nil {
		l.roomError(c, req.GetMsgID(), err)
	}
}

func (l *Service) handleLeave(req ziface.IRequest) {
	if p, ok := l.player(req); ok {
		if err := l.rooms.Leave(p.ID, req.GetConnection()); err != nil {
			l.roomError(req.GetConnection(), req.GetMsgID(), err)
		}
	}
}

// handleToRoom queues Ready, HashReport and MatchResult on the player's
// room, which decodes and applies them on its tick. A late hash or vote
// from a player whose match just ended is dropped without a word: it lost
// the race with the end, and MatchEnd has told it.
func (l *Service) handleToRoom(req ziface.IRequest) {
	p, ok := l.player(req)
	if !ok {
		return
	}
	err := l.rooms.Input(p.ID, req.GetConnection(), req.GetMsgID(), req.GetData())
	late := (errors.Is(err, room.ErrNotInRoom) || errors.Is(err, room.ErrRoomEnded)) && req.GetMsgID() != l.id(lspb.MsgReady)
	if err != nil && !late {
		l.roomError(req.GetConnection(), req.GetMsgID(), err)
	}
}

// inputLimiter is a connection's input rate, kept as a connection property
// so it dies with the connection.
type inputLimiter struct {
	lim *rate.Limiter
	mu  sync.Mutex
	// told is when the player was last told it is rate limited, so a
	// flood gets one error a second, not one per input.
	told time.Time
}

func (l *Service) inputs(c ziface.IConnection) *inputLimiter {
	if v, ok := c.GetProperty(l.inputKey); ok {
		return v.(*inputLimiter)
	}
	il := &inputLimiter{lim: rate.NewLimiter(rate.Limit(l.cfg.InputRate), int(l.cfg.InputRate)+1)}
	c.SetProperty(l.inputKey, il)
	return il
}

func (l *Service) replaying(c ziface.IConnection) *atomic.Bool {
	if v, ok := c.GetProperty(l.replayKey); ok {
		return v.(*atomic.Bool)
	}
	b := new(atomic.Bool)
	c.SetProperty(l.replayKey, b)
	return b
}

func (l *Service) handleInput(req ziface.IRequest) {
	c := req.GetConnection()
	p, ok := l.player(req)
	if !ok {
		return
	}
	data, seq, err := parseInput(req.GetData())
	if err != nil {
		l.sendError(c, req.GetMsgID(), commonpb.ErrorCode_ERROR_BAD_REQUEST, "malformed message")
		return
	}
	if len(data) > l.cfg.MaxInputBytes {
		l.sendInputError(c, seq, commonpb.ErrorCode_ERROR_INPUT_TOO_LARGE,
			fmt.Sprintf("input of %d bytes, at most %d", len(data), l.cfg.MaxInputBytes))
		return
	}
	if il := l.inputs(c); !il.lim.Allow() {
		l.met.inputsDropped.WithLabelValues("rate_limited").Inc()
		il.mu.Lock()
		tell := time.Since(il.told) > time.Second
		if tell {
			il.told = time.Now()
		}
		il.mu.Unlock()
		if tell {
			l.sendInputError(c, seq, commonpb.ErrorCode_ERROR_RATE_LIMITED,
				fmt.Sprintf("over %g inputs a second: inputs dropped", l.cfg.InputRate))
		}
		return
	}
	switch err := l.rooms.Input(p.ID, c, req.GetMsgID(), req.GetData()); {
	case err == nil:
	case errors.Is(err, room.ErrBusy):
		l.met.inputsDropped.WithLabelValues("queue_full").Inc()
		l.sendInputError(c, seq, commonpb.ErrorCode_ERROR_BUSY, "room busy: input dropped")
	case errors.Is(err, room.ErrRateLimited):
		l.met.inputsDropped.WithLabelValues("rate_limited").Inc()
		l.sendInputError(c, seq, commonpb.ErrorCode_ERROR_RATE_LIMITED, "over the request rate: input dropped")
	default:
		l.roomError(c, req.GetMsgID(), err)
	}
}

func (l *Service) handleReconnect(req ziface.IRequest) {
	c := req.GetConnection()
	p, ok := l.player(req)
	var m lspb.Reconnect
	if !ok || !l.decode(req, &m) {
		return
	}
	meta := &joinMeta{req: req.GetMsgID(), reconnect: true, lastFrame: m.LastFrame}
	err := l.rooms.Rejoin(joinOf(p, c, meta), l.done(c, req.GetMsgID()))
	switch {
	case err == nil:
	case errors.Is(err, room.ErrNoSeat) && l.staleRoomOf(p) != 0:
		l.staleRoom(c, req.GetMsgID(), p)
	default:
		l.roomError(c, req.GetMsgID(), err)
	}
}

// handleList answers from the room manager's index: a page of lockstep
// rooms (open only, by label, after a cursor), each the RoomInfo its room
// encoded when it last changed, so a RoomList costs its page, not the
// number of rooms.
func (l *Service) handleList(req ziface.IRequest) {
	var m lspb.RoomList
	if _, ok := l.player(req); !ok || !l.decode(req, &m) {
		return
	}
	page, next := l.rooms.List(room.Query{Type: RoomType, Label: m.Label, OpenOnly: m.OpenOnly, After: m.After, Limit: int(m.Limit)})
	var b []byte
	for i, info := range page {
		if len(b)+len(info.Metadata)+32 > l.cfg.MaxBatchBytes && i > 0 {
			next = page[i-1].ID // the rest on the next page: a packet is bounded
			break
		}
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, info.Metadata)
	}
	if next != 0 {
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		b = protowire.AppendVarint(b, next)
	}
	_ = req.GetConnection().SendMsg(l.id(lspb.MsgRoomListAck), b)
}
