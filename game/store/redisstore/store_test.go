package redisstore_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/game/store/redisstore"
	"github.com/zinxgame/zinxgame/game/store/storetest"
	"github.com/zinxgame/zinxgame/internal/redistest"
	"github.com/zinxgame/zinxgame/zconf"
)

// config is the tests' Redis section: a short flush interval keeps them
// quick. It is the write-behind store of old, every kind async and no
// spill file, which most tests are about; durability_test.go turns on
// the rest.
func config(addr string) zconf.RedisConfig {
	rc := zconf.DefaultRedis()
	rc.Addr, rc.FlushInterval, rc.KeyPrefix = addr, 50*time.Millisecond, "t:"
	rc.DialTimeout, rc.ReadTimeout, rc.WriteTimeout, rc.PoolTimeout = time.Second, time.Second, time.Second, time.Second
	rc.SpillFile = zconf.SpillOff
	rc.FrameDurability, rc.MatchDurability, rc.SessionDurability, rc.PlayerDurability, rc.DocDurability =
		zconf.DurabilityAsync, zconf.DurabilityAsync, zconf.DurabilityAsync, zconf.DurabilityAsync, zconf.DurabilityAsync
	return rc
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// open makes a store on addr and closes it when the test ends.
func open(t testing.TB, rc zconf.RedisConfig, opts ...redisstore.Option) *redisstore.Store {
	t.Helper()
	st, err := redisstore.New(context.Background(), rc, testLogger(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = st.Close(ctx)
	})
	return st
}

// client is a plain go-redis client, to look at what the store wrote.
func client(t testing.TB, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func timeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// The same table the memory stores pass (game/store/store_test.go).
func TestConformance(t *testing.T) {
	st := open(t, config(redistest.Start(t).Addr))
	storetest.Run(t, storetest.Stores{Players: st, Matches: st, Sessions: st, Frames: st, FlushFrames: st.Flush})
}

// The keys are documented (docs/persistence.md, package doc): check them and their TTLs.
func TestKeys(t *testing.T) {
	srv := redistest.Start(t)
	rc := config(srv.Addr)
	rc.FrameTTL = time.Hour
	st, c, ctx := open(t, rc), client(t, srv.Addr), timeout(t, 10*time.Second)

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.SaveMatch(ctx, store.MatchMeta{MatchID: 5, RoomID: 2, TickRate: 30, StartedAt: time.Now()}))
	must(st.AppendFrame(5, 1, []byte("a")))
	must(st.AppendFrame(5, 3, []byte("bc")))
	must(st.Flush(ctx))
	if ttl := c.TTL(ctx, "t:frames:5").Val(); ttl <= 59*time.Minute {
		t.Fatalf("a running match's frames have TTL %v, want FrameTTL from its last write", ttl)
	}
	must(st.EndMatch(5, 4))
	must(st.SavePlayer(ctx, store.PlayerRecord{ID: 9, Name: "ann", X: 1.25}))
	must(st.PutSession(ctx, store.Session{ID: "tok", PlayerID: 9, ExpiresAt: time.Now().Add(time.Minute)}))
	must(st.Flush(ctx))

	msgs := c.XRange(ctx, "t:frames:5", "-", "+").Val()
	if len(msgs) != 2 || msgs[0].ID != "1-0" || msgs[0].Values["i"] != "a" || msgs[1].ID != "3-0" || msgs[1].Values["i"] != "bc" {
		t.Fatalf("frames stream = %+v", msgs)
	}
	if h := c.HGetAll(ctx, "t:match:5").Val(); h["logend"] != "4" || h["room"] != "2" || h["tick"] != "30" {
		t.Fatalf("match hash = %v", h)
	}
	for _, k := range []string{"t:match:5", "t:frames:5"} {
		if ttl := c.TTL(ctx, k).Val(); ttl <= 59*time.Minute || ttl > time.Hour {
			t.Fatalf("TTL %s = %v, want FrameTTL (1h)", k, ttl)
		}
	}
	if h := c.HGetAll(ctx, "t:player:9").Val(); h["name"] != "ann" || h["x"] != "1.25" {
		t.Fatalf("player hash = %v", h)
	}
	if ttl := c.PTTL(ctx, "t:session:tok").Val(); ttl <= 50*time.Second || ttl > time.Minute {
		t.Fatalf("session PTTL = %v, want it to expire at ExpiresAt", ttl)
	}
	if ttl := c.TTL(ctx, "t:player:9").Val(); ttl != -1 {
		t.Fatalf("player TTL = %v, want none", ttl)
	}
	// Revoking a session that is gone creates nothing.
	must(st.RevokeSession(ctx, "gone"))
	must(st.Flush(ctx))
	if n := c.Exists(ctx, "t:session:gone").Val(); n != 0 {
		t.Fatal("revoking a missing session created it")
	}
	if err := st.ReadFrames(77, 1, 10, func(uint32, []byte) bool { return true }); !errors.Is(err, store.ErrNoMatch) {
		t.Fatalf("ReadFrames of an unknown match = %v, want ErrNoMatch", err)
	}
	if err := st.AppendFrame(5, 3, []byte("x")); err != nil {
		t.Fatalf("after EndMatch the match's order is forgotten: %v", err)
	}
	if err := st.AppendFrame(6, 0, []byte("x")); err == nil {
		t.Fatal("frame 0 accepted")
	}
	must(st.AppendFrame(6, 2, []byte("x")))
	if err := st.AppendFrame(6, 2, []byte("y")); err == nil {
		t.Fatal("a frame not after the last was accepted")
	}
}

// Frames still queued are read with those in Redis, in order, without a
// flush; so are records, by flushing first.
func TestReadYourWrites(t *testing.T) {
	srv := redistest.Start(t)
	rc := config(srv.Addr)
	rc.FlushInterval = 10 * time.Second // nothing goes unless asked
	st, ctx := open(t, rc), timeout(t, 10*time.Second)
	for f := uint32(1); f <= 2500; f++ { // more than a read page
		if err := st.AppendFrame(1, f, []byte{byte(f)}); err != nil {
			t.Fatal(err)
		}
		if f == 1500 {
			if err := st.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := st.Pending(); n != 1000 {
		t.Fatalf("Pending = %d, want 1000", n)
	}
	next := uint32(1200)
	err := st.ReadFrames(1, 1200, 2400, func(f uint32, in []byte) bool {
		if f != next || in[0] != byte(f) {
			t.Fatalf("frame %d (%x), want %d", f, in, next)
		}
		next++
		return true
	})
	if err != nil || next != 2401 {
		t.Fatalf("ReadFrames stopped before %d: %v", next, err)
	}
	if err := st.SavePlayer(ctx, store.PlayerRecord{ID: 3, Name: "bo"}); err != nil {
		t.Fatal(err)
	}
	if p, ok, err := st.LoadPlayer(ctx, 3); err != nil || !ok || p.Name != "bo" {
		t.Fatalf("LoadPlayer right after SavePlayer = %+v %v %v", p, ok, err)
	}
	if n := st.Pending(); n != 0 {
		t.Fatalf("Pending after a read of a pending record = %d, want 0 (it flushes)", n)
	}
}

// A write Redis refuses for itself is logged, counted and dropped; the
// writes around it land and the queue does not wedge.
func TestRefusedWrite(t *testing.T) {
	srv := redistest.Start(t)
	reg := prometheus.NewRegistry()
	st, c, ctx := open(t, config(srv.Addr), redisstore.WithMetrics(reg)), client(t, srv.Addr), timeout(t, 10*time.Second)
	if err := c.Set(ctx, "t:player:5", "not a hash", 0).Err(); err != nil {
		t.Fatal(err)
	}
	for id := uint64(4); id <= 6; id++ {
		if err := st.SavePlayer(ctx, store.PlayerRecord{ID: id, Name: "p"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if c.Exists(ctx, "t:player:4", "t:player:6").Val() != 2 || st.Pending() != 0 {
		t.Fatal("the writes around a refused one did not land")
	}
	if got := gauge(t, reg, "zinxgame_redis_refused_writes_total"); got != 1 {
		t.Fatalf("refused_writes_total = %v, want 1", got)
	}
}

// gauge reads one metric's value from reg.
func gauge(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			}
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func TestMetricsLint(t *testing.T) {
	reg := prometheus.NewRegistry()
	open(t, config(redistest.Start(t).Addr), redisstore.WithMetrics(reg))
	problems, err := testutil.GatherAndLint(reg)
	if err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 22 {
		t.Fatalf("%d metrics (%v), want 22", n, err)
	}
}

// A flush sends every room's frames in one pipeline: round trips follow
// the flush interval, not the number of rooms.
func TestOneRoundTripPerInterval(t *testing.T) {
	srv := redistest.Start(t)
	reg := prometheus.NewRegistry()
	rc := config(srv.Addr)
	rc.FlushInterval = 200 * time.Millisecond
	st := open(t, rc, redisstore.WithMetrics(reg))
	const rooms = 100
	tk := time.NewTicker(time.Second / 30)
	defer tk.Stop()
	start := time.Now()
	frame := uint32(0)
	for time.Since(start) < time.Second {
		<-tk.C
		frame++
		for r := uint64(1); r <= rooms; r++ {
			if err := st.AppendFrame(r, frame, []byte{1, 2, 3}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := st.Flush(timeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	flushes := gauge(t, reg, "zinxgame_redis_flushes_total")
	t.Logf("%d rooms, %d frames each in %v: %v pipelines", rooms, frame, time.Since(start).Round(time.Millisecond), flushes)
	if flushes > 8 {
		t.Fatalf("%v pipelines for %d rooms in about 1 s at a 200 ms interval, want about 6", flushes, rooms)
	}
}
