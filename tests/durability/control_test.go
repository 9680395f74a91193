package durability

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/internal/redistest"
	"github.com/zinxgame/zinxgame/protocol/lspb"
)

// TestVerifierCatchesLosses is the checks' negative control. A workload
// runs, the server stops cleanly with Redis up (everything is flushed), and
// the checks must find nothing missing. Then a session, a busy frame and a
// match's end are removed from Redis by hand, and the checks must report
// exactly those, through Redis and through the server.
func TestVerifierCatchesLosses(t *testing.T) {
	rs := redistest.Start(t)
	spill := filepath.Join(t.TempDir(), "spill", "lockstep.spill")
	srv := newServer(t, "lockstep", durabilityEnv(rs.Addr, "async", spill)...)
	rv := newRedisView(t, rs.Addr)
	srv.start()
	rec := newRecords()
	w, err := startWorkload(srv.addr(), workloadConfig{pairs: 3, longPairs: 1, minFrames: 10, maxFrames: 20}, rec)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	w.markStopping()
	if st := srv.sigterm(sigtermWait); !st.Success() {
		t.Fatalf("SIGTERM with Redis up: exit %v; log:\n%s", st, srv.logTail())
	}
	if err := w.stop(); err != nil {
		t.Fatalf("the workload failed: %v", err)
	}
	srv.start()
	logins, matches, problems := rec.snapshot()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	verify := func() *verdict {
		var v verdict
		problemsOf(problems, &v)
		checkRedis(ctx, rv, logins, matches, lossRule{}, lspb.MatchEndReason_MATCH_END_SHUTDOWN, &v)
		checkLogins(ctx, srv.addr(), logins, lossRule{}, nil, lspb.MatchEndReason_MATCH_END_SHUTDOWN, &v)
		return &v
	}

	clean := verify()
	t.Logf("positive control: %s", clean.report(t, "clean stop"))
	if clean.frames.acked == 0 || clean.ends.acked == 0 || len(logins) == 0 {
		t.Fatalf("the workload acknowledged too little to test the checks: %s", clean.summary())
	}

	// The victims: a login, a match with an end, and a busy frame of a
	// match below its last (so the hole shows too).
	victim := logins[0]
	jti, err := rv.sessionID(ctx, victim.token)
	if err != nil {
		t.Fatal(err)
	}
	var ended, framed *matchRec
	var frame uint32
	for _, m := range matches {
		if ended == nil && m.end != nil {
			ended = m
			continue
		}
		if framed == nil && len(m.frames) >= 2 {
			fs := make([]uint32, 0, len(m.frames))
			for f := range m.frames {
				fs = append(fs, f)
			}
			slices.Sort(fs)
			framed, frame = m, fs[0]
		}
	}
	if ended == nil || framed == nil {
		t.Fatalf("no match with an end and another with 2 busy frames among %d", len(matches))
	}
	for _, err := range []error{
		rv.deleteKey(ctx, "session:"+jti),
		rv.deleteFrame(ctx, framed.id, frame),
		rv.setField(ctx, fmt.Sprintf("match:%d", ended.id), "reason", ""),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}

	v := verify()
	t.Logf("after the tampering: %s", v.summary())
	for _, want := range [][]string{
		{"lost: session " + jti},
		{fmt.Sprintf("lost: match %d frame %d ", framed.id, frame)},
		{fmt.Sprintf("match %d frame %d is missing", framed.id, frame), "not a prefix"},
		{fmt.Sprintf("of match %d", ended.id), "lost: the end"},
		{"lost: the login of " + victim.name, "TOKEN_REVOKED"},
	} {
		if !failuresMention(v, want...) {
			t.Errorf("the checks did not report %q; they found:\n%v", want, v.failures)
		}
	}
	if got := v.sessions.lost + v.frames.lost + v.ends.lost + v.relogins.lost; got != 4 || len(v.failures) != 5 {
		t.Errorf("the checks found %d losses and %d findings, want 4 and 5: %v", got, len(v.failures), v.failures)
	}
}
