package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// restartServer runs a server on a free port and, after wait, shuts it
// down (its matches end with MATCH_END_SHUTDOWN) and starts another on
// the same address, as a rolling restart does. It returns the address and
// a function that waits for the restart and stops the second server.
func restartServer(t *testing.T, wait time.Duration) (string, func()) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	first, err := startServerAt("", 100, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := first.addr
	next := make(chan *inproc, 1)
	go func() {
		time.Sleep(wait)
		if err := first.stop(); err != nil {
			t.Errorf("first server's shutdown: %v", err)
		}
		srv, err := startServerAt(addr, 100, log, nil)
		if err != nil {
			t.Errorf("restarting on %s: %v", addr, err)
		}
		next <- srv
	}()
	return addr, func() {
		if srv := <-next; srv != nil {
			_ = srv.stop()
		}
	}
}

// TestSurviveRestarts: with -survive-restarts the bots whose matches the
// server ended for its shutdown dial again until it is back, form their
// rooms again and play new matches to the end of the run, by vote; every
// MatchEnd is listed as acknowledged.
func TestSurviveRestarts(t *testing.T) {
	addr, done := restartServer(t, 1500*time.Millisecond)
	rep, err := Run(context.Background(), Config{
		Addr: addr, Bots: 8, Players: 4, InputRate: 10, SurviveRestarts: true,
		Duration: 6 * time.Second, Ramp: 200 * time.Millisecond, Drain: 3 * time.Second,
		Progress: io.Discard, Log: io.Discard,
	})
	done()
	if err != nil {
		t.Fatal(err)
	}
	if t.Failed() || testing.Verbose() {
		defer rep.WriteText(t.Output())
	}
	rs := rep.Restarts
	if rs.MatchesEnded != 2 || rs.Rejoined != 8 || rs.Failed != 0 || rs.TooLate != 0 {
		t.Errorf("restarts %+v: want 2 matches ended by the shutdown, all 8 bots back", rs)
	}
	ro := rep.Rooms
	if ro.MatchesStarted != 4 || ro.MatchesEnded != 4 || ro.EndReasons["MATCH_END_SHUTDOWN"] != 2 ||
		ro.EndReasons["MATCH_END_RESULT"] != 2 || ro.EndedEarly != 0 {
		t.Errorf("rooms %+v: want 2 matches ended by the shutdown and 2 by the vote", ro)
	}
	if rep.AckedTotal != 4 || len(rep.AckedMatches) != 4 {
		t.Errorf("acknowledged %d (%d listed), want 4", rep.AckedTotal, len(rep.AckedMatches))
	}
	if rep.InMatch != 8 || rep.Frames.GapFrames != 0 || rep.Hashes.Desyncs != 0 || rep.LostConns != 0 || len(rep.GaveUp) != 0 {
		t.Errorf("in match %d, frames %+v, desyncs %d, lost %d, gave up %v", rep.InMatch, rep.Frames, rep.Hashes.Desyncs, rep.LostConns, rep.GaveUp)
	}
	// The latency and bandwidth targets are for real runs (checkRun): a
	// loaded -race run may miss them; nothing else may fail.
	for _, f := range rep.Failures {
		if !strings.HasPrefix(f, "input -> frame p99") && !strings.HasPrefix(f, "downstream") {
			t.Errorf("FAIL: %s", f)
		}
	}
}

// TestRestartWithoutSurvive: by default a bot whose match the server ended
// for its shutdown stops, and the run fails on it.
func TestRestartWithoutSurvive(t *testing.T) {
	addr, done := restartServer(t, 1500*time.Millisecond)
	rep, err := Run(context.Background(), Config{
		Addr: addr, Bots: 4, Players: 4, InputRate: 10,
		Duration: 4 * time.Second, Ramp: 100 * time.Millisecond, Drain: time.Second,
		Progress: io.Discard, Log: io.Discard,
	})
	done()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Pass || rep.Rooms.EndedEarly != 1 || rep.Restarts.Rejoined != 0 || rep.AckedTotal != 1 {
		t.Errorf("pass %v, ended during the run %d, rejoined %d, acknowledged %d: want a FAIL on the 1 match ended early",
			rep.Pass, rep.Rooms.EndedEarly, rep.Restarts.Rejoined, rep.AckedTotal)
	}
}
