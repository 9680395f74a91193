package mmo

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zinxgame/zinxgame/game/account"
	"github.com/zinxgame/zinxgame/game/room"
	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/protocol/mmopb"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

// World is an MMO server's scenes: maps on which players see, chat with
// and follow the players in the grids around them. It is a value the
// server owns; mount it with srv.Mount("mmo", w) (see examples/mmo).
//
// Each scene is a room of the room runtime (package room), ticking at
// Config.TickRate on a shard of its own: a connection's join, its moves,
// chats, scene changes and leave are queued for its scene and applied on
// the scene's next tick, in order, and what they cause is coalesced into
// one write per player per tick. Nothing is shared between scenes but an
// index of who is where, so no lock is held while a move fans out to the
// hundreds of players who see it.
//
// The methods of World are safe for concurrent use. Handle registers a
// route, so it is for before Mount; the hooks may be added at any time.
type World struct {
	cfg Config // with its defaults
	log *slog.Logger

	accounts *account.Service
	book     account.Accounts // WithAccounts', until NewWorld made the service
	store    store.PlayerStore

	rooms   *room.Manager
	roomCfg room.Config
	reg     prometheus.Registerer
	met     *metrics
	pack    atomic.Pointer[znet.DataPack]

	extra  map[string]Map // WithScene's
	scenes map[string]*Scene
	first  *Scene

	hooks   atomic.Pointer[hookSet]
	hookMu  sync.Mutex // serializes changes of hooks
	mounted atomic.Bool

	nextPID atomic.Int32

	mu      sync.RWMutex
	players map[int32]*Player // every player whose join a scene has applied
}

// PropertyPID is the connection property holding the player's ID (int32).
const PropertyPID = "pid"

// propPlayer is the connection property holding its *Player.
const propPlayer = "zinxgame.mmo.player"

// sceneType is the room type of the world's scenes.
const sceneType = "mmo.scene"

// Option configures NewWorld.
type Option func(*World)

// WithPlayerStore saves logged-in players' positions in s (in memory by
// default).
func WithPlayerStore(s store.PlayerStore) Option { return func(w *World) { w.store = s } }

// WithAccounts sets who issues and checks login tokens (in memory by
// default: tokens die with the process), for the account service the world
// makes itself; WithAccountService gives it one instead.
func WithAccounts(a account.Accounts) Option { return func(w *World) { w.book = a } }

// WithAccountService logs players in through s, shared with the server's
// other modules (one identity per player, one policy for a second
// connection). Without it the world makes its own service over the
// accounts of WithAccounts, with LoginTimeout Disabled: Zinx clients never
// log in.
func WithAccountService(s *account.Service) Option { return func(w *World) { w.accounts = s } }

// WithRoomConfig sets the room runtime the scenes run on: its shards (tick
// goroutines; a scene stays on one), its per-connection request rate, or
// Manual for tests that step the scenes themselves (Rooms().Step). The
// world sets EmptyTimeout (scenes never end for being empty); the scenes'
// tick rate, capacity and queue bound are the world's Config (TickRate,
// MaxPlayers, QueueLen), as their room type's options.
func WithRoomConfig(c room.Config) Option { return func(w *World) { w.roomCfg = c } }

// WithMetrics registers the world's metrics (zinxgame_mmo_*) and its room
// runtime's (zinxgame_room_*, labelled module="mmo") with reg.
func WithMetrics(reg prometheus.Registerer) Option { return func(w *World) { w.reg = reg } }

// WithScene adds a scene with a map of its own, besides Config.Scenes
// (which share the first scene's map).
func WithScene(name string, m Map) Option {
	return func(w *World) {
		if w.extra == nil {
			w.extra = map[string]Map{}
		}
		w.extra[name] = m
	}
}

// NewWorld returns a world whose scenes are running and empty.
func NewWorld(cfg Config, log *slog.Logger, opts ...Option) (*World, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	w := &World{cfg: cfg.withDefaults(), log: log, players: make(map[int32]*Player), scenes: map[string]*Scene{}}
	for _, o := range opts {
		o(w)
	}
	def := zconf.Default()
	w.pack.Store(znet.NewDataPack(def.Framing, def.MaxPackageSize))
	w.hooks.Store(&hookSet{handlers: map[uint32]Handler{}})
	if w.store == nil {
		w.store = store.NewMemoryStore()
	}
	if w.accounts == nil {
		svc, err := account.New(account.Config{LoginTimeout: account.Disabled}, w.book, log)
		if err != nil {
			return nil, err
		}
		w.accounts = svc
	}
	w.book = nil
	w.met = newMetrics()
	if err := w.startScenes(); err != nil {
		return nil, err
	}
	w.accounts.OnLogin(w.onLogin)
	w.accounts.OnLogout(w.onLogout)
	return w, nil
}

// startScenes makes the room manager and one room per scene.
func (w *World) startScenes() error {
	rc := w.roomCfg
	rc.EmptyTimeout = room.Disabled
	rc.MaxRooms = max(rc.MaxRooms, 1+len(w.cfg.Scenes)+len(w.extra))
	var ropts []room.Option
	if w.reg != nil {
		ropts = append(ropts, room.WithMetrics(prometheus.WrapRegistererWith(prometheus.Labels{"module": "mmo"}, w.reg)))
		if err := w.met.register(w.reg, w); err != nil {
			return err
		}
	}
	m, err := room.NewManager(rc, w.log, ropts...)
	if err != nil {
		return err
	}
	w.rooms = m
	scenes := room.TypeOptions{TickRate: w.cfg.TickRate, Capacity: w.cfg.MaxPlayers, QueueLen: w.cfg.QueueLen}
	if err := m.Register(sceneType, func() room.Logic { return &sceneLogic{} }, scenes); err != nil {
		return err
	}
	maps := map[string]Map{w.cfg.Scene: w.cfg.Map()}
	names := []string{w.cfg.Scene}
	for _, n := range w.cfg.Scenes {
		maps[n] = w.cfg.Map()
		names = append(names, n)
	}
	seen := map[string]bool{}
	for _, n := range names {
		seen[n] = true
	}
	for n, mp := range w.extra {
		if err := checkSceneName(n, seen); err != nil {
			return err
		}
		if err := mp.validate(n); err != nil {
			return err
		}
		maps[n] = mp
		names = append(names, n)
	}
	for _, n := range names {
		s, err := newScene(w, n, maps[n])
		if err != nil {
			_ = m.Close()
			return err
		}
		r, err := m.Create(sceneType, n, s, room.Join{}, nil)
		if err != nil {
			_ = m.Close()
			return fmt.Errorf("game: starting MMO scene %q: %w", n, err)
		}
		s.id = r.ID()
		w.scenes[n] = s
	}
	w.first = w.scenes[w.cfg.Scene]
	return nil
}

// Config is the world's configuration, its defaults filled in.
func (w *World) Config() Config { return w.cfg }

// AccountService is the service the world logs players in through: ask it
// who a connection's player is (PlayerOf) from any router.
func (w *World) AccountService() *account.Service { return w.accounts }

// Rooms is the room runtime the scenes run on: for its metrics, or to step
// a Manual one in tests.
func (w *World) Rooms() *room.Manager { return w.rooms }

// Scene is the scene of that name, or nil. Its methods are for its own
// tick (hooks and handlers); reach it from elsewhere with Do.
func (w *World) Scene(name string) *Scene { return w.scenes[name] }

// Len is the number of players in the world: those whose join a scene
// has applied, and who have not left.
func (w *World) Len() int {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return len(w.players)
}

// Attached reports whether a player online is logged in as account, its
// saved position loaded: from then on its moves are saved to that
// account. It looks through every player, so it is for tests and admin
// tools, not a message path.
func (w *World) Attached(account uint64) bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	for _, p := range w.players {
		if p.account.Load() == account {
			return true
		}
	}
	return false
}

// memberID is a player's ID in the room runtime: the high bit sets it
// apart from the account IDs other modules' rooms use.
func memberID(pid int32) uint64 { return 1<<63 | uint64(uint32(pid)) }

// OnConnect enters a new connection into the first scene as a player: it
// gets its ID (1), its own position (200, Tp 2) and the players around it
// (202), and they get its position (200, Tp 2), on the scene's next tick.
// It costs the connection a queued request and nothing more: a connection
// that closes before the tick is never placed.
func (w *World) OnConnect(conn ziface.IConnection) {
	pid := w.newPID()
	p := &Player{PID: pid, Conn: conn}
	conn.SetProperty(PropertyPID, pid)
	conn.SetProperty(propPlayer, p)
	if err := w.enter(w.first, p, nil, false); err != nil {
		w.refuseEntry(p, err)
	}
}

// newPID returns the next player ID, skipping 0 and negative IDs when the
// counter wraps (after 2^31 connections).
func (w *World) newPID() int32 {
	for {
		pid := w.nextPID.Add(1)
		if pid > 0 {
			return pid
		}
		w.nextPID.CompareAndSwap(pid, 0)
	}
}

// enter asks scene s to take p at pos (nil: its spawn area) on its next
// tick.
func (w *World) enter(s *Scene, p *Player, pos *Position, changed bool) error {
	j := room.Join{Player: room.Player{ID: memberID(p.PID)}, Conn: p.Conn, Meta: &arrival{p: p, pos: pos, changed: changed}}
	return w.rooms.Join(s.id, j, func(err error) {
		if err != nil { // closed before the tick, or the scene ended
			w.forget(p)
		}
	})
}

// refuseEntry tells a connection its scene would not take it, and closes
// it: a player with no scene has nothing to do here.
func (w *World) refuseEntry(p *Player, err error) {
	reason := "busy"
	switch {
	case errors.Is(err, room.ErrRoomFull):
		reason = "scene_full"
	case errors.Is(err, room.ErrRateLimited):
		reason = "rate_limited"
	case errors.Is(err, room.ErrClosed):
		reason = "shutting_down"
	}
	w.met.refused.WithLabelValues(reason).Inc()
	znet.LogLimited(p.Conn, w.log, "mmo_entry_refused", slog.LevelWarn, "game: a scene refused a player", "pid", p.PID, "err", err)
	_ = p.Conn.SendMsg(w.id(mmopb.MsgMmoError), errorPayload(codeOf(err), mmopb.MsgSyncPID, err.Error()))
	if k, ok := p.Conn.(interface{ Kick(string) error }); ok {
		_ = k.Kick("the scene is not taking players")
		return
	}
	p.Conn.Stop()
}

// placed records that scene s applied p's join.
func (w *World) placed(p *Player) {
	p.at.Store(p.scene)
	w.mu.Lock()
	w.players[p.PID] = p
	w.mu.Unlock()
	w.met.entered.Inc()
}

// forget takes p out of the index and saves it, once it has left the
// world (its connection closed) or its join failed. Call it on the tick of
// the scene that had p last.
func (w *World) forget(p *Player) {
	if p.gone {
		return
	}
	p.gone = true
	w.mu.Lock()
	if w.players[p.PID] == p {
		delete(w.players, p.PID)
	}
	w.mu.Unlock()
	w.save(p)
}

// playerOf is the player of a connection, or nil.
func playerOf(conn ziface.IConnection) *Player {
	v, ok := conn.GetProperty(propPlayer)
	if !ok {
		return nil
	}
	p, _ := v.(*Player)
	return p
}

// Mount mounts the world on a server, with srv.Mount("mmo", w): its
// routes (2 chat, 3 move, 15 scene change, and the application's Handle
// IDs; all but the application's moved by MsgIDBase), the account
// service's login and logout on the MMO's IDs (10-14, moved too), its
// connect hook (a player enters the first scene), and the room runtime's
// disconnect and shutdown hooks (a player leaves, saved; at shutdown every
// scene saves its players).
func (w *World) Mount(m *znet.Mount) error {
	if !w.mounted.CompareAndSwap(false, true) {
		return errors.New("game: the MMO world is mounted already")
	}
	if srv := m.Server(); srv != nil {
		w.pack.Store(srv.DataPack())
	}
	ids := []uint32{w.id(mmopb.MsgTalk), w.id(mmopb.MsgMove), w.id(mmopb.MsgChangeScene)}
	for id := range w.hooks.Load().handlers {
		ids = append(ids, id)
	}
	for _, id := range ids {
		if err := m.Handle(id, w.route(id)); err != nil {
			return err
		}
	}
	m.OnConnect(w.OnConnect)
	if err := w.accounts.MountProtocol(m, w.protocol(), nil); err != nil {
		return err
	}
	return w.rooms.Mount(m)
}

// route is the router of one of the world's message IDs.
func (w *World) route(msgID uint32) func(ziface.IRequest) {
	switch msgID {
	case w.id(mmopb.MsgTalk):
		return w.handleTalk
	case w.id(mmopb.MsgMove):
		return w.handleMove
	case w.id(mmopb.MsgChangeScene):
		return w.handleChangeScene
	}
	return w.handleApp
}

// Close stops the scenes at once, without saving their players; Shutdown
// (through the server's shutdown hook) is the orderly way.
func (w *World) Close() error { return w.rooms.Close() }

// id is the wire ID of an MMO message: Zinx's ID moved by MsgIDBase.
func (w *World) id(protocolID uint32) uint32 { return protocolID + w.cfg.MsgIDBase }

// restoreMsgID is the request a login queues for its player's scene, so
// the saved position is applied in order with the player's moves. No
// route reaches it: Handle refuses it.
const restoreMsgID = math.MaxUint32
