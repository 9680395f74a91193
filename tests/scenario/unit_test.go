package main

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/zinxgame/zinxgame/internal/redistest"
)

// TestQuantile: histogram_quantile's interpolation, its +Inf rule and no
// observations.
func TestQuantile(t *testing.T) {
	cum := map[float64]float64{0.001: 50, 0.002: 90, 0.005: 100, math.Inf(1): 100}
	if got := quantile(0.5, cum); got != 0.001 {
		t.Errorf("p50 = %g, want 0.001", got)
	}
	if got := quantile(0.7, cum); math.Abs(got-0.0015) > 1e-12 {
		t.Errorf("p70 = %g, want 0.0015 (halfway through the second bucket)", got)
	}
	cum[math.Inf(1)] = 200
	if got := quantile(0.99, cum); got != 0.005 {
		t.Errorf("p99 in +Inf = %g, want the highest finite bound 0.005", got)
	}
	if got := quantile(0.99, map[float64]float64{0.1: 0, math.Inf(1): 0}); !math.IsNaN(got) {
		t.Errorf("no observations: %g, want NaN", got)
	}
}

// TestReportName: a figure no bot report has is an error naming what the
// report has.
func TestReportName(t *testing.T) {
	var rep map[string]any
	dec := json.NewDecoder(strings.NewReader(`{"login": {"p99_ms": 1.5}, "pass": true}`))
	dec.UseNumber()
	if err := dec.Decode(&rep); err != nil {
		t.Fatal(err)
	}
	bots := []*botResult{{Kind: "lockstep-bot", Report: rep}}
	for path, want := range map[string]float64{"login.p99_ms": 1.5, "pass": 1} {
		if v, _, err := reportValue(&Check{Report: path}, bots); err != nil || v != want {
			t.Errorf("%s = %g, %v; want %g", path, v, err, want)
		}
	}
	if _, _, err := reportValue(&Check{Report: "login.p95_ms"}, bots); err == nil || !strings.Contains(err.Error(), "p99_ms") {
		t.Errorf("an unknown name: %v, want an error listing the report's names", err)
	}
}

// TestVerifyFindsLoss: an acknowledged match Redis does not hold is
// counted lost (the rolling scenario's positive case is TestRolling).
func TestVerifyFindsLoss(t *testing.T) {
	rs := redistest.Start(t)
	rn := &runner{redisAddr: rs.Addr, bots: []*botResult{{Kind: "lockstep-bot", Report: map[string]any{
		"acked_matches":       []any{map[string]any{"match_id": 42, "last_frame": 90, "reason": "MATCH_END_RESULT"}},
		"acked_matches_total": json.Number("1"),
	}}}}
	v, err := rn.verify(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if v.Acked != 1 || v.Lost != 1 || len(v.Samples) != 1 || !strings.Contains(v.Samples[0], "not in Redis") {
		t.Errorf("verification %+v: want the one match lost", v)
	}
}
