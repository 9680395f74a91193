package auth_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/zinxgame/zinxgame/game/account/auth"
	"github.com/zinxgame/zinxgame/game/store"
)

const secret = "0123456789abcdef0123456789abcdef" // 32 bytes

var ctx = context.Background()

// fakeClock is a clock the test sets.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.ns.Store(t.UnixNano())
	return c
}
func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func newTokens(t *testing.T, cfg auth.Config, r auth.Revoker, now func() time.Time) *auth.Tokens {
	t.Helper()
	tk, err := auth.NewTokens(cfg, r, now)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func issue(t *testing.T, tk *auth.Tokens, player uint64, session string) (string, time.Time) {
	t.Helper()
	tok, exp, err := tk.Issue(player, session)
	if err != nil {
		t.Fatal(err)
	}
	return tok, exp
}

// wantErr checks that err is target and none of the other verdicts.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v, want %v", what, err, target)
	}
	for _, other := range []error{auth.ErrTokenInvalid, auth.ErrTokenExpired, auth.ErrTokenRevoked} {
		if other != target && errors.Is(err, other) {
			t.Fatalf("%s: err = %v is also %v", what, err, other)
		}
	}
}

// b64 is JWT's base64url without padding.
func b64(v any) string {
	var b []byte
	switch v := v.(type) {
	case []byte:
		b = v
	default:
		b, _ = json.Marshal(v)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func validClaims(at time.Time) map[string]any {
	return map[string]any{
		"iss": auth.DefaultIssuer, "sub": "42", "jti": "s1",
		"iat": at.Unix(), "exp": at.Add(time.Hour).Unix(),
	}
}

// signHS256 signs arbitrary claims with the server's secret, as a server
// with the secret but a bug (or another service sharing it) would.
func signHS256(t *testing.T, claims map[string]any) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(claims)).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestValid(t *testing.T) {
	at := time.Date(2026, 6, 1, 12, 0, 0, 300_000_000, time.UTC)
	clk := newFakeClock(at)
	tk := newTokens(t, auth.Config{Secret: secret, TTL: time.Hour}, nil, clk.now)
	if tk.RandomSecret() {
		t.Fatal("RandomSecret with a configured secret")
	}
	tok, exp := issue(t, tk, 1<<63+5, "sess-1")
	if want := at.Truncate(time.Second).Add(time.Hour); !exp.Equal(want) {
		t.Fatalf("expires %v, want %v", exp, want)
	}
	clk.advance(59 * time.Minute)
	c, err := tk.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.PlayerID != 1<<63+5 || c.SessionID != "sess-1" || !c.ExpiresAt.Equal(exp) {
		t.Fatalf("claims %+v", c)
	}

	// The claims on the wire are the documented ones.
	var raw map[string]any
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if err := json.Unmarshal(payload, &raw); err != nil {
		t.Fatal(err)
	}
	if raw["sub"] != "9223372036854775813" || raw["jti"] != "sess-1" || raw["iss"] != auth.DefaultIssuer ||
		raw["iat"] != float64(at.Unix()) || raw["exp"] != float64(exp.Unix()) {
		t.Fatalf("claims on the wire: %v", raw)
	}
	header, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if !strings.Contains(string(header), `"alg":"HS256"`) {
		t.Fatalf("header %s", header)
	}
}

// Expired tokens are refused past exp + Leeway, and only then.
func TestExpired(t *testing.T) {
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	clk := newFakeClock(at)
	tk := newTokens(t, auth.Config{Secret: secret, TTL: time.Minute}, nil, clk.now)
	tok, exp := issue(t, tk, 7, "s")

	clk.ns.Store(exp.Add(auth.Leeway - time.Second).UnixNano())
	if _, err := tk.Verify(ctx, tok); err != nil {
		t.Fatalf("within the leeway: %v", err)
	}
	clk.ns.Store(exp.Add(auth.Leeway + time.Second).UnixNano())
	_, err := tk.Verify(ctx, tok)
	wantErr(t, "expired", err, auth.ErrTokenExpired)
	if !errors.Is(err, jwt.ErrTokenExpired) {
		t.Fatalf("the jwt cause is not wrapped: %v", err)
	}
}

// Tokens issued with a future iat (beyond the leeway) are not ours to take.
func TestIssuedInFuture(t *testing.T) {
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	tk := newTokens(t, auth.Config{Secret: secret}, nil, func() time.Time { return at })
	c := validClaims(at)
	c["iat"] = at.Add(time.Minute).Unix()
	_, err := tk.Verify(ctx, signHS256(t, c))
	wantErr(t, "future iat", err, auth.ErrTokenInvalid)
}

func TestWrongSignature(t *testing.T) {
	other := newTokens(t, auth.Config{Secret: strings.Repeat("x", 32)}, nil, nil)
	tk := newTokens(t, auth.Config{Secret: secret}, nil, nil)
	tok, _ := issue(t, other, 1, "s")
	_, err := tk.Verify(ctx, tok)
	wantErr(t, "other secret", err, auth.ErrTokenInvalid)
	if !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
		t.Fatalf("the jwt cause is not wrapped: %v", err)
	}

	// Even expired, a token with a bad signature is invalid, not expired.
	old := newTokens(t, auth.Config{Secret: strings.Repeat("x", 32)}, nil,
		func() time.Time { return time.Now().Add(-48 * time.Hour) })
	tok, _ = issue(t, old, 1, "s")
	_, err = tk.Verify(ctx, tok)
	wantErr(t, "expired, other secret", err, auth.ErrTokenInvalid)
}

// Only HS256 is accepted: "none", other HMAC sizes signed with our very
// secret, and an RS256 label over an HMAC signature (key confusion) are
// refused.
func TestWrongAlgorithm(t *testing.T) {
	now := time.Now()
	tk := newTokens(t, auth.Config{Secret: secret}, nil, nil)
	claims := b64(validClaims(now))

	hmacSigned := func(header map[string]any) string {
		signing := b64(header) + "." + claims
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(signing))
		return signing + "." + b64(m.Sum(nil))
	}
	hs512, err := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims(validClaims(now))).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	hs384, err := jwt.NewWithClaims(jwt.SigningMethodHS384, jwt.MapClaims(validClaims(now))).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{
		"alg none":             b64(map[string]any{"alg": "none", "typ": "JWT"}) + "." + claims + ".",
		"alg None":             b64(map[string]any{"alg": "None", "typ": "JWT"}) + "." + claims + ".",
		"no alg":               hmacSigned(map[string]any{"typ": "JWT"}),
		"unknown alg":          hmacSigned(map[string]any{"alg": "XS256", "typ": "JWT"}),
		"RS256 label":          hmacSigned(map[string]any{"alg": "RS256", "typ": "JWT"}),
		"HS512 with our key":   hs512,
		"HS384 with our key":   hs384,
		"HS256 (control case)": hmacSigned(map[string]any{"alg": "HS256", "typ": "JWT"}),
	} {
		_, err := tk.Verify(ctx, tok)
		if name == "HS256 (control case)" {
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			continue
		}
		wantErr(t, name, err, auth.ErrTokenInvalid)
	}
}

func TestTampered(t *testing.T) {
	tk := newTokens(t, auth.Config{Secret: secret}, nil, nil)
	tok, _ := issue(t, tk, 42, "s1")
	parts := strings.Split(tok, ".")

	var c map[string]any
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	c["sub"] = "43"
	otherPlayer := parts[0] + "." + b64(c) + "." + parts[2]
	c["sub"] = "42"
	c["exp"] = c["exp"].(float64) + 3600
	longer := parts[0] + "." + b64(c) + "." + parts[2]
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[0] ^= 1
	badSig := parts[0] + "." + parts[1] + "." + b64(sig)

	for name, tok := range map[string]string{
		"other player":    otherPlayer,
		"longer life":     longer,
		"flipped sig bit": badSig,
		"no signature":    parts[0] + "." + parts[1] + ".",
		"two parts":       parts[0] + "." + parts[1],
		"empty":           "",
		"garbage":         "not.a.token",
	} {
		_, err := tk.Verify(ctx, tok)
		wantErr(t, name, err, auth.ErrTokenInvalid)
	}
}

// Correctly signed tokens with claims this server would never issue.
func TestBadClaims(t *testing.T) {
	now := time.Now()
	tk := newTokens(t, auth.Config{Secret: secret}, nil, nil)
	for name, edit := range map[string]func(map[string]any){
		"other issuer": func(c map[string]any) { c["iss"] = "someone-else" },
		"no issuer":    func(c map[string]any) { delete(c, "iss") },
		"no expiry":    func(c map[string]any) { delete(c, "exp") },
		"no subject":   func(c map[string]any) { delete(c, "sub") },
		"text subject": func(c map[string]any) { c["sub"] = "alice" },
		"negative":     func(c map[string]any) { c["sub"] = "-1" },
		"plus sign":    func(c map[string]any) { c["sub"] = "+42" },
		"leading zero": func(c map[string]any) { c["sub"] = "042" },
		"too large":    func(c map[string]any) { c["sub"] = "18446744073709551616" },
		"no jti":       func(c map[string]any) { delete(c, "jti") },
	} {
		c := validClaims(now)
		edit(c)
		_, err := tk.Verify(ctx, signHS256(t, c))
		wantErr(t, name, err, auth.ErrTokenInvalid)
	}
	if _, err := tk.Verify(ctx, signHS256(t, validClaims(now))); err != nil {
		t.Fatalf("control case: %v", err)
	}

	// A configured issuer is the one required.
	custom := newTokens(t, auth.Config{Secret: secret, Issuer: "node-eu"}, nil, nil)
	tok, _ := issue(t, custom, 1, "s")
	_, err := tk.Verify(ctx, tok)
	wantErr(t, "issuer node-eu at a zinxgame verifier", err, auth.ErrTokenInvalid)
	if _, err := custom.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
}

// Revocation through store.MemoryStore: a revoked session's token is refused
// on replay, and so is a token whose session the store does not know.
func TestRevoked(t *testing.T) {
	var ms store.SessionStore = store.NewMemoryStore()
	tk := newTokens(t, auth.Config{Secret: secret}, auth.SessionRevoker(ms, func(s store.Session) bool { return s.Revoked }), nil)

	tok, exp := issue(t, tk, 9, "sess-9")
	if err := ms.PutSession(ctx, store.Session{ID: "sess-9", PlayerID: 9, ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	if c, err := tk.Verify(ctx, tok); err != nil || c.PlayerID != 9 {
		t.Fatalf("before revocation: %+v, %v", c, err)
	}
	if err := ms.RevokeSession(ctx, "sess-9"); err != nil {
		t.Fatal(err)
	}
	_, err := tk.Verify(ctx, tok)
	wantErr(t, "replay after revocation", err, auth.ErrTokenRevoked)

	unknown, _ := issue(t, tk, 10, "never-stored")
	_, err = tk.Verify(ctx, unknown)
	wantErr(t, "unknown session", err, auth.ErrTokenRevoked)

	// Without a Revoker nothing is revoked.
	plain := newTokens(t, auth.Config{Secret: secret}, nil, nil)
	if _, err := plain.Verify(ctx, tok); err != nil {
		t.Fatalf("nil Revoker: %v", err)
	}
}

// A Revoker that cannot answer refuses the token with its own error, not a
// verdict on the token.
func TestRevokerFailure(t *testing.T) {
	down := errors.New("store down")
	tk := newTokens(t, auth.Config{Secret: secret}, auth.RevokerFunc(func(context.Context, string) (bool, error) {
		return false, down
	}), nil)
	tok, _ := issue(t, tk, 1, "s")
	_, err := tk.Verify(ctx, tok)
	if !errors.Is(err, down) {
		t.Fatalf("err = %v, want the store's", err)
	}
	for _, verdict := range []error{auth.ErrTokenInvalid, auth.ErrTokenExpired, auth.ErrTokenRevoked} {
		if errors.Is(err, verdict) {
			t.Fatalf("err = %v is %v", err, verdict)
		}
	}
}

func TestIssueNeedsSessionID(t *testing.T) {
	tk := newTokens(t, auth.Config{Secret: secret}, nil, nil)
	if _, _, err := tk.Issue(1, ""); err == nil {
		t.Fatal("Issue with an empty session ID")
	}
}

func TestConfig(t *testing.T) {
	for name, cfg := range map[string]auth.Config{
		"production, no secret": {Production: true},
		"short secret":          {Secret: secret[:31]},
		"short, production":     {Secret: "hunter2", Production: true},
		"negative TTL":          {Secret: secret, TTL: -time.Second},
	} {
		if err := cfg.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", name, cfg)
		}
		if _, err := auth.NewTokens(cfg, nil, nil); err == nil {
			t.Errorf("%s: NewTokens accepted %+v", name, cfg)
		}
	}
	if err := (auth.Config{Production: true}).Validate(); !errors.Is(err, auth.ErrNoSecret) {
		t.Errorf("production without a secret: %v, want ErrNoSecret", err)
	}
	for _, cfg := range []auth.Config{{Secret: secret, Production: true}, {}, {Secret: secret + "more"}} {
		if err := cfg.Validate(); err != nil {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
}

// Outside production a missing secret becomes a random one, reported to
// the caller, different in every process (here: every call).
func TestRandomSecret(t *testing.T) {
	s1, gen, err := auth.Config{}.SecretOrRandom()
	if err != nil || !gen || len(s1) != auth.MinSecretLen {
		t.Fatalf("SecretOrRandom() = %d bytes, %v, %v", len(s1), gen, err)
	}
	s2, _, _ := auth.Config{}.SecretOrRandom()
	if string(s1) == string(s2) {
		t.Fatal("two random secrets are equal")
	}
	s, gen, err := auth.Config{Secret: secret}.SecretOrRandom()
	if err != nil || gen || string(s) != secret {
		t.Fatalf("configured secret: %q, %v, %v", s, gen, err)
	}

	a := newTokens(t, auth.Config{}, nil, nil)
	b := newTokens(t, auth.Config{}, nil, nil)
	if !a.RandomSecret() || !b.RandomSecret() {
		t.Fatal("RandomSecret false without a configured secret")
	}
	tok, _ := issue(t, a, 1, "s")
	if _, err := a.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	_, err = b.Verify(ctx, tok)
	wantErr(t, "another process's random secret", err, auth.ErrTokenInvalid)
}

// Issue and Verify run once per login or reconnection.
func BenchmarkIssue(b *testing.B) {
	tk, err := auth.NewTokens(auth.Config{Secret: secret}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := tk.Issue(1, "s"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	tk, err := auth.NewTokens(auth.Config{Secret: secret}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	tok, _, err := tk.Issue(1, "s")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := tk.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}
