package account

import (
	"sync"
	"time"
)

// revokedSet remembers the sessions this service revoked at a Logout, for
// revokedKeep, so that a session write made afterwards from an older copy
// does not undo the revocation: a lockstep seat held for a player who
// logged out mid-match records, when the connection drops, where the
// player would resume, and that copy predates the Logout. The copy is
// written revoked instead. Bounded by maxRevokedKept entries (the oldest
// go first); a held seat records its session within a tick of the drop,
// well inside either bound.
type revokedSet struct {
	mu    sync.Mutex
	at    map[string]time.Time
	order []string // oldest first
}

const (
	revokedKeep    = 10 * time.Minute
	maxRevokedKept = 100_000
)

// add records id as revoked at now. Safe for concurrent use.
func (r *revokedSet) add(id string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.at == nil {
		r.at = make(map[string]time.Time)
	}
	for len(r.order) > 0 && (len(r.order) >= maxRevokedKept || now.Sub(r.at[r.order[0]]) > revokedKeep) {
		delete(r.at, r.order[0])
		r.order[0] = ""
		r.order = r.order[1:]
	}
	if _, ok := r.at[id]; !ok {
		r.order = append(r.order, id)
	}
	r.at[id] = now
}

// has reports whether id was revoked within revokedKeep of now. Safe for
// concurrent use.
func (r *revokedSet) has(id string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.at[id]
	return ok && now.Sub(at) <= revokedKeep
}
