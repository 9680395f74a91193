package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Thresholds the framework is held to, relative to the baseline.
const (
	goalMsgsRatio = 0.9 // framework msgs/s >= 0.9 x baseline
	goalP99Ratio  = 1.2 // framework p99 <= 1.2 x baseline
)

// Result is one measurement of one target, or (in Report.Summary) the
// medians over a target's runs.
type Result struct {
	Target     string            `json:"target"`
	Run        int               `json:"run,omitempty"`  // 1-based; 0 in the summary
	Runs       int               `json:"runs,omitempty"` // in the summary: how many runs
	Addr       string            `json:"addr,omitempty"`
	Conns      int               `json:"conns"`
	ConnsUp    int               `json:"conns_up"`
	Inflight   int               `json:"inflight"`
	Payload    int               `json:"payload"`
	Messages   uint64            `json:"messages"`
	Seconds    float64           `json:"seconds"`
	MsgsPerSec float64           `json:"msgs_per_sec"`
	P50US      float64           `json:"p50_us"`
	P90US      float64           `json:"p90_us"`
	P99US      float64           `json:"p99_us"`
	MaxUS      float64           `json:"max_us"`
	Errors     uint64            `json:"errors"`
	ErrorKinds map[string]uint64 `json:"error_kinds,omitempty"`
	FirstError string            `json:"first_error,omitempty"`

	// Resources used in the measured window, where known. CPU is in
	// cores (CPU seconds per second); the server figures need a server
	// process started by the tool, on Linux.
	ClientCPU          float64 `json:"client_cpu_cores,omitempty"`
	ServerCPU          float64 `json:"server_cpu_cores,omitempty"`
	ServerUSPerMsg     float64 `json:"server_cpu_us_per_msg,omitempty"`
	ServerReadsPerMsg  float64 `json:"server_reads_per_msg,omitempty"`
	ServerWritesPerMsg float64 `json:"server_writes_per_msg,omitempty"`
}

// Ratios compare the framework with the baseline: framework / baseline.
type Ratios struct {
	MsgsPerSec   float64     `json:"msgs_per_sec"`
	P99          float64     `json:"p99"`
	MsgsPerSecOK bool        `json:"msgs_per_sec_ok"` // >= goalMsgsRatio
	P99OK        bool        `json:"p99_ok"`          // <= goalP99Ratio
	PerRun       []RunRatios `json:"per_run,omitempty"`
}

// RunRatios are the ratios of one round of alternating runs.
type RunRatios struct {
	Run        int     `json:"run"`
	MsgsPerSec float64 `json:"msgs_per_sec"`
	P99        float64 `json:"p99"`
}

// Report is everything one invocation measured.
type Report struct {
	Conns       int      `json:"conns"`
	Inflight    int      `json:"inflight"`
	Payload     int      `json:"payload"`
	DurationS   float64  `json:"duration_s"`
	WarmupS     float64  `json:"warmup_s"`
	RampS       float64  `json:"ramp_s"`
	Framing     string   `json:"framing"`
	Workers     int      `json:"workers"`
	ServerProcs int      `json:"server_procs"`
	ClientProcs int      `json:"client_procs"`
	External    string   `json:"external_addr,omitempty"`
	Interrupted bool     `json:"interrupted,omitempty"`
	Runs        []Result `json:"runs"`
	Summary     []Result `json:"summary"`
	Ratio       *Ratios  `json:"ratio,omitempty"`
}

func newReport(o *options) *Report {
	return &Report{
		Conns:       o.Conns,
		Inflight:    o.Inflight,
		Payload:     o.Payload,
		DurationS:   o.Duration.Seconds(),
		WarmupS:     o.Warmup.Seconds(),
		RampS:       o.Ramp.Seconds(),
		Framing:     o.Framing,
		Workers:     o.Workers,
		ServerProcs: o.ServerProcs,
		ClientProcs: runtime.GOMAXPROCS(0),
		External:    o.Addr,
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// summarize fills Summary (medians per target) and Ratio from Runs.
func (r *Report) summarize() {
	r.Summary, r.Ratio = nil, nil
	byTarget := map[string][]Result{}
	var order []string
	for _, res := range r.Runs {
		if _, ok := byTarget[res.Target]; !ok {
			order = append(order, res.Target)
		}
		byTarget[res.Target] = append(byTarget[res.Target], res)
	}
	summary := map[string]Result{}
	for _, t := range order {
		rs := byTarget[t]
		pick := func(f func(Result) float64) float64 {
			xs := make([]float64, len(rs))
			for i, x := range rs {
				xs[i] = f(x)
			}
			return median(xs)
		}
		s := Result{
			Target:     t,
			Runs:       len(rs),
			Addr:       rs[0].Addr,
			Conns:      rs[0].Conns,
			ConnsUp:    int(pick(func(x Result) float64 { return float64(x.ConnsUp) })),
			Inflight:   rs[0].Inflight,
			Payload:    rs[0].Payload,
			Messages:   uint64(pick(func(x Result) float64 { return float64(x.Messages) })),
			Seconds:    pick(func(x Result) float64 { return x.Seconds }),
			MsgsPerSec: pick(func(x Result) float64 { return x.MsgsPerSec }),
			P50US:      pick(func(x Result) float64 { return x.P50US }),
			P90US:      pick(func(x Result) float64 { return x.P90US }),
			P99US:      pick(func(x Result) float64 { return x.P99US }),
			MaxUS:      pick(func(x Result) float64 { return x.MaxUS }),

			ClientCPU:          pick(func(x Result) float64 { return x.ClientCPU }),
			ServerCPU:          pick(func(x Result) float64 { return x.ServerCPU }),
			ServerUSPerMsg:     pick(func(x Result) float64 { return x.ServerUSPerMsg }),
			ServerReadsPerMsg:  pick(func(x Result) float64 { return x.ServerReadsPerMsg }),
			ServerWritesPerMsg: pick(func(x Result) float64 { return x.ServerWritesPerMsg }),
		}
		for _, x := range rs { // errors add up over runs
			s.Errors += x.Errors
			for k, n := range x.ErrorKinds {
				if s.ErrorKinds == nil {
					s.ErrorKinds = make(map[string]uint64)
				}
				s.ErrorKinds[k] += n
			}
			if s.FirstError == "" {
				s.FirstError = x.FirstError
			}
		}
		summary[t] = s
		r.Summary = append(r.Summary, s)
	}
	fw, okF := summary[targetFramework]
	bl, okB := summary[targetBaseline]
	if !okF || !okB {
		return
	}
	rt := &Ratios{
		MsgsPerSec: ratio(fw.MsgsPerSec, bl.MsgsPerSec),
		P99:        ratio(fw.P99US, bl.P99US),
	}
	rt.MsgsPerSecOK = rt.MsgsPerSec >= goalMsgsRatio
	rt.P99OK = rt.P99 > 0 && rt.P99 <= goalP99Ratio
	for _, f := range byTarget[targetFramework] {
		for _, b := range byTarget[targetBaseline] {
			if b.Run == f.Run {
				rt.PerRun = append(rt.PerRun, RunRatios{
					Run:        f.Run,
					MsgsPerSec: ratio(f.MsgsPerSec, b.MsgsPerSec),
					P99:        ratio(f.P99US, b.P99US),
				})
			}
		}
	}
	r.Ratio = rt
}

// fmtUS formats microseconds for the table.
func fmtUS(v float64) string {
	d := time.Duration(v * float64(time.Microsecond))
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fus", v)
	case d < time.Second:
		return fmt.Sprintf("%.2fms", v/1e3)
	default:
		return fmt.Sprintf("%.2fs", v/1e6)
	}
}

func okWord(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISSED"
}

func writeRow(w io.Writer, label string, x Result) {
	conns := fmt.Sprint(x.Conns)
	if x.ConnsUp != x.Conns {
		conns = fmt.Sprintf("%d/%d", x.ConnsUp, x.Conns)
	}
	fmt.Fprintf(w, "%-16s %9s %8d %7d %12.0f %9s %9s %9s %9s %7d\n",
		label, conns, x.Inflight, x.Payload, x.MsgsPerSec,
		fmtUS(x.P50US), fmtUS(x.P90US), fmtUS(x.P99US), fmtUS(x.MaxUS), x.Errors)
}

// print writes the human-readable report.
func (r *Report) print(w io.Writer) {
	var b strings.Builder
	procs := "default"
	if r.ServerProcs > 0 {
		procs = fmt.Sprint(r.ServerProcs)
	}
	fmt.Fprintf(&b, "\nload report: %gs measured after %gs warmup (ramp %gs), framing %s, framework workers %d, server GOMAXPROCS %s, client GOMAXPROCS %d",
		r.DurationS, r.WarmupS, r.RampS, r.Framing, r.Workers, procs, r.ClientProcs)
	if r.External != "" {
		fmt.Fprintf(&b, ", external server %s", r.External)
	}
	if r.Interrupted {
		b.WriteString(", INTERRUPTED (partial figures)")
	}
	b.WriteString("\n\n")
	header := fmt.Sprintf("%-16s %9s %8s %7s %12s %9s %9s %9s %9s %7s\n",
		"target", "conns", "inflight", "payload", "msgs/s", "p50", "p90", "p99", "max", "errors")
	b.WriteString(header)
	for _, x := range r.Runs {
		label := x.Target
		if len(r.Runs) > len(r.Summary) {
			label = fmt.Sprintf("%s #%d", x.Target, x.Run)
		}
		writeRow(&b, label, x)
	}
	if len(r.Runs) > len(r.Summary) {
		fmt.Fprintf(&b, "\nmedians over runs:\n")
		b.WriteString(header)
		for _, x := range r.Summary {
			writeRow(&b, fmt.Sprintf("%s (%d)", x.Target, x.Runs), x)
		}
	}
	if rows := r.Summary; len(rows) > 0 && (rows[0].ServerCPU > 0 || rows[0].ClientCPU > 0) {
		label := "resources"
		if len(r.Runs) > len(r.Summary) {
			label = "resources (medians)"
		}
		fmt.Fprintf(&b, "\n%-20s %10s %12s %14s %14s %12s\n", label, "srv cores", "srv us/msg", "srv reads/msg", "srv writes/msg", "client cores")
		for _, x := range rows {
			fmt.Fprintf(&b, "%-20s %10.2f %12.3f %14.3f %14.3f %12.2f\n", x.Target, x.ServerCPU, x.ServerUSPerMsg, x.ServerReadsPerMsg, x.ServerWritesPerMsg, x.ClientCPU)
		}
	}
	for _, x := range r.Summary {
		if x.Errors > 0 {
			fmt.Fprintf(&b, "\n%s errors: %v; first: %s\n", x.Target, x.ErrorKinds, x.FirstError)
		}
	}
	if rt := r.Ratio; rt != nil {
		what := "framework/baseline"
		if len(r.Runs) > len(r.Summary) {
			what = "framework/baseline (medians)"
		}
		fmt.Fprintf(&b, "\n%s: msgs/s %.3fx (goal >= %.2fx: %s), p99 %.3fx (goal <= %.2fx: %s)\n",
			what, rt.MsgsPerSec, goalMsgsRatio, okWord(rt.MsgsPerSecOK), rt.P99, goalP99Ratio, okWord(rt.P99OK))
		if len(rt.PerRun) > 1 {
			b.WriteString("per run:")
			for _, p := range rt.PerRun {
				fmt.Fprintf(&b, "  #%d msgs/s %.3fx p99 %.3fx", p.Run, p.MsgsPerSec, p.P99)
			}
			b.WriteString("\n")
		}
	}
	_, _ = io.WriteString(w, b.String())
}

func (r *Report) writeJSON(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
