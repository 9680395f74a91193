package lockstep

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zinxgame/zinxgame/game/account"
	"github.com/zinxgame/zinxgame/game/account/ids"
	"github.com/zinxgame/zinxgame/game/room"
	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/znet"
)

// RoomType is the room type lockstep rooms are registered under on their
// room manager.
const RoomType = "lockstep"

// Service is the lockstep (frame-sync) service: its routes, its identity
// service and its rooms. Mount it on a server (srv.Mount("lockstep", s)).
//
// Lockstep is a room Logic: each room is a match of the room runtime
// (package room), ticking on its scheduler, with its rules as a value
// (WithRules) and hooks for the game (WithHooks). Handlers never touch a
// room's state: they validate a request and queue it on the room; the
// room's tick applies the requests in arrival order and assembles the
// frame. Players log in through package account's service, shared with
// the other modules of the server when given with WithIdentity.
type Service struct {
	cfg     Config
	log     *slog.Logger
	frames  store.FrameStore
	matches store.MatchStore
	rooms   *room.Manager
	acc     *account.Service
	ids     *ids.Generator
	node    uint32        // ids' node, recorded in MatchMeta.Node
	lastID  atomic.Uint64 // the largest ID issued, for newID's fallback
	running atomic.Int64  // matches running, for the rooms gauge
	rules   Rules
	hooks   Hooks
	met     *metrics

	// fence is an ID issued when the service was made: every match of
	// this process has a larger one, so recovery never takes a match of
	// this process for one its predecessor left running.
	fence uint64
	// framesDur and matchesDur are the stores' Durability when their
	// kind is Sync (store.ModeOf), nil when Async: a frame is broadcast,
	// and MatchEnd sent, only once durable (durable.go).
	framesDur, matchesDur store.Durability
	frameWaits, endWaits  []store.Durability // durables
	ends                  sync.WaitGroup     // MatchEnds in an outbox
	recovery              recovery

	ownRooms   bool
	accounts   account.Accounts // WithAccounts: the accounts of an identity service of our own
	accountCfg account.Config
	metricsReg prometheus.Registerer
	// Connection property keys: the input limiter, the replay in progress.
	inputKey, replayKey string
	// maxPacket is the largest packet the server takes, announced in
	// LoginAck.limits; set at Mount.
	maxPacket atomic.Uint32
}

// Option configures New.
type Option func(*Service)

// WithFrameStore replaces the in-memory frame store.
func WithFrameStore(s store.FrameStore) Option { return func(l *Service) { l.frames = s } }

// WithMatchStore replaces the in-memory match metadata store. Metadata is
// saved when a match starts and when it ends; replays read it.
func WithMatchStore(s store.MatchStore) Option { return func(l *Service) { l.matches = s } }

// WithAccounts sets who issues and checks login tokens for the identity
// service the lockstep service makes for itself (in memory by default;
// account.TokenAccounts for signed tokens that survive restarts). Ignored
// with WithIdentity.
func WithAccounts(a account.Accounts) Option { return func(l *Service) { l.accounts = a } }

// WithIdentityConfig configures the identity service the lockstep service
// makes for itself (login timeout, name bound, new identities per
// address); ignored with WithIdentity.
func WithIdentityConfig(c account.Config) Option { return func(l *Service) { l.accountCfg = c } }

// WithIdentity logs players in through s, shared with the server's other
// modules, so a player has one identity everywhere and any router can read
// it (s.PlayerOf). Without it the service makes its own.
func WithIdentity(s *account.Service) Option { return func(l *Service) { l.acc = s } }

// WithRooms runs the lockstep rooms on m, shared with other room types;
// mount m on the server yourself. Without it the service makes its own
// manager from Config and mounts it with the service.
func WithRooms(m *room.Manager) Option { return func(l *Service) { l.rooms = m } }

// WithIDs numbers rooms and matches with g (node 0 by default). Give every
// node of a deployment its own node ID.
func WithIDs(g *ids.Generator) Option { return func(l *Service) { l.ids = g } }

// WithRules replaces the match rules; the rules left nil keep their
// defaults.
func WithRules(r Rules) Option { return func(l *Service) { l.rules = r } }

// WithHooks sets the game's hooks on match start and end, join and leave.
func WithHooks(h Hooks) Option { return func(l *Service) { l.hooks = h } }

// WithMetrics registers the lockstep metrics (rooms by state, frames and
// bytes sent, dropped inputs, reconnections and catch-up time, desyncs) on
// reg, with the room runtime's (tick duration and lateness) when the
// service makes its own room manager.
func WithMetrics(reg prometheus.Registerer) Option { return func(l *Service) { l.metricsReg = reg } }

// New validates cfg (zero fields added since the first release take their
// defaults) and builds the service, with its room manager unless
// WithRooms gives one.
func New(cfg Config, log *slog.Logger, opts ...Option) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	l := &Service{cfg: cfg, log: log}
	l.inputKey = fmt.Sprintf("zinxgame.lockstep.%p.inputs", l)
	l.replayKey = fmt.Sprintf("zinxgame.lockstep.%p.replay", l)
	for _, o := range opts {
		o(l)
	}
	l.rules = l.rules.withDefaults()
	if l.frames == nil {
		l.frames = store.NewBoundedMemoryFrameStore(cfg.KeptMatches, cfg.KeptFrameBytes)
	}
	if l.matches == nil {
		ms := store.NewMemoryStore()
		ms.KeepMatches = cfg.KeptMatches
		l.matches = ms
	}
	if l.ids == nil {
		g, err := ids.New(0)
		if err != nil {
			return nil, err
		}
		l.ids = g
	}
	l.node = uint32(l.ids.Node())
	l.fence = l.newID()
	if d, ok := l.frames.(store.Durability); ok && d.Mode(store.KindFrames) == store.Sync {
		l.framesDur = d
	}
	if d, ok := l.matches.(store.Durability); ok && d.Mode(store.KindMatches) == store.Sync {
		l.matchesDur = d
	}
	l.setDurables()
	if l.acc == nil {
		acc, err := account.New(l.accountCfg, l.accounts, log)
		if err != nil {
			return nil, err
		}
		l.acc = acc
	}
	l.met = newMetrics()
	if l.rooms == nil {
		rc := room.Config{Shards: cfg.Shards, TickSlack: cfg.TickSlack, MaxRooms: cfg.MaxRooms,
			MaxRoomsPerOwner: cfg.MaxRoomsPerOwner, QueueLen: cfg.RoomQueueLen, RequestRate: cfg.RequestRate,
			EmptyTimeout: cfg.EmptyTimeout, TickRate: cfg.TickRate, MaxMembers: 16}
		if cfg.TickSlack == 0 {
			rc.TickSlack = room.Disabled // lockstep's 0 has always meant no slack
		}
		ropts := []room.Option{room.WithIDs(l.ids.Next)}
		if l.metricsReg != nil {
			ropts = append(ropts, room.WithMetrics(l.metricsReg))
		}
		m, err := room.NewManager(rc, log, ropts...)
		if err != nil {
			return nil, err
		}
		l.rooms, l.ownRooms = m, true
	}
	if err := l.rooms.Register(RoomType, func() room.Logic { return newMatch(l) }, room.TypeOptions{}); err != nil {
		return nil, err
	}
	if l.metricsReg != nil {
		if err := l.met.register(l.metricsReg, l); err != nil {
			return nil, fmt.Errorf("game: registering lockstep metrics: %w", err)
		}
	}
	return l, nil
}

// Identity is the identity service players log in through.
func (l *Service) Identity() *account.Service { return l.acc }

// RoomManager is the room manager the lockstep rooms run on.
func (l *Service) RoomManager() *room.Manager { return l.rooms }

// Config is the service's configuration, defaults filled in.
func (l *Service) Config() Config { return l.cfg }

// newID returns a match ID. If the generator refuses (the clock stepped
// back more than it waits for), the largest ID issued plus one keeps IDs
// unique in this process, with a loud log.
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

// Mount mounts the lockstep service on a server, with
// srv.Mount("lockstep", l): its login and logout routes on the identity
// service, its own routes (MsgIDBase to MsgIDBase+24), and, for a room
// manager of its own, the manager's disconnect hook (a dropped player's
// seat is held for ReconnectGrace) and shutdown work (every match ends
// with MATCH_END_SHUTDOWN while the players are still connected). Once
// mounted, the service marks the matches its node's previous process left
// running as interrupted, in the background (Recover), retrying until it
// succeeds or the service shuts down.
func (l *Service) Mount(m *znet.Mount) error {
	l.maxPacket.Store(uint32(m.Server().Config().MaxPackageSize))
	p := account.Protocol{Login: l.id(lspb.MsgLogin), LoginAck: l.id(lspb.MsgLoginAck), Error: l.id(lspb.MsgError),
		Logout: l.id(lspb.MsgLogout), LogoutAck: l.id(lspb.MsgLogoutAck)}
	if err := l.acc.MountProtocol(m, p, l.ack); err != nil {
		return err
	}
	routes := []struct {
		id uint32
		h  znet.HandlerFunc
	}{
		{lspb.MsgRoomCreate, l.handleCreate}, {lspb.MsgRoomJoinOrCreate, l.handleJoinOrCreate}, {lspb.MsgRoomJoin, l.handleJoin}, {lspb.MsgRoomLeave, l.handleLeave},
		{lspb.MsgRoomList, l.handleList}, {lspb.MsgReady, l.handleToRoom}, {lspb.MsgInput, l.handleInput},
		{lspb.MsgHashReport, l.handleToRoom}, {lspb.MsgReconnect, l.handleReconnect},
		{lspb.MsgMatchResult, l.handleToRoom}, {lspb.MsgReplay, l.handleReplay},
	}
	for _, r := range routes {
		if err := m.Handle(l.id(r.id), r.h); err != nil {
			return err
		}
	}
	// Registered before the room manager's, so it runs after it (the last
	// registered runs first): once the matches have ended.
	m.OnShutdown(l.afterRooms)
	if l.ownRooms {
		if err := l.rooms.Mount(m); err != nil {
			return err
		}
	}
	l.recovery.start(l)
	return nil
}

// afterRooms is the service's shutdown work once its rooms have ended:
// stop the recovery, and, with a room manager of its own, wait for the
// MatchEnds still waiting for a Sync store (a shared manager's matches may
// still end after it).
func (l *Service) afterRooms(ctx context.Context) error {
	err := l.recovery.stop(ctx)
	if !l.ownRooms {
		return err
	}
	return errors.Join(err, l.waitEnds(ctx))
}

// Shutdown ends every match (MATCH_END_SHUTDOWN) at its next tick and
// waits until every room has closed or ctx ends, when the service owns
// its room manager; with a shared manager (WithRooms) the manager's own
// shutdown does it. Mounted, it runs as the server's shutdown work. Safe
// for concurrent use. It also stops the background recovery (Mount) and,
// with Sync stores, waits for the last MatchEnds to be durable and sent.
func (l *Service) Shutdown(ctx context.Context) error {
	if l.ownRooms {
		if err := l.rooms.Shutdown(ctx); err != nil {
			return errors.Join(err, l.recovery.stop(ctx))
		}
	}
	return l.afterRooms(ctx)
}

// Close is Shutdown bounded by two seconds, for a service that is not
// mounted on a server.
func (l *Service) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := l.Shutdown(ctx); err != nil {
		l.log.Warn("game: lockstep close", "err", err)
	}
}

// Rooms is the number of lockstep rooms open or running.
func (l *Service) Rooms() int { return l.rooms.Count(RoomType) }
