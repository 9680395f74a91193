// Package pong is a server-authoritative two-player pong written on
// zinxgame's public API: the match is a room Logic (match.go) on the room
// runtime, the players come from the identity service, and the results go
// to the document store. docs/first-game.md walks through it.
//
// The server owns the ball: clients send only their paddle's direction
// (Move), and the room simulates the field on its tick (20 Hz by default)
// and broadcasts the State every tick, encoded once.
package pong

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/examples/pong/pongpb"
	"github.com/zinxgame/zinxgame/game/account"
	"github.com/zinxgame/zinxgame/game/room"
	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

// RoomType is the room type pong registers.
const RoomType = "pong"

// Rules are one mode's rules. A zero field takes the default in its comment.
type Rules struct {
	PointsToWin uint32        // 5
	MaxTime     time.Duration // 3 minutes of play; then the higher score wins
	TickRate    int           // 20 ticks a second
	Countdown   time.Duration // 3s, before the first serve and after a rejoin
}

func (r Rules) withDefaults() Rules {
	r.PointsToWin = cmp.Or(r.PointsToWin, 5)
	r.MaxTime = cmp.Or(r.MaxTime, 3*time.Minute)
	r.TickRate = cmp.Or(r.TickRate, 20)
	r.Countdown = cmp.Or(r.Countdown, 3*time.Second)
	return r
}

// Config configures a Game. The zero value is a valid configuration.
type Config struct {
	// Modes are the modes players can ask for, by name; nil means
	// "classic" (first to 5) and "quick" (first to 2).
	Modes map[string]Rules
	// Grace is how long a dropped player's seat is held; 0 means 5s.
	Grace time.Duration
	// Rooms configures the room manager; EmptyTimeout must exceed Grace.
	Rooms room.Config
	// IDs numbers the rooms, and so the matches (a snowflake generator's
	// Next); nil numbers them from the manager's counter.
	IDs func() (uint64, error)
}

// Game is the pong module: mount it on a server with srv.Mount("pong", g).
// Its methods are safe for concurrent use.
type Game struct {
	cfg     Config
	log     *slog.Logger
	acc     *account.Service
	rooms   *room.Manager
	docs    store.DocStore
	saves   sync.WaitGroup // result writes under way
	statsMu sync.Mutex     // one read-modify-write of a player's stats at a time
}

// New makes the game: players log in through acc, results go to docs.
func New(cfg Config, acc *account.Service, docs store.DocStore, log *slog.Logger) (*Game, error) {
	modes := cfg.Modes
	if modes == nil {
		modes = map[string]Rules{"classic": {}, "quick": {PointsToWin: 2}}
	}
	cfg.Modes = make(map[string]Rules, len(modes))
	for name, r := range modes {
		cfg.Modes[name] = r.withDefaults()
	}
	cfg.Grace = cmp.Or(cfg.Grace, 5*time.Second)
	if rc := cfg.Rooms.WithDefaults(); rc.EmptyTimeout >= 0 && rc.EmptyTimeout <= cfg.Grace {
		return nil, fmt.Errorf("pong: Rooms.EmptyTimeout %s must exceed Grace %s", rc.EmptyTimeout, cfg.Grace)
	}
	var opts []room.Option
	if cfg.IDs != nil {
		opts = append(opts, room.WithIDs(cfg.IDs))
	}
	rooms, err := room.NewManager(cfg.Rooms, log, opts...)
	if err != nil {
		return nil, err
	}
	g := &Game{cfg: cfg, log: cmp.Or(log, slog.Default()), acc: acc, rooms: rooms, docs: docs}
	err = rooms.Register(RoomType, func() room.Logic { return &match{g: g} }, room.TypeOptions{Capacity: 2})
	return g, err
}

// Rooms is the game's room manager.
func (g *Game) Rooms() *room.Manager { return g.rooms }

// Mount registers the login routes (on the identity service), the game's
// routes, the room manager's hooks (a closed connection is a drop; the
// server's shutdown ends every match), and, once the connections have
// drained, a wait for the results still being written.
func (g *Game) Mount(m *znet.Mount) error {
	p := account.Protocol{Login: pongpb.MsgLogin, LoginAck: pongpb.MsgLoginAck, Error: pongpb.MsgLoginError,
		Logout: pongpb.MsgLogout, LogoutAck: pongpb.MsgLogoutAck}
	if err := g.acc.MountProtocol(m, p, g.ack); err != nil {
		return err
	}
	routes := []struct {
		id uint32
		h  znet.HandlerFunc
	}{{pongpb.MsgPlay, g.handlePlay}, {pongpb.MsgRejoin, g.handleRejoin},
		{pongpb.MsgMove, g.handleMove}, {pongpb.MsgStatsRequest, g.handleStats}}
	for _, r := range routes {
		if err := m.Handle(r.id, r.h); err != nil {
			return err
		}
	}
	m.OnDrained(g.Wait)
	return g.rooms.Mount(m)
}

// Wait returns once every result written so far is stored, or ctx ends.
func (g *Game) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { g.saves.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("pong: results still being written: %w", ctx.Err())
	}
}

// ack tells a player logging in which room holds its seat, if one does.
func (g *Game) ack(_ ziface.IConnection, p account.Player, a *commonpb.LoginAck) {
	if r := g.rooms.RoomOf(p.ID); r != nil && r.Type() == RoomType {
		a.RoomId = r.ID()
	}
}

// player is the request's logged-in player, or a refusal.
func (g *Game) player(req ziface.IRequest) (room.Join, bool) {
	p, ok := g.acc.PlayerOf(req.GetConnection())
	if !ok {
		refuse(req.GetConnection(), req.GetMsgID(), pongpb.ErrorCode_ERROR_NOT_LOGGED_IN, "send Login first")
	}
	return room.Join{Player: room.Player{ID: p.ID, Name: p.Name}, Conn: req.GetConnection()}, ok
}

func (g *Game) handlePlay(req ziface.IRequest) {
	j, ok := g.player(req)
	var msg pongpb.Play
	if !ok || !decode(req, &msg) {
		return
	}
	mode := cmp.Or(msg.Mode, "classic")
	rules, ok := g.cfg.Modes[mode]
	if !ok {
		refuse(j.Conn, req.GetMsgID(), pongpb.ErrorCode_ERROR_BAD_REQUEST, fmt.Sprintf("no mode %q", mode))
		return
	}
	done := func(err error) { roomError(j.Conn, pongpb.MsgPlay, err) }
	var err error
	if msg.RoomId != 0 { // a friend's room, whatever its mode
		err = g.rooms.Join(msg.RoomId, j, done)
	} else { // matchmaking: the oldest open room of this mode, or a new one
		_, err = g.rooms.JoinOrCreate(RoomType, mode, modeOpts{mode, rules}, j, done)
	}
	roomError(j.Conn, req.GetMsgID(), err)
}

func (g *Game) handleRejoin(req ziface.IRequest) {
	if j, ok := g.player(req); ok {
		roomError(j.Conn, req.GetMsgID(), g.rooms.Rejoin(j, func(err error) { roomError(j.Conn, pongpb.MsgRejoin, err) }))
	}
}

// handleMove queues the Move for the player's room; the match decodes it on
// its tick.
func (g *Game) handleMove(req ziface.IRequest) {
	if j, ok := g.player(req); ok {
		err := g.rooms.Input(j.ID, j.Conn, req.GetMsgID(), req.GetData())
		if errors.Is(err, room.ErrRoomEnded) {
			err = room.ErrNotInRoom // the match has just ended
		}
		roomError(j.Conn, req.GetMsgID(), err)
	}
}

// handleStats reads a player's stats off the connection's worker (Async):
// with Redis, GetDoc is a round trip.
func (g *Game) handleStats(req ziface.IRequest) {
	j, ok := g.player(req)
	var msg pongpb.StatsRequest
	if !ok || !decode(req, &msg) {
		return
	}
	var st *pongpb.Stats
	var err error
	aerr := j.Conn.Async(func(ctx context.Context) { st, err = g.readStats(ctx, cmp.Or(msg.PlayerId, j.ID)) }, func() {
		if err != nil {
			g.log.Warn("pong: reading stats", "err", err)
			refuse(j.Conn, pongpb.MsgStatsRequest, pongpb.ErrorCode_ERROR_UNAVAILABLE, "the stats cannot be read now")
			return
		}
		send(j.Conn, pongpb.MsgStats, st)
	})
	if aerr != nil {
		refuse(j.Conn, req.GetMsgID(), pongpb.ErrorCode_ERROR_BUSY, "the server is busy; try again")
	}
}

// roomError answers a refusal of the room manager, or of the match (a
// *room.Refusal carries pong's own code); nil answers nothing.
func roomError(c ziface.IConnection, reqID uint32, err error) {
	var ref *room.Refusal
	code, msg := pongpb.ErrorCode_ERROR_BUSY, "the server is busy; try again"
	switch {
	case err == nil:
		return
	case errors.As(err, &ref):
		code, msg = pongpb.ErrorCode(ref.Code), ref.Reason
	case errors.Is(err, room.ErrAlreadyInRoom):
		code, msg = pongpb.ErrorCode_ERROR_ALREADY_IN_ROOM, "you are in a room already"
	case errors.Is(err, room.ErrRateLimited):
		code, msg = pongpb.ErrorCode_ERROR_RATE_LIMITED, "too many requests; slow down"
	case errors.Is(err, room.ErrRoomFull), errors.Is(err, room.ErrRoomClosed):
		code, msg = pongpb.ErrorCode_ERROR_ROOM_FULL, "that room has its two players"
	case errors.Is(err, room.ErrRoomNotFound):
		code, msg = pongpb.ErrorCode_ERROR_ROOM_NOT_FOUND, "no such room"
	case errors.Is(err, room.ErrNotInRoom):
		code, msg = pongpb.ErrorCode_ERROR_NOT_IN_MATCH, "you are not in a match"
	case errors.Is(err, room.ErrNoSeat):
		code, msg = pongpb.ErrorCode_ERROR_NO_SEAT, "no seat is held for you"
	}
	refuse(c, reqID, code, msg)
}

func refuse(c ziface.IConnection, reqID uint32, code pongpb.ErrorCode, msg string) {
	send(c, pongpb.MsgError, &pongpb.PongError{Code: code, Message: msg, RequestId: reqID})
}

func decode(req ziface.IRequest, m proto.Message) bool {
	if err := proto.Unmarshal(req.GetData(), m); err != nil {
		refuse(req.GetConnection(), req.GetMsgID(), pongpb.ErrorCode_ERROR_BAD_REQUEST, "malformed message")
		return false
	}
	return true
}

func send(c ziface.IConnection, msgID uint32, m proto.Message) {
	if b, err := proto.Marshal(m); err == nil {
		_ = c.SendMsg(msgID, b)
	}
}
