package lockstep

import (
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestMetricsPreinitialized: every input-drop reason and every runtime end
// reason exists at zero before the first event, so a dashboard's rate()
// reads 0 rather than "no data".
func TestMetricsPreinitialized(t *testing.T) {
	m := newMetrics()
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.inputsDropped, m.matchesEnded)
	want := map[string][]string{
		"zinxgame_lockstep_inputs_dropped_total": {"frame_full", "not_running", "queue_full", "rate_limited"},
		"zinxgame_lockstep_matches_ended_total": {"MATCH_END_EMPTY", "MATCH_END_FAILED", "MATCH_END_MAX_DURATION",
			"MATCH_END_RESULT", "MATCH_END_SHUTDOWN"},
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, f := range fams {
		for _, s := range f.GetMetric() {
			if v := s.GetCounter().GetValue(); v != 0 {
				t.Errorf("%s %v = %v before any event, want 0", f.GetName(), s.GetLabel(), v)
			}
			for _, l := range s.GetLabel() {
				if l.GetName() == "reason" {
					got[f.GetName()] = append(got[f.GetName()], l.GetValue())
				}
			}
		}
	}
	for name, w := range want {
		g := got[name]
		slices.Sort(g)
		if !slices.Equal(g, w) {
			t.Errorf("%s reasons = %q, want %q", name, g, w)
		}
	}
}
