package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
)

// result is the run's outcome: printed, and saved with -json.
type result struct {
	Scenario    string         `json:"scenario"`
	Profile     string         `json:"profile"`
	Thresholds  string         `json:"thresholds"`
	Description string         `json:"description,omitempty"`
	Seconds     float64        `json:"seconds"`
	Bots        int            `json:"bots"`
	Servers     []serverInfo   `json:"servers"`
	BotRuns     []*botResult   `json:"bot_processes"`
	Restarts    []restart      `json:"restarts,omitempty"`
	Acked       *verification  `json:"acked_matches,omitempty"`
	Samples     []sample       `json:"samples"`
	Metrics     []familyChange `json:"metrics"`
	Checks      []verdict      `json:"checks"`
	// Problems are what went wrong besides the checks (a restart that
	// failed, a server that would not stop): each fails the run.
	Problems []string `json:"problems,omitempty"`
	Pass     bool     `json:"pass"`
}

type serverInfo struct {
	Node   string `json:"node"`
	Addr   string `json:"addr"`
	Admin  string `json:"admin"`
	Starts int    `json:"starts"`
	Exits  []int  `json:"exits"`
}

// familyChange is a checked family's sum over its series, per server
// process, at its first and last scrape.
type familyChange struct {
	Family string  `json:"family"`
	Node   string  `json:"node"`
	Start  int     `json:"start"` // the node's process (restarts count up)
	Before float64 `json:"before"`
	After  float64 `json:"after"`
}

// verdict is one row of the table.
type verdict struct {
	Check  string  `json:"check"`
	Value  float64 `json:"value"` // NaN (no value) is written as null
	Limit  string  `json:"limit"`
	Detail string  `json:"detail,omitempty"`
	Pass   bool    `json:"pass"`
	// Skipped: not measurable in this run (a server fact against an
	// external server); neither a pass nor a breach.
	Skipped bool `json:"skipped,omitempty"`
}

func (v verdict) MarshalJSON() ([]byte, error) {
	type plain verdict
	out := struct {
		plain
		Value *float64 `json:"value"`
	}{plain: plain(v)}
	if !math.IsNaN(v.Value) && !math.IsInf(v.Value, 0) {
		out.Value = &v.Value
	}
	return json.Marshal(out)
}

// judge evaluates every check. A report name no bot report has is an
// error: the thresholds file is wrong, not the server.
func (rn *runner) judge(ver *verification) (*result, error) {
	rn.mu.Lock()
	bots := slices.Clone(rn.bots)
	res := &result{
		Scenario: rn.opt.scenario, Profile: rn.opt.profile, Thresholds: rn.opt.thresholds,
		Description: rn.th.Description, Bots: rn.opt.bots, Seconds: rn.opt.duration.Seconds(),
		Restarts: slices.Clone(rn.restarts), Samples: slices.Clone(rn.samples), Acked: ver,
	}
	rn.mu.Unlock()
	slices.SortFunc(bots, func(a, b *botResult) int { return strings.Compare(a.Label, b.Label) })
	res.BotRuns = bots
	for _, s := range rn.servers {
		if s == nil {
			res.Servers = append(res.Servers, serverInfo{Node: "external", Addr: rn.opt.addr, Admin: rn.opt.admin})
			continue
		}
		res.Servers = append(res.Servers, serverInfo{Node: s.name(), Addr: s.addr, Admin: s.admin, Starts: s.starts, Exits: s.exits})
	}
	spans := rn.spans()
	seen := map[string]bool{}
	for _, c := range rn.th.Checks {
		if c.Metric == "" || seen[c.Metric] {
			continue
		}
		seen[c.Metric] = true
		for _, sp := range spans {
			a, _ := sp.first.sum(c.Metric, nil)
			b, _ := sp.last.sum(c.Metric, nil)
			res.Metrics = append(res.Metrics, familyChange{Family: c.Metric, Node: sp.node, Start: sp.start, Before: a, After: b})
		}
	}
	res.Pass = true
	for i := range rn.th.Checks {
		c := &rn.th.Checks[i]
		var v float64
		var detail string
		switch {
		case c.Metric != "":
			v, detail = metricValue(c, spans)
		case c.Report != "":
			var err error
			if v, detail, err = reportValue(c, bots); err != nil {
				return nil, fmt.Errorf("thresholds %s: check %d: %w", rn.opt.thresholds, i+1, err)
			}
		case rn.external != nil && slices.Contains(serverFacts, c.Fact):
			res.Checks = append(res.Checks, verdict{Check: c.label(), Value: math.NaN(), Limit: c.limit(),
				Detail: "not measured: the server is external (-addr)", Pass: true, Skipped: true})
			continue
		default:
			v = rn.factValue(c.Fact, ver)
			detail = facts[c.Fact]
		}
		row := verdict{Check: c.label(), Value: v, Limit: c.limit(), Detail: detail, Pass: c.within(v)}
		res.Pass = res.Pass && row.Pass
		res.Checks = append(res.Checks, row)
	}
	return res, nil
}

func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "none"
	case math.IsInf(v, 0):
		return fmt.Sprint(v)
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.4g", v)
}

// write prints the result for people.
func (res *result) write(w io.Writer) {
	fmt.Fprintf(w, "scenario %s (profile %s), %d bots, %gs; thresholds %s\n", res.Scenario, res.Profile, res.Bots, res.Seconds, res.Thresholds)
	if res.Description != "" {
		fmt.Fprintf(w, "  %s\n", res.Description)
	}
	for _, s := range res.Servers {
		fmt.Fprintf(w, "  server %-12s %s  admin %s  starts %d  exits %v\n", s.Node, s.Addr, s.Admin, s.Starts, s.Exits)
	}
	for _, b := range res.BotRuns {
		status := "PASS"
		if b.Exit != 0 {
			status = "FAIL: " + strings.Join(b.Failures, "; ")
		}
		fmt.Fprintf(w, "  bots   %-12s %s x%d from %.1fs to %.1fs (its own verdict %s)\n", b.Label, b.Kind, b.Bots,
			float64(b.StartedMs)/1000, float64(b.StoppedMs)/1000, status)
	}
	for _, r := range res.Restarts {
		fmt.Fprintf(w, "  restart %s at %.1fs: exit %d, ready again after %.2fs %s\n", r.Node, float64(r.AtMs)/1000, r.Exit, r.ReadySeconds, r.Err)
	}
	if a := res.Acked; a != nil {
		fmt.Fprintf(w, "  acknowledged matches: %d checked in Redis, %d lost%s\n", a.Acked, a.Lost, listed(a.Samples))
	}
	fmt.Fprintln(w, "\n/metrics (sum over series) before and after the run")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  family\tserver\tprocess\tbefore\tafter\t")
	for _, m := range res.Metrics {
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\t\n", m.Family, m.Node, m.Start, num(m.Before), num(m.After))
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "\nverdict")
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  check\tvalue\tlimit\t\t")
	for _, c := range res.Checks {
		v := "PASS"
		switch {
		case c.Skipped:
			v = "SKIP"
		case !c.Pass:
			v = "FAIL"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t(%s)\n", c.Check, num(c.Value), c.Limit, v, c.Detail)
	}
	_ = tw.Flush()
	for _, p := range res.Problems {
		fmt.Fprintf(w, "  problem: %s\n", p)
	}
	if res.Pass {
		fmt.Fprintln(w, "verdict: PASS")
	} else {
		fmt.Fprintln(w, "verdict: FAIL")
	}
}

func listed(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return ": " + strings.Join(s, "; ")
}

// writeJSON saves the result.
func (res *result) writeJSON(file string) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("-json: %w", err)
	}
	if err := os.WriteFile(file, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("-json: %w", err)
	}
	return nil
}
