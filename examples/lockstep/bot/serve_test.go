package main

import (
	"context"
	"io"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestRunServe runs the swarm against the real lockstep server, in this
// process (-serve), with reconnections.
func TestRunServe(t *testing.T) {
	// IgnoreCurrent: ants starts its default pool's goroutines at init.
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	rep, err := Run(context.Background(), Config{
		Serve: true, Bots: 12, Players: 4, InputRate: 10, ReconnectProb: 0.5, Offline: 300 * time.Millisecond,
		Duration: 3 * time.Second, Ramp: 200 * time.Millisecond, Drain: 3 * time.Second,
		Progress: io.Discard, Log: io.Discard,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkRun(t, rep, 12, 3)
	// The in-process server's own tick histogram is read (lateness is not
	// judged here: a loaded test machine says little about it).
	if st := rep.Ticks; rep.TicksErr != "" || st == nil || st.Ticks == 0 || st.GOMAXPROCS < 1 {
		t.Errorf("server ticks %+v, error %q; want the ticks after the ramp counted", st, rep.TicksErr)
	}
	if rp := rep.Replay; rp == nil || !rp.OK || rp.Frames < rp.ResultFrame {
		t.Errorf("replay %+v; want a match replayed to its players' hash", rp)
	}
	if t.Failed() || testing.Verbose() {
		rep.WriteText(t.Output())
	}
}
