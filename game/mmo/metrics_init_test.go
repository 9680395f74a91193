package mmo

import (
	"log/slog"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestMetricsPreinitialized: a world registered on a registry reports every
// known refusal cause at zero before the first refusal, so a dashboard's
// rate() reads 0 rather than "no data".
func TestMetricsPreinitialized(t *testing.T) {
	reg := prometheus.NewRegistry()
	w, err := NewWorld(DefaultConfig(), slog.New(slog.DiscardHandler), WithMetrics(reg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fams {
		if f.GetName() != "zinxgame_mmo_refused_total" {
			continue
		}
		for _, s := range f.GetMetric() {
			if v := s.GetCounter().GetValue(); v != 0 {
				t.Errorf("refused_total %v = %v before any refusal, want 0", s.GetLabel(), v)
			}
			for _, l := range s.GetLabel() {
				if l.GetName() == "reason" {
					got = append(got, l.GetValue())
				}
			}
		}
	}
	want := slices.Clone(refuseReasons)
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("refused_total reasons = %q, want %q", got, want)
	}
}
