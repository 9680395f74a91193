package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"
)

// Thresholds is a file of pass/fail checks: the canary gate.
//
//	{"description": "...", "checks": [
//	  {"metric": "zinxgame_send_queue_overflows_total", "delta": true, "max": 0},
//	  {"metric": "zinxgame_connections_refused_total", "delta": true, "labels": {"reason": "max_conn"}, "max": 0},
//	  {"metric": "zinxgame_ready", "min": 1, "agg": "min"},
//	  {"metric": "zinxgame_room_tick_lateness_seconds", "quantile": 0.99, "max": 0.005},
//	  {"report": "input_to_frame.p99_ms", "max": 38},
//	  {"fact": "server_exit_nonzero", "max": 0}]}
type Thresholds struct {
	Description string  `json:"description,omitempty"`
	Checks      []Check `json:"checks"`
}

// Check is one line of the verdict table. Exactly one of Metric, Report
// and Fact names what it measures; Max and/or Min bound it (inclusive).
type Check struct {
	// Name is the table's label; empty: made from what is measured.
	Name string `json:"name,omitempty"`
	// Metric is a server metric family. With Delta, its change over the
	// run (a counter: the sum over every server process of the last
	// scrape minus the first, restarts included); with Quantile, that
	// quantile of a histogram over the run, from the bucket deltas;
	// otherwise its value after the run (a gauge). Series are summed; a
	// counter with no series counts as 0 (labelled counters appear with
	// their first increment), a gauge or histogram with none fails.
	Metric   string            `json:"metric,omitempty"`
	Delta    bool              `json:"delta,omitempty"`
	Quantile *float64          `json:"quantile,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"` // only series with these label values
	// Report is a figure of the bots' JSON reports: a dotted path to a
	// number or a boolean (true is 1), such as "login.p99_ms" or "pass".
	Report string `json:"report,omitempty"`
	// Fact is a figure of the scenario run itself (facts, below).
	Fact string `json:"fact,omitempty"`
	// Agg combines the values of several sources (server nodes for a
	// metric's value after the run, bot processes for a report figure):
	// "sum" (the default for metrics), "max" (the default for reports)
	// or "min".
	Agg string   `json:"agg,omitempty"`
	Max *float64 `json:"max,omitempty"`
	Min *float64 `json:"min,omitempty"`
}

// facts are the figures a run gives besides metrics and bot reports, with
// what they mean; only some scenarios give some (factsOf).
var facts = map[string]string{
	"server_exit_nonzero":       "server processes (every start, restarts included) that exited non-zero or were killed",
	"server_starts":             "server processes started, restarts included",
	"bots_failed":               "bot processes whose own verdict was FAIL (exit 1)",
	"bot_processes":             "bot processes run",
	"not_ready_samples":         "samples of a server's /readyz during the run that were not 200 (restart windows excluded)",
	"peak_connections":          "the most zinxgame_connections (summed over the servers) sampled during the run",
	"restarts":                  "rolling: servers restarted under load",
	"restart_ready_seconds_max": "rolling: the longest time from a restart's SIGTERM to the new process being ready",
	"restart_exit_nonzero":      "rolling: restarts whose old process exited non-zero",
	"acked_matches":             "rolling: matches whose MatchEnd the bots received (acknowledged, durable in Redis)",
	"acked_matches_lost":        "rolling: acknowledged matches missing from Redis after the run, or ended differently",
}

// metricName is Prometheus's metric name syntax.
var metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// loadThresholds reads and checks a thresholds file: unknown fields,
// unknown facts, and checks that measure nothing or are unbounded are
// errors. available is the scenario's facts.
func loadThresholds(file string, available []string) (*Thresholds, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("thresholds: %w", err)
	}
	th, err := parseThresholds(b, available)
	if err != nil {
		return nil, fmt.Errorf("thresholds %s: %w", file, err)
	}
	return th, nil
}

func parseThresholds(b []byte, available []string) (*Thresholds, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var th Thresholds
	if err := dec.Decode(&th); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after the JSON object")
	}
	if len(th.Checks) == 0 {
		return nil, errors.New("no checks")
	}
	if len(th.Checks) > 200 {
		return nil, fmt.Errorf("%d checks: at most 200", len(th.Checks))
	}
	var errs []error
	for i := range th.Checks {
		c := &th.Checks[i]
		if err := c.validate(available); err != nil {
			errs = append(errs, fmt.Errorf("check %d (%s): %w", i+1, c.label(), err))
		}
	}
	return &th, errors.Join(errs...)
}

func (c *Check) validate(available []string) error {
	kinds := 0
	for _, s := range []string{c.Metric, c.Report, c.Fact} {
		if s != "" {
			kinds++
		}
	}
	if kinds != 1 {
		return errors.New(`exactly one of "metric", "report" and "fact" names what is measured`)
	}
	if c.Max == nil && c.Min == nil {
		return errors.New(`no "max" or "min"`)
	}
	for _, v := range []*float64{c.Max, c.Min} {
		if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
			return errors.New("a bound must be a finite number")
		}
	}
	if c.Max != nil && c.Min != nil && *c.Min > *c.Max {
		return fmt.Errorf("min %g above max %g", *c.Min, *c.Max)
	}
	switch c.Agg {
	case "", "sum", "max", "min":
	default:
		return fmt.Errorf(`"agg" %q: want sum, max or min`, c.Agg)
	}
	if c.Metric == "" && (c.Delta || c.Quantile != nil || c.Labels != nil) {
		return errors.New(`"delta", "quantile" and "labels" go with "metric"`)
	}
	switch {
	case c.Metric != "":
		if !metricName.MatchString(c.Metric) {
			return fmt.Errorf("metric %q: not a metric name", c.Metric)
		}
		if c.Delta && c.Quantile != nil {
			return errors.New(`"delta" and "quantile": a quantile is over the run already`)
		}
		if q := c.Quantile; q != nil && !(*q > 0 && *q < 1) {
			return fmt.Errorf("quantile %g: must be between 0 and 1", *q)
		}
		for k := range c.Labels {
			if !metricName.MatchString(k) || strings.Contains(k, ":") {
				return fmt.Errorf("label %q: not a label name", k)
			}
		}
	case c.Report != "":
		for _, part := range strings.Split(c.Report, ".") {
			if part == "" {
				return fmt.Errorf("report %q: an empty path element", c.Report)
			}
		}
	case c.Fact != "":
		if _, ok := facts[c.Fact]; !ok {
			return fmt.Errorf("fact %q: unknown (known: %s)", c.Fact, strings.Join(sortedKeys(facts), ", "))
		}
		if !slices.Contains(available, c.Fact) {
			return fmt.Errorf("fact %q: this run does not give it (it gives %s)", c.Fact, strings.Join(available, ", "))
		}
	}
	return nil
}

// label names the check in the table.
func (c *Check) label() string {
	if c.Name != "" {
		return c.Name
	}
	switch {
	case c.Metric != "":
		s := c.Metric + labelString(c.Labels)
		switch {
		case c.Delta:
			s = "Δ " + s
		case c.Quantile != nil:
			s = fmt.Sprintf("p%g %s", *c.Quantile*100, s)
		}
		return s
	case c.Report != "":
		return "bots: " + c.Report
	}
	return c.Fact
}

func labelString(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s=%q", k, m[k]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// limit is the check's bounds as the table prints them.
func (c *Check) limit() string {
	var parts []string
	if c.Min != nil {
		parts = append(parts, fmt.Sprintf(">= %g", *c.Min))
	}
	if c.Max != nil {
		parts = append(parts, fmt.Sprintf("<= %g", *c.Max))
	}
	return strings.Join(parts, ", ")
}

// within reports whether v meets the bounds; NaN (no value) never does.
func (c *Check) within(v float64) bool {
	if math.IsNaN(v) {
		return false
	}
	return (c.Max == nil || v <= *c.Max) && (c.Min == nil || v >= *c.Min)
}
