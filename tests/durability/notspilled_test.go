package durability

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/internal/redistest"
)

// writesLost finds the store's account of the writes it lost when it
// closed ("redisstore: closed with 42 writes not stored", "... neither
// stored nor spilled"), in its log or in the server's last line.
var writesLost = regexp.MustCompile(`closed with ([1-9][0-9]*) writes\b`)

// TestExitNonZeroWhenNotSpilled: when writes can be neither stored (Redis
// is down) nor spilled, a SIGTERM must not look like a clean stop: the
// server exits non-zero and its log counts the writes lost.
//   - spill off: Redis.SpillFile "off";
//   - spill full: more queued at the stop than Redis.MaxSpillBytes (1 MiB,
//     the least it takes) allows;
//   - spill uncreatable: the spill file's directory is a regular file.
//     (Running as root, chmod 0500 would not stop the writes; a regular
//     file in the path stops root too.) A server that opens its spill file
//     at start may refuse to start instead: that is also accepted, if it
//     exits non-zero naming the file, since it then never acknowledged a
//     write it could not keep.
func TestExitNonZeroWhenNotSpilled(t *testing.T) {
	t.Run("spill off", func(t *testing.T) {
		notSpilled(t, "off", nil, workloadConfig{pairs: 2, longPairs: 1, minFrames: 10, maxFrames: 30}, time.Second, 0)
	})
	t.Run("spill full", func(t *testing.T) {
		spill := filepath.Join(t.TempDir(), "spill", "lockstep.spill")
		// Four rooms of 2 × 1800-byte inputs at 30 Hz queue about 430 KB
		// a second: 4s of outage is well past the 1 MiB bound.
		env := []string{"ZINX_REDIS_MAXSPILLBYTES=" + strconv.Itoa(minSpillBytes), "ZINX_LOCKSTEP_MAXINPUTBYTES=2048"}
		notSpilled(t, spill, env, workloadConfig{pairs: 4, longPairs: 4, inputSize: 1800}, 4*time.Second, minSpillBytes)
	})
	t.Run("spill uncreatable", func(t *testing.T) {
		dir := t.TempDir()
		file := filepath.Join(dir, "not-a-directory")
		if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		notSpilled(t, filepath.Join(file, "lockstep.spill"), nil,
			workloadConfig{pairs: 2, longPairs: 1, minFrames: 10, maxFrames: 30}, time.Second, 0)
	})
}

// minSpillBytes is the least Redis.MaxSpillBytes accepted (1 MiB).
const minSpillBytes = 1 << 20

// notSpilled runs the lockstep server in async mode with spill as its
// SpillFile, plays wcfg, kills Redis, plays on for outage, then sends
// SIGTERM and wants a non-zero exit that counts the writes lost; with
// maxSpill > 0, a spill file within that bound too.
func notSpilled(t *testing.T, spill string, env []string, wcfg workloadConfig, outage time.Duration, maxSpill int64) {
	rs := redistest.Start(t)
	srv := newServer(t, "lockstep", append(durabilityEnv(rs.Addr, "async", spill), env...)...)
	if err := srv.tryStart(20 * time.Second); err != nil {
		// Refused at start: acceptable only as a non-zero exit naming the
		// spill file (see the test's doc).
		st, ok := srv.waitExit(5 * time.Second)
		switch {
		case !ok:
			t.Fatalf("the server neither served nor exited: %v", err)
		case st.Success():
			t.Fatalf("the server exited 0 without serving; log:\n%s", srv.logTail())
		case !strings.Contains(srv.logs(), spill):
			t.Fatalf("the server refused to start (%v) without naming the spill file %s; log:\n%s", st, spill, srv.logTail())
		}
		t.Logf("the server refused to start with spill file %s: %v: %s", spill, st, srv.lastErrorLine())
		return
	}
	rec := newRecords()
	w, err := startWorkload(srv.addr(), wcfg, rec)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	rs.Kill()
	time.Sleep(outage) // writes acknowledged (async) that only the spill could keep
	w.markStopping()
	began := time.Now()
	st := srv.sigterm(sigtermWait)
	if err := w.stop(); err != nil {
		t.Fatalf("the workload failed before the SIGTERM: %v\nserver log:\n%s", err, srv.logTail())
	}
	if st.Success() {
		t.Errorf("SIGTERM with Redis down and nothing spilled: exit status 0, want non-zero; log:\n%s", srv.logTail())
	}
	named := writesLost.FindString(srv.lastRunLogs())
	if named == "" {
		t.Errorf("the server's log does not count the writes lost (%q); log:\n%s", writesLost, srv.logTail())
	}
	if maxSpill > 0 {
		if fi, err := os.Stat(spill); err == nil && fi.Size() > maxSpill {
			t.Errorf("the spill file holds %d bytes, past Redis.MaxSpillBytes = %d", fi.Size(), maxSpill)
		}
	}
	t.Logf("SIGTERM → %v after %s: %q; last line %q", st, time.Since(began).Round(time.Millisecond), named, srv.lastErrorLine())
}
