package main

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestRunFake runs the swarm against fakeServer, reconnecting every bot
// about once a second: the bots get their matches, every frame once, agree
// on every hash, catch up exactly, and end the matches by vote.
func TestRunFake(t *testing.T) {
	// IgnoreCurrent: ants starts its default pool's goroutines at init.
	// Cleanups run last first: this one after the fake server's.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	f := startFake(t, fakeFaults{})
	rep, err := Run(context.Background(), Config{
		Addr: f.addr, Bots: 12, Players: 4, InputRate: 20, ReconnectProb: 1, Offline: 300 * time.Millisecond,
		Duration: 2500 * time.Millisecond, Ramp: 200 * time.Millisecond, Drain: 2 * time.Second,
		Progress: io.Discard, Log: io.Discard,
		NoReplay: true, // the test double does not keep matches
	})
	if err != nil {
		t.Fatal(err)
	}
	checkRun(t, rep, 12, 3)
	if rep.Reconnect.Begun < 6 || rep.Reconnect.CatchUp.Count == 0 || rep.Frames.CatchUpBatches < 6 {
		t.Errorf("reconnections %+v, %d catch-up batches; want some", rep.Reconnect, rep.Frames.CatchUpBatches)
	}
	if t.Failed() || testing.Verbose() {
		rep.WriteText(t.Output())
	}
}

// TestInputCrossingMatchEnd: an input that crossed the MatchEnd is
// answered with an Error the bots tolerate (counted as late), as they
// tolerate a Ready that crossed MatchStart; the run passes.
func TestInputCrossingMatchEnd(t *testing.T) {
	f := startFake(t, fakeFaults{inputCrossesEnd: true})
	rep, err := Run(context.Background(), Config{
		Addr: f.addr, Bots: 4, Players: 4, InputRate: 20,
		Duration: 1500 * time.Millisecond, Ramp: 100 * time.Millisecond, Drain: 2 * time.Second,
		Progress: io.Discard, Log: io.Discard, NoReplay: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkRun(t, rep, 4, 1)
	// A bot that has closed its client by the time its Error comes does
	// not read it: at least one, and none counted as the server's.
	if rep.InputLate == 0 || len(rep.Errors) != 0 || len(rep.Failures) != 0 {
		t.Errorf("%d late inputs, errors %v, failures %v; want some tolerated and none counted", rep.InputLate, rep.Errors, rep.Failures)
	}
}

// TestRunFakeFaults runs the swarm against server bugs, all at once: each
// must show in the report and fail the run.
func TestRunFakeFaults(t *testing.T) {
	cases := []struct {
		name      string
		faults    fakeFaults
		reconnect bool // the fault needs reconnections
		check     func(*Report) bool
	}{
		{"catch-up a frame late", fakeFaults{catchUpShift: 1}, true, func(r *Report) bool { return r.Frames.GapFrames > 0 }},
		{"catch-up a frame early", fakeFaults{catchUpShift: -1}, true, func(r *Report) bool { return r.Frames.DuplicateFrames > 0 }},
		{"live frame missing", fakeFaults{skipLiveFrame: true}, false, func(r *Report) bool { return r.Frames.GapFrames == 1 }},
		{"inputs dropped", fakeFaults{dropEvery: 5}, false, func(r *Report) bool { return r.Inputs.Lost > 0 }},
		{"a seat's state drifts", fakeFaults{corruptSlot1: true}, false, func(r *Report) bool {
			return r.Hashes.LocalMismatches > 0 && r.Hashes.Desyncs > 0
		}},
	}
	// Not t.Parallel: that runs GOMAXPROCS at a time, and these mostly wait.
	reps := make([]*Report, len(cases))
	errs := make([]error, len(cases))
	var wg sync.WaitGroup
	for i, c := range cases {
		f := startFake(t, c.faults)
		var prob float64
		if c.reconnect {
			prob = 1 // about once a bot in the run; offline 100-200 ms: catch-up is due
		}
		wg.Go(func() {
			reps[i], errs[i] = Run(context.Background(), Config{
				Addr: f.addr, Bots: 4, Players: 4, InputRate: 20, ReconnectProb: prob, Offline: 200 * time.Millisecond,
				Duration: 1500 * time.Millisecond, Ramp: 100 * time.Millisecond, Drain: time.Second,
				Progress: io.Discard, Log: io.Discard, NoReplay: true,
			})
		})
	}
	wg.Wait()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if rep := reps[i]; !c.check(rep) || rep.Pass {
				t.Errorf("fault not caught (pass %v)", rep.Pass)
				rep.WriteText(t.Output())
			}
		})
	}
}
