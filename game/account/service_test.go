package account_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/game/account"
	"github.com/zinxgame/zinxgame/game/account/auth"
	"github.com/zinxgame/zinxgame/game/account/ids"
	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// The IDs the tests mount the service at, and an application route that
// answers with the name of the connection's player (PlayerOf).
var testProto = account.Protocol{Login: 100, LoginAck: 101, Error: 102, Logout: 103, LogoutAck: 104}

const whoAmI = 110

// counting wraps Accounts and counts the calls.
type counting struct {
	account.Accounts
	newAccounts, verifies, revokes atomic.Int64
}

func (c *counting) NewAccount(ctx context.Context, name string) (account.Identity, string, error) {
	c.newAccounts.Add(1)
	return c.Accounts.NewAccount(ctx, name)
}

func (c *counting) Verify(ctx context.Context, token string) (account.Identity, error) {
	c.verifies.Add(1)
	return c.Accounts.Verify(ctx, token)
}

func (c *counting) Revoke(ctx context.Context, id account.Identity) error {
	c.revokes.Add(1)
	return c.Accounts.Revoke(ctx, id)
}

type env struct {
	t   *testing.T
	svc *account.Service
	ts  *znettest.Server
	acc *counting
}

// start serves a Service over accounts (nil: memory) on a test server,
// with the whoAmI route.
func start(t *testing.T, cfg account.Config, accounts account.Accounts, zc zconf.Config, opts ...znettest.Option) *env {
	t.Helper()
	if accounts == nil {
		accounts = account.NewMemoryAccounts()
	}
	e := &env{t: t, acc: &counting{Accounts: accounts}}
	svc, err := account.New(cfg, e.acc, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	e.ts = znettest.NewServer(t, zc, func(srv *znet.Server) {
		if err := srv.Mount("account", znet.ModuleFunc(func(m *znet.Mount) error {
			return svc.MountProtocol(m, testProto, func(c ziface.IConnection, p account.Player, ack *commonpb.LoginAck) {
				ack.Limits = &commonpb.Limits{MaxNameBytes: 32}
			})
		})); err != nil {
			t.Fatal(err)
		}
		if err := srv.Handle(whoAmI, func(req ziface.IRequest) {
			p, ok := svc.PlayerOf(req.GetConnection())
			if !ok {
				_ = req.GetConnection().SendMsg(whoAmI, []byte("nobody"))
				return
			}
			_ = req.GetConnection().SendMsg(whoAmI, []byte(p.Name))
		}); err != nil {
			t.Fatal(err)
		}
	}, opts...)
	return e
}

func (e *env) login(p *znettest.Peer, name, token string) *commonpb.LoginAck {
	e.t.Helper()
	p.SendProto(testProto.Login, &commonpb.Login{Name: name, Token: token})
	var ack commonpb.LoginAck
	p.ExpectSkipProto(testProto.LoginAck, &ack)
	if ack.PlayerId == 0 || ack.Token == "" {
		e.t.Fatalf("LoginAck %v", &ack)
	}
	return &ack
}

func expectError(t *testing.T, p *znettest.Peer, want commonpb.ErrorCode) *commonpb.Error {
	t.Helper()
	var m commonpb.Error
	p.ExpectSkipProto(testProto.Error, &m)
	if m.Code != want {
		t.Fatalf("Error %v, want %v", &m, want)
	}
	return &m
}

// TestLoginBindsAndResumes: a Login with no token creates an identity and
// binds it (PlayerOf, from the application's router, names it; the
// AckFunc's fields are in the LoginAck); the token resumes the same
// identity on another connection, which kicks the first one, and the
// hooks run in order: OnLogout(Replaced) for the old connection, then
// OnLogin with replaced set.
func TestLoginBindsAndResumes(t *testing.T) {
	e := start(t, account.Config{}, nil, znettest.Config())
	var mu sync.Mutex
	var events []string
	e.svc.OnLogin(func(c ziface.IConnection, p account.Player, replaced ziface.IConnection) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, "login:"+p.Name+map[bool]string{true: ":replacing", false: ""}[replaced != nil])
	})
	e.svc.OnLogout(func(c ziface.IConnection, p account.Player, why account.LogoutReason) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, "logout:"+p.Name+":"+why.String())
	})

	a := e.ts.Dial()
	a.Send(whoAmI, nil)
	if got := string(a.Expect(whoAmI)); got != "nobody" {
		t.Fatalf("before login PlayerOf names %q", got)
	}
	ack := e.login(a, "ann", "")
	if ack.GetLimits().GetMaxNameBytes() != 32 {
		t.Fatalf("LoginAck %v lacks the AckFunc's limits", ack)
	}
	a.Send(whoAmI, nil)
	if got := string(a.ExpectSkip(whoAmI)); got != "ann" {
		t.Fatalf("after login PlayerOf names %q, want ann", got)
	}
	if e.svc.Online() != 1 || e.svc.Conn(ack.PlayerId) == nil {
		t.Fatalf("Online %d, Conn %v after one login", e.svc.Online(), e.svc.Conn(ack.PlayerId))
	}

	b := e.ts.Dial()
	ack2 := e.login(b, "ann", ack.Token)
	if ack2.PlayerId != ack.PlayerId {
		t.Fatalf("resumed as %d, want %d", ack2.PlayerId, ack.PlayerId)
	}
	if n := a.ExpectNotice(znet.NoticeKicked); n.Reason != account.KickReplaced {
		t.Fatalf("old connection kicked with %q", n.Reason)
	}
	a.ExpectClosed()
	b.Send(whoAmI, nil)
	if got := string(b.ExpectSkip(whoAmI)); got != "ann" {
		t.Fatalf("the newer connection's player is %q", got)
	}
	znettest.Eventually(t, func() bool { return e.svc.Online() == 1 && e.svc.Conn(ack.PlayerId) != nil }, "one binding")
	b.Close()
	znettest.Eventually(t, func() bool { return e.svc.Online() == 0 && e.svc.Conn(ack.PlayerId) == nil }, "the binding to end")
	mu.Lock()
	defer mu.Unlock()
	want := "login:ann logout:ann:replaced login:ann:replacing logout:ann:disconnected"
	if got := strings.Join(events, " "); got != want {
		t.Fatalf("hooks ran %q, want %q", got, want)
	}
	if n := e.acc.newAccounts.Load(); n != 1 {
		t.Fatalf("%d identities created, want 1", n)
	}
}

// TestPipelinedLoginsCreateOneIdentity: 1,000 Logins pipelined on one
// connection create exactly one identity; every other one is refused as
// already logged in, without reaching the accounts.
func TestPipelinedLoginsCreateOneIdentity(t *testing.T) {
	e := start(t, account.Config{}, nil, znettest.Config())
	p := e.ts.Dial()
	const n = 1000
	cfg := znettest.Config()
	pack := znet.NewDataPack(cfg.Framing, cfg.MaxPackageSize)
	var flood []byte
	for range n {
		flood, _ = pack.AppendPack(flood, testProto.Login, mustMarshal(&commonpb.Login{Name: "flood"}))
	}
	p.Write(flood)
	acks, refused := 0, 0
	for acks+refused < n {
		id, data := p.Recv()
		switch id {
		case testProto.LoginAck:
			acks++
		case testProto.Error:
			var m commonpb.Error
			unmarshal(t, data, &m)
			if m.Code != commonpb.ErrorCode_ERROR_BAD_REQUEST || m.Message != "already logged in" {
				t.Fatalf("refusal %v", &m)
			}
			refused++
		}
	}
	if acks != 1 || refused != n-1 {
		t.Fatalf("%d acks and %d refusals, want 1 and %d", acks, refused, n-1)
	}
	if got := e.acc.newAccounts.Load() + e.acc.verifies.Load(); got != 1 {
		t.Fatalf("the accounts were asked %d times, want once", got)
	}
}

// TestNameTooLong: a name over MaxNameBytes is refused with
// ERROR_NAME_TOO_LONG and creates nothing; the connection may try again.
func TestNameTooLong(t *testing.T) {
	e := start(t, account.Config{MaxNameBytes: 8}, nil, znettest.Config())
	p := e.ts.Dial()
	p.SendProto(testProto.Login, &commonpb.Login{Name: "ninebytes"})
	expectError(t, p, commonpb.ErrorCode_ERROR_NAME_TOO_LONG)
	if n := e.acc.newAccounts.Load(); n != 0 {
		t.Fatalf("%d identities created for a refused name", n)
	}
	e.login(p, "eight_by", "")
}

// TestNewIdentityRateLimit: past the burst, new identities from one IP
// are refused with ERROR_RATE_LIMITED; a Login with a token is not
// rationed.
func TestNewIdentityRateLimit(t *testing.T) {
	e := start(t, account.Config{NewIdentityRate: 0.001, NewIdentityBurst: 3}, nil, znettest.Config())
	var tokens []string
	for range 3 {
		tokens = append(tokens, e.login(e.ts.Dial(), "p", "").Token)
	}
	p := e.ts.Dial()
	p.SendProto(testProto.Login, &commonpb.Login{Name: "p"})
	expectError(t, p, commonpb.ErrorCode_ERROR_RATE_LIMITED)
	if n := e.acc.newAccounts.Load(); n != 3 {
		t.Fatalf("%d identities created, want the burst of 3", n)
	}
	e.login(p, "p", tokens[0]) // the same connection, resuming
}

// TestBadTokenCloses: a forged token gets ERROR_BAD_TOKEN and the
// connection closes.
func TestBadTokenCloses(t *testing.T) {
	e := start(t, account.Config{}, nil, znettest.Config())
	p := e.ts.Dial()
	p.SendProto(testProto.Login, &commonpb.Login{Token: "forged"})
	expectError(t, p, commonpb.ErrorCode_ERROR_BAD_TOKEN)
	p.ExpectClosed()
}

// TestLogoutRevokes: Logout revokes the session, is answered with
// LogoutAck and closes the connection; the token is then refused:
// ERROR_BAD_TOKEN by memory accounts (they forgot it), ERROR_TOKEN_REVOKED
// by token accounts. A Logout before any Login is ERROR_NOT_LOGGED_IN.
func TestLogoutRevokes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		accounts func(t *testing.T) account.Accounts
		want     commonpb.ErrorCode
	}{
		{"memory", func(*testing.T) account.Accounts { return account.NewMemoryAccounts() }, commonpb.ErrorCode_ERROR_BAD_TOKEN},
		{"token", func(t *testing.T) account.Accounts { return tokenAccounts(t, store.NewMemoryStore(), 0) }, commonpb.ErrorCode_ERROR_TOKEN_REVOKED},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, account.Config{}, tc.accounts(t), znettest.Config())
			var why atomic.Value
			e.svc.OnLogout(func(_ ziface.IConnection, _ account.Player, r account.LogoutReason) { why.Store(r) })
			p := e.ts.Dial()
			p.SendProto(testProto.Logout, &commonpb.Logout{})
			expectError(t, p, commonpb.ErrorCode_ERROR_NOT_LOGGED_IN)
			ack := e.login(p, "ann", "")
			p.SendProto(testProto.Logout, &commonpb.Logout{})
			p.ExpectSkip(testProto.LogoutAck)
			p.ExpectClosed()
			if r, _ := why.Load().(account.LogoutReason); r != account.LoggedOut || e.svc.Online() != 0 {
				t.Fatalf("OnLogout reason %v, Online %d; want logged_out, 0", r, e.svc.Online())
			}
			if e.acc.revokes.Load() != 1 {
				t.Fatalf("Revoke called %d times", e.acc.revokes.Load())
			}
			q := e.ts.Dial()
			q.SendProto(testProto.Login, &commonpb.Login{Token: ack.Token})
			expectError(t, q, tc.want)
			q.ExpectClosed()
		})
	}
}

// TestLoginTimeout: a connection that does not log in within LoginTimeout
// gets ERROR_LOGIN_TIMEOUT and is closed; one that logs in in time stays.
func TestLoginTimeout(t *testing.T) {
	e := start(t, account.Config{LoginTimeout: 300 * time.Millisecond}, nil, znettest.Config())
	idle, quick := e.ts.Dial(), e.ts.Dial()
	e.login(quick, "q", "")
	expectError(t, idle, commonpb.ErrorCode_ERROR_LOGIN_TIMEOUT)
	idle.ExpectClosed()
	time.Sleep(200 * time.Millisecond) // past the timeout for quick as well
	quick.Send(whoAmI, nil)
	if got := string(quick.ExpectSkip(whoAmI)); got != "q" {
		t.Fatalf("the logged-in connection: %q", got)
	}
}

// TestLoginTimeoutDisabled: with LoginTimeout Disabled an anonymous
// connection stays open.
func TestLoginTimeoutDisabled(t *testing.T) {
	e := start(t, account.Config{LoginTimeout: account.Disabled}, nil, znettest.Config())
	p := e.ts.Dial()
	p.ExpectSilence(200 * time.Millisecond)
	p.Send(whoAmI, nil)
	if got := string(p.Expect(whoAmI)); got != "nobody" {
		t.Fatalf("anonymous connection: %q", got)
	}
}

// TestHeartbeatTimeoutIsTimedOut: a logged-in connection the server cuts
// for silence ends its binding with TimedOut, not Disconnected.
func TestHeartbeatTimeoutIsTimedOut(t *testing.T) {
	zc := znettest.Config()
	zc.HeartbeatTimeout = 200 * time.Millisecond
	e := start(t, account.Config{}, nil, zc)
	got := make(chan account.LogoutReason, 1)
	e.svc.OnLogout(func(_ ziface.IConnection, _ account.Player, r account.LogoutReason) { got <- r })
	p := e.ts.Dial()
	e.login(p, "sleepy", "")
	p.ExpectNotice(znet.NoticeTimeout)
	select {
	case r := <-got:
		if r != account.TimedOut {
			t.Fatalf("reason %v, want timed_out", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no OnLogout")
	}
}

// TestUpdateSession: UpdateSession writes the player's session through
// the accounts when room, match or frame changed, and not otherwise; the session
// a later Verify returns is the stored one, room included.
func TestUpdateSession(t *testing.T) {
	ms := store.NewMemoryStore()
	puts := &countingSessions{SessionStore: ms}
	e := start(t, account.Config{}, tokenAccounts(t, puts, 0), znettest.Config())
	p := e.ts.Dial()
	ack := e.login(p, "ann", "")
	before := puts.puts.Load()
	e.svc.UpdateSession(ack.PlayerId, 7, 9, 40)
	e.svc.UpdateSession(ack.PlayerId, 7, 9, 40) // unchanged: no write
	e.svc.UpdateSession(12345, 1, 1, 1)         // offline: nothing
	if n := puts.puts.Load() - before; n != 1 {
		t.Fatalf("%d session writes, want 1", n)
	}
	e.svc.UpdateSession(ack.PlayerId, 7, 10, 40) // only the match changed: a write
	if n := puts.puts.Load() - before; n != 2 {
		t.Fatalf("%d session writes, want 2", n)
	}
	pl, ok := e.svc.PlayerOf(e.svc.Conn(ack.PlayerId))
	if !ok || pl.Session == nil || pl.Session.RoomID != 7 || pl.Session.MatchID != 10 || pl.Session.LastFrame != 40 {
		t.Fatalf("PlayerOf after UpdateSession: %+v", pl)
	}
	ident, err := e.svc.Accounts().Verify(context.Background(), ack.Token)
	if err != nil || ident.Session == nil || ident.Session.RoomID != 7 || ident.Session.MatchID != 10 || ident.Session.LastFrame != 40 {
		t.Fatalf("Verify after UpdateSession: %+v, %v", ident, err)
	}
}

type countingSessions struct {
	store.SessionStore
	puts atomic.Int64
}

func (c *countingSessions) PutSession(ctx context.Context, s store.Session) error {
	c.puts.Add(1)
	return c.SessionStore.PutSession(ctx, s)
}

// tokenAccounts returns signed-token accounts over sessions; ttl 0 is the
// default.
func tokenAccounts(t testing.TB, sessions store.SessionStore, ttl time.Duration) *account.TokenAccounts {
	t.Helper()
	tokens, err := auth.NewTokens(auth.Config{Secret: strings.Repeat("s", 32), TTL: ttl}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := ids.New(1)
	if err != nil {
		t.Fatal(err)
	}
	return account.NewTokenAccounts(tokens, gen, sessions)
}
