package auth

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Verify's errors; each wraps the underlying cause, so errors.Is also
// matches the jwt package's errors (jwt.ErrTokenSignatureInvalid, ...).
var (
	// ErrTokenInvalid: not a token this server issued, or one it cannot
	// read: malformed, bad signature, an algorithm other than HS256 (none
	// included), another issuer, a missing or bad subject or ID, or an
	// issue time in the future.
	ErrTokenInvalid = errors.New("auth: invalid token")
	// ErrTokenExpired: a token this server signed, past its expiry plus
	// Leeway. Only a correctly signed token gets this answer, so it tells a
	// forger nothing.
	ErrTokenExpired = errors.New("auth: token expired")
	// ErrTokenRevoked: a valid token whose session the Revoker reports
	// revoked (or, with SessionRevoker, unknown).
	ErrTokenRevoked = errors.New("auth: token revoked")
)

// Claims is what a verified token says.
type Claims struct {
	PlayerID  uint64
	SessionID string // the jti, the store.Session ID
	ExpiresAt time.Time
}

// Tokens issues and verifies session tokens. Safe for concurrent use.
type Tokens struct {
	secret  []byte
	random  bool
	issuer  string
	ttl     time.Duration
	revoker Revoker
	now     func() time.Time
	parser  *jwt.Parser
}

// NewTokens returns a signer and verifier for cfg. revoker may be nil: then
// no token is treated as revoked (use SessionRevoker with a session store).
// now may be nil for time.Now. When cfg has no secret outside production a
// random one is generated: check RandomSecret and log RandomSecretWarning.
func NewTokens(cfg Config, revoker Revoker, now func() time.Time) (*Tokens, error) {
	secret, random, err := cfg.SecretOrRandom()
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	t := &Tokens{secret: secret, random: random, issuer: cfg.issuer(), ttl: cfg.ttl(), revoker: revoker, now: now}
	// A jwt.Parser holds only its options, so one serves every Verify.
	t.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(t.issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(now),
	)
	return t, nil
}

// RandomSecret reports whether the secret is a random per-process one (no
// secret configured outside production): tokens will not survive a restart
// or be accepted by other nodes.
func (t *Tokens) RandomSecret() bool { return t.random }

// Issue signs a token for playerID's session sessionID, valid for the
// configured TTL. expires is the token's exp (whole seconds, as JWT
// carries it); store the session until then.
func (t *Tokens) Issue(playerID uint64, sessionID string) (token string, expires time.Time, err error) {
	if sessionID == "" {
		return "", time.Time{}, errors.New("auth: empty session ID")
	}
	now := t.now().Truncate(time.Second)
	expires = now.Add(t.ttl).Truncate(time.Second)
	claims := jwt.RegisteredClaims{
		Issuer:    t.issuer,
		Subject:   strconv.FormatUint(playerID, 10),
		ID:        sessionID,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(expires),
	}
	token, err = jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: signing token: %w", err)
	}
	return token, expires, nil
}

// Verify checks token and returns its claims, or an error that
// errors.Is one of ErrTokenInvalid, ErrTokenExpired, ErrTokenRevoked, or,
// when the Revoker fails, the Revoker's error (the token's fate unknown:
// refuse it, but as a server-side failure).
func (t *Tokens) Verify(ctx context.Context, token string) (Claims, error) {
	var rc jwt.RegisteredClaims
	if _, err := t.parser.ParseWithClaims(token, &rc, t.key); err != nil {
		// The parser checks claims only once the signature holds, so an
		// expired verdict is never given to a forged token.
		if errors.Is(err, jwt.ErrTokenExpired) {
			return Claims{}, fmt.Errorf("%w: %w", ErrTokenExpired, err)
		}
		return Claims{}, fmt.Errorf("%w: %w", ErrTokenInvalid, err)
	}
	player, err := strconv.ParseUint(rc.Subject, 10, 64)
	if err != nil || strconv.FormatUint(player, 10) != rc.Subject {
		return Claims{}, fmt.Errorf("%w: subject %q is not a player ID", ErrTokenInvalid, rc.Subject)
	}
	if rc.ID == "" {
		return Claims{}, fmt.Errorf("%w: no session ID (jti)", ErrTokenInvalid)
	}
	if t.revoker != nil {
		revoked, err := t.revoker.Revoked(ctx, rc.ID)
		if err != nil {
			return Claims{}, fmt.Errorf("auth: checking whether session %q is revoked: %w", rc.ID, err)
		}
		if revoked {
			return Claims{}, fmt.Errorf("%w: session %q", ErrTokenRevoked, rc.ID)
		}
	}
	return Claims{PlayerID: player, SessionID: rc.ID, ExpiresAt: rc.ExpiresAt.Time}, nil
}

// key hands the parser the secret. WithValidMethods already refused every
// algorithm but HS256; checking the method type again costs nothing and
// keeps the HMAC key from ever meeting another algorithm should the parser
// options change.
func (t *Tokens) key(tok *jwt.Token) (any, error) {
	if _, ok := tok.Method.(*jwt.SigningMethodHMAC); !ok || tok.Method.Alg() != jwt.SigningMethodHS256.Alg() {
		return nil, fmt.Errorf("unexpected signing method %v", tok.Header["alg"])
	}
	return t.secret, nil
}
