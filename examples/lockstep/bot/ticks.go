package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/zinxgame/zinxgame/internal/botkit"
)

// The server's side of the capacity target: p99 tick lateness at most
// targetLateness, read from its own tick lateness histogram (whose buckets
// include that bound) over the run after the ramp.
const (
	targetLateness = 2 * time.Millisecond
	latenessMetric = "zinxgame_room_tick_lateness_seconds"
	procsMetric    = "go_sched_gomaxprocs_threads"
	scrapeTimeout  = 5 * time.Second
)

// ServerTicks is what the server's metrics say about its ticks after the
// ramp.
type ServerTicks struct {
	Source    string  `json:"source"`
	Ticks     uint64  `json:"ticks"`
	LateOver  uint64  `json:"late_over_target"` // ticks later than targetLateness
	LateShare float64 `json:"late_share"`       // LateOver / Ticks
	// P99AtMost is the upper bound of the histogram bucket holding the
	// p99, in ms; -1 if beyond the last bucket.
	P99AtMost  float64 `json:"p99_at_most_ms"`
	GOMAXPROCS int     `json:"gomaxprocs"` // the server's; 0 if it does not export it
	// Judged: the target counts. Not with -serve, where the bots share
	// the server's process and take its CPU.
	Judged bool `json:"judged"`
}

// tickSample is the tick lateness histogram at one moment.
type tickSample struct {
	bounds []float64 // bucket upper bounds, seconds
	cum    []uint64  // cumulative counts
	count  uint64
	procs  int
}

// urlGatherer reads a server's /metrics page (Prometheus text format).
type urlGatherer string

func (u urlGatherer) Gather() ([]*dto.MetricFamily, error) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, string(u), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("-metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("-metrics %s: %s", u, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("-metrics %s: %w", u, err)
	}
	out := make([]*dto.MetricFamily, 0, len(fams))
	for _, f := range fams {
		out = append(out, f)
	}
	return out, nil
}

// checkMetricsURL allows only an http URL on a loopback host, or on any
// host with allowRemote (-allow-remote).
func checkMetricsURL(raw string, allowRemote bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("-metrics %q: %w", raw, err)
	}
	if u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("-metrics %q: want http://HOST:PORT/metrics", raw)
	}
	if err := botkit.Target(u.Host, allowRemote); err != nil {
		return fmt.Errorf("-metrics: %w", err)
	}
	return nil
}

func readTicks(g prometheus.Gatherer) (tickSample, error) {
	fams, err := g.Gather()
	if err != nil {
		return tickSample{}, err
	}
	var s tickSample
	found := false
	for _, f := range fams {
		switch f.GetName() {
		case latenessMetric:
			if len(f.GetMetric()) != 1 || f.GetMetric()[0].GetHistogram() == nil {
				return tickSample{}, fmt.Errorf("%s: not one histogram", latenessMetric)
			}
			h := f.GetMetric()[0].GetHistogram()
			s.count = h.GetSampleCount()
			for _, b := range h.GetBucket() {
				s.bounds = append(s.bounds, b.GetUpperBound())
				s.cum = append(s.cum, b.GetCumulativeCount())
			}
			found = true
		case procsMetric:
			if m := f.GetMetric(); len(m) == 1 && m[0].GetGauge() != nil {
				s.procs = int(m[0].GetGauge().GetValue())
			}
		}
	}
	if !found {
		return tickSample{}, fmt.Errorf("no %s among the server's metrics", latenessMetric)
	}
	return s, nil
}

// serverTicks is the lateness between two samples of the same server.
func serverTicks(source string, a, b tickSample) (*ServerTicks, error) {
	if len(a.bounds) != len(b.bounds) || b.count < a.count {
		return nil, fmt.Errorf("%s: the histogram changed between samples (server restarted?)", latenessMetric)
	}
	st := &ServerTicks{Source: source, Ticks: b.count - a.count, GOMAXPROCS: b.procs, P99AtMost: -1}
	target := targetLateness.Seconds()
	atTarget := -1
	for i, le := range b.bounds {
		if math.Abs(le-target) < 1e-9 {
			atTarget = i
		}
	}
	if atTarget < 0 {
		return nil, fmt.Errorf("%s: no bucket at %s", latenessMetric, targetLateness)
	}
	st.LateOver = st.Ticks - (b.cum[atTarget] - a.cum[atTarget])
	for i, le := range b.bounds {
		if math.IsInf(le, 1) { // the text format lists +Inf; JSON cannot hold it
			break
		}
		if n := b.cum[i] - a.cum[i]; float64(n) >= 0.99*float64(st.Ticks) {
			st.P99AtMost = le * 1e3
			break
		}
	}
	if st.Ticks > 0 {
		st.LateShare = float64(st.LateOver) / float64(st.Ticks)
	}
	return st, nil
}

// Met reports whether at least 99% of the ticks were at most
// targetLateness late.
func (st *ServerTicks) Met() bool { return st.Ticks > 0 && st.LateShare <= 0.01 }

func (st *ServerTicks) line() string {
	p99 := "beyond the last bucket"
	if st.P99AtMost >= 0 {
		p99 = fmt.Sprintf("<= %gms", st.P99AtMost)
	}
	procs := "GOMAXPROCS not exported"
	if st.GOMAXPROCS > 0 {
		procs = fmt.Sprintf("server GOMAXPROCS %d", st.GOMAXPROCS)
	}
	return fmt.Sprintf("  server ticks  %d after the ramp; lateness p99 %s, %d (%.3f%%) later than %s; %s; %s",
		st.Ticks, p99, st.LateOver, 100*st.LateShare, botkit.Ms(targetLateness), procs, st.Source)
}
