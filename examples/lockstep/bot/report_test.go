package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// goodReport is a run that meets every target.
func goodReport() *Report {
	return &Report{
		Bots: 8, Players: 4, InputRate: 10, TickRate: 30, TickPeriod: Millis(time.Second / 30),
		LoggedIn: 8, InMatch: 8,
		Rooms:      Rooms{Rooms: 2, Created: 2, MatchesStarted: 2, MatchesEnded: 2, EndReasons: map[string]int{"MATCH_END_RESULT": 2}, List: "ok", ListOK: true},
		Frames:     Frames{Applied: 1000, LiveBatches: 1000},
		Inputs:     Inputs{Sent: 300, Echoed: 300, LostByDrop: 2},
		Hashes:     Hashes{Sent: 100, ResultsSent: 8},
		Latency:    Latency{Count: 300, P50: Millis(17 * time.Millisecond), P99: Millis(38 * time.Millisecond), Max: Millis(40 * time.Millisecond)},
		Downstream: Downstream{Players: 8, MeanBps: 1400, MaxBps: 1600},
		Reconnect:  Reconnect{Begun: 3, OK: 3},
		ReadyLate:  2,
	}
}

func TestJudge(t *testing.T) {
	rep := goodReport()
	rep.judge()
	if !rep.Pass || len(rep.Failures) != 0 {
		t.Fatalf("good report: pass %v, failures %q", rep.Pass, rep.Failures)
	}
	for _, c := range []struct {
		name string
		edit func(*Report)
		want string // in the failure
	}{
		{"desync", func(r *Report) { r.Hashes.Desyncs = 1 }, "desyncs"},
		{"local mismatch", func(r *Report) { r.Hashes.LocalMismatches = 1 }, "state hashes differ"},
		{"gap", func(r *Report) { r.Frames.Gaps, r.Frames.GapFrames = 1, 3 }, "1 gaps (3 frames missing)"},
		{"duplicate", func(r *Report) { r.Frames.Duplicates, r.Frames.DuplicateFrames = 1, 1 }, "1 duplicates"},
		{"catch-up unasked", func(r *Report) { r.Frames.CatchUpUnasked = 1 }, "1 catch-up frames unasked"},
		{"latency over a tick + 5ms", func(r *Report) { r.Latency.P99 = Millis(38*time.Millisecond + 400*time.Microsecond) }, "p99 38.40ms > 38.33ms"},
		{"latency at 60 Hz", func(r *Report) { r.TickRate, r.TickPeriod = 60, Millis(time.Second/60) }, "> 21.67ms"},
		{"no latency sample", func(r *Report) { r.Latency = Latency{} }, "no samples"},
		{"no match", func(r *Report) { r.TickRate = 0 }, "no match started"},
		{"downstream", func(r *Report) { r.Downstream.MeanBps = 1501 }, "downstream 1501 B/s"},
		{"decode error", func(r *Report) { r.Dec.Total = 1 }, "decode errors"},
		{"bot left out", func(r *Report) { r.InMatch = 7 }, "7 of 8 bots"},
		{"bot gave up", func(r *Report) { r.GaveUp = map[string]uint64{"joining a match": 1} }, "gave up"},
		{"server error", func(r *Report) { r.Errors = map[string]uint64{"ERROR_ROOM_FULL": 1} }, "ERROR_ROOM_FULL"},
		{"lost connection", func(r *Report) { r.LostConns = 1 }, "connections lost"},
		{"input lost", func(r *Report) { r.Inputs.Lost = 1 }, "1 lost"},
		{"input twice", func(r *Report) { r.Inputs.Unmatched = 1 }, "relayed twice"},
		{"reconnection failed", func(r *Report) { r.Reconnect.OK, r.Reconnect.Failed = 2, 1 }, "1 of 3 failed"},
		{"match not ended", func(r *Report) { r.Rooms.MatchesEnded = 1 }, "did not end"},
		{"match ended early", func(r *Report) { r.Rooms.EndedEarly = 1 }, "ended during the run"},
		{"result differs", func(r *Report) { r.Hashes.ResultMismatch = 1 }, "result votes"},
		{"room list", func(r *Report) { r.Rooms.ListOK, r.Rooms.List = false, "not listed" }, "not listed"},
		{"late ticks", func(r *Report) { r.Ticks = &ServerTicks{Ticks: 1000, LateOver: 11, LateShare: 0.011, Judged: true} }, "11 of 1000 (1.10%) later than 2.00ms"},
		{"no ticks", func(r *Report) { r.Ticks = &ServerTicks{Judged: true} }, "0 of 0"},
		{"metrics unread", func(r *Report) { r.TicksErr = "connection refused" }, "server metrics: connection refused"},
	} {
		rep := goodReport()
		c.edit(rep)
		rep.judge()
		if rep.Pass || !strings.Contains(strings.Join(rep.Failures, "; "), c.want) {
			t.Errorf("%s: pass %v, failures %q; want one with %q", c.name, rep.Pass, rep.Failures, c.want)
		}
	}

	// Late ticks of an in-process server (-serve) are reported, not judged.
	rep = goodReport()
	rep.Ticks = &ServerTicks{Ticks: 1000, LateOver: 500, LateShare: 0.5}
	rep.judge()
	if !rep.Pass {
		t.Errorf("-serve's late ticks failed the run: %q", rep.Failures)
	}

	// Exactly at the targets passes; the bandwidth target holds at up to 10
	// inputs/s only.
	rep = goodReport()
	rep.Latency.P99 = Millis(time.Second/30 + targetSlack)
	rep.Downstream.MeanBps = targetDownBps
	rep.judge()
	if !rep.Pass {
		t.Errorf("at the targets: %q", rep.Failures)
	}
	rep = goodReport()
	rep.InputRate, rep.Downstream.MeanBps = 20, 2500
	rep.judge()
	if !rep.Pass {
		t.Errorf("20 inputs/s, 2500 B/s: %q", rep.Failures)
	}
}

func TestReportOutput(t *testing.T) {
	rep := goodReport()
	rep.judge()
	var text bytes.Buffer
	rep.WriteText(&text)
	for _, want := range []string{"RESULT PASS", "p99 38.00ms", "1400 B/s per player", "desyncs 0 == 0: PASS"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	file := filepath.Join(t.TempDir(), "r.json")
	if err := rep.WriteJSON(file); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back["pass"] != true || back["input_to_frame"].(map[string]any)["p99_ms"] != 38.0 {
		t.Errorf("JSON report: pass %v, input_to_frame %v", back["pass"], back["input_to_frame"])
	}
}
