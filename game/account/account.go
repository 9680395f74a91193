package account

import (
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

// MemoryAccounts keeps tokens in memory: enough for the demos and tests;
// they die with the process. Signed tokens (game/account/auth) survive restarts.
type MemoryAccounts struct {
	mu     sync.Mutex
	tokens map[string]uint64
	next   uint64
}

// NewMemoryAccounts returns an empty account book.
func NewMemoryAccounts() *MemoryAccounts {
	return &MemoryAccounts{tokens: make(map[string]uint64), next: uint64(time.Now().UnixMilli()) << 16}
}

func (a *MemoryAccounts) NewAccount(_ context.Context, _ string) (Identity, string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.next++
	t := newToken()
	a.tokens[t] = a.next
	return Identity{PlayerID: a.next}, t, nil
}

func (a *MemoryAccounts) Verify(_ context.Context, token string) (Identity, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	id, ok := a.tokens[token]
	if !ok {
		return Identity{}, fmt.Errorf("%w: unknown token", ErrBadToken)
	}
	return Identity{PlayerID: id}, nil
}

// UpdateSession does nothing: memory accounts keep no sessions.
func (a *MemoryAccounts) UpdateSession(context.Context, store.Session) error { return nil }

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
