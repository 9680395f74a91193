package redisstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/game/store/redisstore"
	"github.com/zinxgame/zinxgame/internal/redistest"
	"github.com/zinxgame/zinxgame/zconf"
)

// durable is config with every kind sync and a spill file of the test's
// own; the flush interval is long, so only a group commit sends early.
func durable(t *testing.T, addr string) zconf.RedisConfig {
	rc := config(addr)
	rc.FlushInterval = 10 * time.Second
	rc.SpillFile = filepath.Join(t.TempDir(), "spill", "store.spill")
	rc.FrameDurability, rc.MatchDurability, rc.SessionDurability, rc.PlayerDurability, rc.DocDurability =
		zconf.DurabilitySync, zconf.DurabilitySync, zconf.DurabilitySync, zconf.DurabilitySync, zconf.DurabilitySync
	return rc
}

// newStore is New without the cleanup of open: these tests close stores
// themselves and look at what Close did.
func newStore(t *testing.T, rc zconf.RedisConfig, opts ...redisstore.Option) *redisstore.Store {
	t.Helper()
	st, err := redisstore.New(timeout(t, 40*time.Second), rc, testLogger(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// A sync write's AfterDurable fires once Redis holds it, long before the
// flush interval: the call asks for a group commit.
func TestAfterDurableIsAGroupCommit(t *testing.T) {
	srv := redistest.Start(t)
	st := open(t, durable(t, srv.Addr))
	c := client(t, srv.Addr)
	ctx := timeout(t, 10*time.Second)
	if st.Mode(store.KindSessions) != store.Sync || store.ModeOf(st, store.KindSessions) != store.Sync {
		t.Fatal("sessions are not sync")
	}
	start := time.Now()
	if err := st.PutSession(ctx, store.Session{ID: "s1", PlayerID: 1, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	fired := make(chan int64, 1)
	st.AfterDurable(func(err error) {
		if err != nil {
			t.Error(err)
		}
		fired <- c.Exists(context.Background(), "t:session:s1").Val()
	})
	select {
	case n := <-fired:
		if n != 1 {
			t.Fatal("AfterDurable fired before Redis held the session")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("AfterDurable did not fire within 5 s (the flush interval is 10 s: no group commit)")
	}
	t.Logf("durable after %v", time.Since(start))
	// Everything durable, and the flusher done calling back (it may still
	// be, just after our callback): the next call runs at once, on this
	// goroutine.
	inline := false
	for range 20 {
		time.Sleep(10 * time.Millisecond)
		ran := make(chan bool, 1)
		caller := true
		st.AfterDurable(func(error) { ran <- caller })
		caller = false
		if <-ran {
			inline = true
			break
		}
	}
	if !inline {
		t.Fatal("AfterDurable with nothing pending did not run at once")
	}
	if err := store.WaitDurable(ctx, st); err != nil {
		t.Fatal(err)
	}
}

// Callbacks fire in the order of the calls, across goroutines' writes.
func TestAfterDurableOrder(t *testing.T) {
	srv := redistest.Start(t)
	st := open(t, durable(t, srv.Addr))
	var (
		mu    sync.Mutex
		order []int
		wg    sync.WaitGroup
	)
	const n = 2000
	wg.Add(n)
	for i := range n {
		if err := st.AppendFrame(1, uint32(i+1), []byte{1}); err != nil {
			t.Fatal(err)
		}
		st.AfterDurable(func(err error) {
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			wg.Done()
		})
	}
	wg.Wait()
	for i, v := range order {
		if v != i {
			t.Fatalf("callback %d ran in place %d", v, i)
		}
	}
}

// A close while Redis is away spills what is pending and reports success;
// the next start replays it, in order, before anything new.
func TestCloseSpillsAndStartReplays(t *testing.T) {
	srv := redistest.Start(t, redistest.Persistent())
	reg := prometheus.NewRegistry()
	rc := durable(t, srv.Addr)
	rc.FrameDurability = zconf.DurabilityAsync // the queue holds them: nothing waits
	st := newStore(t, rc, redisstore.WithMetrics(reg))
	srv.Kill()
	ctx := timeout(t, 30*time.Second)
	for f := uint32(1); f <= 300; f++ {
		if err := st.AppendFrame(7, f, []byte("in"+strconv.Itoa(int(f)))); err != nil {
			t.Fatal(err)
		}
	}
	for x := range 5 { // the last position wins
		if err := st.SavePlayer(ctx, store.PlayerRecord{ID: 3, Name: "p", X: float32(x)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.EndMatch(7, 300); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := st.Close(ctx); err != nil {
		t.Fatalf("Close with Redis away = %v, want nil: everything is spilled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %v with Redis away", d)
	}
	spilled := gauge(t, reg, "zinxgame_redis_spilled_writes_total")
	if v := spilled; v < 302 {
		t.Fatalf("%v writes spilled, want at least 302 (300 frames, 1 player, 1 end, and copies of a batch in flight)", v)
	}
	if fi, err := os.Stat(rc.SpillFile); err != nil || fi.Size() < 300*10 {
		t.Fatalf("spill file: %v, %v", fi, err)
	}

	srv.Start()
	reg2 := prometheus.NewRegistry()
	st2 := newStore(t, rc, redisstore.WithMetrics(reg2))
	defer func() { _ = st2.Close(context.Background()) }()
	if v := gauge(t, reg2, "zinxgame_redis_replayed_writes_total"); v != spilled {
		t.Fatalf("%v writes replayed, want the %v spilled", v, spilled)
	}
	c := client(t, srv.Addr) // New has replayed them already
	if n := c.XLen(ctx, "t:frames:7").Val(); n != 300 {
		t.Fatalf("%d frames in Redis after the replay, want 300", n)
	}
	if x := c.HGet(ctx, "t:player:3", "x").Val(); x != "4" {
		t.Fatalf("player x = %q, want the last write, 4", x)
	}
	if e := c.HGet(ctx, "t:match:7", "logend").Val(); e != "300" {
		t.Fatalf("match end = %q", e)
	}
	if st2.SpillBytes() != 0 {
		t.Fatalf("%d bytes still in the spill file after the replay", st2.SpillBytes())
	}
	if err := st2.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(rc.SpillFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("an empty spill file is left after a clean close: %v", err)
	}
}

// A full queue spills instead of refusing; reads of the spilled frames
// wait for Redis, and everything lands in order once it is back.
func TestQueueFullSpills(t *testing.T) {
	srv := redistest.Start(t)
	rc := durable(t, srv.Addr)
	rc.FrameDurability, rc.MaxPending, rc.FlushInterval = zconf.DurabilityAsync, 50, 50*time.Millisecond
	st := open(t, rc)
	srv.Kill()
	for f := uint32(1); f <= 120; f++ {
		if err := st.AppendFrame(1, f, []byte{byte(f)}); err != nil {
			t.Fatalf("frame %d: %v (a full queue spills)", f, err)
		}
	}
	if st.SpillBytes() == 0 {
		t.Fatal("nothing spilled")
	}
	if st.Pending() >= 50 {
		t.Fatalf("%d pending: the spill did not empty the queue", st.Pending())
	}
	waitDown(t, st)
	if err := st.ReadFrames(1, 1, 120, func(uint32, []byte) bool { return true }); !errors.Is(err, redisstore.ErrUnavailable) {
		t.Fatalf("ReadFrames of spilled frames with Redis away = %v, want ErrUnavailable", err)
	}
	srv.Start()
	ctx := timeout(t, 20*time.Second)
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var got []uint32
	if err := st.ReadFrames(1, 1, 120, func(f uint32, in []byte) bool {
		if in[0] != byte(f) {
			t.Fatalf("frame %d holds %d", f, in[0])
		}
		got = append(got, f)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 120 || got[0] != 1 || got[119] != 120 {
		t.Fatalf("%d frames after the outage, want 1..120", len(got))
	}
	if st.SpillBytes() != 0 {
		t.Fatalf("%d bytes left in the spill file", st.SpillBytes())
	}
}

// During an outage a sync acknowledgement is given once its write is
// spilled, not after the outage.
func TestSyncDuringOutageSpills(t *testing.T) {
	srv := redistest.Start(t)
	rc := durable(t, srv.Addr)
	st := open(t, rc)
	srv.Kill()
	ctx := timeout(t, 10*time.Second)
	start := time.Now()
	if err := st.PutSession(ctx, store.Session{ID: "s", PlayerID: 2}); err != nil {
		t.Fatal(err)
	}
	if err := store.WaitDurable(ctx, st); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("a sync write during an outage waited %v", d)
	}
	if st.SpillBytes() == 0 {
		t.Fatal("acknowledged with nothing spilled")
	}
	srv.Start()
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if se, ok, err := st.GetSession(ctx, "s"); err != nil || !ok || se.PlayerID != 2 {
		t.Fatalf("after the outage: %+v %v %v", se, ok, err)
	}
}

// A spill file torn in the middle of a record (a crash while appending),
// or damaged in one, replays the whole records before the damage.
func TestTornSpillFile(t *testing.T) {
	for _, damage := range []string{"cut", "flip"} {
		t.Run(damage, func(t *testing.T) {
			srv := redistest.Start(t)
			rc := durable(t, srv.Addr)
			rc.FrameDurability = zconf.DurabilityAsync
			st := newStore(t, rc)
			srv.Kill()
			for f := uint32(1); f <= 10; f++ {
				if err := st.AppendFrame(5, f, []byte("0123456789")); err != nil {
					t.Fatal(err)
				}
			}
			if err := st.Close(timeout(t, 10*time.Second)); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(rc.SpillFile)
			if err != nil {
				t.Fatal(err)
			}
			rec := (len(b) - 8) / 10 // the records are the same size
			switch damage {
			case "cut": // in the middle of the 8th record
				b = b[:8+7*rec+rec/2]
			case "flip": // a byte of the 8th record's payload
				b[8+7*rec+12] ^= 0xff
			}
			if err := os.WriteFile(rc.SpillFile, b, 0o600); err != nil {
				t.Fatal(err)
			}
			srv.Start()
			reg := prometheus.NewRegistry()
			st2 := newStore(t, rc, redisstore.WithMetrics(reg))
			defer func() { _ = st2.Close(context.Background()) }()
			if v := gauge(t, reg, "zinxgame_redis_spill_torn_total"); v != 1 {
				t.Fatalf("spill_torn_total = %v, want 1", v)
			}
			if v := gauge(t, reg, "zinxgame_redis_replayed_writes_total"); v != 7 {
				t.Fatalf("%v replayed, want the 7 whole records", v)
			}
			msgs := client(t, srv.Addr).XRange(context.Background(), "t:frames:5", "-", "+").Val()
			if len(msgs) != 7 || msgs[6].ID != "7-0" {
				t.Fatalf("%d frames in Redis, want 1..7", len(msgs))
			}
		})
	}
}

// Two stores cannot share a spill file: the second is refused at start,
// saying what to set.
func TestSpillFileIsLocked(t *testing.T) {
	srv := redistest.Start(t)
	rc := durable(t, srv.Addr)
	open(t, rc)
	_, err := redisstore.New(context.Background(), rc, testLogger(t))
	if err == nil || !errContains(err, "Redis.SpillFile") {
		t.Fatalf("a second store on the same spill file: %v", err)
	}
}

// What can be neither stored nor spilled is reported by Close (the
// servers exit non-zero on it), and AfterDurable's callbacks get the error.
func TestCloseReportsWhatIsLost(t *testing.T) {
	srv := redistest.Start(t)
	rc := durable(t, srv.Addr)
	rc.FrameDurability, rc.MaxSpillBytes = zconf.DurabilityAsync, 1<<20
	st := newStore(t, rc)
	srv.Kill()
	big := make([]byte, 4096)
	for f := uint32(1); f <= 400; f++ { // 1.6 MB: more than the spill may hold
		if err := st.AppendFrame(1, f, big); err != nil {
			t.Fatal(err)
		}
	}
	got := make(chan error, 1)
	st.AfterDurable(func(err error) { got <- err })
	err := st.Close(timeout(t, 10*time.Second))
	if err == nil || !errContains(err, "neither stored nor spilled") {
		t.Fatalf("Close = %v, want the loss reported", err)
	}
	select {
	case werr := <-got:
		if werr == nil {
			t.Fatal("AfterDurable reported durable writes that were lost")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("AfterDurable never called after Close")
	}
}

func errContains(err error, s string) bool { return err != nil && strings.Contains(err.Error(), s) }

// waitDown waits until the store has found Redis unreachable.
func waitDown(t *testing.T, st *redisstore.Store) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for st.Up() {
		if time.Now().After(deadline) {
			t.Fatal("the store did not notice the outage within 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
