package mmo_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/game/account"
	"github.com/zinxgame/zinxgame/game/mmo"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/mmopb"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// The login spam test's figures: the requirement's.
const (
	spamLogins   = 100_000
	spamRetained = 1 << 20 // bytes of heap the spam may leave behind, once its connection has closed
)

// TestLoginSpamRetainsLittle is a client pipelining Logins on one
// connection. 100,000 Login messages once created 64,372 accounts before
// the second login was noticed. Now a connection logs in once, before any
// account is created: the spam creates at most one identity, and once its
// connection has closed it leaves under spamRetained of heap behind. The
// server may answer each extra Login with an Error or close the
// connection; either passes.
//
// The test runs in a process of its own (this test binary again), so the
// heap it measures is the spam's alone: a test before it that failed can
// leave thousands of connections winding down for a minute (a jammed
// churn test does), shifting the heap by as much as the whole budget.
func TestLoginSpamRetainsLittle(t *testing.T) {
	if os.Getenv(spamAloneEnv) == "" {
		runAlone(t, "TestLoginSpamRetainsLittle", spamAloneEnv)
		return
	}
	cfg := zconf.Default()
	book := &countingAccounts{MemoryAccounts: account.NewMemoryAccounts()}
	// Logs are discarded: a kept log buffer would grow with the spam's
	// refusal lines and count as retained.
	quiet := slog.New(slog.DiscardHandler)
	w, err := mmo.NewWorld(mmo.DefaultConfig(), quiet, mmo.WithAccounts(book))
	if err != nil {
		t.Fatal(err)
	}
	ts := znettest.NewServer(t, cfg, func(srv *znet.Server) {
		if err := srv.Mount("mmo", w); err != nil {
			t.Fatal(err)
		}
	}, znettest.WithServerOptions(znet.WithLogger(quiet)))
	srv := ts.Server
	gone := func() bool {
		return w.Len() == 0 && w.AccountService().Online() == 0 && srv.Stats().ConnsActive == 0
	}

	// Warm up every path the spam takes (a join, a login, a refused second
	// login, a leave), so what they set up once is in the baseline.
	warm := ts.Dial()
	warm.ExpectProto(mmopb.MsgSyncPID, &mmopb.SyncPID{})
	warm.SendProto(mmopb.MsgMmoLogin, &commonpb.Login{Name: "warm"})
	warm.ExpectSkip(mmopb.MsgMmoLoginAck)
	warm.SendProto(mmopb.MsgMmoLogin, &commonpb.Login{Name: "warm"})
	warm.ExpectSkip(mmopb.MsgMmoError)
	warm.Close()
	znettest.Eventually(t, gone, "the warm-up connection to leave")

	// The spam is packed before the baseline and kept alive past the
	// second measurement, so the client's own buffer counts in neither.
	pack := znet.NewDataPack(cfg.Framing, cfg.MaxPackageSize)
	login, err := proto.Marshal(&commonpb.Login{Name: "spam"})
	if err != nil {
		t.Fatal(err)
	}
	var spam []byte
	for range spamLogins {
		if spam, err = pack.AppendPack(spam, mmopb.MsgMmoLogin, login); err != nil {
			t.Fatal(err)
		}
	}
	// A chat after the spam marks its end: this connection's messages are
	// handled in order, so when its broadcast comes back every Login before
	// it has been handled.
	const marker = "spam done"
	talk, err := proto.Marshal(&mmopb.Talk{Content: marker})
	if err != nil {
		t.Fatal(err)
	}
	if spam, err = pack.AppendPack(spam, mmopb.MsgTalk, talk); err != nil {
		t.Fatal(err)
	}
	createdBefore, verifiedBefore := book.created.Load(), book.verified.Load()
	before := settledHeap(t)

	nc, err := net.Dial("tcp", ts.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var acks, refusals atomic.Int64
	handled := make(chan string, 1) // why the reader stopped waiting
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		p := znettest.NewPeer(probeTB{}, nc, cfg)
		p.Timeout = time.Minute // bounded by the test's own wait below, which closes nc
		signalled := false
		signal := func(why string) {
			if !signalled {
				signalled = true
				handled <- why
			}
		}
		for {
			id, data, err := p.ReadFrame()
			if err != nil {
				signal("the connection closed: " + err.Error())
				return
			}
			switch id {
			case mmopb.MsgMmoLoginAck:
				acks.Add(1)
			case mmopb.MsgMmoError:
				refusals.Add(1)
			case mmopb.MsgBroadCast:
				var bc mmopb.BroadCast
				if proto.Unmarshal(data, &bc) == nil && bc.Tp == mmopb.TpChat && bc.GetContent() == marker {
					signal("the marker came back")
				}
			}
		}
	}()
	_ = nc.SetWriteDeadline(time.Now().Add(30 * time.Second))
	const chunk = 64 << 10
	wrote := 0
	for wrote < len(spam) {
		n, err := nc.Write(spam[wrote:min(wrote+chunk, len(spam))])
		wrote += n
		if err != nil {
			if isTimeoutErr(err) {
				t.Fatalf("the spam's write stalled after %d of %d bytes: %v", wrote, len(spam), err)
			}
			t.Logf("the server closed the connection after %d of %d bytes: %v", wrote, len(spam), err)
			break
		}
	}
	select {
	case why := <-handled:
		t.Logf("spam handled: %s; %d LoginAck, %d Error", why, acks.Load(), refusals.Load())
	case <-time.After(30 * time.Second):
		t.Fatalf("the spam was not handled within 30s: %d LoginAck, %d Error so far", acks.Load(), refusals.Load())
	}
	nc.Close()
	<-readerDone
	znettest.Eventually(t, gone, "the spam's connection to leave")

	after := settledHeap(t)
	runtime.KeepAlive(spam)
	created, verified := book.created.Load()-createdBefore, book.verified.Load()-verifiedBefore
	grew := int64(after) - int64(before)
	t.Logf("heap: %d bytes before the spam, %d after it closed: %+d bytes (limit %d); %d identities created, %d tokens verified, %d tokens held",
		before, after, grew, spamRetained, created, verified, book.Len())
	if created > 1 || verified > 0 {
		t.Errorf("%d Logins on one connection created %d identities and verified %d tokens; want at most one identity and no token", spamLogins, created, verified)
	}
	if n := acks.Load(); n > 1 {
		t.Errorf("%d LoginAck on one connection, want at most 1", n)
	}
	if grew >= spamRetained {
		t.Errorf("%d Logins on one connection left %d bytes of heap behind once it closed, want under %d", spamLogins, grew, spamRetained)
	}
}

// spamAloneEnv is set in the process TestLoginSpamRetainsLittle runs
// itself in.
const spamAloneEnv = "ZINXGAME_MMO_LOGINSPAM_ALONE"

// runAlone runs the test named name in a process of its own, with env set
// to 1 there, relays its output and fails t if it failed.
func runAlone(t *testing.T, name, env string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // the process start and the test, under -race on a busy host
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+name+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), env+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("in a process of its own:\n%s", out)
	if err != nil {
		t.Fatalf("%s failed in a process of its own: %v", name, err)
	}
}

// countingAccounts counts what the account service asks of its accounts:
// an identity created is one NewAccount, a token checked one Verify. Safe
// for concurrent use, as account.Accounts must be.
type countingAccounts struct {
	*account.MemoryAccounts
	created, verified atomic.Int64
}

func (a *countingAccounts) NewAccount(ctx context.Context, name string) (account.Identity, string, error) {
	a.created.Add(1)
	return a.MemoryAccounts.NewAccount(ctx, name)
}

func (a *countingAccounts) Verify(ctx context.Context, token string) (account.Identity, error) {
	a.verified.Add(1)
	return a.MemoryAccounts.Verify(ctx, token)
}

// settledHeap is liveHeap once two reads in a row agree to within 16 KiB,
// or the last read after 3 s: what an earlier test in the binary left
// winding down (a failed churn test's connections, say) must not count
// for or against the spam.
func settledHeap(t *testing.T) uint64 {
	t.Helper()
	const within = 16 << 10
	deadline := time.Now().Add(3 * time.Second)
	prev := liveHeap()
	for {
		cur := liveHeap()
		if max(cur, prev)-min(cur, prev) < within {
			return cur
		}
		if time.Now().After(deadline) {
			t.Logf("the heap did not settle within 3s: %d then %d bytes", prev, cur)
			return cur
		}
		prev = cur
	}
}

// liveHeap is the live heap in bytes: the least HeapAlloc of a few reads,
// each after a full collection (debug.FreeOSMemory collects too), so a
// stray allocation of the server's timers between a collection and its
// read does not count.
func liveHeap() uint64 {
	least := uint64(1<<64 - 1)
	for range 3 {
		runtime.GC()
		debug.FreeOSMemory()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		least = min(least, ms.HeapAlloc)
		time.Sleep(10 * time.Millisecond)
	}
	return least
}

func isTimeoutErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
