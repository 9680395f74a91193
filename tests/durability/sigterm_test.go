package durability

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/internal/redistest"
	"github.com/zinxgame/zinxgame/protocol/lspb"
)

// spillHeader is the spill file's header length (docs/persistence.md: an
// 8-byte header, then records): a file no longer than it holds no write.
const spillHeader = 8

// sigtermWait bounds a server's exit after SIGTERM: its ShutdownTimeout
// (8s, newServer) and a margin.
const sigtermWait = 20 * time.Second

// checkSpilled fails t unless the spill file exists and holds a record.
func checkSpilled(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Errorf("no spill file after a SIGTERM with Redis down: %v", err)
		return
	}
	if fi.Size() <= spillHeader {
		t.Errorf("the spill file %s holds %d bytes: no write (the header alone is %d)", path, fi.Size(), spillHeader)
	}
	t.Logf("spill file after the stop: %d bytes", fi.Size())
}

// TestSigtermWithRedisDown: a server in async mode gets SIGTERM while
// Redis is down. It must exit 0, its unsent writes in the spill file; once
// Redis is back and the server starts again (replaying the file), nothing
// acknowledged before the SIGTERM is missing from Redis.
func TestSigtermWithRedisDown(t *testing.T) {
	t.Run("lockstep", sigtermLockstep)
	t.Run("mmo", sigtermMMO)
}

func sigtermLockstep(t *testing.T) {
	rs := redistest.Start(t, redistest.Persistent())
	spill := filepath.Join(t.TempDir(), "spill", "lockstep.spill")
	srv := newServer(t, "lockstep", durabilityEnv(rs.Addr, "async", spill)...)
	rv := newRedisView(t, rs.Addr)
	srv.start()

	rec := newRecords()
	// Two pairs play on until the shutdown ends their matches; two end
	// theirs by votes, again and again, through the outage too.
	w, err := startWorkload(srv.addr(), workloadConfig{pairs: 4, longPairs: 2, minFrames: 10, maxFrames: 30}, rec)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	rs.Kill()
	time.Sleep(1500 * time.Millisecond) // logins, frames and ends acknowledged with Redis away
	w.markStopping()
	st := srv.sigterm(sigtermWait)
	if err := w.stop(); err != nil {
		t.Fatalf("the workload failed before the SIGTERM: %v\nserver log:\n%s", err, srv.logTail())
	}
	if !st.Success() {
		t.Errorf("SIGTERM with Redis down: the server exited with %v, want 0 (%q); log:\n%s", st, srv.lastErrorLine(), srv.logTail())
	}
	checkSpilled(t, spill)

	rs.Start()
	srv.start() // replays the spill file
	logins, matches, problems := rec.snapshot()
	shutdownEnds := 0
	for _, m := range matches {
		if m.end != nil && m.end.Reason == lspb.MatchEndReason_MATCH_END_SHUTDOWN {
			shutdownEnds++
		}
	}
	if shutdownEnds == 0 {
		t.Errorf("no player got a MatchEnd with MATCH_END_SHUTDOWN: the shutdown's ends went untested")
	}
	var v verdict
	problemsOf(problems, &v)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rule := lossRule{} // a clean stop: every acknowledgement must be there
	checkRedis(ctx, rv, logins, matches, rule, lspb.MatchEndReason_MATCH_END_SHUTDOWN, &v)
	checkLogins(ctx, srv.addr(), logins, rule, nil, lspb.MatchEndReason_MATCH_END_SHUTDOWN, &v)
	t.Logf("%d matches, %d ended by the shutdown; %s", len(matches), shutdownEnds, v.report(t, "after the restart"))
}

// mmoPlayers is the MMO test's crowd.
const mmoPlayers = 20

func sigtermMMO(t *testing.T) {
	rs := redistest.Start(t, redistest.Persistent())
	spill := filepath.Join(t.TempDir(), "spill", "mmo.spill")
	env := append(durabilityEnv(rs.Addr, "async", spill), "ZINX_MMO_CHATRATE=-1") // a chat barrier after every move
	srv := newServer(t, "mmo", env...)
	rv := newRedisView(t, rs.Addr)
	srv.start()

	// Each player logs in, then walks: three moves with Redis up, three
	// with it down. A move counts once its barrier came back; the last one
	// is the position the server must have saved.
	type walker struct {
		m    *mmoConn
		name string
		x, z float32
	}
	walkers := make([]*walker, mmoPlayers)
	var wg sync.WaitGroup
	errs := make(chan error, 2*mmoPlayers) // one per walker and phase at most
	walk := func(phase int) {
		for i, wk := range walkers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range 3 {
					step := phase*3 + k
					x := 90 + float32((i*37+step*53)%310)
					z := 80 + float32((i*41+step*29)%310)
					if err := wk.m.moveConfirmed(x, z, fmt.Sprintf("%s moved %d", wk.name, step)); err != nil {
						errs <- fmt.Errorf("%s: %w", wk.name, err)
						return
					}
					wk.x, wk.z = x, z
				}
			}()
		}
		wg.Wait()
	}
	for i := range walkers {
		m, err := dialMMO(srv.addr())
		if err != nil {
			t.Fatal(err)
		}
		defer m.close()
		name := "walker" + strconv.Itoa(i)
		if err := m.login(name, ""); err != nil {
			t.Fatal(err)
		}
		walkers[i] = &walker{m: m, name: name}
	}
	walked := func() {
		select {
		case err := <-errs:
			t.Fatalf("a player failed before the SIGTERM: %v\nserver log:\n%s", err, srv.logTail())
		default:
		}
	}
	walk(0)
	walked()
	time.Sleep(flushInterval + flushMargin) // the first positions reach Redis; the last ones only the spill can keep
	rs.Kill()
	walk(1)
	walked()

	st := srv.sigterm(sigtermWait)
	if !st.Success() {
		t.Errorf("SIGTERM with Redis down: the MMO server exited with %v, want 0 (%q); log:\n%s", st, srv.lastErrorLine(), srv.logTail())
	}
	checkSpilled(t, spill)
	for _, wk := range walkers {
		wk.m.close()
	}

	rs.Start()
	srv.start() // replays the spill file
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	lost := 0
	for _, wk := range walkers {
		h, err := rv.player(ctx, wk.m.account)
		if err != nil {
			t.Fatal(err)
		}
		x, errX := strconv.ParseFloat(h["x"], 32)
		z, errZ := strconv.ParseFloat(h["z"], 32)
		if len(h) == 0 || errX != nil || errZ != nil || float32(x) != wk.x || float32(z) != wk.z {
			lost++
			t.Errorf("player %d (%s) in Redis: %v; its last acknowledged position is (%v, %v)", wk.m.account, wk.name, h, wk.x, wk.z)
		}
		// Its session survived too: the token logs in as the same account.
		m, err := dialMMO(srv.addr())
		if err != nil {
			t.Fatal(err)
		}
		err = m.login(wk.name, wk.m.token)
		m.close()
		if err != nil || m.account != wk.m.account {
			t.Errorf("%s logging in again with its token: account %d, %v; want account %d", wk.name, m.account, err, wk.m.account)
		}
	}
	t.Logf("%d players, %d positions missing or stale after the restart", len(walkers), lost)
}
