package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sort"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// maxMetricsBytes bounds a /metrics page read (a server's is tens of KB).
const maxMetricsBytes = 16 << 20

// scrapeTimeout bounds one GET.
const scrapeTimeout = 5 * time.Second

// scrape is one /metrics page, parsed.
type scrape struct {
	at   time.Time
	fams map[string]*dto.MetricFamily
}

// httpGet GETs url within scrapeTimeout and returns the status and at most
// limit bytes of the body.
func httpGet(ctx context.Context, url string, limit int64) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return resp.StatusCode, nil, err
	}
	if int64(len(b)) > limit {
		return resp.StatusCode, nil, fmt.Errorf("%s: more than %d bytes", url, limit)
	}
	return resp.StatusCode, b, nil
}

// fetchMetrics reads and parses a server's /metrics (admin is its admin
// listener's base URL).
func fetchMetrics(ctx context.Context, admin string) (scrape, error) {
	url := admin + "/metrics"
	code, body, err := httpGet(ctx, url, maxMetricsBytes)
	if err != nil {
		return scrape{}, fmt.Errorf("metrics: %w", err)
	}
	if code != http.StatusOK {
		return scrape{}, fmt.Errorf("metrics: %s: status %d", url, code)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return scrape{}, fmt.Errorf("metrics: %s: %w", url, err)
	}
	return scrape{at: time.Now(), fams: fams}, nil
}

// span is one server process's first and last scrape: counters never go
// back within it, so its change is last minus first. A restart begins a
// new span.
type span struct {
	node        string
	start       int // the node's process: 1, then 2 after a restart, ...
	first, last scrape
}

// matches reports whether m has every label of want (a missing label
// reads as "").
func matches(m *dto.Metric, want map[string]string) bool {
	for k, v := range want {
		got := ""
		for _, lp := range m.GetLabel() {
			if lp.GetName() == k {
				got = lp.GetValue()
				break
			}
		}
		if got != v {
			return false
		}
	}
	return true
}

// value is a series' number: a counter's, gauge's or untyped value, a
// histogram's or summary's observation count.
func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	case m.Summary != nil:
		return float64(m.Summary.GetSampleCount())
	}
	return 0
}

// sum is the sum of the family's matching series, and how many there are.
func (s scrape) sum(name string, labels map[string]string) (float64, int) {
	f := s.fams[name]
	if f == nil {
		return 0, 0
	}
	total, n := 0.0, 0
	for _, m := range f.GetMetric() {
		if matches(m, labels) {
			total += value(m)
			n++
		}
	}
	return total, n
}

// buckets adds the family's matching histogram buckets (cumulative counts
// by upper bound) into into, with sign (+1 or -1).
func (s scrape) buckets(name string, labels map[string]string, into map[float64]float64, sign float64) {
	f := s.fams[name]
	if f == nil {
		return
	}
	for _, m := range f.GetMetric() {
		h := m.GetHistogram()
		if h == nil || !matches(m, labels) {
			continue
		}
		for _, b := range h.GetBucket() {
			if ub := b.GetUpperBound(); !math.IsInf(ub, 1) { // +Inf is the sample count, below
				into[ub] += sign * float64(b.GetCumulativeCount())
			}
		}
		into[math.Inf(1)] += sign * float64(h.GetSampleCount())
	}
}

// quantile is Prometheus's histogram_quantile over cumulative buckets:
// linear within the bucket the rank falls in, the highest finite bound
// when it falls in +Inf; NaN with no observations.
func quantile(q float64, cum map[float64]float64) float64 {
	bounds := make([]float64, 0, len(cum))
	for b := range cum {
		bounds = append(bounds, b)
	}
	sort.Float64s(bounds)
	if len(bounds) == 0 {
		return math.NaN()
	}
	total := cum[bounds[len(bounds)-1]]
	if total <= 0 {
		return math.NaN()
	}
	rank := q * total
	prevBound, prevCount := 0.0, 0.0
	for i, b := range bounds {
		c := cum[b]
		if c >= rank {
			if math.IsInf(b, 1) {
				if i == 0 {
					return math.NaN()
				}
				return bounds[i-1]
			}
			if i == 0 && b <= 0 {
				return b
			}
			if c == prevCount {
				return b
			}
			return prevBound + (b-prevBound)*(rank-prevCount)/(c-prevCount)
		}
		prevBound, prevCount = b, c
	}
	return bounds[len(bounds)-1]
}

// metricValue evaluates a metric check over the run's spans. NaN means no
// value (a gauge or histogram with no series); detail says how it was
// made.
func metricValue(c *Check, spans []span) (float64, string) {
	switch {
	case c.Delta:
		total := 0.0
		for _, sp := range spans {
			a, _ := sp.first.sum(c.Metric, c.Labels)
			b, _ := sp.last.sum(c.Metric, c.Labels)
			total += b - a
		}
		return total, fmt.Sprintf("over %d server process(es)", len(spans))
	case c.Quantile != nil:
		cum := map[float64]float64{}
		for _, sp := range spans {
			sp.last.buckets(c.Metric, c.Labels, cum, 1)
			sp.first.buckets(c.Metric, c.Labels, cum, -1)
		}
		n := cum[math.Inf(1)]
		return quantile(*c.Quantile, cum), fmt.Sprintf("%.0f observations", n)
	}
	// A gauge: each node's last scrape, then combined over nodes.
	last := map[string]scrape{}
	var nodes []string
	for _, sp := range spans {
		if _, ok := last[sp.node]; !ok {
			nodes = append(nodes, sp.node)
		}
		last[sp.node] = sp.last
	}
	var vals []float64
	for _, node := range nodes {
		if v, n := last[node].sum(c.Metric, c.Labels); n > 0 {
			vals = append(vals, v)
		}
	}
	if len(vals) < len(nodes) || len(vals) == 0 {
		return math.NaN(), "no series"
	}
	agg := c.Agg
	if agg == "" {
		agg = "sum"
	}
	return combine(agg, vals), fmt.Sprintf("%s over %d node(s)", agg, len(nodes))
}

// combine folds vals with agg (sum, max or min).
func combine(agg string, vals []float64) float64 {
	switch agg {
	case "max":
		return slices.Max(vals)
	case "min":
		return slices.Min(vals)
	}
	total := 0.0
	for _, v := range vals {
		total += v
	}
	return total
}
