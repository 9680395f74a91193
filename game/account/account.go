package account

import (
	"container/list"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/zinxgame/zinxgame/game/store"
)

// Accounts issues and checks the tokens players log in with.
// Implementations are safe for concurrent use: the Service calls them from
// the blocking pool of many connections at once.
type Accounts interface {
	// NewAccount creates an identity and returns it with its token.
	NewAccount(ctx context.Context, name string) (Identity, string, error)
	// Verify returns the identity a token stands for. A token that is not
	// valid (unknown, expired, forged, revoked) gives an error wrapping
	// ErrBadToken.
	Verify(ctx context.Context, token string) (Identity, error)
	// UpdateSession records where a player is (room, last frame) in its
	// session, for reconnection; accounts that keep no sessions ignore it.
	// It must not block for long: it is called from room ticks.
	UpdateSession(ctx context.Context, s store.Session) error
	// Revoke ends the identity's session (a Logout): its token is refused
	// from then on. Revoking what is already gone is not an error.
	Revoke(ctx context.Context, id Identity) error
}

// Identity is who a token stands for.
type Identity struct {
	PlayerID uint64
	// Session is the session behind the token; nil when the accounts keep
	// none.
	Session *store.Session
}

// ErrBadToken is wrapped by Accounts.Verify errors for tokens that must be
// refused.
var ErrBadToken = errors.New("game: bad token")

// The MemoryAccounts defaults: a token lives a day, as a signed token does
// (auth.DefaultTTL), and the book holds at most a million.
const (
	DefaultMemoryTTL    = 24 * time.Hour
	DefaultMemoryTokens = 1_000_000
)

// MemoryAccounts keeps tokens in memory: enough for the demos and tests;
// they die with the process. Signed tokens (game/account/auth) survive
// restarts. The book is bounded twice: a token is forgotten after its TTL
// (a timer sweeps expired tokens, so an idle server lets go of them too),
// and past the maximum the oldest token is dropped first. Safe for
// concurrent use.
type MemoryAccounts struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu     sync.Mutex
	tokens map[string]*list.Element // of *memToken
	byID   map[uint64]string        // each identity's token, for Revoke
	order  *list.List               // oldest first; with one TTL, also by expiry
	peak   int                      // the most tokens held since the maps were last rebuilt
	sweep  *time.Timer              // armed while tokens are held
	next   uint64
}

type memToken struct {
	token   string
	id      uint64
	expires time.Time
}

// NewMemoryAccounts returns an empty account book with the default TTL
// and bound (DefaultMemoryTTL, DefaultMemoryTokens).
func NewMemoryAccounts() *MemoryAccounts {
	return NewMemoryAccountsTTL(DefaultMemoryTTL, DefaultMemoryTokens)
}

// NewMemoryAccountsTTL returns an empty account book whose tokens are
// forgotten ttl after they were issued, holding at most max of them
// (oldest dropped first). ttl <= 0 and max <= 0 mean the defaults.
func NewMemoryAccountsTTL(ttl time.Duration, max int) *MemoryAccounts {
	if ttl <= 0 {
		ttl = DefaultMemoryTTL
	}
	if max <= 0 {
		max = DefaultMemoryTokens
	}
	return &MemoryAccounts{
		ttl: ttl, max: max, now: time.Now,
		tokens: make(map[string]*list.Element),
		byID:   make(map[uint64]string),
		order:  list.New(),
		next:   uint64(time.Now().UnixMilli()) << 16,
	}
}

// Len is the number of tokens held. Safe for concurrent use.
func (a *MemoryAccounts) Len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.tokens)
}

// NewAccount numbers a new identity and issues its token. Safe for
// concurrent use.
func (a *MemoryAccounts) NewAccount(_ context.Context, _ string) (Identity, string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	a.expireLocked(now)
	for len(a.tokens) >= a.max {
		a.dropLocked(a.order.Front())
	}
	a.next++
	t := newToken()
	a.tokens[t] = a.order.PushBack(&memToken{token: t, id: a.next, expires: now.Add(a.ttl)})
	a.byID[a.next] = t
	a.peak = max(a.peak, len(a.tokens))
	if a.sweep == nil {
		a.sweep = time.AfterFunc(a.ttl, a.sweepExpired)
	} else if len(a.tokens) == 1 {
		a.sweep.Reset(a.ttl)
	}
	return Identity{PlayerID: a.next}, t, nil
}

// Verify returns the identity of a token issued and neither expired,
// dropped nor revoked. Safe for concurrent use.
func (a *MemoryAccounts) Verify(_ context.Context, token string) (Identity, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.tokens[token]
	if !ok {
		return Identity{}, fmt.Errorf("%w: unknown token", ErrBadToken)
	}
	m := e.Value.(*memToken)
	if !a.now().Before(m.expires) {
		a.dropLocked(e)
		return Identity{}, fmt.Errorf("%w: unknown token", ErrBadToken)
	}
	return Identity{PlayerID: m.id}, nil
}

// Revoke forgets the identity's token, so a later Verify of it fails as
// an unknown token. Safe for concurrent use.
func (a *MemoryAccounts) Revoke(_ context.Context, id Identity) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t, ok := a.byID[id.PlayerID]; ok {
		a.dropLocked(a.tokens[t])
	}
	return nil
}

// UpdateSession does nothing: memory accounts keep no sessions.
func (a *MemoryAccounts) UpdateSession(context.Context, store.Session) error { return nil }

// sweepExpired is the timer's work: forget the expired tokens, and come
// back when the next one expires.
func (a *MemoryAccounts) sweepExpired() {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	a.expireLocked(now)
	if f := a.order.Front(); f != nil {
		// At least a millisecond: a clock that does not move (tests) must
		// not spin the timer.
		a.sweep.Reset(max(f.Value.(*memToken).expires.Sub(now), time.Millisecond))
	}
}

// expireLocked drops the expired tokens at the front (the oldest).
func (a *MemoryAccounts) expireLocked(now time.Time) {
	for f := a.order.Front(); f != nil && !now.Before(f.Value.(*memToken).expires); f = a.order.Front() {
		a.dropLocked(f)
	}
}

func (a *MemoryAccounts) dropLocked(e *list.Element) {
	m := a.order.Remove(e).(*memToken)
	delete(a.tokens, m.token)
	if a.byID[m.id] == m.token {
		delete(a.byID, m.id)
	}
	// Go maps keep their buckets after deletes: once most tokens are gone,
	// rebuild the maps so their memory goes too.
	if n := len(a.tokens); a.peak > shrinkMin && n < a.peak/4 {
		a.tokens = shrink(a.tokens)
		a.byID = shrink(a.byID)
		a.peak = n
	}
}

// shrinkMin is the map size below which rebuilding is not worth it.
const shrinkMin = 64

// shrink copies m into a map sized for what it holds now.
func shrink[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
