package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/zinxgame/zinxgame/game/account/auth"
	"github.com/zinxgame/zinxgame/game/account/ids"
	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
)

// TokenAccounts issues signed session tokens (game/account/auth, JWT HS256) for
// identities numbered by a snowflake generator (game/account/ids), with a session
// per token in a SessionStore, so tokens survive a restart and can be
// revoked. Its Verify errors wrap ErrBadToken and the auth verdict
// (auth.ErrTokenExpired, auth.ErrTokenInvalid, auth.ErrTokenRevoked).
type TokenAccounts struct {
	tokens   *auth.Tokens
	ids      *ids.Generator
	sessions store.SessionStore
	node     uint32
}

// NewTokenAccounts returns accounts signed by tokens, numbered by gen,
// with sessions kept in sessions. Verify loads each token's session and
// checks it, so tokens need no Revoker (a SessionRevoker on the same store
// would only read the session twice).
func NewTokenAccounts(tokens *auth.Tokens, gen *ids.Generator, sessions store.SessionStore) *TokenAccounts {
	return &TokenAccounts{tokens: tokens, ids: gen, sessions: sessions, node: uint32(gen.Node())}
}

// NewAccount numbers a new player, opens a session for it and signs a
// token naming both. When the session store's sessions are Sync
// (store.ModeOf), it returns once the session is durable, or fails (the
// Service answers "login unavailable"). Safe for concurrent use.
func (a *TokenAccounts) NewAccount(ctx context.Context, _ string) (Identity, string, error) {
	id, err := a.ids.Next()
	if err != nil {
		return Identity{}, "", fmt.Errorf("game: numbering a new player: %w", err)
	}
	sid, err := a.ids.Next()
	if err != nil {
		return Identity{}, "", fmt.Errorf("game: numbering a session: %w", err)
	}
	session := strconv.FormatUint(sid, 10)
	token, expires, err := a.tokens.Issue(id, session)
	if err != nil {
		return Identity{}, "", err
	}
	se := store.Session{ID: session, PlayerID: id, Node: a.node, ExpiresAt: expires}
	if err := a.sessions.PutSession(ctx, se); err != nil {
		return Identity{}, "", fmt.Errorf("game: saving a session: %w", err)
	}
	// With Sync sessions, the token is handed out only once its session
	// is durable: a crash then cannot leave a player holding a token its
	// session is gone for.
	if store.ModeOf(a.sessions, store.KindSessions) == store.Sync {
		if err := store.WaitDurable(ctx, a.sessions); err != nil {
			return Identity{}, "", fmt.Errorf("game: saving a session: %w", err)
		}
	}
	return Identity{PlayerID: id, Session: &se}, token, nil
}

// UpdateSession writes s (the session store may buffer it, as Redis
// does). Safe for concurrent use.
func (a *TokenAccounts) UpdateSession(ctx context.Context, s store.Session) error {
	return a.sessions.PutSession(ctx, s)
}

// Verify checks a token's signature and expiry, then loads its session:
// a session that is gone (expired, dropped) or revoked refuses the token
// (auth.ErrTokenRevoked), and one held by another player than the token's
// subject refuses it as invalid (auth.ErrTokenInvalid: the token names a
// session it does not own). The session returned is the stored one, with
// its room and last frame, held now by this node. Safe for concurrent use.
func (a *TokenAccounts) Verify(ctx context.Context, token string) (Identity, error) {
	c, err := a.tokens.Verify(ctx, token)
	if err != nil {
		return Identity{}, a.refusal(err)
	}
	se, ok, err := a.sessions.GetSession(ctx, c.SessionID)
	switch {
	case err != nil:
		return Identity{}, fmt.Errorf("game: loading session %q: %w", c.SessionID, err) // not the token's fault
	case !ok:
		return Identity{}, fmt.Errorf("%w: %w: session %q is gone", ErrBadToken, auth.ErrTokenRevoked, c.SessionID)
	case se.Revoked:
		return Identity{}, fmt.Errorf("%w: %w: session %q", ErrBadToken, auth.ErrTokenRevoked, c.SessionID)
	case se.PlayerID != c.PlayerID:
		return Identity{}, fmt.Errorf("%w: %w: session %q belongs to another player", ErrBadToken, auth.ErrTokenInvalid, c.SessionID)
	}
	se.Node = a.node
	return Identity{PlayerID: c.PlayerID, Session: &se}, nil
}

// refusal wraps a token verdict in ErrBadToken; a failure to reach a
// Revoker stays a server-side failure.
func (a *TokenAccounts) refusal(err error) error {
	if errors.Is(err, auth.ErrTokenInvalid) || errors.Is(err, auth.ErrTokenExpired) || errors.Is(err, auth.ErrTokenRevoked) {
		return fmt.Errorf("%w: %w", ErrBadToken, err)
	}
	return err
}

// Revoke marks the identity's session revoked in the session store, so
// its token is refused with auth.ErrTokenRevoked until the session
// expires. An identity without a session has nothing to revoke. Safe for
// concurrent use.
func (a *TokenAccounts) Revoke(ctx context.Context, id Identity) error {
	if id.Session == nil {
		return nil
	}
	if err := a.sessions.RevokeSession(ctx, id.Session.ID); err != nil {
		return fmt.Errorf("game: revoking session %q: %w", id.Session.ID, err)
	}
	return nil
}

// BadTokenCode is the protocol error for a refused token.
func BadTokenCode(err error) commonpb.ErrorCode {
	switch {
	case errors.Is(err, auth.ErrTokenExpired):
		return commonpb.ErrorCode_ERROR_TOKEN_EXPIRED
	case errors.Is(err, auth.ErrTokenRevoked):
		return commonpb.ErrorCode_ERROR_TOKEN_REVOKED
	case errors.Is(err, ErrBadToken):
		return commonpb.ErrorCode_ERROR_BAD_TOKEN
	}
	return commonpb.ErrorCode_ERROR_UNAVAILABLE
}

// SetupAccounts builds what a server needs to log players in with signed
// tokens: the snowflake generator of node, tokens from cfg verified against
// sessions, and the accounts. It refuses a production config with no
// secret, and warns on log when it had to make up a per-process secret
// (tokens then die with the process).
func SetupAccounts(cfg auth.Config, node int, sessions store.SessionStore, log *slog.Logger) (*TokenAccounts, *ids.Generator, error) {
	gen, err := ids.New(node)
	if err != nil {
		return nil, nil, err
	}
	// No Revoker: TokenAccounts.Verify reads the session itself.
	tokens, err := auth.NewTokens(cfg, nil, nil)
	if err != nil {
		return nil, nil, err
	}
	if tokens.RandomSecret() {
		log.Warn(auth.RandomSecretWarning)
	}
	return NewTokenAccounts(tokens, gen, sessions), gen, nil
}
