package durability

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/internal/redistest"
)

const (
	// flushInterval is the servers' Redis.FlushInterval.
	flushInterval = time.Second
	// flushMargin is allowed on top of one FlushInterval for the flusher's
	// pipeline to reach Redis (through the latency proxy) and be fsynced
	// (appendfsync always) before the kill: an async write acknowledged
	// more than flushInterval + flushMargin before the kill must have
	// survived.
	flushMargin = 100 * time.Millisecond
	// redisDelay is the latency proxy's hold on the writes to Redis: the
	// gap in which a write sent but not yet stored dies with the server.
	redisDelay = 25 * time.Millisecond
	// maxFailedIterations stops a loop that keeps failing: more of the
	// same adds time, not information.
	maxFailedIterations = 3
)

// iterations is the kill loop's length: 20, or 3 with -short, or
// ZINX_KILLTEST_ITERATIONS for a local run.
func iterations(t *testing.T) int {
	t.Helper()
	if s := os.Getenv("ZINX_KILLTEST_ITERATIONS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("ZINX_KILLTEST_ITERATIONS=%q: want a positive number", s)
		}
		return n
	}
	if testing.Short() {
		return 3
	}
	return 20
}

// durabilityEnv is the Redis section for a lockstep or MMO server: every
// kind in mode ("sync" or "async"), a one-second flush, and a spill file
// of the test's own.
func durabilityEnv(redisAddr, mode, spill string) []string {
	return []string{
		"ZINX_REDIS_ADDR=" + redisAddr, "ZINX_REDIS_FLUSHINTERVAL=" + flushInterval.String(),
		"ZINX_REDIS_FRAMEDURABILITY=" + mode, "ZINX_REDIS_MATCHDURABILITY=" + mode,
		"ZINX_REDIS_SESSIONDURABILITY=" + mode, "ZINX_REDIS_PLAYERDURABILITY=" + mode,
		"ZINX_REDIS_DOCDURABILITY=" + mode, "ZINX_REDIS_SPILLFILE=" + spill,
	}
}

// TestKillNineLoop: the lockstep server, under a workload of new players
// and short matches, is killed with SIGKILL at a random point of its flush
// interval and restarted, many times over one persistent Redis (reached
// through a proxy that holds the server's writes for redisDelay, and drops
// them if the server dies meanwhile). After each
// restart every acknowledgement is looked for in Redis and through the
// server:
//   - sync: none may be missing (LoginAck, every busy frame received,
//     every MatchEnd);
//   - async: only those acknowledged within flushInterval + flushMargin of
//     the kill may be missing; they are counted and logged, not judged;
//   - both: the matches running at the kill are ended in Redis with
//     MATCH_END_INTERRUPTED, at a frame no earlier than the last busy frame
//     that had to survive, and their players logging in again get a
//     MatchEnd with that reason.
func TestKillNineLoop(t *testing.T) {
	for _, mode := range []string{"sync", "async"} {
		t.Run(mode, func(t *testing.T) { killLoop(t, mode) })
	}
}

func killLoop(t *testing.T, mode string) {
	rs := redistest.Start(t, redistest.Persistent())
	proxy := startLatencyProxy(t, rs.Addr, redisDelay)
	spill := filepath.Join(t.TempDir(), "spill", "lockstep.spill")
	srv := newServer(t, "lockstep", durabilityEnv(proxy.Addr, mode, spill)...)
	rv := newRedisView(t, rs.Addr)
	srv.start()

	n := iterations(t)
	var sum verdict
	failed, ran := 0, 0
	began := time.Now()
	for i := range n {
		ran++
		it := time.Now()
		rec := newRecords()
		w, err := startWorkload(srv.addr(), workloadConfig{pairs: 3, minFrames: 10, maxFrames: 40}, rec)
		if err != nil {
			t.Fatal(err)
		}
		// The kill lands at a random point of the flush interval: the
		// flusher's phase is the server's, the offset here is uniform.
		warm := 2*time.Second + rand.N(flushInterval)
		time.Sleep(warm)
		w.markStopping()
		killAt := srv.kill9()
		if err := w.stop(); err != nil {
			t.Fatalf("iteration %d: the workload failed before the kill: %v\nserver log:\n%s", i, err, srv.logTail())
		}
		restart := time.Now()
		srv.start()
		restarted := time.Since(restart)

		check := time.Now()
		rule := lossRule{sync: mode == "sync", kill: killAt, window: flushInterval + flushMargin}
		logins, matches, problems := rec.snapshot()
		var v verdict
		problemsOf(problems, &v)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		expect := checkRedis(ctx, rv, logins, matches, rule, matchEndInterrupted, &v)
		checkLogins(ctx, srv.addr(), logins, rule, expect, matchEndInterrupted, &v)
		cancel()
		label := fmt.Sprintf("%s iteration %d", mode, i)
		t.Logf("%s: kill %s after the start of the workload; restart %s, checks %s, iteration %s; %d matches; %s",
			label, warm.Round(time.Millisecond), restarted.Round(time.Millisecond), time.Since(check).Round(time.Millisecond),
			time.Since(it).Round(time.Millisecond), len(matches), v.summary())
		sum.add(&v)
		if len(v.failures) > 0 {
			v.report(t, label)
			if failed++; failed == maxFailedIterations {
				t.Errorf("stopping after %d failed iterations of %d", failed, n)
				break
			}
		}
	}
	t.Logf("%s summary over %d of %d iterations in %s: %s", mode, ran, n, time.Since(began).Round(time.Second), sum.summary())
}

// add sums another verdict's tallies.
func (v *verdict) add(o *verdict) {
	for _, p := range []struct{ a, b *tally }{{&v.sessions, &o.sessions}, {&v.frames, &o.frames}, {&v.ends, &o.ends},
		{&v.unfinished, &o.unfinished}, {&v.relogins, &o.relogins}} {
		p.a.acked += p.b.acked
		p.a.required += p.b.required
		p.a.lost += p.b.lost
		p.a.window += p.b.window
	}
}
