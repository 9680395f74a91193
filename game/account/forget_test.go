package account_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/game/account"
	"github.com/zinxgame/zinxgame/game/account/auth"
	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/znet"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// TestForgetting: 2,000 identities log in over TCP and disconnect; once
// their sessions expire, the heap kept per identity is about nothing and
// no player is online. Run for memory accounts (their tokens expire) and
// for token accounts over a MemoryStore (their sessions expire).
func TestForgetting(t *testing.T) {
	if testing.Short() {
		t.Skip("logs 2,000 identities in")
	}
	// The TTL outlasts the 2,000 logins, which take about 2 s with the
	// race detector on a busy 2-core machine: at 2 s the first batches
	// had expired before the count right after them (1901 of 2000 held).
	const n, ttl, batch = 2000, 6 * time.Second, 100
	for _, tc := range []struct {
		name     string
		accounts func() (account.Accounts, func() int)
	}{
		{"token", func() (account.Accounts, func() int) {
			ms := store.NewMemoryStore()
			return tokenAccounts(t, ms, ttl), ms.Sessions
		}},
		{"memory", func() (account.Accounts, func() int) {
			a := account.NewMemoryAccountsTTL(ttl, 0)
			return a, a.Len
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			accounts, held := tc.accounts()
			zc := znettest.Config()
			zc.ConnRatePerIP = 0 // one IP dials 2,000 times
			zc.MaxConn = 4 * batch
			zc.BlockingPoolSize = 2 * batch // a batch's logins at once are not ERROR_BUSY
			// The test server's log buffer (up to 1 MiB of lines about
			// connections) would be counted as kept per identity.
			e := start(t, account.Config{NewIdentityRate: account.Disabled}, accounts, zc,
				znettest.WithServerOptions(znet.WithLogger(slog.New(slog.DiscardHandler))))
			pack := znet.NewDataPack(zc.Framing, zc.MaxPackageSize)
			login, _ := pack.AppendPack(nil, testProto.Login, mustMarshal(loginMsg("p")))
			// Log count identities in, batch at a time, and disconnect them.
			logins := func(count int) {
				for i := 0; i < count; i += batch {
					// Plain sockets: a znettest.Peer is kept until the
					// test ends, and its buffers would be counted.
					var conns []net.Conn
					for range batch {
						c, err := net.Dial("tcp", e.ts.Addr)
						if err != nil {
							t.Fatal(err)
						}
						if _, err := c.Write(login); err != nil {
							t.Fatal(err)
						}
						conns = append(conns, c)
					}
					for _, c := range conns {
						awaitAck(t, c)
						c.Close()
					}
				}
			}
			forgotten := func() {
				znettest.Eventually(t, func() bool { return e.svc.Online() == 0 }, "the players to disconnect")
				deadline := time.Now().Add(ttl + 10*time.Second)
				for held() > 0 {
					if time.Now().After(deadline) {
						t.Fatalf("%d tokens or sessions held %v after they expired", held(), 10*time.Second)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
			// Warm up with a batch that is forgotten before the baseline:
			// the server's pools, the blocking pool's goroutines and the
			// runtime's first connections are then in it.
			logins(batch)
			forgotten()
			before := heap()
			logins(n)
			if got := held(); got < n {
				t.Fatalf("%d held right after %d logins; the test measures nothing", got, n)
			}
			forgotten()
			after := heap()
			per := (float64(after) - float64(before)) / n
			t.Logf("heap %d B before, %d B after %d identities expired: %.1f B each", before, after, n, per)
			if per > 50 {
				t.Fatalf("%.1f B kept per forgotten identity, want under 50", per)
			}
			if got := e.svc.Online(); got != 0 {
				t.Fatalf("Online %d after everyone left", got)
			}
		})
	}
}

// awaitAck reads c's frames (little-endian heads) until a LoginAck.
func awaitAck(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var head [8]byte
	for {
		if _, err := io.ReadFull(c, head[:]); err != nil {
			t.Fatalf("waiting for LoginAck: %v", err)
		}
		n, id := binary.LittleEndian.Uint32(head[:4]), binary.LittleEndian.Uint32(head[4:])
		if _, err := io.CopyN(io.Discard, c, int64(n)); err != nil {
			t.Fatalf("waiting for LoginAck: %v", err)
		}
		if id == testProto.LoginAck {
			return
		}
	}
}

func heap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestMemoryAccountsBounds: a memory token is refused after its TTL, and
// past the maximum the oldest token is dropped first.
func TestMemoryAccountsBounds(t *testing.T) {
	ctx := context.Background()
	a := account.NewMemoryAccountsTTL(100*time.Millisecond, 3)
	var tokens []string
	for range 4 {
		_, tok, err := a.NewAccount(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, tok)
	}
	if _, err := a.Verify(ctx, tokens[0]); !errors.Is(err, account.ErrBadToken) {
		t.Fatalf("the oldest of 4 tokens in a book of 3: %v, want ErrBadToken", err)
	}
	if _, err := a.Verify(ctx, tokens[3]); err != nil || a.Len() != 3 {
		t.Fatalf("the newest token: %v; %d held, want 3", err, a.Len())
	}
	time.Sleep(150 * time.Millisecond)
	if _, err := a.Verify(ctx, tokens[3]); !errors.Is(err, account.ErrBadToken) {
		t.Fatalf("a token past its TTL: %v, want ErrBadToken", err)
	}
}

// TestTokenAccountsVerifyChecksSession: Verify returns the stored session
// (room and last frame included, held by this node), refuses a token
// whose session belongs to another player as invalid, and one whose
// session is gone or revoked as revoked.
func TestTokenAccountsVerifyChecksSession(t *testing.T) {
	ctx := context.Background()
	ms := store.NewMemoryStore()
	a := tokenAccounts(t, ms, 0)
	ident, tok, err := a.NewAccount(ctx, "ann")
	if err != nil {
		t.Fatal(err)
	}
	se := *ident.Session
	se.RoomID, se.LastFrame, se.Node = 9, 99, 77
	if err := ms.PutSession(ctx, se); err != nil {
		t.Fatal(err)
	}
	got, err := a.Verify(ctx, tok)
	if err != nil || got.Session == nil || got.Session.RoomID != 9 || got.Session.LastFrame != 99 || got.Session.Node != 1 {
		t.Fatalf("Verify: %+v, %v; want the stored session on node 1", got.Session, err)
	}
	se.PlayerID++
	if err := ms.PutSession(ctx, se); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(ctx, tok); !errors.Is(err, account.ErrBadToken) || !errors.Is(err, auth.ErrTokenInvalid) {
		t.Fatalf("a session of another player: %v, want ErrBadToken wrapping ErrTokenInvalid", err)
	}
	se.PlayerID--
	se.Revoked = true
	if err := ms.PutSession(ctx, se); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(ctx, tok); !errors.Is(err, auth.ErrTokenRevoked) {
		t.Fatalf("a revoked session: %v, want ErrTokenRevoked", err)
	}
	_, tok2, err := tokenAccounts(t, store.NewMemoryStore(), 0).NewAccount(ctx, "bob") // its session is in another store
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(ctx, tok2); !errors.Is(err, auth.ErrTokenRevoked) || account.BadTokenCode(err).String() != "ERROR_TOKEN_REVOKED" {
		t.Fatalf("a token whose session is unknown: %v", err)
	}
}
