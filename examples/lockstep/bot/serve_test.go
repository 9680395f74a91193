package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// leakOpts: ants starts its default pool's goroutines at init, and kcp-go
// starts process-wide goroutines at its first session and keeps them.
var leakOpts = []goleak.Option{goleak.IgnoreCurrent(),
	goleak.IgnoreAnyFunction("github.com/xtaci/kcp-go/v5.postProcessWorker")}

// TestRunServe runs the swarm against the real lockstep server, in this
// process (-serve), with reconnections, over each transport with the same
// checks; the KCP run is the shorter.
func TestRunServe(t *testing.T) {
	for _, tr := range []struct {
		transport string
		bots      int
		duration  time.Duration
	}{
		{"tcp", 12, 3 * time.Second},
		{"kcp", 8, 2500 * time.Millisecond},
	} {
		t.Run(tr.transport, func(t *testing.T) {
			defer goleak.VerifyNone(t, leakOpts...)
			rep, err := Run(context.Background(), Config{
				Serve: true, Transport: tr.transport, Bots: tr.bots, Players: 4, InputRate: 10,
				ReconnectProb: 0.5, Offline: 300 * time.Millisecond,
				Duration: tr.duration, Ramp: 200 * time.Millisecond, Drain: 3 * time.Second,
				Progress: io.Discard, Log: io.Discard,
			})
			if err != nil {
				t.Fatal(err)
			}
			checkServed(t, rep, tr.transport)
			checkRun(t, rep, tr.bots, tr.bots/4)
			// The in-process server's own tick histogram is read (lateness
			// is not judged here: a loaded test machine says little about it).
			if st := rep.Ticks; rep.TicksErr != "" || st == nil || st.Ticks == 0 || st.GOMAXPROCS < 1 {
				t.Errorf("server ticks %+v, error %q; want the ticks after the ramp counted", st, rep.TicksErr)
			}
			if rp := rep.Replay; rp == nil || !rp.OK || rp.Frames < rp.ResultFrame {
				t.Errorf("replay %+v; want a match replayed to its players' hash", rp)
			}
			if t.Failed() || testing.Verbose() {
				rep.WriteText(t.Output())
			}
		})
	}
}

// TestRunServeSwitch: the bots move between the in-process server's TCP
// and KCP while their matches run; every switch resumes the match, and
// the run's checks (no gap, no duplicate, no desync, the matches end on
// the vote, the replay) hold across them.
func TestRunServeSwitch(t *testing.T) {
	defer goleak.VerifyNone(t, leakOpts...)
	rep, err := Run(context.Background(), Config{
		Serve: true, Bots: 8, Players: 4, InputRate: 10, SwitchEvery: time.Second,
		Duration: 6 * time.Second, Ramp: 200 * time.Millisecond, Drain: 3 * time.Second,
		Progress: io.Discard, Log: io.Discard,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkServed(t, rep, "tcp")
	checkRun(t, rep, 8, 2)
	sw := rep.Switch
	if sw.Begun == 0 || sw.OK != sw.Begun || sw.Failed != 0 {
		t.Errorf("switches %+v; want some, every one resumed", sw)
	}
	if !strings.Contains(sw.Between, "kcp://") {
		t.Errorf("switch between %q; want TCP and KCP", sw.Between)
	}
	if rp := rep.Replay; rp == nil || !rp.OK {
		t.Errorf("replay %+v; want a match replayed to its players' hash", rp)
	}
	if t.Failed() || testing.Verbose() {
		rep.WriteText(t.Output())
	}
}

// checkServed fails unless the report's server is the in-process one's
// listener of transport.
func checkServed(t *testing.T, rep *Report, transport string) {
	t.Helper()
	if kcp := strings.HasPrefix(rep.Server, "kcp://"); kcp != (transport == "kcp") {
		t.Errorf("the bots dialled %q; want the in-process server's %s listener", rep.Server, transport)
	}
}
