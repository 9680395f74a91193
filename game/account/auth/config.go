// Package auth issues and verifies the session tokens players present to
// log in again and to reconnect: JWTs signed with HMAC-SHA256 (HS256) under
// a server secret, carrying the player ID (sub), the session ID (jti, the
// key of a store.Session), the issue and expiry times and the issuer.
//
// Verification pins the algorithm to HS256, so "alg: none" tokens and
// tokens labelled with another algorithm (the RS256/HS256 key-confusion
// trick) are refused before any key is used; then it checks the issuer and
// the expiry, with Leeway for clocks a little apart between nodes; then it
// asks a Revoker whether the session was revoked. Failures are one of three
// errors a server maps to protocol error codes: ErrTokenInvalid,
// ErrTokenExpired, ErrTokenRevoked.
//
// The package does not import package store, so that it stands alone; the
// SessionRevoker adapter takes a store.SessionStore through a small generic
// interface instead.
package auth

import (
	"crypto/rand"
	"errors"
	"fmt"
	"time"
)

const (
	// MinSecretLen is the shortest secret accepted: 32 bytes, HS256's key
	// size (RFC 7518 §3.2 requires a key at least as long as the hash).
	MinSecretLen = 32
	// DefaultTTL is a token's lifetime when Config.TTL is zero.
	DefaultTTL = 24 * time.Hour
	// DefaultIssuer is the iss claim when Config.Issuer is empty.
	DefaultIssuer = "zinxgame"
	// Leeway is how far past its expiry (or before its issue time) a token
	// is still accepted, for nodes whose clocks differ a little.
	Leeway = 5 * time.Second
)

// ErrNoSecret is Validate's error for production without a secret.
var ErrNoSecret = errors.New("auth: no token secret configured; production mode requires one")

// RandomSecretWarning is the message to log, loudly, when no secret was
// configured outside production and a random one is in use
// (SecretOrRandom's generated, Tokens.RandomSecret).
const RandomSecretWarning = "auth: no token secret configured: using a random per-process secret; " +
	"tokens will not survive a restart and other nodes will refuse them (set a secret, required in production)"

// Config configures token signing.
type Config struct {
	// Secret is the HMAC key, at least MinSecretLen bytes. Every node that
	// verifies a token needs the one that signed it. Empty is an error in
	// production and means a random per-process secret otherwise.
	Secret string
	// TTL is how long a token is valid; 0 means DefaultTTL.
	TTL time.Duration
	// Issuer is the iss claim tokens carry and must carry to be accepted;
	// empty means DefaultIssuer.
	Issuer string
	// Production refuses to start without a Secret.
	Production bool
}

// Validate reports a configuration that NewTokens would refuse.
func (c Config) Validate() error {
	switch {
	case c.Secret == "" && c.Production:
		return ErrNoSecret
	case c.Secret != "" && len(c.Secret) < MinSecretLen:
		return fmt.Errorf("auth: token secret is %d bytes; it must be at least %d", len(c.Secret), MinSecretLen)
	case c.TTL < 0:
		return fmt.Errorf("auth: negative token TTL %v", c.TTL)
	}
	return nil
}

// SecretOrRandom validates c and returns the secret to sign with: the
// configured one, or, outside production when none is set, MinSecretLen
// random bytes with generated true, which the caller should report with
// RandomSecretWarning.
func (c Config) SecretOrRandom() (secret []byte, generated bool, err error) {
	if err := c.Validate(); err != nil {
		return nil, false, err
	}
	if c.Secret != "" {
		return []byte(c.Secret), false, nil
	}
	secret = make([]byte, MinSecretLen)
	if _, err := rand.Read(secret); err != nil {
		return nil, false, fmt.Errorf("auth: generating a random secret: %w", err)
	}
	return secret, true, nil
}

func (c Config) ttl() time.Duration {
	if c.TTL == 0 {
		return DefaultTTL
	}
	return c.TTL
}

func (c Config) issuer() string {
	if c.Issuer == "" {
		return DefaultIssuer
	}
	return c.Issuer
}
