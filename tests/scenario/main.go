// Command scenario runs one load scenario against the zinxgame example
// servers and judges it by a file of pass/fail thresholds: the canary
// gate. It reads the servers' /metrics before and after the run, prints a
// summary of the families checked and a verdict table, and exits 1 when a
// threshold is breached.
//
//	go run ./tests/scenario -scenario storm     -thresholds deploy/load/storm.json
//	go run ./tests/scenario -scenario lockstep  -thresholds deploy/load/lockstep.json -profile spike
//	go run ./tests/scenario -scenario mmo-crowd -thresholds deploy/load/mmo-crowd.json -profile ramp
//	go run ./tests/scenario -scenario chat      -thresholds deploy/load/chat.json
//	go run ./tests/scenario -scenario rolling   -thresholds deploy/load/rolling.json
//	go run ./tests/scenario -scenario lockstep  -addr 127.0.0.1:8999 -admin http://127.0.0.1:9101   # a running canary
//
// Scenarios: storm (many lockstep clients connect and log in at once),
// lockstep (steady 4-player rooms at 30 Hz), mmo-crowd (MMO players all in
// view of each other: the map is one area-of-interest cell), chat (MMO
// world chat at a high rate, to everyone), rolling (two lockstep nodes on
// one Redis, restarted one after the other under load; the bots re-form
// their rooms on the restarted node, and every match whose MatchEnd they
// got is looked up in Redis afterwards). -profile (lockstep, mmo-crowd,
// chat): steady (every bot for the run), ramp (the bots arrive linearly
// over the run), spike (as many bots again, in a second bot process, from
// 40% to 60% of the run).
//
// Targets: by default the tool builds the server and bot commands with go
// build (or takes them from -bin, such as the image's /usr/local/bin),
// starts each server as a child process on free loopback ports with its
// admin listener on, waits for /readyz, runs the bot processes, and stops
// the servers with SIGTERM at the end: an exit status other than 0 is the
// fact server_exit_nonzero. -redis ADDR gives the servers a Redis; the
// rolling scenario starts a private redis-server when it is not given.
// -addr and -admin load a server already running instead (the canary);
// both must be loopback.
//
// Thresholds (-thresholds FILE, JSON; deploy/load/<scenario>.json are the
// committed defaults) are a list of checks, each with a "max" and/or
// "min": a metric's change over the run ("metric", "delta": true, optional
// "labels"), a gauge after the run ("metric"), a histogram quantile over
// the run ("metric", "quantile"), a figure of the bots' JSON reports
// ("report": a dotted path such as "login.p99_ms"), or a fact of the run
// ("fact": server_exit_nonzero, restart_ready_seconds_max, ...). See
// thresholds.go. Unknown fields and names are errors.
//
// Length: -duration is at most 10m; -soak allows up to 24h (and passes
// -soak to the bots). Every run has a hard deadline past which every child
// is killed by PID. Traffic stays on loopback.
//
// Exit status: 0 PASS, 1 a threshold breached, 2 a run error (bad flags or
// thresholds, a server that did not start, a bot that did not report).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/zinxgame/zinxgame/internal/botkit"
)

func main() { os.Exit(cli(os.Args[1:], os.Stdout, os.Stderr)) }

func cli(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scenario", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.scenario, "scenario", "", "the scenario: "+strings.Join(scenarioNames(), ", "))
	fs.StringVar(&o.thresholds, "thresholds", "", "the thresholds file (JSON); default deploy/load/<scenario>.json")
	fs.StringVar(&o.profile, "profile", "steady", "lockstep, mmo-crowd, chat: steady, ramp or spike")
	fs.IntVar(&o.bots, "bots", 0, "bots in all (0: the scenario's default); lockstep bots: a multiple of 4 per node")
	fs.DurationVar(&o.duration, "duration", 0, "the run (0: the scenario's default, seconds to a minute); at most 10m without -soak")
	fs.BoolVar(&o.soak, "soak", false, "allow -duration up to 24h (the bots get -soak too)")
	fs.StringVar(&o.binDir, "bin", "", "a directory of prebuilt lockstep, mmo, lockstep-bot and mmo-bot commands (default: go build them)")
	fs.StringVar(&o.redis, "redis", "", "a Redis for the servers, host:port on loopback (rolling starts its own when empty)")
	fs.StringVar(&o.addr, "addr", "", "load this running server's game port (loopback) instead of starting one; needs -admin")
	fs.StringVar(&o.admin, "admin", "", "with -addr: the running server's admin listener, http://host:port (loopback)")
	fs.StringVar(&o.jsonFile, "json", "", "also write the result to this file as JSON")
	fs.BoolVar(&o.keep, "keep", false, "keep the run's directory (logs, bot reports) even when it passes")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "scenario: unexpected arguments %q\n", fs.Args())
		return 2
	}
	rn, err := prepare(o)
	if err != nil {
		fmt.Fprintln(stderr, "scenario:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := rn.execute(ctx)
	if res != nil {
		res.write(stdout)
		if o.jsonFile != "" {
			if werr := res.writeJSON(o.jsonFile); werr != nil {
				err = errors.Join(err, werr)
			}
		}
	}
	keep := o.keep || err != nil || (res != nil && !res.Pass)
	if keep {
		fmt.Fprintf(stderr, "scenario: logs and reports in %s\n", rn.dir)
	} else {
		_ = os.RemoveAll(rn.dir)
	}
	switch {
	case err != nil:
		fmt.Fprintln(stderr, "scenario: run error:", err)
		return 2
	case !res.Pass:
		return 1
	}
	return 0
}

// prepare checks the flags and the thresholds file before anything runs.
func prepare(o options) (*runner, error) {
	sp, ok := scenarios[o.scenario]
	if !ok {
		return nil, fmt.Errorf("-scenario %q: want one of %s", o.scenario, strings.Join(scenarioNames(), ", "))
	}
	if !slices.Contains([]string{"steady", "ramp", "spike"}, o.profile) {
		return nil, fmt.Errorf("-profile %q: want steady, ramp or spike", o.profile)
	}
	if o.profile != "steady" && !sp.profiles {
		return nil, fmt.Errorf("-profile %s: %s runs its own shape (profiles are for lockstep, mmo-crowd and chat)", o.profile, o.scenario)
	}
	if o.bots == 0 {
		o.bots = sp.bots
	}
	if err := checkBots(sp, o.bots); err != nil {
		return nil, err
	}
	if o.duration == 0 {
		o.duration = sp.duration
	}
	limit := capDuration
	if o.soak {
		limit = maxSoak
	}
	if o.duration < 2*time.Second || o.duration > limit {
		return nil, fmt.Errorf("-duration %s: must be from 2s to %s (longer needs -soak, up to %s)", o.duration, limit, maxSoak)
	}
	if (o.addr == "") != (o.admin == "") {
		return nil, errors.New("-addr and -admin go together")
	}
	if o.addr != "" {
		if sp.rolling || sp.nodes > 1 {
			return nil, fmt.Errorf("-addr: %s restarts the servers it starts; it cannot load a running one", o.scenario)
		}
		if err := botkit.Loopback(o.addr); err != nil {
			return nil, err
		}
		u, err := url.Parse(o.admin)
		if err != nil || u.Scheme != "http" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("-admin %q: want http://host:port", o.admin)
		}
		if err := botkit.Loopback(u.Host); err != nil {
			return nil, fmt.Errorf("-admin: %w", err)
		}
		o.admin = strings.TrimSuffix(o.admin, "/")
	}
	if o.redis != "" {
		if err := botkit.Loopback(o.redis); err != nil {
			return nil, fmt.Errorf("-redis: %w", err)
		}
	}
	if o.thresholds == "" {
		o.thresholds = "deploy/load/" + o.scenario + ".json"
	}
	th, err := loadThresholds(o.thresholds, factsOf(sp))
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "zinxgame-scenario-"+o.scenario+"-")
	if err != nil {
		return nil, err
	}
	return &runner{opt: o, spec: sp, th: th, dir: dir, restarting: map[int]bool{}}, nil
}

// deadline bounds the whole run past the builds: the bots' duration and
// margin, the servers' starts and stops, the restarts.
func (rn *runner) deadline() time.Duration {
	d := rn.opt.duration + botMargin + time.Duration(rn.spec.nodes)*(readyTimeout+stopWait)
	if rn.spec.rolling {
		d += time.Duration(rn.spec.nodes) * (readyTimeout + stopWait)
	}
	return d
}

// execute runs the scenario and judges it. A result comes back whenever
// the run got as far as the checks.
func (rn *runner) execute(ctx context.Context) (*result, error) {
	if err := rn.binaries(ctx); err != nil {
		return nil, err
	}
	// The hard deadline: every child killed by PID, the run an error.
	ctx, cancel := context.WithTimeoutCause(ctx, rn.deadline(), errors.New("the run's hard deadline passed"))
	defer cancel()
	stopKill := context.AfterFunc(ctx, rn.killAll)
	defer stopKill()
	defer rn.killAll() // whatever happens, no child outlives the run

	if rn.spec.redis && rn.opt.addr == "" {
		if err := rn.startRedis(); err != nil {
			return nil, err
		}
	}
	rn.start = time.Now()
	if err := rn.startServers(ctx); err != nil {
		return nil, err
	}
	runs := schedule(rn.spec, rn.opt.profile, rn.opt.bots, rn.opt.duration)
	rn.start = time.Now() // bot offsets and samples count from here
	sctx, stopSampling := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() { defer close(sampled); rn.sampleLoop(sctx) }()
	rolled := make(chan error, 1)
	if rn.spec.rolling {
		go func() { rolled <- rn.roll(ctx) }()
	} else {
		rolled <- nil
	}
	botErr := rn.runBots(ctx, runs)
	rollErr := <-rolled
	stopSampling()
	<-sampled
	stopErr := rn.stopServers(ctx)
	if err := errors.Join(botErr, rollErr, stopErr, context.Cause(ctx)); err != nil && ctx.Err() != nil {
		return nil, err
	} else if botErr != nil {
		return nil, botErr
	}
	var ver *verification
	if rn.spec.rolling {
		v, err := rn.verify(ctx)
		if err != nil {
			return nil, err
		}
		ver = v
	}
	res, err := rn.judge(ver)
	if err != nil {
		return nil, err
	}
	for _, e := range []error{rollErr, stopErr} {
		if e != nil {
			res.Problems = append(res.Problems, e.Error())
			res.Pass = false
		}
	}
	return res, nil
}

// killAll kills every child and the private Redis.
func (rn *runner) killAll() {
	rn.procs.killAll()
	if rn.redis != nil {
		rn.redis.Kill()
	}
}

func splitHostPort(addr string) (string, string, error) { return net.SplitHostPort(addr) }
