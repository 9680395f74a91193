package account

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

// Player is a logged-in identity bound to a connection.
type Player struct {
	ID   uint64
	Name string
	// Session is the session behind the token; nil when the accounts keep
	// none. The service replaces the pointer when the session changes
	// (UpdateSession) and never writes through it: treat it as read-only.
	Session *store.Session
}

// Protocol is the message IDs one product's login uses (lockstep:
// 1000/1001/1019 and 1022/1023 for Logout/LogoutAck; MMO: 10/11/12 and
// 13/14).
type Protocol struct{ Login, LoginAck, Error, Logout, LogoutAck uint32 }

// AckFunc fills a product's fields of a LoginAck (room_id, limits) before
// it is sent. It runs on the connection's worker (in order with the
// connection's messages), after the identity is bound.
type AckFunc func(c ziface.IConnection, p Player, ack *commonpb.LoginAck)

// LogoutReason says why a binding of a player to a connection ended.
type LogoutReason uint8

const (
	// Disconnected: the connection closed (the client left, or the server
	// cut it for another reason than those below).
	Disconnected LogoutReason = iota
	// LoggedOut: the client sent Logout; its session is revoked.
	LoggedOut
	// Replaced: the same identity logged in on a newer connection, and
	// this one was kicked for it.
	Replaced
	// TimedOut: the server closed the connection because it went silent
	// (znet's HeartbeatTimeout).
	TimedOut
)

func (r LogoutReason) String() string {
	switch r {
	case Disconnected:
		return "disconnected"
	case LoggedOut:
		return "logged_out"
	case Replaced:
		return "replaced"
	case TimedOut:
		return "timed_out"
	}
	return fmt.Sprintf("LogoutReason(%d)", uint8(r))
}

// KickReplaced is the reason an older connection is kicked with when its
// identity logs in on a newer one.
const KickReplaced = "logged in from another connection"

// Service is the one identity module every game module logs players in
// through: it answers Login and Logout on each product's IDs
// (MountProtocol), binds one identity to one connection, kicks the older
// connection of an identity that logs in again, closes connections that
// never log in (LoginTimeout), rations new identities per client IP, and
// tells the modules (OnLogin, OnLogout). It keeps a player only while it
// is bound to an open connection. Its methods are safe for concurrent use
// unless their comment says otherwise.
type Service struct {
	cfg      Config
	accounts Accounts
	log      *slog.Logger
	newIDs   *ipLimits // nil when NewIdentityRate is off
	revoked  revokedSet
	bans     playerBans    // bans.go
	recent   recentPlayers // who was playing, for maintenance (maintenance.go)

	mu      sync.RWMutex
	conns   map[ziface.IConnection]*conn
	players map[uint64]*conn
	peak    int // the most connections tracked since the maps were last rebuilt

	adminMu sync.Mutex
	adminOn map[*znet.Server]bool // servers whose admin listener has the endpoints (admin.go)

	hookMu  sync.Mutex
	hookSeq uint64
	logins  []hook[func(ziface.IConnection, Player, ziface.IConnection)]
	logouts []hook[func(ziface.IConnection, Player, LogoutReason)]
}

type hook[F any] struct {
	id uint64
	fn F
}

// conn is the service's record of one open connection.
type conn struct {
	c     ziface.IConnection
	proto Protocol // the protocol whose connect hook saw it first: its LoginTimeout Error's ID
	timer *time.Timer
	state connState
	// player is the bound identity (state bound or loggingOut).
	player Player
	ident  Identity
}

type connState uint8

const (
	fresh      connState = iota // not logged in: a Login may start
	loggingIn                   // a Login is running off the worker
	bound                       // logged in
	loggingOut                  // a Logout is revoking the session
	ended                       // replaced, logged out or timed out: no more Logins
)

// New returns a service over accounts (nil: NewMemoryAccounts) bounded by
// cfg, logging to log (nil: slog.Default()).
func New(cfg Config, accounts Accounts, log *slog.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	if accounts == nil {
		accounts = NewMemoryAccounts()
	}
	if log == nil {
		log = slog.Default()
	}
	s := &Service{cfg: cfg, accounts: accounts, log: log,
		conns: make(map[ziface.IConnection]*conn), players: make(map[uint64]*conn)}
	if cfg.NewIdentityRate > 0 {
		s.newIDs = newIPLimits(cfg.NewIdentityRate, cfg.NewIdentityBurst, cfg.MaxTrackedIPs)
	}
	return s, nil
}

// Accounts is the accounts the service logs players in with. Safe for
// concurrent use.
func (s *Service) Accounts() Accounts { return s.accounts }

// Config is the service's configuration, defaults filled in. Safe for
// concurrent use.
func (s *Service) Config() Config { return s.cfg }

// MountProtocol registers the login and logout routes at p's IDs plus the
// service's hooks (connect: arm LoginTimeout; disconnect: unbind), through
// m, so they are taken back with the module that mounts them, and, once
// per server, the operator endpoints (admin.go) on its admin listener. ack (may be
// nil) fills the product's fields of this protocol's LoginAck. Several
// products mount on one service with their own Protocols; the hooks dedupe
// per connection, so mounting twice costs nothing twice, and one
// connection logs in once, through whichever protocol it speaks first.
// Call it from a module's Mount, as Mount's methods are called.
func (s *Service) MountProtocol(m *znet.Mount, p Protocol, ack AckFunc) error {
	for _, r := range []struct {
		id uint32
		h  znet.HandlerFunc
	}{
		{p.Login, func(req ziface.IRequest) { s.handleLogin(req, p, ack) }},
		{p.Logout, func(req ziface.IRequest) { s.handleLogout(req, p) }},
	} {
		if err := m.Handle(r.id, r.h); err != nil {
			return err
		}
	}
	m.OnConnect(func(c ziface.IConnection) { s.connected(c, p) })
	m.OnDisconnect(s.disconnected)
	s.mountAdmin(m.Server())
	return nil
}

// PlayerOf is the player bound to c, false when c has not logged in (or
// its binding ended). Safe for concurrent use, from any router (the
// application's too).
func (s *Service) PlayerOf(c ziface.IConnection) (Player, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := s.conns[c]
	if st == nil || (st.state != bound && st.state != loggingOut) {
		return Player{}, false
	}
	return st.player, true
}

// Conn is the player's current connection, nil when offline. Safe for
// concurrent use.
func (s *Service) Conn(id uint64) ziface.IConnection {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if st := s.players[id]; st != nil {
		return st.c
	}
	return nil
}

// Online is the number of bound players. Safe for concurrent use.
func (s *Service) Online() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.players)
}

// OnLogin adds a hook run on the new connection's worker after LoginAck
// is sent; replaced is the older connection of the same identity (already
// being kicked, its OnLogout(Replaced) already run), or nil. Hooks run in
// the order added. Returns remove, which is idempotent. Safe for
// concurrent use.
func (s *Service) OnLogin(fn func(c ziface.IConnection, p Player, replaced ziface.IConnection)) (remove func()) {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	s.hookSeq++
	id := s.hookSeq
	s.logins = append(s.logins, hook[func(ziface.IConnection, Player, ziface.IConnection)]{id, fn})
	return func() {
		s.hookMu.Lock()
		defer s.hookMu.Unlock()
		s.logins = removeHook(s.logins, id)
	}
}

// OnLogout adds a hook run when a binding ends, with the reason: on the
// closing connection's disconnect hook (Disconnected, TimedOut), on the
// worker of the connection that logged out (LoggedOut), or on the worker
// of the newer connection (Replaced). It runs once per binding. Hooks run
// in the order added. Returns remove, which is idempotent. Safe for
// concurrent use.
func (s *Service) OnLogout(fn func(c ziface.IConnection, p Player, why LogoutReason)) (remove func()) {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	s.hookSeq++
	id := s.hookSeq
	s.logouts = append(s.logouts, hook[func(ziface.IConnection, Player, LogoutReason)]{id, fn})
	return func() {
		s.hookMu.Lock()
		defer s.hookMu.Unlock()
		s.logouts = removeHook(s.logouts, id)
	}
}

// removeHook returns hs without id, in a new slice: runs in progress keep
// the list they copied.
func removeHook[F any](hs []hook[F], id uint64) []hook[F] {
	out := make([]hook[F], 0, len(hs))
	for _, h := range hs {
		if h.id != id {
			out = append(out, h)
		}
	}
	return out
}

func (s *Service) runLogin(c ziface.IConnection, p Player, replaced ziface.IConnection) {
	s.hookMu.Lock()
	hs := s.logins
	s.hookMu.Unlock()
	for _, h := range hs {
		h.fn(c, p, replaced)
	}
}

func (s *Service) runLogout(c ziface.IConnection, p Player, why LogoutReason) {
	s.hookMu.Lock()
	hs := s.logouts
	s.hookMu.Unlock()
	for _, h := range hs {
		h.fn(c, p, why)
	}
}

// UpdateSession records where a player is (room, the match running in
// it, last frame; 0 for none) in its session, through
// Accounts.UpdateSession, when it changed; a player that is offline or has
// no session is skipped. It never blocks for long: it holds the service's
// lock only to compare and swap the session, and Accounts.UpdateSession
// must not block (the Redis store buffers). Called from room ticks; safe
// for concurrent use.
func (s *Service) UpdateSession(id uint64, room, match uint64, lastFrame uint32) {
	s.mu.Lock()
	st := s.players[id]
	if st == nil || st.player.Session == nil ||
		(st.player.Session.RoomID == room && st.player.Session.MatchID == match && st.player.Session.LastFrame == lastFrame) {
		s.mu.Unlock()
		return
	}
	se := *st.player.Session
	se.RoomID, se.MatchID, se.LastFrame = room, match, lastFrame
	st.player.Session = &se
	st.ident.Session = &se
	s.mu.Unlock()
	if err := s.accounts.UpdateSession(context.Background(), se); err != nil {
		s.log.Warn("account: recording a session failed", "player", id, "session", se.ID, "err", err)
	}
}

// SaveSession records se, with its room, match and last frame, whether or not its
// player is online: a seat held for a dropped player records where its
// player would resume. It never blocks for long (called from room ticks);
// a failure is logged. Safe for concurrent use.
func (s *Service) SaveSession(se store.Session) {
	if s.revoked.has(se.ID, time.Now()) {
		se.Revoked = true // a copy from before its Logout must not undo it
	}
	if err := s.accounts.UpdateSession(context.Background(), se); err != nil {
		s.log.Warn("account: recording a session failed", "player", se.PlayerID, "session", se.ID, "err", err)
	}
}

// connected is the connect hook: track c and arm its LoginTimeout.
func (s *Service) connected(c ziface.IConnection, p Protocol) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns[c] != nil {
		return // another product's hook saw it first
	}
	st := &conn{c: c, proto: p}
	if s.cfg.LoginTimeout > 0 {
		st.timer = time.AfterFunc(s.cfg.LoginTimeout, func() { s.loginTimedOut(st) })
	}
	s.trackLocked(st)
}

// trackLocked adds st to the connections; called with s.mu held.
func (s *Service) trackLocked(st *conn) {
	s.conns[st.c] = st
	s.peak = max(s.peak, len(s.conns))
}

// loginTimedOut is the LoginTimeout timer's work: a connection still not
// logged in is told why and closed.
func (s *Service) loginTimedOut(st *conn) {
	s.mu.Lock()
	if s.conns[st.c] != st || (st.state != fresh && st.state != loggingIn) {
		s.mu.Unlock()
		return
	}
	st.state = ended // a Login still running is not bound
	s.mu.Unlock()
	sendError(st.c, st.proto.Error, commonpb.ErrorCode_ERROR_LOGIN_TIMEOUT,
		fmt.Sprintf("not logged in within %v", s.cfg.LoginTimeout), st.proto.Login)
	st.c.Stop()
}

// disconnected is the disconnect hook: forget c, and end its binding.
func (s *Service) disconnected(c ziface.IConnection) {
	s.mu.Lock()
	st := s.conns[c]
	if st == nil {
		s.mu.Unlock()
		return // another product's hook did it
	}
	delete(s.conns, c)
	if st.timer != nil {
		st.timer.Stop()
	}
	wasBound := (st.state == bound || st.state == loggingOut) && s.players[st.player.ID] == st
	if wasBound {
		delete(s.players, st.player.ID)
	}
	st.state = ended
	s.shrinkLocked()
	s.mu.Unlock()
	if wasBound {
		if on, _ := maintenance(c); on {
			s.recent.add(st.player.ID, time.Now()) // it may come back (maintenance.go)
		}
		why := Disconnected
		if znet.TimedOut(c) {
			why = TimedOut
		}
		s.runLogout(c, st.player, why)
	}
}

// shrinkLocked rebuilds the maps once most of what they held is gone: Go
// maps keep their buckets after deletes.
func (s *Service) shrinkLocked() {
	if n := len(s.conns); s.peak > shrinkMin && n < s.peak/4 {
		s.conns = shrink(s.conns)
		s.players = shrink(s.players)
		s.peak = n
	}
}
