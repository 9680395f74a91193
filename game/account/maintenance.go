package account

import (
	"container/list"
	"sync"
	"time"

	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

// Maintenance (znet's Server.SetMaintenance, POST /admin/maintenance):
// new logins are refused, with a "maintenance" notice naming the
// operator's reason and Error ERROR_UNAVAILABLE, then the close. Players
// already logged in keep playing, and a player who was playing may come
// back, so running matches can finish: a Login with a token is let
// through when its identity is logged in now (a replacing connection),
// dropped from this service during the maintenance (within recentKeep),
// or its session holds a room (a seat: TokenAccounts record it, across a
// restart too). Logins without a token (new identities) and tokens of
// players who were not playing are refused; so is a player who dropped
// before the maintenance began and holds no seat. Players are remembered
// only while maintenance is on, so the rest of the time a forgotten
// identity leaves nothing behind.

const (
	// recentKeep is how long a player who dropped counts as playing for
	// maintenance: well past any reconnect grace.
	recentKeep = 15 * time.Minute
	// maxRecentKept bounds the players remembered (the oldest go first).
	maxRecentKept = 100_000
)

// recentPlayers remembers the players who were logged in lately, oldest
// first. Safe for concurrent use.
type recentPlayers struct {
	mu    sync.Mutex
	at    map[uint64]*list.Element // of recentPlayer
	order list.List
}

type recentPlayer struct {
	id uint64
	at time.Time
}

func (r *recentPlayers) add(id uint64, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.at == nil {
		r.at = make(map[uint64]*list.Element)
	}
	for f := r.order.Front(); f != nil && (r.order.Len() >= maxRecentKept || now.Sub(f.Value.(recentPlayer).at) > recentKeep); f = r.order.Front() {
		delete(r.at, r.order.Remove(f).(recentPlayer).id)
	}
	if e, ok := r.at[id]; ok {
		e.Value = recentPlayer{id, now}
		r.order.MoveToBack(e)
		return
	}
	r.at[id] = r.order.PushBack(recentPlayer{id, now})
}

func (r *recentPlayers) has(id uint64, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.at[id]
	return ok && now.Sub(e.Value.(recentPlayer).at) <= recentKeep
}

// maintenance reports whether c's server is in maintenance, and why.
func maintenance(c ziface.IConnection) (bool, string) {
	if srv := znet.ServerOf(c); srv != nil {
		return srv.Maintenance()
	}
	return false, ""
}

// playing reports whether the identity counts as playing for maintenance.
func (s *Service) playing(ident Identity, now time.Time) bool {
	if ident.Session != nil && ident.Session.RoomID != 0 {
		return true
	}
	if s.Conn(ident.PlayerID) != nil {
		return true
	}
	return s.recent.has(ident.PlayerID, now)
}

// refuseMaintenance refuses a Login in maintenance: the notice, the
// Error, the close.
func (s *Service) refuseMaintenance(c ziface.IConnection, p Protocol, reason string) {
	msg := "the server is in maintenance"
	if reason != "" {
		msg += ": " + reason
	}
	znet.LogLimited(c, s.log, "login_maintenance", 0, "account: login refused: maintenance")
	sendNotice(c, znet.Notice{Code: znet.NoticeMaintenance, Reason: msg})
	sendError(c, p.Error, commonpb.ErrorCode_ERROR_UNAVAILABLE, msg, p.Login)
	c.Stop()
}
