// Command load is zinxgame's load tool. It opens N connections to an echo
// server, keeps M requests in flight on each, runs for a bounded time,
// prints progress every second and then a report: messages per second,
// p50/p90/p99/max round-trip latency and errors.
//
// By default it measures two servers in the same run, each in its own
// process (the tool re-executes itself with -serve): the zinxgame echo
// server ("framework") and a bare standard-library echo server, one
// goroutine per connection and no framework ("baseline"). It prints the
// framework/baseline ratios of messages per second and of p99. The load
// client is the same code for both. With -runs K the targets alternate K
// times and the medians are compared, which matters on a shared machine.
//
// Client and servers share the machine's cores, so a server that spends
// more CPU per message also leaves less to the client. The "resources"
// table shows where that goes: the server process's CPU (cores and
// microseconds per message) and read/write system calls per message,
// sampled from /proc over the measured window, and the client's CPU.
// -server-cpuprofile PREFIX writes each server process's CPU profile.
//
//	go build -o /tmp/load ./tests/load
//	/tmp/load -conns 100 -inflight 8 -duration 5s -runs 3
//	/tmp/load -conns 1000 -inflight 4 -duration 5s -runs 3 -json report.json
//	/tmp/load -addr 127.0.0.1:8999 -target framework   # an already running server
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
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
	Runs           int
	Workers        int
	Framing        string
	ServerProcs    int
	Addr           string
	JSONFile       string
	CPUProfile     string // prefix of the server processes' CPU profiles
	MaxPackageSize int

	progress      io.Writer     // progress lines; nil for none
	progressEvery time.Duration // progress interval
	grace         time.Duration // wait for echoes after the window before timing out
	launch        launcher      // starts a server; nil means launchChild
}

// launcher starts the server for target and returns its address, its
// process ID (0 when it runs in this process) and a function that stops it.
type launcher func(ctx context.Context, o *options, target string, run int) (addr string, pid int, stop func() error, err error)

const (
	maxDuration = 5 * time.Minute
	maxLead     = time.Minute // bound of -warmup and of -ramp
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
		Runs:           1,
		Workers:        def.WorkerPoolSize,
		Framing:        def.Framing,
		MaxPackageSize: def.MaxPackageSize,
		progress:       os.Stderr,
		progressEvery:  time.Second,
		grace:          defaultGrace,
	}
}

func parseFlags(args []string) (options, error) {
	o := defaultOptions()
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.IntVar(&o.Conns, "conns", o.Conns, "connections to open")
	fs.IntVar(&o.Inflight, "inflight", o.Inflight, "requests kept in flight on each connection")
	fs.IntVar(&o.Payload, "payload", o.Payload, "payload bytes per message")
	fs.DurationVar(&o.Duration, "duration", o.Duration, "measured time per target and run (at most 5m)")
	fs.DurationVar(&o.Warmup, "warmup", o.Warmup, "time under load before measuring, excluded from the stats")
	fs.DurationVar(&o.Ramp, "ramp", o.Ramp, "spread the opening of connections over this time (before the warmup)")
	fs.StringVar(&o.Target, "target", o.Target, "server to measure: framework, baseline or both")
	fs.IntVar(&o.Runs, "runs", o.Runs, "measurements per target; with both targets they alternate, and medians are reported")
	fs.IntVar(&o.Workers, "workers", o.Workers, "framework WorkerPoolSize (0 = handlers on the reader goroutine)")
	fs.StringVar(&o.Framing, "framing", o.Framing, "wire framing: le or be")
	fs.IntVar(&o.ServerProcs, "server-procs", o.ServerProcs, "GOMAXPROCS of the server process (0 = Go's default)")
	fs.StringVar(&o.Addr, "addr", o.Addr, "load this already running server (HOST:PORT) instead of starting one; -target then only names it")
	fs.StringVar(&o.JSONFile, "json", o.JSONFile, "also write the report as JSON to this file")
	fs.StringVar(&o.CPUProfile, "server-cpuprofile", o.CPUProfile, "write the server processes' CPU profiles to PREFIX-TARGET-runK.pprof")
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
	check(o.Conns >= 1 && o.Conns <= 100_000, "-conns %d: must be between 1 and 100000", o.Conns)
	check(o.Inflight >= 1 && o.Inflight <= 4096, "-inflight %d: must be between 1 and 4096", o.Inflight)
	check(o.Payload >= 0 && o.Payload <= o.MaxPackageSize, "-payload %d: must be between 0 and MaxPackageSize %d", o.Payload, o.MaxPackageSize)
	check(o.Duration > 0 && o.Duration <= maxDuration, "-duration %s: must be above 0 and at most %s", o.Duration, maxDuration)
	check(o.Warmup >= 0 && o.Warmup <= maxLead, "-warmup %s: must be between 0 and %s", o.Warmup, maxLead)
	check(o.Ramp >= 0 && o.Ramp <= maxLead, "-ramp %s: must be between 0 and %s", o.Ramp, maxLead)
	check(o.Target == targetFramework || o.Target == targetBaseline || o.Target == targetBoth,
		"-target %q: must be framework, baseline or both", o.Target)
	check(o.Runs >= 1 && o.Runs <= 50, "-runs %d: must be between 1 and 50", o.Runs)
	check(o.Workers >= 0 && o.Workers <= 4096, "-workers %d: must be between 0 and 4096", o.Workers)
	check(o.Framing == zconf.FramingLE || o.Framing == zconf.FramingBE, "-framing %q: must be le or be", o.Framing)
	check(o.ServerProcs >= 0, "-server-procs %d: must not be negative", o.ServerProcs)
	check(o.Addr == "" || o.Target != targetBoth, "-addr: name the server with -target framework or -target baseline")
	check(o.Addr == "" || o.CPUProfile == "", "-server-cpuprofile: only for servers the tool starts")
	return errors.Join(errs...)
}

// targets lists the measurements of one round, in order.
func (o *options) targets() []string {
	if o.Target == targetBoth {
		return []string{targetBaseline, targetFramework}
	}
	return []string{o.Target}
}

func (o *options) serverConfig() serverConfig {
	return serverConfig{
		Listen:         "127.0.0.1:0",
		Framing:        o.Framing,
		MaxPackageSize: o.MaxPackageSize,
		Workers:        o.Workers,
		MaxConn:        o.Conns + 128,
	}
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
	rep := newReport(&o)
	defer func() {
		rep.Interrupted = ctx.Err() != nil
		rep.summarize()
	}()
	for r := 1; r <= o.Runs; r++ {
		for _, target := range o.targets() {
			if ctx.Err() != nil {
				return rep, ctx.Err()
			}
			res, err := measure(ctx, &o, target, r)
			if err != nil {
				return rep, err
			}
			rep.Runs = append(rep.Runs, res)
		}
	}
	return rep, ctx.Err()
}

// measure runs the load against one target, starting its server first
// unless -addr names one.
func measure(ctx context.Context, o *options, target string, r int) (Result, error) {
	addr, pid := o.Addr, 0
	if addr == "" {
		a, p, stop, err := o.launch(ctx, o, target, r)
		if err != nil {
			return Result{}, fmt.Errorf("starting the %s server: %w", target, err)
		}
		defer func() {
			if err := stop(); err != nil && o.progress != nil {
				fmt.Fprintf(o.progress, "%s server: %v\n", target, err)
			}
		}()
		addr, pid = a, p
	}
	return runLoad(ctx, o, target, r, addr, pid), nil
}

// childLife bounds a server process's life: the whole measurement plus
// margins.
func (o *options) childLife() time.Duration {
	return o.Ramp + o.Warmup + o.Duration + o.grace + dialTimeout + 30*time.Second
}

// launchChild starts the server in a new process: this executable with
// -serve. The child prints its address on stdout; it is stopped with
// SIGTERM, killed if it does not exit in time, and also exits on its own
// when its stdin (a pipe from this process) closes or -max-life passes.
func launchChild(ctx context.Context, o *options, target string, r int) (string, int, func() error, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", 0, nil, err
	}
	sc := o.serverConfig()
	life := o.childLife()
	args := []string{
		"-serve", target,
		"-listen", sc.Listen,
		"-framing", sc.Framing,
		"-max-package", strconv.Itoa(sc.MaxPackageSize),
		"-workers", strconv.Itoa(sc.Workers),
		"-max-conn", strconv.Itoa(sc.MaxConn),
		"-max-life", life.String(),
	}
	if o.CPUProfile != "" {
		args = append(args, "-cpuprofile", fmt.Sprintf("%s-%s-run%d.pprof", o.CPUProfile, target, r))
	}
	cctx, cancel := context.WithTimeout(ctx, life+10*time.Second)
	cmd := exec.CommandContext(cctx, exe, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 8 * time.Second // then it is killed
	if o.ServerProcs > 0 {
		cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(o.ServerProcs))
	}
	cmd.Stderr = os.Stderr
	out := newFirstLine(os.Stderr)
	cmd.Stdout = out
	// The child exits when this pipe closes, so it cannot outlive us.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		return "", 0, nil, err
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return "", 0, nil, err
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	var once sync.Once
	var stopErr error
	stop := func() error {
		once.Do(func() {
			_ = stdin.Close()
			cancel() // SIGTERM, then a kill after WaitDelay
			<-exited
			if !cmd.ProcessState.Success() {
				stopErr = fmt.Errorf("server process %d: %v", cmd.Process.Pid, waitErr)
			}
		})
		return stopErr
	}
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case line := <-out.line:
		addr := strings.TrimSpace(line)
		if addr == "" {
			_ = stop()
			return "", 0, nil, errors.New("server process printed no address")
		}
		return addr, cmd.Process.Pid, stop, nil
	case <-exited:
		_ = stop()
		return "", 0, nil, fmt.Errorf("server process exited before printing its address: %v", waitErr)
	case <-t.C:
		_ = stop()
		return "", 0, nil, errors.New("server process did not print its address within 10s")
	case <-ctx.Done():
		_ = stop()
		return "", 0, nil, ctx.Err()
	}
}

// firstLine is a writer that hands its first line to a channel and passes
// anything after it to rest.
type firstLine struct {
	mu   sync.Mutex
	buf  []byte
	sent bool
	line chan string
	rest io.Writer
}

func newFirstLine(rest io.Writer) *firstLine {
	return &firstLine{line: make(chan string, 1), rest: rest}
}

func (f *firstLine) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sent {
		return f.rest.Write(p)
	}
	f.buf = append(f.buf, p...)
	i := strings.IndexByte(string(f.buf), '\n')
	if i < 0 {
		return len(p), nil
	}
	f.sent = true
	f.line <- string(f.buf[:i])
	if rest := f.buf[i+1:]; len(rest) > 0 {
		_, _ = f.rest.Write(rest)
	}
	f.buf = nil
	return len(p), nil
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(os.Stderr, "load: %d conns x %d in flight, %d-byte payload, %s measured after %s warmup (ramp %s), %d run(s), framing %s, workers %d, client GOMAXPROCS %d\n",
		o.Conns, o.Inflight, o.Payload, o.Duration, o.Warmup, o.Ramp, o.Runs, o.Framing, o.Workers, runtime.GOMAXPROCS(0))
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
	os.Exit(code)
}
