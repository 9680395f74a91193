package lockstep

import (
	"context"
	"encoding/base64"
	"github.com/zinxgame/zinxgame/znet/znettest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/game/account"
	"github.com/zinxgame/zinxgame/game/account/auth"
	"github.com/zinxgame/zinxgame/game/account/ids"
	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/lspb"
)

// TestLockstepSignedTokens: with TokenAccounts, a token resumes its player
// on a new connection; an expired, forged, "alg: none" or revoked token is
// refused with its error code and the connection closes.
func TestLockstepSignedTokens(t *testing.T) {
	var offset atomic.Int64 // the token clock's lead over the wall clock
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	ms := store.NewMemoryStore()
	secret := strings.Repeat("s", 32)
	tokens, err := auth.NewTokens(auth.Config{Secret: secret, TTL: time.Hour},
		auth.SessionRevoker(ms, func(s store.Session) bool { return s.Revoked }), now)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := ids.New(3)
	if err != nil {
		t.Fatal(err)
	}
	e := startLockstep(t, nil, WithAccounts(account.NewTokenAccounts(tokens, gen, ms)), WithIDs(gen))

	a := e.dial()
	ack := a.login("")
	if _, node, _ := ids.Parse(ack.PlayerId); node != 3 {
		t.Fatalf("player ID %d is from node %d, want 3", ack.PlayerId, node)
	}
	b := e.dial()
	if again := b.login(ack.Token); again.PlayerId != ack.PlayerId {
		t.Fatalf("token resumed player %d, want %d", again.PlayerId, ack.PlayerId)
	}

	refused := func(token string, code commonpb.ErrorCode) {
		t.Helper()
		c := e.dial()
		c.send(lspb.MsgLogin, &commonpb.Login{Token: token})
		c.expectError(code)
		select {
		case <-c.c.Done():
		case <-time.After(10 * time.Second):
			t.Fatalf("connection with a refused token (%v) still open", code)
		}
	}
	other, _ := auth.NewTokens(auth.Config{Secret: strings.Repeat("x", 32)}, nil, nil)
	forged, _, _ := other.Issue(ack.PlayerId, "1")
	refused(forged, commonpb.ErrorCode_ERROR_BAD_TOKEN)
	enc := base64.RawURLEncoding.EncodeToString
	none := enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		enc([]byte(`{"sub":"`+strconv.FormatUint(ack.PlayerId, 10)+`","jti":"1","iss":"zinxgame","exp":9999999999}`)) + "."
	refused(none, commonpb.ErrorCode_ERROR_BAD_TOKEN)

	offset.Store(int64(2 * time.Hour))
	refused(ack.Token, commonpb.ErrorCode_ERROR_TOKEN_EXPIRED)
	offset.Store(0)

	claims, err := tokens.Verify(context.Background(), ack.Token)
	if err != nil {
		t.Fatal(err)
	}
	if err := ms.RevokeSession(context.Background(), claims.SessionID); err != nil {
		t.Fatal(err)
	}
	refused(ack.Token, commonpb.ErrorCode_ERROR_TOKEN_REVOKED)
}

// TestLockstepSessionTracksRoom: a player's session records its room when
// it sits down, and the last frame it was sent when it drops, so a
// reconnection (to any node reading the store) knows where to resume.
func TestLockstepSessionTracksRoom(t *testing.T) {
	ms := store.NewMemoryStore()
	accounts, gen, err := account.SetupAccounts(auth.Config{Secret: strings.Repeat("s", 32)}, 1, ms, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	e := startLockstep(t, func(c *Config) { c.TickRate = 100 }, WithAccounts(accounts), WithIDs(gen))
	a, b := e.dial(), e.dial()
	ackA := a.login("")
	b.login("")
	st := a.create(&lspb.RoomOptions{MaxPlayers: 2})
	b.join(st.Room.RoomId)
	a.matchStart()
	id, err := accounts.Verify(context.Background(), ackA.Token)
	if err != nil {
		t.Fatal(err)
	}
	se, ok, _ := ms.GetSession(context.Background(), id.Session.ID)
	if !ok || se.RoomID != st.Room.RoomId || se.PlayerID != ackA.PlayerId || se.Node != 1 {
		t.Fatalf("session after joining: %+v (%v)", se, ok)
	}
	got := a.frames(20)
	a.c.Stop()
	<-a.c.Done()
	znettest.Eventually(t, func() bool {
		se, _, _ = ms.GetSession(context.Background(), id.Session.ID)
		return se.LastFrame >= got[len(got)-1].n
	}, "the session to record the last frame sent")
	if se.RoomID != st.Room.RoomId {
		t.Fatalf("session after dropping: %+v", se)
	}
}

// TestLogoutMidMatchStaysRevoked: a player who logs out in the middle of a
// match has its seat held when the connection closes, and the hold records
// where it would resume from the seat's copy of the session, made before
// the Logout. That write must not un-revoke the session: the token stays
// refused.
func TestLogoutMidMatchStaysRevoked(t *testing.T) {
	ms := store.NewMemoryStore()
	accounts, gen, err := account.SetupAccounts(auth.Config{Secret: strings.Repeat("s", 32)}, 1, ms, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	e := startLockstep(t, func(c *Config) { c.TickRate = 100 }, WithAccounts(accounts), WithIDs(gen))
	a, b := e.dial(), e.dial()
	ackA := a.login("")
	b.login("")
	st := a.create(&lspb.RoomOptions{MaxPlayers: 2})
	b.join(st.Room.RoomId)
	a.matchStart()
	id, err := accounts.Verify(context.Background(), ackA.Token)
	if err != nil {
		t.Fatal(err)
	}
	got := a.frames(20)
	a.send(lspb.MsgLogout, &commonpb.Logout{})
	a.expect(lspb.MsgLogoutAck, &commonpb.LogoutAck{})
	<-a.c.Done()
	var se store.Session
	znettest.Eventually(t, func() bool {
		se, _, _ = ms.GetSession(context.Background(), id.Session.ID)
		return se.LastFrame >= got[len(got)-1].n
	}, "the held seat to record the session")
	if !se.Revoked {
		t.Fatalf("the session after a Logout mid-match is %+v: the held seat's write un-revoked it", se)
	}
	c := e.dial()
	c.send(lspb.MsgLogin, &commonpb.Login{Token: ackA.Token})
	c.expectError(commonpb.ErrorCode_ERROR_TOKEN_REVOKED)
}
