package auth

import "context"

// Revoker tells whether the session a token names (its jti) was revoked.
// An error is a failure to find out (a store that is down), not a verdict.
type Revoker interface {
	Revoked(ctx context.Context, jti string) (bool, error)
}

// RevokerFunc adapts a function to Revoker.
type RevokerFunc func(ctx context.Context, jti string) (bool, error)

// Revoked calls f.
func (f RevokerFunc) Revoked(ctx context.Context, jti string) (bool, error) { return f(ctx, jti) }

// SessionGetter is the read side of a session store; store.SessionStore
// satisfies it with S = store.Session. It is generic so that this package
// need not import package store: auth stands alone, and account uses it.
type SessionGetter[S any] interface {
	GetSession(ctx context.Context, id string) (S, bool, error)
}

// SessionRevoker checks tokens against a session store: a token is revoked
// when its session is marked revoked (isRevoked reports that) and also when
// the store has no such session, expired or never created. A token whose
// session is unknown cannot be resumed, and accepting it would let a token
// outlive a store that lost or dropped its session; a server that issues
// tokens without storing sessions passes a nil Revoker to NewTokens instead.
//
// With a store.SessionStore:
//
//	auth.SessionRevoker(store, func(s store.Session) bool { return s.Revoked })
func SessionRevoker[S any](store SessionGetter[S], isRevoked func(S) bool) Revoker {
	return RevokerFunc(func(ctx context.Context, jti string) (bool, error) {
		s, ok, err := store.GetSession(ctx, jti)
		if err != nil {
			return false, err
		}
		return !ok || isRevoked(s), nil
	})
}
