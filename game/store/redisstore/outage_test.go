package redisstore_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/game/store/redisstore"
	"github.com/zinxgame/zinxgame/internal/redistest"
	"github.com/zinxgame/zinxgame/zconf"
)

// Redis is killed in the middle of a running match and restarted: the
// match keeps ticking (no write waits), and afterwards every frame and
// every player record written before, during and after the outage is in
// Redis, in order, once.
func TestOutageMidMatch(t *testing.T) {
	srv := redistest.Start(t, redistest.Persistent()) // what Redis acknowledged survives its death
	reg := prometheus.NewRegistry()
	rc := config(srv.Addr)
	rc.FlushInterval = 100 * time.Millisecond
	st := open(t, rc, redisstore.WithMetrics(reg))
	ctx := context.Background()

	const match, tick = 42, 5 * time.Millisecond
	type result struct {
		frames, players uint32
		slowest         time.Duration
		err             error
	}
	stop := make(chan struct{})
	res := make(chan result, 1)
	go func() { // a match's room: a busy frame every tick, a player record every other tick
		var r result
		tk := time.NewTicker(tick)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				res <- r
				return
			case <-tk.C:
			}
			r.frames++
			start := time.Now()
			err := st.AppendFrame(match, r.frames, []byte(strconv.Itoa(int(r.frames))))
			if err == nil && r.frames%2 == 0 {
				r.players++
				err = st.SavePlayer(ctx, store.PlayerRecord{ID: uint64(r.players), Name: "p" + strconv.Itoa(int(r.players)), X: float32(r.frames)})
			}
			if d := time.Since(start); d > r.slowest {
				r.slowest = d
			}
			if err != nil {
				r.err = err
				res <- r
				return
			}
		}
	}()

	time.Sleep(time.Second)
	srv.Kill()
	deadline := time.Now().Add(2 * time.Second)
	for st.Up() && time.Now().Before(deadline) { // the next flush notices
		time.Sleep(10 * time.Millisecond)
	}
	if st.Up() {
		t.Fatal("the store did not notice Redis died")
	}
	time.Sleep(time.Second)
	pendingInOutage := st.Pending()
	srv.Restart()
	time.Sleep(time.Second)
	close(stop)
	r := <-res
	if r.err != nil {
		t.Fatalf("a write failed during the match (frame %d): %v", r.frames, r.err)
	}
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := st.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d frames and %d player records written in %v; %d pending in the outage; slowest write %v; %v failed flushes",
		r.frames, r.players, 3*time.Second, pendingInOutage, r.slowest, gauge(t, reg, "zinxgame_redis_flush_errors_total"))

	// ~3 s at 5 ms: the match ticked through the outage.
	if r.frames < 300 {
		t.Errorf("only %d frames in 3 s: the match stalled", r.frames)
	}
	if pendingInOutage == 0 {
		t.Error("nothing was queued during the outage")
	}
	if r.slowest > 20*time.Millisecond {
		t.Errorf("a write took %v: writes must not wait for Redis", r.slowest)
	}
	if !st.Up() || gauge(t, reg, "zinxgame_redis_up") != 1 || gauge(t, reg, "zinxgame_redis_flush_errors_total") == 0 {
		t.Error("metrics do not show the outage and the recovery")
	}

	c := client(t, srv.Addr)
	msgs, err := c.XRange(fctx, "t:frames:42", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != int(r.frames) {
		t.Errorf("%d frames in Redis, want %d", len(msgs), r.frames)
	}
	for i, m := range msgs {
		want := strconv.Itoa(i + 1)
		if m.ID != want+"-0" || m.Values["i"] != want {
			t.Fatalf("entry %d is %s %v, want frame %s", i, m.ID, m.Values, want)
		}
	}
	p := c.Pipeline()
	cmds := make([]interface{ Val() map[string]string }, r.players)
	for id := range r.players {
		cmds[id] = p.HGetAll(fctx, "t:player:"+strconv.Itoa(int(id)+1))
	}
	if _, err := p.Exec(fctx); err != nil {
		t.Fatal(err)
	}
	for id, cmd := range cmds {
		if h := cmd.Val(); h["name"] != "p"+strconv.Itoa(id+1) || h["x"] != strconv.Itoa(2*(id+1)) {
			t.Fatalf("player %d = %v", id+1, h)
		}
	}
}

// With Redis required, an unreachable Redis stops the start.
func TestRequiredRedisUnreachable(t *testing.T) {
	rc := config(redistest.New(t).Addr) // a free port, no server
	rc.Required = true
	if st, err := redisstore.New(context.Background(), rc, testLogger(t)); err == nil {
		_ = st.Close(context.Background())
		t.Fatal("New succeeded without the required Redis")
	}
}

// Without it, the server starts, queues, and stores everything once Redis
// appears on that address.
func TestRedisAppearsLater(t *testing.T) {
	srv := redistest.New(t)
	reg := prometheus.NewRegistry()
	st := open(t, config(srv.Addr), redisstore.WithMetrics(reg))
	ctx := timeout(t, 15*time.Second)
	if st.Up() {
		t.Fatal("Up with no Redis")
	}
	for i := uint32(1); i <= 100; i++ {
		if err := st.AppendFrame(1, i, []byte{1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SavePlayer(ctx, store.PlayerRecord{ID: 1, Name: "early"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // a few failed flushes
	if st.Pending() != 101 || gauge(t, reg, "zinxgame_redis_pending_writes") != 101 || gauge(t, reg, "zinxgame_redis_up") != 0 {
		t.Fatalf("Pending = %d, want 101, and up = 0", st.Pending())
	}
	if _, _, err := st.LoadPlayer(ctx, 1); !errors.Is(err, redisstore.ErrUnavailable) {
		t.Fatalf("LoadPlayer of a queued record with Redis away = %v, want ErrUnavailable", err)
	}
	srv.Start()
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if p, ok, err := st.LoadPlayer(ctx, 1); err != nil || !ok || p.Name != "early" {
		t.Fatalf("LoadPlayer = %+v %v %v", p, ok, err)
	}
	n := 0
	if err := st.ReadFrames(1, 1, 100, func(uint32, []byte) bool { n++; return true }); err != nil || n != 100 {
		t.Fatalf("ReadFrames: %d frames, %v", n, err)
	}
}

// A full queue refuses frames (counted) but still takes records, which
// replace their own pending predecessor.
func TestQueueFull(t *testing.T) {
	srv := redistest.New(t)
	reg := prometheus.NewRegistry()
	rc := config(srv.Addr)
	rc.MaxPending = 50
	rc.FlushInterval = 10 * time.Second // everything stays queued until Flush
	st := open(t, rc, redisstore.WithMetrics(reg))
	ctx := timeout(t, 15*time.Second)
	for i := uint32(1); i <= 60; i++ {
		err := st.AppendFrame(1, i, []byte{1})
		if want := i > 50; want != errors.Is(err, redisstore.ErrQueueFull) {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	for i := range 1000 {
		if err := st.SavePlayer(ctx, store.PlayerRecord{ID: 7, X: float32(i)}); err != nil {
			t.Fatal(err)
		}
		if err := st.PutSession(ctx, store.Session{ID: "s", LastFrame: uint32(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.RevokeSession(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	if err := st.PutSession(ctx, store.Session{ID: "s", LastFrame: 5000}); err != nil {
		t.Fatal(err)
	}
	if st.Pending() != 54 || gauge(t, reg, "zinxgame_redis_queue_full_total") != 10 {
		t.Fatalf("Pending = %d (want 50 frames + player + session + revoke + session), queue_full = %v",
			st.Pending(), gauge(t, reg, "zinxgame_redis_queue_full_total"))
	}
	srv.Start()
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if p, _, _ := st.LoadPlayer(ctx, 7); p.X != 999 {
		t.Fatalf("player X = %v, want the last save (999)", p.X)
	}
	if s, ok, _ := st.GetSession(ctx, "s"); !ok || s.LastFrame != 5000 || s.Revoked {
		t.Fatalf("session = %+v, want the put after the revoke", s)
	}
}

// Close stores every pending write before it returns; with Redis gone it
// gives up when ctx ends and says how many writes were lost.
func TestClose(t *testing.T) {
	srv := redistest.Start(t)
	rc := config(srv.Addr)
	rc.FlushInterval = 10 * time.Second
	st, err := redisstore.New(context.Background(), rc, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := timeout(t, 10*time.Second)
	var wg sync.WaitGroup
	for m := uint64(1); m <= 4; m++ {
		wg.Go(func() {
			for f := uint32(1); f <= 500; f++ {
				_ = st.AppendFrame(m, f, []byte{byte(f)})
			}
		})
	}
	wg.Wait()
	if err := st.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.AppendFrame(1, 501, []byte{1}); !errors.Is(err, redisstore.ErrClosed) {
		t.Fatalf("AppendFrame after Close = %v, want ErrClosed", err)
	}
	c := client(t, srv.Addr)
	for m := 1; m <= 4; m++ {
		if n := c.XLen(ctx, "t:frames:"+strconv.Itoa(m)).Val(); n != 500 {
			t.Fatalf("match %d: %d frames in Redis after Close, want 500", m, n)
		}
	}

	st2, err := redisstore.New(context.Background(), rc, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	_ = st2.AppendFrame(9, 1, []byte{1})
	short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = st2.Close(short)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("Close with Redis gone = %v after %v, want the deadline, promptly", err, time.Since(start))
	}
}

// A Redis that answers but refuses the client is a configuration error,
// reported at once even when Redis is optional.
func TestPassword(t *testing.T) {
	srv := redistest.Start(t)
	if err := client(t, srv.Addr).ConfigSet(context.Background(), "requirepass", "s3cret").Err(); err != nil {
		t.Fatal(err)
	}
	rc := config(srv.Addr)
	rc.Password = "wrong"
	if st, err := redisstore.New(context.Background(), rc, testLogger(t)); err == nil {
		_ = st.Close(context.Background())
		t.Fatal("New succeeded with a password Redis refuses")
	}
	rc.Password = "s3cret"
	st := open(t, rc)
	if err := st.SavePlayer(context.Background(), store.PlayerRecord{ID: 1}); err != nil {
		t.Fatal(err)
	}
	if err := st.Flush(timeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := redisstore.New(context.Background(), zconf.DefaultRedis(), testLogger(t)); err == nil {
		t.Fatal("New succeeded with no address")
	}
}
