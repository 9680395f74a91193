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

// Thresholds the framework is held to: relative to the baseline, over
// WebSocket relative to TCP, and absolute ones of the network-layer issue.
const (
	goalMsgsRatio    = 0.9 // framework msgs/s >= 0.9 x baseline
	goalP99Ratio     = 1.2 // framework p99 <= 1.2 x baseline
	goalWSMsgsRatio  = 0.7 // framework over WebSocket msgs/s >= 0.7 x over TCP
	goalRateP99US    = 10_000
	goalIdleRSSBytes = 16 << 10 // server RSS per idle connection
)

// Result is one measurement of one target, or (in Report.Summary) the
// medians over a target's runs.
type Result struct {
	Target     string            `json:"target"`
	Transport  string            `json:"transport"`
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
	ClientCPU      float64 `json:"client_cpu_cores,omitempty"`
	ServerCPU      float64 `json:"server_cpu_cores,omitempty"`
	ServerUSPerMsg float64 `json:"server_cpu_us_per_msg,omitempty"`
	// ServerUSPerConnS is idle mode's CPU figure: the server's CPU time
	// over the hold in microseconds, per second and per connection.
	ServerUSPerConnS   float64 `json:"server_cpu_us_per_conn_s,omitempty"`
	ServerReadsPerMsg  float64 `json:"server_reads_per_msg,omitempty"`
	ServerWritesPerMsg float64 `json:"server_writes_per_msg,omitempty"`
	// OtherCPU is what the rest of the machine used in the window (busy
	// time from /proc/stat minus the server's and the client's): on a
	// shared machine, the competition the figures suffered.
	OtherCPU float64 `json:"other_cpu_cores,omitempty"`

	// Rate mode: messages per second per connection, messages sent inside
	// the window (Messages counts their echoes), and the p99 of how late
	// the client sent against its schedule.
	Rate         float64 `json:"rate_per_conn,omitempty"`
	Sent         uint64  `json:"sent,omitempty"`
	SendLagP99US float64 `json:"send_lag_p99_us,omitempty"`

	// Idle mode: Messages counts pongs during the hold, Payload is the
	// ping's. RSS from /proc/PID/status before any connection, after all
	// are open and settled, and at the end of the hold; per connection is
	// (after - before) / ConnsUp. The Go runtime's figures of the server
	// (heap in use, goroutine stacks, freed heap not yet returned to the
	// system, goroutines) break the server's bytes down; the kernel's slab
	// is machine-wide and covers both ends of each connection.
	HeartbeatS              float64 `json:"heartbeat_s,omitempty"`
	OpenSeconds             float64 `json:"open_s,omitempty"`
	ServerRSSBeforeKB       int64   `json:"server_rss_before_kb,omitempty"`
	ServerRSSAfterKB        int64   `json:"server_rss_after_kb,omitempty"`
	ServerRSSEndKB          int64   `json:"server_rss_end_kb,omitempty"`
	ServerRSSPerConn        float64 `json:"server_rss_per_conn_bytes,omitempty"`
	ServerHeapPerConn       float64 `json:"server_heap_per_conn_bytes,omitempty"`
	ServerStackPerConn      float64 `json:"server_stack_per_conn_bytes,omitempty"`
	ServerFreeHeldPerConn   float64 `json:"server_free_held_per_conn_bytes,omitempty"`
	ServerGoroutinesPerConn float64 `json:"server_goroutines_per_conn,omitempty"`
	ClientRSSBeforeKB       int64   `json:"client_rss_before_kb,omitempty"`
	ClientRSSAfterKB        int64   `json:"client_rss_after_kb,omitempty"`
	ClientRSSPerConn        float64 `json:"client_rss_per_conn_bytes,omitempty"`
	KernelSlabPerConn       float64 `json:"kernel_slab_per_conn_bytes,omitempty"`
}

// label names the measurement: "framework", "framework-ws".
func (r Result) label() string {
	return measurement{Target: r.Target, Transport: r.Transport}.label()
}

// Ratios compare two measurements of the same run: the framework with the
// baseline (framework / baseline), or the framework over WebSocket with
// the framework over TCP (ws / tcp).
type Ratios struct {
	MsgsPerSec     float64     `json:"msgs_per_sec"`
	P99            float64     `json:"p99"`
	MsgsPerSecGoal float64     `json:"msgs_per_sec_goal,omitempty"` // 0: none
	P99Goal        float64     `json:"p99_goal,omitempty"`          // 0: none
	MsgsPerSecOK   bool        `json:"msgs_per_sec_ok"`             // >= MsgsPerSecGoal; false without a goal
	P99OK          bool        `json:"p99_ok"`                      // <= P99Goal; false without a goal
	PerRun         []RunRatios `json:"per_run,omitempty"`
}

// RunRatios are the ratios of one round of alternating runs.
type RunRatios struct {
	Run        int     `json:"run"`
	MsgsPerSec float64 `json:"msgs_per_sec"`
	P99        float64 `json:"p99"`
}

// Report is everything one invocation measured.
type Report struct {
	Mode        string   `json:"mode"` // inflight, rate or idle
	Transport   string   `json:"transport"`
	Conns       int      `json:"conns"`
	Inflight    int      `json:"inflight"`
	Rate        float64  `json:"rate_per_conn,omitempty"`
	Payload     int      `json:"payload"`
	HeartbeatS  float64  `json:"heartbeat_s,omitempty"`
	PingPayload int      `json:"ping_payload,omitempty"`
	DurationS   float64  `json:"duration_s"`
	WarmupS     float64  `json:"warmup_s"`
	RampS       float64  `json:"ramp_s"`
	Framing     string   `json:"framing"`
	Workers     int      `json:"workers"`
	ReadBuf     int      `json:"read_buf"`
	Sources     int      `json:"sources"`
	FDLimit     uint64   `json:"fd_limit,omitempty"`
	ServerProcs int      `json:"server_procs"`
	ClientProcs int      `json:"client_procs"`
	External    string   `json:"external_addr,omitempty"`
	Interrupted bool     `json:"interrupted,omitempty"`
	Runs        []Result `json:"runs"`
	Summary     []Result `json:"summary"`
	Ratio       *Ratios  `json:"ratio,omitempty"`
	WSRatio     *Ratios  `json:"ws_tcp_ratio,omitempty"`
	KCPRatio    *Ratios  `json:"kcp_tcp_ratio,omitempty"`
	// KCPIdle compares the framework's idle costs over KCP with TCP's.
	KCPIdle *IdleRatios `json:"kcp_tcp_idle_ratio,omitempty"`
}

// IdleRatios compare the idle costs of two measurements of the same runs
// (a / b): server CPU and RSS per connection, medians and run by run.
type IdleRatios struct {
	CPUPerConn float64        `json:"cpu_per_conn"`
	RSSPerConn float64        `json:"rss_per_conn"`
	PerRun     []IdleRunRatio `json:"per_run,omitempty"`
}

// IdleRunRatio is IdleRatios for one round.
type IdleRunRatio struct {
	Run        int     `json:"run"`
	CPUPerConn float64 `json:"cpu_per_conn"`
	RSSPerConn float64 `json:"rss_per_conn"`
}

func newReport(o *options) *Report {
	r := &Report{
		Mode:        o.mode(),
		Transport:   o.Transport,
		Conns:       o.Conns,
		Inflight:    o.Inflight,
		Rate:        o.Rate,
		Payload:     o.Payload,
		DurationS:   o.Duration.Seconds(),
		WarmupS:     o.Warmup.Seconds(),
		RampS:       o.Ramp.Seconds(),
		Framing:     o.Framing,
		Workers:     o.Workers,
		ReadBuf:     o.ReadBuf,
		Sources:     o.Sources,
		ServerProcs: o.ServerProcs,
		ClientProcs: runtime.GOMAXPROCS(0),
		External:    strings.TrimSpace(o.Addr + " " + o.WSURL),
	}
	if o.Idle {
		r.HeartbeatS, r.PingPayload = o.Heartbeat.Seconds(), o.PingPayload
	}
	return r
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

// summarize fills Summary (medians per measurement) and the ratios from
// Runs.
func (r *Report) summarize() {
	r.Summary, r.Ratio, r.WSRatio, r.KCPRatio, r.KCPIdle = nil, nil, nil, nil, nil
	byLabel := map[string][]Result{}
	var order []string
	for _, res := range r.Runs {
		l := res.label()
		if _, ok := byLabel[l]; !ok {
			order = append(order, l)
		}
		byLabel[l] = append(byLabel[l], res)
	}
	summary := map[string]Result{}
	for _, l := range order {
		s := summarizeRuns(byLabel[l])
		summary[l] = s
		r.Summary = append(r.Summary, s)
	}
	fwName := measurement{Target: targetFramework, Transport: transportTCP}.label()
	blName := measurement{Target: targetBaseline, Transport: transportTCP}.label()
	wsName := measurement{Target: targetFramework, Transport: transportWS}.label()
	kcpName := measurement{Target: targetFramework, Transport: transportKCP}.label()
	if r.Mode == modeIdle {
		// No goals or msgs/s ratios of idle figures; the report prints
		// every row, and KCP's costs next to TCP's.
		r.KCPIdle = idleRatios(summary, byLabel, kcpName, fwName)
		return
	}
	msgsGoal, wsMsgsGoal := goalMsgsRatio, goalWSMsgsRatio
	if r.Mode == modeRate {
		msgsGoal, wsMsgsGoal = 0, 0 // the schedule sets the throughput
	}
	r.Ratio = ratios(summary, byLabel, fwName, blName, msgsGoal, goalP99Ratio)
	r.WSRatio = ratios(summary, byLabel, wsName, fwName, wsMsgsGoal, 0)
	r.KCPRatio = ratios(summary, byLabel, kcpName, fwName, 0, 0)
}

// idleRatios compares the idle costs of measurement a with b (a / b); nil
// unless both were measured.
func idleRatios(summary map[string]Result, byLabel map[string][]Result, a, b string) *IdleRatios {
	sa, okA := summary[a]
	sb, okB := summary[b]
	if !okA || !okB {
		return nil
	}
	rt := &IdleRatios{
		CPUPerConn: ratio(sa.ServerUSPerConnS, sb.ServerUSPerConnS),
		RSSPerConn: ratio(sa.ServerRSSPerConn, sb.ServerRSSPerConn),
	}
	for _, x := range byLabel[a] {
		for _, y := range byLabel[b] {
			if x.Run == y.Run {
				rt.PerRun = append(rt.PerRun, IdleRunRatio{
					Run:        x.Run,
					CPUPerConn: ratio(x.ServerUSPerConnS, y.ServerUSPerConnS),
					RSSPerConn: ratio(x.ServerRSSPerConn, y.ServerRSSPerConn),
				})
			}
		}
	}
	return rt
}

// summarizeRuns returns the medians of one measurement's runs; errors add
// up.
func summarizeRuns(rs []Result) Result {
	pick := func(f func(Result) float64) float64 {
		xs := make([]float64, len(rs))
		for i, x := range rs {
			xs[i] = f(x)
		}
		return median(xs)
	}
	pickKB := func(f func(Result) int64) int64 {
		return int64(pick(func(x Result) float64 { return float64(f(x)) }))
	}
	s := Result{
		Target:     rs[0].Target,
		Transport:  rs[0].Transport,
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
		ServerUSPerConnS:   pick(func(x Result) float64 { return x.ServerUSPerConnS }),
		ServerReadsPerMsg:  pick(func(x Result) float64 { return x.ServerReadsPerMsg }),
		ServerWritesPerMsg: pick(func(x Result) float64 { return x.ServerWritesPerMsg }),
		OtherCPU:           pick(func(x Result) float64 { return x.OtherCPU }),

		Rate:         rs[0].Rate,
		Sent:         uint64(pick(func(x Result) float64 { return float64(x.Sent) })),
		SendLagP99US: pick(func(x Result) float64 { return x.SendLagP99US }),

		HeartbeatS:              rs[0].HeartbeatS,
		OpenSeconds:             pick(func(x Result) float64 { return x.OpenSeconds }),
		ServerRSSBeforeKB:       pickKB(func(x Result) int64 { return x.ServerRSSBeforeKB }),
		ServerRSSAfterKB:        pickKB(func(x Result) int64 { return x.ServerRSSAfterKB }),
		ServerRSSEndKB:          pickKB(func(x Result) int64 { return x.ServerRSSEndKB }),
		ServerRSSPerConn:        pick(func(x Result) float64 { return x.ServerRSSPerConn }),
		ServerHeapPerConn:       pick(func(x Result) float64 { return x.ServerHeapPerConn }),
		ServerStackPerConn:      pick(func(x Result) float64 { return x.ServerStackPerConn }),
		ServerFreeHeldPerConn:   pick(func(x Result) float64 { return x.ServerFreeHeldPerConn }),
		ServerGoroutinesPerConn: pick(func(x Result) float64 { return x.ServerGoroutinesPerConn }),
		ClientRSSBeforeKB:       pickKB(func(x Result) int64 { return x.ClientRSSBeforeKB }),
		ClientRSSAfterKB:        pickKB(func(x Result) int64 { return x.ClientRSSAfterKB }),
		ClientRSSPerConn:        pick(func(x Result) float64 { return x.ClientRSSPerConn }),
		KernelSlabPerConn:       pick(func(x Result) float64 { return x.KernelSlabPerConn }),
	}
	for _, x := range rs {
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
	return s
}

// ratios compares measurement a with b (a / b), medians and run by run;
// nil unless both were measured.
func ratios(summary map[string]Result, byLabel map[string][]Result, a, b string, msgsGoal, p99Goal float64) *Ratios {
	sa, okA := summary[a]
	sb, okB := summary[b]
	if !okA || !okB {
		return nil
	}
	rt := &Ratios{
		MsgsPerSec:     ratio(sa.MsgsPerSec, sb.MsgsPerSec),
		P99:            ratio(sa.P99US, sb.P99US),
		MsgsPerSecGoal: msgsGoal,
		P99Goal:        p99Goal,
	}
	rt.MsgsPerSecOK = msgsGoal > 0 && rt.MsgsPerSec >= msgsGoal
	rt.P99OK = p99Goal > 0 && rt.P99 > 0 && rt.P99 <= p99Goal
	for _, x := range byLabel[a] {
		for _, y := range byLabel[b] {
			if x.Run == y.Run {
				rt.PerRun = append(rt.PerRun, RunRatios{
					Run:        x.Run,
					MsgsPerSec: ratio(x.MsgsPerSec, y.MsgsPerSec),
					P99:        ratio(x.P99US, y.P99US),
				})
			}
		}
	}
	return rt
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
	load := fmt.Sprint(x.Inflight)
	if x.Rate > 0 {
		load = fmt.Sprintf("%g/s", x.Rate)
	}
	fmt.Fprintf(w, "%-16s %11s %8s %7d %12.0f %9s %9s %9s %9s %7d\n",
		label, conns, load, x.Payload, x.MsgsPerSec,
		fmtUS(x.P50US), fmtUS(x.P90US), fmtUS(x.P99US), fmtUS(x.MaxUS), x.Errors)
}

// print writes the human-readable report.
func (r *Report) print(w io.Writer) {
	var b strings.Builder
	procs := r.serverProcs()
	fmt.Fprintf(&b, "\nload report (%s): %gs measured after %gs warmup (ramp %gs), framing %s, framework workers %d, read buffer %d B, %d source address(es), server GOMAXPROCS %s, client GOMAXPROCS %d",
		r.Mode, r.DurationS, r.WarmupS, r.RampS, r.Framing, r.Workers, r.ReadBuf, r.Sources, procs, r.ClientProcs)
	if r.External != "" {
		fmt.Fprintf(&b, ", external server %s", r.External)
	}
	if r.Interrupted {
		b.WriteString(", INTERRUPTED (partial figures)")
	}
	b.WriteString("\n\n")
	many := len(r.Runs) > len(r.Summary)
	if r.Mode == modeIdle {
		r.printIdle(&b, many)
	} else {
		r.printLoad(&b, many)
	}
	for _, x := range r.Summary {
		if x.Errors > 0 {
			fmt.Fprintf(&b, "\n%s errors: %v; first: %s\n", x.label(), x.ErrorKinds, x.FirstError)
		}
	}
	_, _ = io.WriteString(w, b.String())
}

// printLoad writes the tables of the in-flight and rate modes.
func (r *Report) printLoad(b *strings.Builder, many bool) {
	load := "inflight"
	if r.Mode == modeRate {
		load = "rate"
	}
	header := fmt.Sprintf("%-16s %11s %8s %7s %12s %9s %9s %9s %9s %7s\n",
		"target", "conns", load, "payload", "msgs/s", "p50", "p90", "p99", "max", "errors")
	b.WriteString(header)
	for _, x := range r.Runs {
		label := x.label()
		if many {
			label = fmt.Sprintf("%s #%d", label, x.Run)
		}
		writeRow(b, label, x)
	}
	if many {
		fmt.Fprintf(b, "\nmedians over runs:\n")
		b.WriteString(header)
		for _, x := range r.Summary {
			writeRow(b, fmt.Sprintf("%s (%d)", x.label(), x.Runs), x)
		}
	}
	if rows := r.Summary; len(rows) > 0 && (rows[0].ServerCPU > 0 || rows[0].ClientCPU > 0) {
		label := "resources"
		if many {
			label = "resources (medians)"
		}
		fmt.Fprintf(b, "\n%-20s %10s %12s %14s %14s %12s %12s\n", label, "srv cores", "srv us/msg", "srv reads/msg", "srv writes/msg", "client cores", "other cores")
		for _, x := range rows {
			fmt.Fprintf(b, "%-20s %10.2f %12.3f %14.3f %14.3f %12.2f %12.2f\n", x.label(), x.ServerCPU, x.ServerUSPerMsg, x.ServerReadsPerMsg, x.ServerWritesPerMsg, x.ClientCPU, x.OtherCPU)
		}
	}
	if r.Mode == modeRate {
		b.WriteString("\n")
		for _, x := range r.Summary {
			fmt.Fprintf(b, "%s: %d sent in the window, %d echoed (%d missing), client send lag p99 %s; p99 %s (target <= %s with zero errors: %s)\n",
				x.label(), x.Sent, x.Messages, int64(x.Sent)-int64(x.Messages), fmtUS(x.SendLagP99US), fmtUS(x.P99US),
				fmtUS(goalRateP99US), okWord(x.Errors == 0 && x.Sent > 0 && x.Messages == x.Sent && x.P99US <= goalRateP99US))
		}
	}
	printRatios(b, "framework/baseline", r.Ratio, many)
	printRatios(b, "framework ws/tcp", r.WSRatio, many)
	printRatios(b, "framework kcp/tcp", r.KCPRatio, many)
}

func printRatios(b *strings.Builder, what string, rt *Ratios, many bool) {
	if rt == nil {
		return
	}
	if many {
		what += " (medians)"
	}
	fmt.Fprintf(b, "\n%s: msgs/s %.3fx", what, rt.MsgsPerSec)
	if rt.MsgsPerSecGoal > 0 {
		fmt.Fprintf(b, " (goal >= %.2fx: %s)", rt.MsgsPerSecGoal, okWord(rt.MsgsPerSecOK))
	}
	fmt.Fprintf(b, ", p99 %.3fx", rt.P99)
	if rt.P99Goal > 0 {
		fmt.Fprintf(b, " (goal <= %.2fx: %s)", rt.P99Goal, okWord(rt.P99OK))
	}
	b.WriteString("\n")
	if len(rt.PerRun) > 1 {
		b.WriteString("per run:")
		for _, p := range rt.PerRun {
			fmt.Fprintf(b, "  #%d msgs/s %.3fx p99 %.3fx", p.Run, p.MsgsPerSec, p.P99)
		}
		b.WriteString("\n")
	}
}

// printIdle writes the tables of the idle mode.
func (r *Report) printIdle(b *strings.Builder, many bool) {
	rows := r.Runs
	if many {
		rows = r.Summary
		b.WriteString("medians over runs:\n")
	}
	fmt.Fprintf(b, "%d connections, a %d-byte ping every %gs\n\n", r.Conns, r.PingPayload, r.HeartbeatS)
	fmt.Fprintf(b, "%-16s %11s %7s %12s %12s %12s %14s %9s %9s %9s %7s\n",
		"target", "conns", "open", "srv RSS 0", "srv RSS all", "srv RSS end", "srv RSS/conn", "pongs/s", "p50", "p99", "errors")
	for _, x := range rows {
		conns := fmt.Sprint(x.Conns)
		if x.ConnsUp != x.Conns {
			conns = fmt.Sprintf("%d/%d", x.ConnsUp, x.Conns)
		}
		fmt.Fprintf(b, "%-16s %11s %6.1fs %12s %12s %12s %14s %9.0f %9s %9s %7d\n",
			x.label(), conns, x.OpenSeconds, fmtKB(x.ServerRSSBeforeKB), fmtKB(x.ServerRSSAfterKB), fmtKB(x.ServerRSSEndKB),
			fmt.Sprintf("%.0f B", x.ServerRSSPerConn), x.MsgsPerSec, fmtUS(x.P50US), fmtUS(x.P99US), x.Errors)
	}
	fmt.Fprintf(b, "\nper connection, after - before: the server's Go runtime, the client process (fair for the first measurement only:\nlater ones reuse the memory of earlier ones), the kernel's slab (machine-wide, both ends)\n")
	fmt.Fprintf(b, "%-16s %12s %12s %12s %11s %12s %12s\n", "target", "heap in use", "stacks", "free held", "goroutines", "client RSS", "kernel slab")
	for _, x := range rows {
		fmt.Fprintf(b, "%-16s %10.0f B %10.0f B %10.0f B %11.2f %10.0f B %10.0f B\n", x.label(),
			x.ServerHeapPerConn, x.ServerStackPerConn, x.ServerFreeHeldPerConn, x.ServerGoroutinesPerConn, x.ClientRSSPerConn, x.KernelSlabPerConn)
	}
	if len(rows) > 0 { // idle mode always samples the CPU; a short hold can read 0 (10 ms resolution)
		fmt.Fprintf(b, "\nCPU over the hold, server GOMAXPROCS %s: server cores, the server's CPU per second per connection, the client's cores and the rest of the machine's\n", r.serverProcs())
		fmt.Fprintf(b, "%-16s %10s %16s %12s %12s\n", "target", "srv cores", "srv us/s/conn", "client cores", "other cores")
		for _, x := range rows {
			fmt.Fprintf(b, "%-16s %10.3f %16.2f %12.3f %12.2f\n", x.label(), x.ServerCPU, x.ServerUSPerConnS, x.ClientCPU, x.OtherCPU)
		}
	}
	b.WriteString("\n")
	for _, x := range rows {
		switch {
		case x.Target != targetFramework:
		case x.Transport == transportKCP:
			// The RSS target is the TCP connection's; a KCP session
			// carries its own buffers and windows, so it has none.
			fmt.Fprintf(b, "%s: server RSS per connection %.0f B, CPU %.2f us/s per connection (no target over KCP), errors %d\n",
				x.label(), x.ServerRSSPerConn, x.ServerUSPerConnS, x.Errors)
		default:
			fmt.Fprintf(b, "%s: server RSS per connection %.0f B (target <= %d B with zero errors: %s)\n", x.label(), x.ServerRSSPerConn,
				goalIdleRSSBytes, okWord(x.Errors == 0 && x.ConnsUp == x.Conns && x.ServerRSSPerConn > 0 && x.ServerRSSPerConn <= goalIdleRSSBytes))
		}
	}
	if rt := r.KCPIdle; rt != nil {
		what := "framework kcp/tcp idle"
		if many {
			what += " (medians)"
		}
		fmt.Fprintf(b, "\n%s: server CPU per connection %.2fx, server RSS per connection %.2fx\n", what, rt.CPUPerConn, rt.RSSPerConn)
		if len(rt.PerRun) > 1 {
			b.WriteString("per run:")
			for _, p := range rt.PerRun {
				fmt.Fprintf(b, "  #%d CPU %.2fx RSS %.2fx", p.Run, p.CPUPerConn, p.RSSPerConn)
			}
			b.WriteString("\n")
		}
	}
}

// serverProcs names the server's GOMAXPROCS for the report.
func (r *Report) serverProcs() string {
	if r.ServerProcs > 0 {
		return fmt.Sprint(r.ServerProcs)
	}
	return "default"
}

func fmtKB(kb int64) string {
	return fmt.Sprintf("%.1f MiB", float64(kb)/1024)
}

func (r *Report) writeJSON(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
