package lockstep

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/game/account"
	"github.com/zinxgame/zinxgame/game/account/ids"
	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

// Config configures the lockstep service: room defaults and limits.
type Config struct {
	// Room defaults, used for every option a RoomCreate leaves at zero.
	MaxPlayers      int           // seats per room, 1-16
	TickRate        int           // frames per second, 1-120
	ReadyTimeout    time.Duration // an open room starts with those present after this
	MaxDuration     time.Duration // a match ends after this
	FramesPerPacket int           // frames sent together, 1-10
	HashInterval    int           // clients report a state hash every N frames
	// MaxRooms bounds the rooms open or running at once.
	MaxRooms int
	// ReconnectGrace is how long a dropped player's seat is kept.
	ReconnectGrace time.Duration
	// MaxInputBytes is the largest input accepted.
	MaxInputBytes int
	// InputRate is each player's allowed inputs per second (burst: one
	// second's worth); more are refused with ERROR_RATE_LIMITED.
	InputRate float64
	// RoomQueueLen bounds each room's queue of requests between ticks
	// (allocated with the room: about 90 bytes a slot). Between two ticks a
	// 4-player room at 10 inputs a second per player gets 2 or so.
	// When it is full, inputs are dropped (counted, ERROR_BUSY) and other
	// requests are refused with ERROR_BUSY: a flood never grows memory or
	// delays the clock.
	RoomQueueLen int
	// MaxBatchBytes bounds a frame packet and a catch-up message; keep it
	// under the server's MaxPackageSize. A frame holds at most
	// (MaxBatchBytes-32)/FramesPerPacket-32 bytes of inputs; inputs that do
	// not fit are refused with ERROR_BUSY.
	MaxBatchBytes int
	// KeptMatches is how many ended matches the in-memory store keeps for
	// replays.
	KeptMatches int
	// Shards is the number of tick goroutines; 0 means GOMAXPROCS.
	Shards int
	// MsgIDBase is the first message ID of the lockstep protocol: its IDs
	// are MsgIDBase+0 (Login) to MsgIDBase+21 (ReplayStart), in
	// protocol.MsgLogin's order. 0 means 1000, the protocol's own IDs;
	// move it when another module of the server uses 1000-1021.
	MsgIDBase uint32
	// TickSlack lets a shard that wakes for one room also run the rooms
	// due within this much time, a little early, instead of sleeping and
	// waking again for each. Room phases are spread over the tick period,
	// so without it a shard sleeps between rooms due microseconds apart,
	// and only the Go timers' own granularity (about 1 ms on Linux)
	// bounds its wakes. With it a shard wakes at most about once per
	// TickSlack, and the rooms it runs together send their frames in one
	// burst, which the receivers' wake-ups share. Ticks are never run
	// late because of it, and their due times (and so the match's clock)
	// do not move. 0 wakes for the earliest room each time.
	TickSlack time.Duration
}

// DefaultConfig returns production defaults: 4 players at 30 Hz.
func DefaultConfig() Config {
	return Config{
		MaxPlayers: 4, TickRate: 30, ReadyTimeout: 30 * time.Second, MaxDuration: time.Hour,
		FramesPerPacket: 1, HashInterval: 30, MaxRooms: 10000, ReconnectGrace: time.Minute,
		MaxInputBytes: 256, InputRate: 60, RoomQueueLen: 128, MaxBatchBytes: 4000, KeptMatches: 1000,
		TickSlack: time.Millisecond, MsgIDBase: lspb.MsgLogin,
	}
}

// Validate checks every field's range.
func (c *Config) Validate() error {
	var errs []error
	in := func(key string, v, lo, hi int) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("game: Lockstep.%s = %d: must be between %d and %d", key, v, lo, hi))
		}
	}
	dur := func(key string, v, lo, hi time.Duration) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("game: Lockstep.%s = %s: must be between %s and %s", key, v, lo, hi))
		}
	}
	in("MaxPlayers", c.MaxPlayers, 1, 16)
	in("TickRate", c.TickRate, 1, 120)
	dur("ReadyTimeout", c.ReadyTimeout, 0, 24*time.Hour)
	dur("MaxDuration", c.MaxDuration, time.Second, 7*24*time.Hour)
	in("FramesPerPacket", c.FramesPerPacket, 1, 10)
	in("HashInterval", c.HashInterval, 1, 100000)
	in("MaxRooms", c.MaxRooms, 1, 10_000_000)
	dur("ReconnectGrace", c.ReconnectGrace, 0, 24*time.Hour)
	in("MaxInputBytes", c.MaxInputBytes, 1, 64<<10)
	if !(c.InputRate > 0 && c.InputRate <= 10000) {
		errs = append(errs, fmt.Errorf("game: Lockstep.InputRate = %v: must be above 0 and at most 10000", c.InputRate))
	}
	in("RoomQueueLen", c.RoomQueueLen, 16, 1<<20)
	in("MaxBatchBytes", c.MaxBatchBytes, 256, 64<<20)
	in("KeptMatches", c.KeptMatches, 1, 1_000_000)
	in("Shards", c.Shards, 0, 1024)
	dur("TickSlack", c.TickSlack, 0, 10*time.Millisecond)
	if c.MsgIDBase > 1<<31 {
		errs = append(errs, fmt.Errorf("game: Lockstep.MsgIDBase = %d: must be at most %d", c.MsgIDBase, uint32(1<<31)))
	}
	if c.FramesPerPacket > 0 && c.frameBudget() < c.MaxInputBytes+inputOverhead {
		errs = append(errs, fmt.Errorf("game: Lockstep.MaxBatchBytes = %d: must hold %d frames (FramesPerPacket) of at least one input of MaxInputBytes (%d) each",
			c.MaxBatchBytes, c.FramesPerPacket, c.MaxInputBytes))
	}
	return errors.Join(errs...)
}

// A frame's inputs are bounded so that a packet of FramesPerPacket frames
// always fits in MaxBatchBytes (and so in the server's MaxPackageSize,
// which MaxBatchBytes must stay under): a flood of large inputs fills a
// frame, and what does not fit is refused, instead of making a packet the
// server cannot send. batchHead is a FrameBatch's own fields; inputOverhead
// bounds what a frame and an input add around the input's bytes.
const (
	batchHead     = 32
	inputOverhead = 32
)

// frameBudget is the most input bytes (wire-encoded) one frame may hold.
func (c *Config) frameBudget() int {
	return (c.MaxBatchBytes-batchHead)/c.FramesPerPacket - inputOverhead
}

// Service is the lockstep (frame-sync) service: players, rooms and their
// matches. Mount it on a server (srv.Mount("lockstep", l)); it is a value
// the server owns, like mmo.World.
//
// Handlers never touch a room's state: they validate, then enqueue a
// request on the room's bounded queue. The room's tick, on a scheduler
// shard, applies the requests in arrival order and assembles the frame, so
// a room is an actor with one owner and needs no lock of its own.
type Service struct {
	cfg     Config
	log     *slog.Logger
	store   store.FrameStore
	matches store.MatchStore
	sched   *tickScheduler
	met     *lockstepMetrics

	metricsReg prometheus.Registerer

	mu       sync.RWMutex
	rooms    map[uint64]*Room
	byID     map[uint64]*lsPlayer // every identity seen since start
	accounts account.Accounts
	ids      *ids.Generator
	lastID   atomic.Uint64 // the largest ID issued, for newID's fallback
	closed   bool
}

// Option configures New.
type Option func(*Service)

// WithFrameStore replaces the in-memory frame store.
func WithFrameStore(s store.FrameStore) Option { return func(l *Service) { l.store = s } }

// WithAccounts sets who issues and checks login tokens (in memory
// by default; TokenAccounts for signed tokens that survive restarts).
func WithAccounts(a account.Accounts) Option {
	return func(l *Service) { l.accounts = a }
}

// WithIDs numbers rooms and matches with g (node 0 by default). Give every
// node of a deployment its own node ID.
func WithIDs(g *ids.Generator) Option { return func(l *Service) { l.ids = g } }

// newID returns a room or match ID. If the generator refuses (the clock
// stepped back more than it waits for), the largest ID issued plus one
// keeps IDs unique in this process, with a loud log.
func (l *Service) newID() uint64 {
	id, err := l.ids.Next()
	if err != nil {
		l.log.Error("game: ID generator refused; numbering from the last ID issued", "err", err)
		return l.lastID.Add(1)
	}
	for {
		last := l.lastID.Load()
		next := max(id, last+1)
		if l.lastID.CompareAndSwap(last, next) {
			return next
		}
	}
}

// WithMatchStore replaces the in-memory match metadata store. Metadata is
// saved when a match starts and when it ends; replays read it.
func WithMatchStore(s store.MatchStore) Option { return func(l *Service) { l.matches = s } }

// New validates cfg and starts the tick scheduler.
func New(cfg Config, log *slog.Logger, opts ...Option) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	if cfg.MsgIDBase == 0 {
		cfg.MsgIDBase = lspb.MsgLogin
	}
	l := &Service{cfg: cfg, log: log, rooms: make(map[uint64]*Room), byID: make(map[uint64]*lsPlayer)}
	for _, o := range opts {
		o(l)
	}
	if l.store == nil {
		l.store = store.NewMemoryFrameStore(cfg.KeptMatches)
	}
	if l.ids == nil {
		g, err := ids.New(0)
		if err != nil {
			return nil, err
		}
		l.ids = g
	}
	if l.accounts == nil {
		l.accounts = account.NewMemoryAccounts()
	}
	if l.matches == nil {
		ms := store.NewMemoryStore()
		ms.KeepMatches = cfg.KeptMatches
		l.matches = ms
	}
	l.met = newLockstepMetrics(l)
	if l.metricsReg != nil {
		if err := l.met.register(l.metricsReg, l); err != nil {
			return nil, fmt.Errorf("game: registering lockstep metrics: %w", err)
		}
	}
	shards := cfg.Shards
	if shards == 0 {
		shards = runtime.GOMAXPROCS(0)
	}
	l.sched = newTickScheduler(shards, cfg.TickSlack)
	return l, nil
}

// Shutdown ends every match (MATCH_END_SHUTDOWN) at its next tick, waits
// until every room has closed or ctx ends, then stops the scheduler. It
// reports the rooms that had not closed by then. Mounted, it runs as the
// server's shutdown work, before the connections drain, so the players
// hear MatchEnd. Later calls do nothing. Safe for concurrent use.
func (l *Service) Shutdown(ctx context.Context) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	rooms := make([]*Room, 0, len(l.rooms))
	for _, r := range l.rooms {
		rooms = append(rooms, r)
	}
	l.mu.Unlock()
	for _, r := range rooms {
		r.shutdown()
	}
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for l.Rooms() > 0 && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	l.sched.stop()
	if n := l.Rooms(); n > 0 {
		return fmt.Errorf("game: %d lockstep rooms had not ended their matches when the shutdown ended: %w", n, ctx.Err())
	}
	return nil
}

// Close is Shutdown bounded by two seconds, for a Service that is not
// mounted on a server.
func (l *Service) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := l.Shutdown(ctx); err != nil {
		l.log.Warn("game: lockstep close", "err", err)
	}
}

// Rooms is the number of rooms open or running.
func (l *Service) Rooms() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.rooms)
}

// lsPlayer is a logged-in identity. Its connection and room change as it
// reconnects and joins; mu guards them.
type lsPlayer struct {
	id   uint64
	name string
	lim  *rate.Limiter // inputs; used by the player's connection only

	mu   sync.Mutex
	conn ziface.IConnection
	room *Room
	// limitedAt is when the player was last told it is rate limited, so a
	// flood gets one error a second, not one per input.
	limitedAt time.Time
	// session is the session behind the player's token, nil when the
	// accounts keep none; rooms record in it where the player is.
	session *store.Session
}

// track records the player's room and last frame in its session.
func (l *Service) track(p *lsPlayer, room uint64, lastFrame uint32) {
	p.mu.Lock()
	if p.session == nil || (p.session.RoomID == room && p.session.LastFrame == lastFrame) {
		p.mu.Unlock()
		return
	}
	p.session.RoomID, p.session.LastFrame = room, lastFrame
	se := *p.session
	p.mu.Unlock()
	if err := l.accounts.UpdateSession(context.Background(), se); err != nil {
		l.log.Warn("game: updating a session failed", "player", p.id, "err", err)
	}
}

func (p *lsPlayer) current() (ziface.IConnection, *Room) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conn, p.room
}

const propPlayer = "lockstep.player"

func playerOf(c ziface.IConnection) *lsPlayer {
	v, ok := c.GetProperty(propPlayer)
	if !ok {
		return nil
	}
	return v.(*lsPlayer)
}

// Mount mounts the lockstep service on a server, with
// srv.Mount("lockstep", l): its routes (MsgIDBase to MsgIDBase+21), its
// disconnect hook (a dropped player's seat is held for ReconnectGrace),
// and its shutdown work, which ends every match (MATCH_END_SHUTDOWN) while
// the players are still connected, then stops the tick scheduler.
func (l *Service) Mount(m *znet.Mount) error {
	routes := []struct {
		id uint32
		h  func(ziface.IRequest)
	}{
		{lspb.MsgLogin, l.handleLogin}, {lspb.MsgRoomCreate, l.handleCreate},
		{lspb.MsgRoomJoin, l.handleJoin}, {lspb.MsgRoomLeave, l.handleLeave},
		{lspb.MsgRoomList, l.handleList}, {lspb.MsgReady, l.handleReady},
		{lspb.MsgInput, l.handleInput}, {lspb.MsgHashReport, l.handleHash},
		{lspb.MsgReconnect, l.handleReconnect}, {lspb.MsgMatchResult, l.handleResult},
		{lspb.MsgReplay, l.handleReplay},
	}
	for _, r := range routes {
		if err := m.Handle(l.id(r.id), r.h); err != nil {
			return err
		}
	}
	m.OnDisconnect(l.onDisconnect)
	m.OnShutdown(l.Shutdown)
	return nil
}

// id is the wire ID of a lockstep message: protocol's ID moved to
// MsgIDBase.
func (l *Service) id(protocolID uint32) uint32 {
	return protocolID - lspb.MsgLogin + l.cfg.MsgIDBase
}

// sendError answers a failed request.
func (l *Service) sendError(c ziface.IConnection, req uint32, code commonpb.ErrorCode, msg string) {
	b, _ := proto.Marshal(&commonpb.Error{Code: code, Message: msg, RequestId: req})
	_ = c.SendMsg(l.id(lspb.MsgError), b)
}

func send(c ziface.IConnection, id uint32, m proto.Message) {
	if c == nil {
		return
	}
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err) // our own messages always marshal
	}
	_ = c.SendMsg(id, b)
}

// marshal encodes one of our own messages, which always marshal.
func marshal(m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err)
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

// loggedIn returns the request's player, answering ERROR_NOT_LOGGED_IN.
func (l *Service) loggedIn(req ziface.IRequest) *lsPlayer {
	p := playerOf(req.GetConnection())
	if p == nil {
		l.sendError(req.GetConnection(), req.GetMsgID(), commonpb.ErrorCode_ERROR_NOT_LOGGED_IN, "send Login first")
	}
	return p
}

// handleLogin creates an identity (no token) or resumes the one a token
// stands for. Accounts may sit on a remote store, so the check runs off the
// worker (Async): a client sends its next request after LoginAck. A
// refused token gets an Error (BAD_TOKEN, TOKEN_EXPIRED or TOKEN_REVOKED)
// and the connection closes.
func (l *Service) handleLogin(req ziface.IRequest) {
	c := req.GetConnection()
	var m commonpb.Login
	if !l.decode(req, &m) {
		return
	}
	if playerOf(c) != nil {
		l.sendError(c, req.GetMsgID(), commonpb.ErrorCode_ERROR_BAD_REQUEST, "already logged in on this connection")
		return
	}
	var ident account.Identity
	token := m.Token
	var failed error
	err := c.Async(func(ctx context.Context) {
		if token == "" {
			ident, token, failed = l.accounts.NewAccount(ctx, m.Name)
		} else {
			ident, failed = l.accounts.Verify(ctx, token)
		}
	}, func() {
		if failed != nil {
			l.log.Warn("game: login refused", "conn_id", c.GetConnID(), "err", failed)
			l.sendError(c, l.id(lspb.MsgLogin), account.BadTokenCode(failed), "login refused")
			c.Stop()
			return
		}
		l.bind(c, ident, m.Name, token)
	})
	if err != nil {
		l.sendError(c, req.GetMsgID(), commonpb.ErrorCode_ERROR_BUSY, "server busy, try again")
	}
}

// bind attaches connection c to identity id; the same identity on another
// connection is kicked from it (the newer connection wins).
func (l *Service) bind(c ziface.IConnection, ident account.Identity, name, token string) {
	if playerOf(c) != nil {
		return // two Logins raced
	}
	id := ident.PlayerID
	l.mu.Lock()
	p := l.byID[id]
	if p == nil {
		p = &lsPlayer{id: id, name: name, lim: rate.NewLimiter(rate.Limit(l.cfg.InputRate), int(l.cfg.InputRate)+1)}
		l.byID[id] = p
	}
	l.mu.Unlock()
	p.mu.Lock()
	old := p.conn
	p.conn = c
	if ident.Session != nil {
		se := *ident.Session
		if p.session != nil { // where it is stays known across logins
			se.RoomID, se.LastFrame = p.session.RoomID, p.session.LastFrame
		}
		p.session = &se
	}
	room := p.room
	p.mu.Unlock()
	c.SetProperty(propPlayer, p)
	if old != nil && old != c {
		old.RemoveProperty(propPlayer)
		kickConn(old, "logged in from another connection")
		if room != nil {
			room.enqueue(roomEvent{kind: evDisconnect, p: p, conn: old}, false)
		}
	}
	ack := &commonpb.LoginAck{PlayerId: p.id, Token: token}
	if room != nil {
		ack.RoomId = room.id
	}
	send(c, l.id(lspb.MsgLoginAck), ack)
}

// kickConn tells a connection why (when its type can), then closes it
// gracefully.
func kickConn(c ziface.IConnection, reason string) {
	if k, ok := c.(interface{ Kick(string) error }); ok {
		_ = k.Kick(reason)
		return
	}
	c.Stop()
}

func (l *Service) handleCreate(req ziface.IRequest) {
	c := req.GetConnection()
	p := l.loggedIn(req)
	var m lspb.RoomCreate
	if p == nil || !l.decode(req, &m) {
		return
	}
	opts, err := l.roomOptions(m.Options)
	if err != nil {
		l.sendError(c, req.GetMsgID(), commonpb.ErrorCode_ERROR_BAD_OPTIONS, err.Error())
		return
	}
	// Both IDs now, before any lock and off the room's tick: the generator
	// may wait out a clock step, and the clock never waits.
	id, matchID := l.newID(), l.newID()
	p.mu.Lock()
	if p.room != nil {
		p.mu.Unlock()
		l.sendError(c, req.GetMsgID(), commonpb.ErrorCode_ERROR_ALREADY_IN_ROOM, "leave your room first")
		return
	}
	l.mu.Lock()
	if l.closed || len(l.rooms) >= l.cfg.MaxRooms {
		l.mu.Unlock()
		p.mu.Unlock()
		l.sendError(c, req.GetMsgID(), commonpb.ErrorCode_ERROR_BUSY, "no room can be created now")
		return
	}
	r := newRoom(l, id, matchID, opts)
	l.rooms[r.id] = r
	l.mu.Unlock()
	p.room = r // reserved; the room confirms with RoomState or refuses
	p.mu.Unlock()
	l.met.roomsCreated.Inc()
	r.enqueue(roomEvent{kind: evJoin, p: p, conn: c, req: req.GetMsgID()}, false)
	l.sched.add(r, time.Second/time.Duration(opts.TickRate))
}

func (l *Service) handleJoin(req ziface.IRequest) {
	c := req.GetConnection()
	p := l.loggedIn(req)
	var m lspb.RoomJoin
	if p == nil || !l.decode(req, &m) {
		return
	}
	l.mu.RLock()
	r := l.rooms[m.RoomId]
	l.mu.RUnlock()
	if r == nil {
		l.sendError(c, req.GetMsgID(), commonpb.ErrorCode_ERROR_ROOM_NOT_FOUND, fmt.Sprintf("no room %d", m.RoomId))
		return
	}
	p.mu.Lock()
	if p.room != nil {
		p.mu.Unlock()
		l.sendError(c, req.GetMsgID(), commonpb.ErrorCode_ERROR_ALREADY_IN_ROOM, "leave your room first")
		return
	}
	p.room = r
	p.mu.Unlock()
	if !r.enqueue(roomEvent{kind: evJoin, p: p, conn: c, req: req.GetMsgID()}, true) {
		r.release(p)
		l.sendError(c, req.GetMsgID(), commonpb.ErrorCode_ERROR_BUSY, "room busy, try again")
		return
	}
	if roomState(r.status.Load()) == stateEnded {
		// The room ended and drained for the last time before our join
		// was queued: nobody will answer it.
		r.release(p)
		l.sendError(c, req.GetMsgID(), commonpb.ErrorCode_ERROR_ROOM_CLOSED, "the room has closed")
	}
}

// inRoom returns the request's player and room, answering
// ERROR_NOT_IN_ROOM (or ERROR_NO_SEAT for a reconnect).
func (l *Service) inRoom(req ziface.IRequest, code commonpb.ErrorCode) (*lsPlayer, *Room) {
	p := l.loggedIn(req)
	if p == nil {
		return nil, nil
	}
	_, r := p.current()
	if r == nil {
		l.sendError(req.GetConnection(), req.GetMsgID(), code, "you are not in a room")
		return nil, nil
	}
	return p, r
}

func (l *Service) handleLeave(req ziface.IRequest) {
	if p, r := l.inRoom(req, commonpb.ErrorCode_ERROR_NOT_IN_ROOM); r != nil {
		r.enqueueOrBusy(req, roomEvent{kind: evLeave, p: p, conn: req.GetConnection()})
	}
}

func (l *Service) handleReady(req ziface.IRequest) {
	var m lspb.Ready
	if !l.decode(req, &m) {
		return
	}
	if p, r := l.inRoom(req, commonpb.ErrorCode_ERROR_NOT_IN_ROOM); r != nil {
		r.enqueueOrBusy(req, roomEvent{kind: evReady, p: p, conn: req.GetConnection(), flag: m.Ready})
	}
}

func (l *Service) handleInput(req ziface.IRequest) {
	c := req.GetConnection()
	var m lspb.Input
	if !l.decode(req, &m) {
		return
	}
	p, r := l.inRoom(req, commonpb.ErrorCode_ERROR_NOT_IN_ROOM)
	if r == nil {
		return
	}
	if len(m.Data) > l.cfg.MaxInputBytes {
		l.sendError(c, req.GetMsgID(), commonpb.ErrorCode_ERROR_INPUT_TOO_LARGE,
			fmt.Sprintf("input of %d bytes, at most %d", len(m.Data), l.cfg.MaxInputBytes))
		return
	}
	if !p.lim.Allow() {
		l.met.inputsDropped.WithLabelValues("rate_limited").Inc()
		p.mu.Lock()
		tell := time.Since(p.limitedAt) > time.Second
		if tell {
			p.limitedAt = time.Now()
		}
		p.mu.Unlock()
		if tell {
			l.sendError(c, req.GetMsgID(), commonpb.ErrorCode_ERROR_RATE_LIMITED,
				fmt.Sprintf("over %g inputs a second: inputs dropped", l.cfg.InputRate))
		}
		return
	}
	if !r.enqueue(roomEvent{kind: evInput, p: p, conn: c, data: m.Data, u32: m.Seq}, true) {
		l.met.inputsDropped.WithLabelValues("queue_full").Inc()
		l.sendError(c, req.GetMsgID(), commonpb.ErrorCode_ERROR_BUSY, "room busy: input dropped")
	}
}

func (l *Service) handleHash(req ziface.IRequest) {
	var m lspb.HashReport
	if !l.decode(req, &m) {
		return
	}
	if p, r := l.inRoom(req, commonpb.ErrorCode_ERROR_NOT_IN_ROOM); r != nil {
		r.enqueue(roomEvent{kind: evHash, p: p, conn: req.GetConnection(), u32: m.Frame, u64: m.Hash}, true)
	}
}

// handleResult records a vote. A vote from a player no longer in a room is
// ignored, not refused: it lost the race with the votes that ended the
// match, and MatchEnd has told it the result.
func (l *Service) handleResult(req ziface.IRequest) {
	var m lspb.MatchResult
	p := l.loggedIn(req)
	if p == nil || !l.decode(req, &m) {
		return
	}
	if _, r := p.current(); r != nil {
		r.enqueueOrBusy(req, roomEvent{kind: evResult, p: p, conn: req.GetConnection(), data: m.Result})
	}
}

func (l *Service) handleReconnect(req ziface.IRequest) {
	var m lspb.Reconnect
	if !l.decode(req, &m) {
		return
	}
	if p, r := l.inRoom(req, commonpb.ErrorCode_ERROR_NO_SEAT); r != nil {
		r.enqueueOrBusy(req, roomEvent{kind: evReconnect, p: p, conn: req.GetConnection(), u32: m.LastFrame})
	}
}

func (l *Service) handleList(req ziface.IRequest) {
	var m lspb.RoomList
	if !l.decode(req, &m) {
		return
	}
	ack := &lspb.RoomListAck{}
	l.mu.RLock()
	for _, r := range l.rooms {
		info := r.info()
		if m.OpenOnly && info.Status != lspb.RoomStatus_ROOM_STATUS_OPEN {
			continue
		}
		ack.Rooms = append(ack.Rooms, info)
		if len(ack.Rooms) == maxListed {
			break
		}
	}
	l.mu.RUnlock()
	send(req.GetConnection(), l.id(lspb.MsgRoomListAck), ack)
}

// maxListed bounds a RoomListAck, so it fits the default MaxPackageSize.
const maxListed = 64

func (l *Service) onDisconnect(c ziface.IConnection) {
	p := playerOf(c)
	if p == nil {
		return
	}
	p.mu.Lock()
	if p.conn == c {
		p.conn = nil
	}
	r := p.room
	p.mu.Unlock()
	if r != nil {
		r.enqueue(roomEvent{kind: evDisconnect, p: p, conn: c}, false)
	}
}

// removeRoom forgets an ended room.
func (l *Service) removeRoom(r *Room) {
	l.mu.Lock()
	delete(l.rooms, r.id)
	l.mu.Unlock()
}

// roomOptions fills o's zero fields with the defaults and checks them.
func (l *Service) roomOptions(o *lspb.RoomOptions) (*lspb.RoomOptions, error) {
	out := &lspb.RoomOptions{
		MaxPlayers: uint32(l.cfg.MaxPlayers), TickRate: uint32(l.cfg.TickRate),
		ReadyTimeoutMs: uint32(l.cfg.ReadyTimeout.Milliseconds()), MaxDurationS: uint32(l.cfg.MaxDuration.Seconds()),
		FramesPerPacket: uint32(l.cfg.FramesPerPacket), HashInterval: uint32(l.cfg.HashInterval),
	}
	if o != nil {
		pick := func(dst *uint32, v uint32) {
			if v != 0 {
				*dst = v
			}
		}
		pick(&out.MaxPlayers, o.MaxPlayers)
		pick(&out.TickRate, o.TickRate)
		pick(&out.ReadyTimeoutMs, o.ReadyTimeoutMs)
		pick(&out.MaxDurationS, o.MaxDurationS)
		pick(&out.FramesPerPacket, o.FramesPerPacket)
		pick(&out.HashInterval, o.HashInterval)
	}
	c := l.cfg
	c.MaxPlayers, c.TickRate = int(out.MaxPlayers), int(out.TickRate)
	c.ReadyTimeout = time.Duration(out.ReadyTimeoutMs) * time.Millisecond
	c.MaxDuration = time.Duration(out.MaxDurationS) * time.Second
	c.FramesPerPacket, c.HashInterval = int(out.FramesPerPacket), int(out.HashInterval)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return out, nil
}
