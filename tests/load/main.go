// Command load is zinxgame's load tool. It opens N connections to an echo
// server, loads them for a bounded time, prints progress every second and
// then a report: messages per second, p50/p90/p99/max round-trip latency
// and errors. It has three modes:
//
//   - in flight (the default): each connection keeps M requests
//     outstanding (-inflight), the throughput test;
//   - rate (-rate R): each connection sends R messages per second on a
//     schedule whatever the echoes do, the latency test at a given load;
//   - idle (-idle): each connection only sends a ping (PingMsgID) every
//     -heartbeat, and the report gives the server process's RSS before any
//     connection and once all are open, per connection, and its CPU over
//     the hold in microseconds per second per connection (-server-procs 1
//     pins the server to one core's worth of Go code, which makes that
//     figure comparable).
//
// By default it measures two servers in the same run, each in its own
// process (the tool re-executes itself with -serve): the zinxgame echo
// server ("framework") and a bare standard-library echo server, one
// goroutine per connection and no framework ("baseline"). It prints the
// framework/baseline ratios of messages per second and of p99. The load
// client is the same code for both. With -runs K the targets alternate K
// times and the medians are compared, which matters on a shared machine.
// -transport ws or both loads the framework over WebSocket as well (the
// baseline is TCP only) and prints the WebSocket/TCP ratios. -transport
// kcp loads it over KCP (reliable UDP, a session per UDP socket on the
// client, the client settings of znet.Client.DialKCP), and a list such as
// -transport tcp,kcp measures each transport in turn in every round, each
// against a server process of its own from the same build, and prints the
// KCP/TCP ratios: in idle mode those of CPU and RSS per connection, the
// idle cost of a KCP session against a TCP connection's.
//
// Client and servers share the machine's cores, so a server that spends
// more CPU per message also leaves less to the client. The "resources"
// table shows where that goes: the server process's CPU (cores and
// microseconds per message) and read/write system calls per message,
// sampled from /proc over the measured window, and the client's CPU.
// -server-cpuprofile PREFIX writes each server process's CPU profile.
//
// The tool only sends to loopback addresses. -sources K spreads the
// connections over source addresses 127.0.0.1 to 127.0.0.K, so more than
// one ephemeral port range (about 28,000) of connections fits; both
// processes raise their open-file limit to the hard limit.
//
//	go build -o /tmp/load ./tests/load
//	/tmp/load -conns 100 -inflight 8 -duration 5s -runs 3
//	/tmp/load -conns 100 -inflight 8 -duration 5s -runs 3 -transport both
//	/tmp/load -target framework -conns 10000 -rate 1 -ramp 5s -duration 60s
//	/tmp/load -target framework -idle -conns 50000 -sources 4 -ramp 10s -heartbeat 20s
//	/tmp/load -target framework -idle -transport tcp,kcp -conns 2000 -heartbeat 2s -ramp 2s -warmup 3s -duration 20s -server-procs 1 -runs 3
//	/tmp/load -addr 127.0.0.1:8999 -target framework   # an already running server
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"syscall"
	"time"

	"github.com/zinxgame/zinxgame/zconf"
)

// options is the tool's configuration, from flags.
type options struct {
	Conns          int
	Inflight       int
	Payload        int
	Duration       time.Duration
	Warmup         time.Duration
	Ramp           time.Duration
	Target         string
	Transport      string
	Runs           int
	Workers        int
	Framing        string
	ServerProcs    int
	Addr           string
	WSURL          string
	KCPAddr        string
	JSONFile       string
	CPUProfile     string // prefix of the server processes' CPU profiles
	ClientProfile  string // the load client's CPU profile
	MemProfile     string // prefix of the server processes' heap profiles (idle mode)
	MaxPackageSize int
	Rate           float64 // messages per second per connection; 0: keep Inflight in flight
	Sources        int     // source addresses 127.0.0.1 to 127.0.0.Sources
	Idle           bool
	Heartbeat      time.Duration // idle mode: ping interval
	PingPayload    int           // idle mode: bytes per ping
	ReadBuf        int           // framework IOReadBuffSize

	progress      io.Writer     // progress lines; nil for none
	progressEvery time.Duration // progress interval
	grace         time.Duration // wait for echoes after the window before timing out
	launch        launcher      // starts a server; nil means launchChild
}

// launcher starts the server for one measurement.
type launcher func(ctx context.Context, o *options, m measurement, run int) (*served, error)

// measurement names what one run measures: a server over a transport.
type measurement struct {
	Target    string // targetFramework or targetBaseline
	Transport string // transportTCP, transportWS or transportKCP
}

// label names m in tables and file names: "framework", "framework-ws",
// "framework-kcp".
func (m measurement) label() string {
	if m.Transport != transportTCP {
		return m.Target + "-" + m.Transport
	}
	return m.Target
}

// Modes.
const (
	modeInflight = "inflight"
	modeRate     = "rate"
	modeIdle     = "idle"
)

const (
	maxDuration  = 5 * time.Minute
	maxLead      = time.Minute // bound of -warmup and of -ramp
	maxConns     = 100_000
	maxHeartbeat = 30 * time.Second // half the default HeartbeatTimeout
	maxRate      = 10_000
	minRate      = 0.2 // a connection must speak within FirstMessageTimeout (10s)
	// stampLen is what a rate-mode payload carries: sequence number and
	// send time.
	stampLen = 16
)

func defaultOptions() options {
	def := zconf.Default()
	return options{
		Conns:          100,
		Inflight:       8,
		Payload:        64,
		Duration:       10 * time.Second,
		Warmup:         time.Second,
		Target:         targetBoth,
		Transport:      transportTCP,
		Runs:           1,
		Workers:        def.WorkerPoolSize,
		Framing:        def.Framing,
		MaxPackageSize: def.MaxPackageSize,
		Sources:        1,
		Heartbeat:      20 * time.Second,
		PingPayload:    8,
		ReadBuf:        def.IOReadBuffSize,
		progress:       os.Stderr,
		progressEvery:  time.Second,
		grace:          defaultGrace,
	}
}

func (o *options) mode() string {
	switch {
	case o.Idle:
		return modeIdle
	case o.Rate > 0:
		return modeRate
	}
	return modeInflight
}

func parseFlags(args []string) (options, error) {
	o := defaultOptions()
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.IntVar(&o.Conns, "conns", o.Conns, "connections to open (at most 100000)")
	fs.IntVar(&o.Inflight, "inflight", o.Inflight, "requests kept in flight on each connection")
	fs.IntVar(&o.Payload, "payload", o.Payload, "payload bytes per message")
	fs.DurationVar(&o.Duration, "duration", o.Duration, "measured time per target and run (at most 5m); -idle: how long all connections are held after the RSS sample")
	fs.DurationVar(&o.Warmup, "warmup", o.Warmup, "time under load before measuring, excluded from the stats; -idle: settling time after all connections are open, before the RSS sample")
	fs.DurationVar(&o.Ramp, "ramp", o.Ramp, "spread the opening of connections over this time (before the warmup)")
	fs.StringVar(&o.Target, "target", o.Target, "server to measure: framework, baseline or both")
	fs.StringVar(&o.Transport, "transport", o.Transport, "tcp, ws (WebSocket), kcp, both (tcp,ws) or a comma-separated list such as tcp,kcp: the framework is measured over each, alternating in a round; the baseline is TCP only, so with ws or kcp alone -target both measures the framework only")

	fs.IntVar(&o.Runs, "runs", o.Runs, "measurements per target; with both targets they alternate, and medians are reported")
	fs.IntVar(&o.Workers, "workers", o.Workers, "framework WorkerPoolSize (0 = handlers on the reader goroutine)")
	fs.StringVar(&o.Framing, "framing", o.Framing, "wire framing: le or be")
	fs.IntVar(&o.ServerProcs, "server-procs", o.ServerProcs, "GOMAXPROCS of the server process (0 = Go's default); 1 makes -idle's CPU per connection comparable across machines")
	fs.StringVar(&o.Addr, "addr", o.Addr, "load this already running server (loopback HOST:PORT) instead of starting one; -target then only names it")
	fs.StringVar(&o.WSURL, "ws-url", o.WSURL, "with -transport ws or both: the WebSocket URL of the already running server (ws://127.0.0.1:PORT/PATH)")
	fs.StringVar(&o.KCPAddr, "kcp-addr", o.KCPAddr, "with -transport kcp: the KCP (UDP) address of the already running server (loopback HOST:PORT)")
	fs.StringVar(&o.JSONFile, "json", o.JSONFile, "also write the report as JSON to this file")
	fs.StringVar(&o.CPUProfile, "server-cpuprofile", o.CPUProfile, "write the server processes' CPU profiles to PREFIX-TARGET-runK.pprof")
	fs.StringVar(&o.ClientProfile, "cpuprofile", o.ClientProfile, "write the load client's CPU profile (all runs) to this file")
	fs.StringVar(&o.MemProfile, "server-memprofile", o.MemProfile, "-idle: write the server processes' heap profiles, taken with the RSS sample, to PREFIX-TARGET-runK.pprof")
	fs.Float64Var(&o.Rate, "rate", o.Rate, "send this many messages per second on each connection, on a schedule, instead of keeping -inflight outstanding")
	fs.IntVar(&o.Sources, "sources", o.Sources, "spread connections over source addresses 127.0.0.1 to 127.0.0.K (each has one ephemeral port range)")
	fs.BoolVar(&o.Idle, "idle", o.Idle, "idle mode: connections only send a ping every -heartbeat; reports the server's RSS and CPU (us per second) per connection")
	fs.DurationVar(&o.Heartbeat, "heartbeat", o.Heartbeat, "-idle: ping interval per connection (at most 30s, half the default HeartbeatTimeout)")
	fs.IntVar(&o.PingPayload, "ping-payload", o.PingPayload, "-idle: payload bytes per ping (the first 8 carry a sequence number)")
	fs.IntVar(&o.ReadBuf, "read-buf", o.ReadBuf, "framework IOReadBuffSize (per connection read buffer); also the baseline's bufio sizes")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: load [flags]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	return o, o.validate()
}

func (o *options) validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(o.Conns >= 1 && o.Conns <= maxConns, "-conns %d: must be between 1 and %d", o.Conns, maxConns)
	check(o.Inflight >= 1 && o.Inflight <= 4096, "-inflight %d: must be between 1 and 4096", o.Inflight)
	check(o.Payload >= 0 && o.Payload <= o.MaxPackageSize, "-payload %d: must be between 0 and MaxPackageSize %d", o.Payload, o.MaxPackageSize)
	check(o.Duration > 0 && o.Duration <= maxDuration, "-duration %s: must be above 0 and at most %s", o.Duration, maxDuration)
	check(o.Warmup >= 0 && o.Warmup <= maxLead, "-warmup %s: must be between 0 and %s", o.Warmup, maxLead)
	check(o.Ramp >= 0 && o.Ramp <= maxLead, "-ramp %s: must be between 0 and %s", o.Ramp, maxLead)
	check(o.Target == targetFramework || o.Target == targetBaseline || o.Target == targetBoth,
		"-target %q: must be framework, baseline or both", o.Target)
	ts, err := parseTransports(o.Transport)
	if err != nil {
		errs = append(errs, err)
	}
	has := func(t string) bool { return slices.Contains(ts, t) }
	check(err != nil || has(transportTCP) || o.Target != targetBaseline, "-transport %s: the baseline server speaks TCP only", o.Transport)
	check(o.Runs >= 1 && o.Runs <= 50, "-runs %d: must be between 1 and 50", o.Runs)
	check(o.Workers >= 0 && o.Workers <= 4096, "-workers %d: must be between 0 and 4096", o.Workers)
	check(o.Framing == zconf.FramingLE || o.Framing == zconf.FramingBE, "-framing %q: must be le or be", o.Framing)
	check(o.ServerProcs >= 0, "-server-procs %d: must not be negative", o.ServerProcs)
	check(o.Sources >= 1 && o.Sources <= maxSources, "-sources %d: must be between 1 and %d", o.Sources, maxSources)
	check(o.ReadBuf >= 512 && o.ReadBuf <= 16<<20, "-read-buf %d: must be between 512 and 16 MiB (IOReadBuffSize's range)", o.ReadBuf)
	check(o.Rate == 0 || (o.Rate >= minRate && o.Rate <= maxRate), "-rate %g: must be 0 (keep -inflight outstanding) or between %g and %d", o.Rate, minRate, maxRate)
	check(o.Rate == 0 || o.Payload >= stampLen, "-rate: -payload must be at least %d (a sequence number and the send time)", stampLen)
	check(!o.Idle || o.Rate == 0, "-idle and -rate: choose one")
	check(!o.Idle || (o.Heartbeat >= 10*time.Millisecond && o.Heartbeat <= maxHeartbeat), "-heartbeat %s: must be between 10ms and %s", o.Heartbeat, maxHeartbeat)
	check(o.PingPayload >= 0 && o.PingPayload <= o.MaxPackageSize, "-ping-payload %d: must be between 0 and MaxPackageSize %d", o.PingPayload, o.MaxPackageSize)
	check(o.MemProfile == "" || o.Idle, "-server-memprofile: only with -idle")
	if o.external() {
		check(o.Target != targetBoth, "-addr, -ws-url, -kcp-addr: name the server with -target framework or -target baseline")
		check(o.CPUProfile == "" && o.MemProfile == "", "-server-cpuprofile, -server-memprofile: only for servers the tool starts")
		check(!has(transportTCP) || o.Addr != "", "-transport %s with an already running server: give its TCP address with -addr", o.Transport)
		check(!has(transportWS) || o.WSURL != "", "-transport %s with an already running server: give its WebSocket URL with -ws-url", o.Transport)
		check(!has(transportKCP) || o.KCPAddr != "", "-transport %s with an already running server: give its KCP address with -kcp-addr", o.Transport)
	}
	if o.Addr != "" {
		if err := checkLoopback(o.Addr); err != nil {
			errs = append(errs, fmt.Errorf("-addr: %w", err))
		}
	}
	if o.WSURL != "" {
		if err := checkLoopbackURL(o.WSURL); err != nil {
			errs = append(errs, fmt.Errorf("-ws-url: %w", err))
		}
	}
	if o.KCPAddr != "" {
		if err := checkLoopback(o.KCPAddr); err != nil {
			errs = append(errs, fmt.Errorf("-kcp-addr: %w", err))
		}
	}
	return errors.Join(errs...)
}

// external reports whether the tool loads a server it did not start.
func (o *options) external() bool { return o.Addr != "" || o.WSURL != "" || o.KCPAddr != "" }

// targets lists the servers of one round, in order.
func (o *options) targets() []string {
	if o.Target == targetBoth {
		return []string{targetBaseline, targetFramework}
	}
	return []string{o.Target}
}

// measurements lists the measurements of one round, transport by
// transport in -transport's order: over TCP every target, over WebSocket
// and KCP the framework only.
func (o *options) measurements() []measurement {
	ts, _ := parseTransports(o.Transport) // checked by validate
	var ms []measurement
	for _, tr := range ts {
		if tr == transportTCP {
			for _, t := range o.targets() {
				ms = append(ms, measurement{Target: t, Transport: transportTCP})
			}
		} else if o.Target != targetBaseline {
			ms = append(ms, measurement{Target: targetFramework, Transport: tr})
		}
	}
	return ms
}

func (o *options) serverConfig(m measurement) serverConfig {
	return serverConfig{
		Listen:         "127.0.0.1:0",
		Framing:        o.Framing,
		MaxPackageSize: o.MaxPackageSize,
		Workers:        o.Workers,
		MaxConn:        o.Conns + 128,
		ReadBuf:        o.ReadBuf,
		WS:             m.Transport == transportWS,
		KCP:            m.Transport == transportKCP,
	}
}

// preflight checks what the system allows before any server starts: open
// files (raising the limit to the hard limit) and ephemeral ports per
// source address. It returns the open-file limit.
func (o *options) preflight() (uint64, error) {
	if err := checkPorts(o.Conns, o.Sources); err != nil {
		return 0, err
	}
	return raiseFDLimit(o.Conns + fdMargin)
}

// run measures every target o.Runs times, alternating targets, and returns
// the report. After an error or an interrupt it returns what was measured
// so far.
func run(ctx context.Context, o options) (*Report, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if o.launch == nil {
		o.launch = launchChild
	}
	limit, err := o.preflight()
	if err != nil {
		return nil, err
	}
	rep := newReport(&o)
	rep.FDLimit = limit
	defer func() {
		rep.Interrupted = ctx.Err() != nil
		rep.summarize()
	}()
	for r := 1; r <= o.Runs; r++ {
		for _, m := range o.measurements() {
			if ctx.Err() != nil {
				return rep, ctx.Err()
			}
			res, err := measure(ctx, &o, m, r)
			if err != nil {
				return rep, err
			}
			rep.Runs = append(rep.Runs, res)
		}
	}
	return rep, ctx.Err()
}

// measure runs one measurement, starting its server first unless -addr
// names one.
func measure(ctx context.Context, o *options, m measurement, r int) (Result, error) {
	srv := &served{addr: o.Addr, wsURL: o.WSURL, kcpAddr: o.KCPAddr}
	if !o.external() {
		s, err := o.launch(ctx, o, m, r)
		if err != nil {
			return Result{}, fmt.Errorf("starting the %s server: %w", m.label(), err)
		}
		defer func() {
			if err := s.stop(); err != nil && o.progress != nil {
				fmt.Fprintf(o.progress, "%s server: %v\n", m.label(), err)
			}
		}()
		srv = s
	}
	d := &dialer{transport: m.Transport, addr: srv.addr, url: srv.wsURL, kcpAddr: srv.kcpAddr, sources: o.Sources, kcpCfg: zconf.Default()}
	if m.Transport == transportWS && d.url == "" {
		return Result{}, fmt.Errorf("the %s server has no WebSocket URL", m.label())
	}
	if m.Transport == transportKCP && d.kcpAddr == "" {
		return Result{}, fmt.Errorf("the %s server has no KCP address", m.label())
	}
	if o.Idle {
		return runIdle(ctx, o, m, r, d, srv), nil
	}
	return runLoad(ctx, o, m, r, d, srv.pid), nil
}

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "-serve" || os.Args[1] == "--serve") {
		os.Exit(childMain(os.Args[1:]))
	}
	o, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	if o.ClientProfile != "" {
		f, err := os.Create(o.ClientProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(2)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(2)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var what string
	switch o.mode() {
	case modeIdle:
		what = fmt.Sprintf("%d idle conns, a %d-byte ping every %s, ramp %s, settle %s, hold %s", o.Conns, o.PingPayload, o.Heartbeat, o.Ramp, o.Warmup, o.Duration)
	case modeRate:
		what = fmt.Sprintf("%d conns x %g msgs/s, %d-byte payload, %s measured after %s warmup (ramp %s)", o.Conns, o.Rate, o.Payload, o.Duration, o.Warmup, o.Ramp)
	default:
		what = fmt.Sprintf("%d conns x %d in flight, %d-byte payload, %s measured after %s warmup (ramp %s)", o.Conns, o.Inflight, o.Payload, o.Duration, o.Warmup, o.Ramp)
	}
	fmt.Fprintf(os.Stderr, "load: %s, transport %s, %d run(s), framing %s, workers %d, read buffer %d, %d source address(es), client GOMAXPROCS %d\n",
		what, o.Transport, o.Runs, o.Framing, o.Workers, o.ReadBuf, o.Sources, runtime.GOMAXPROCS(0))
	rep, err := run(ctx, o)
	code := 0
	if rep != nil && len(rep.Runs) > 0 {
		rep.print(os.Stdout)
		if o.JSONFile != "" {
			if err := rep.writeJSON(o.JSONFile); err != nil {
				fmt.Fprintln(os.Stderr, "load:", err)
				code = 1
			}
		}
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "load: interrupted; the report covers what was measured")
		code = 130
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		code = 1
	}
	stop()
	if o.ClientProfile != "" {
		pprof.StopCPUProfile()
	}
	os.Exit(code)
}
