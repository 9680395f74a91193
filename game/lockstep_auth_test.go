package game

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/game/auth"
	"github.com/zinxgame/zinxgame/game/ids"
	"github.com/zinxgame/zinxgame/protocol"
	"github.com/zinxgame/zinxgame/protocol/pb"
)

// TestLockstepSignedTokens: with TokenAccounts, a token resumes its player
// on a new connection; an expired, forged, "alg: none" or revoked token is
// refused with its error code and the connection closes.
func TestLockstepSignedTokens(t *testing.T) {
	var offset atomic.Int64 // the token clock's lead over the wall clock
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	store := NewMemoryStore()
	secret := strings.Repeat("s", 32)
	tokens, err := auth.NewTokens(auth.Config{Secret: secret, TTL: time.Hour},
		auth.SessionRevoker(store, func(s Session) bool { return s.Revoked }), now)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := ids.New(3)
	if err != nil {
		t.Fatal(err)
	}
	e := startLockstep(t, nil, WithLockstepAccounts(NewTokenAccounts(tokens, gen, store)), WithIDs(gen))

	a := e.dial()
	ack := a.login("")
	if _, node, _ := ids.Parse(ack.PlayerId); node != 3 {
		t.Fatalf("player ID %d is from node %d, want 3", ack.PlayerId, node)
	}
	b := e.dial()
	if again := b.login(ack.Token); again.PlayerId != ack.PlayerId {
		t.Fatalf("token resumed player %d, want %d", again.PlayerId, ack.PlayerId)
	}

	refused := func(token string, code pb.ErrorCode) {
		t.Helper()
		c := e.dial()
		c.send(protocol.MsgLogin, &pb.Login{Token: token})
		c.expectError(code)
		select {
		case <-c.c.Done():
		case <-time.After(10 * time.Second):
			t.Fatalf("connection with a refused token (%v) still open", code)
		}
	}
	other, _ := auth.NewTokens(auth.Config{Secret: strings.Repeat("x", 32)}, nil, nil)
	forged, _, _ := other.Issue(ack.PlayerId, "1")
	refused(forged, pb.ErrorCode_ERROR_BAD_TOKEN)
	enc := base64.RawURLEncoding.EncodeToString
	none := enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		enc([]byte(`{"sub":"`+strconv.FormatUint(ack.PlayerId, 10)+`","jti":"1","iss":"zinxgame","exp":9999999999}`)) + "."
	refused(none, pb.ErrorCode_ERROR_BAD_TOKEN)

	offset.Store(int64(2 * time.Hour))
	refused(ack.Token, pb.ErrorCode_ERROR_TOKEN_EXPIRED)
	offset.Store(0)

	claims, err := tokens.Verify(context.Background(), ack.Token)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.RevokeSession(context.Background(), claims.SessionID); err != nil {
		t.Fatal(err)
	}
	refused(ack.Token, pb.ErrorCode_ERROR_TOKEN_REVOKED)
}
