package room

import (
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestMetricsPreinitialized: the refusal reasons exist at zero from the
// start, and a registered type's created, panics and built-in ended series
// exist at zero before its first room, so a dashboard's rate() reads 0.
func TestMetricsPreinitialized(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewManager(Config{}, nil, WithMetrics(reg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	if err := m.Register("arena", func() Logic { return BaseLogic{} }, TypeOptions{}); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"zinxgame_room_refused_total":      {"reason=busy", "reason=owner_limit", "reason=rate_limited", "reason=too_many_rooms"},
		"zinxgame_room_created_total":      {"type=arena"},
		"zinxgame_room_logic_panics_total": {"type=arena"},
		"zinxgame_room_ended_total": {"reason=empty,type=arena", "reason=failed,type=arena",
			"reason=logic,type=arena", "reason=shutdown,type=arena"},
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, f := range fams {
		if _, ok := want[f.GetName()]; !ok {
			continue
		}
		for _, s := range f.GetMetric() {
			if v := s.GetCounter().GetValue(); v != 0 {
				t.Errorf("%s %v = %v before any event, want 0", f.GetName(), s.GetLabel(), v)
			}
			var ls []string
			for _, l := range s.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			slices.Sort(ls)
			got[f.GetName()] = append(got[f.GetName()], strings.Join(ls, ","))
		}
	}
	for name, w := range want {
		g := got[name]
		slices.Sort(g)
		if !slices.Equal(g, w) {
			t.Errorf("%s series = %q, want %q", name, g, w)
		}
	}
}
