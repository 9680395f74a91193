package lockstep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/game/account"
	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// TestIdentityMemory measures what the lockstep service keeps of a player
// who logged in and left: n new identities log in over real TCP
// connections, all disconnect, and once the server has run every
// disconnect hook the heap is compared (HeapAlloc after GC) with before
// they came. The accounts keep nothing (nothingAccounts), so the figure is
// the service's own. It logs the bytes kept per identity, and fails when
// more than noise is kept: every login answered with its own player ID,
// every disconnect seen, and about 0 bytes left per identity.
func TestIdentityMemory(t *testing.T) {
	const n = 2000
	cfg := DefaultConfig()
	cfg.Shards = 1
	ls, err := New(cfg, discardLog(), WithAccounts(&nothingAccounts{}),
		WithIdentityConfig(account.Config{NewIdentityRate: account.Disabled}))
	if err != nil {
		t.Fatal(err)
	}
	zc := znettest.Config()
	zc.MaxConn = n + 10
	t.Cleanup(ls.Close) // after the server is down (cleanups run last in, first out)
	var gone atomic.Int64
	ts := znettest.NewServer(t, zc, func(srv *znet.Server) {
		// Mounted first, so its disconnect hook runs last (in reverse
		// order): when it counts a connection, lockstep's hook for it ran.
		if err := srv.Mount("watch", znet.ModuleFunc(func(m *znet.Mount) error {
			m.OnDisconnect(func(ziface.IConnection) { gone.Add(1) })
			return nil
		})); err != nil {
			t.Fatal(err)
		}
		if err := srv.Mount("lockstep", ls); err != nil {
			t.Fatal(err)
		}
		// The kit keeps the server's log lines in a buffer that grows to a
		// bound, which would count in the heap: a line per connection.
	}, znettest.WithServerOptions(znet.WithLogger(discardLog())))
	pack := znet.NewDataPack(zc.Framing, zc.MaxPackageSize)
	// The IDs seen, to check each login got its own: made at full size
	// now, so it does not grow between the two heap readings, and kept
	// alive to the end, so it is not freed between them either.
	ids := make(map[uint64]bool, 3*n)
	// login opens count connections, logs a new identity in on each, and
	// closes them all once every one is logged in.
	login := func(count int) {
		t.Helper()
		conns := make([]net.Conn, count)
		got := make([]uint64, count)
		errs := make([]error, count)
		var wg sync.WaitGroup
		const workers = 8
		for w := range workers {
			wg.Go(func() {
				for i := w; i < count; i += workers {
					conns[i], got[i], errs[i] = loginOnce(ts.Addr, pack, fmt.Sprintf("id%d", i))
				}
			})
		}
		wg.Wait()
		for _, c := range conns {
			if c != nil {
				_ = c.Close()
			}
		}
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		for _, id := range got {
			if ids[id] {
				t.Fatalf("player ID %d issued twice", id)
			}
			ids[id] = true
		}
	}
	settle := func(want int64) (heap uint64) {
		t.Helper()
		znettest.Eventually(t, func() bool { return gone.Load() == want }, "the server to see %d disconnects", want)
		runtime.GC()
		runtime.GC() // the second empties what sync.Pools kept through the first
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}

	// Two first rounds of as many connections at once grow what does not
	// shrink back when they leave (pools, buffers, goroutines, the
	// server's maps of connections), so the third round's figure is per
	// identity only. (With one, the figure is some 40 bytes higher.)
	login(n)
	settle(n)
	login(n)
	before := settle(2 * n)
	login(n)
	after := settle(3 * n)
	runtime.KeepAlive(ids)
	kept := int64(after) - int64(before)
	t.Logf("%d identities logged in and left: heap %d -> %d bytes, %d kept, %.0f bytes per identity",
		n, before, after, kept, float64(kept)/n)
	// Before the identity service, the lockstep service kept every
	// identity it had seen (192 B each here). Nothing is kept now; the
	// bound leaves room for the heap's own noise.
	if per := float64(kept) / n; per > 50 {
		t.Fatalf("%.0f bytes of heap kept per identity that logged in and left, want about 0", per)
	}
}

// nothingAccounts issues a new player ID and a token naming it, and keeps
// nothing: no token book, no session. A token cannot be resumed (Verify
// refuses it). Safe for concurrent use.
type nothingAccounts struct{ next atomic.Uint64 }

func (a *nothingAccounts) NewAccount(context.Context, string) (account.Identity, string, error) {
	id := a.next.Add(1)
	return account.Identity{PlayerID: id}, fmt.Sprintf("t%d", id), nil
}

func (a *nothingAccounts) Verify(context.Context, string) (account.Identity, error) {
	return account.Identity{}, fmt.Errorf("%w: these accounts resume no one", account.ErrBadToken)
}

func (a *nothingAccounts) UpdateSession(context.Context, store.Session) error { return nil }

func (a *nothingAccounts) Revoke(context.Context, account.Identity) error { return nil }

// loginOnce dials addr, logs a new identity in (Login without a token)
// and returns the open connection with the player ID of its LoginAck.
func loginOnce(addr string, pack *znet.DataPack, name string) (net.Conn, uint64, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, 0, err
	}
	fail := func(err error) (net.Conn, uint64, error) {
		_ = c.Close()
		return nil, 0, fmt.Errorf("login %s: %w", name, err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	data, _ := proto.Marshal(&commonpb.Login{Name: name})
	frame, err := pack.AppendPack(nil, lspb.MsgLogin, data)
	if err != nil {
		return fail(err)
	}
	if _, err := c.Write(frame); err != nil {
		return fail(err)
	}
	head := make([]byte, znet.HeadLen)
	if _, err := io.ReadFull(c, head); err != nil {
		return fail(err)
	}
	msg, err := pack.Unpack(head)
	if err != nil {
		return fail(err)
	}
	body := make([]byte, msg.GetDataLen())
	if _, err := io.ReadFull(c, body); err != nil {
		return fail(err)
	}
	if msg.GetMsgID() != lspb.MsgLoginAck {
		return fail(fmt.Errorf("answered with message %d, want LoginAck %d", msg.GetMsgID(), lspb.MsgLoginAck))
	}
	var ack commonpb.LoginAck
	if err := proto.Unmarshal(body, &ack); err != nil {
		return fail(err)
	}
	if ack.PlayerId == 0 || ack.Token == "" {
		return fail(fmt.Errorf("LoginAck %v: no player ID or token", &ack))
	}
	_ = c.SetDeadline(time.Time{})
	return c, ack.PlayerId, nil
}
