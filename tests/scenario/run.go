package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/zinxgame/zinxgame/internal/redisproc"
)

// options are the command's flags.
type options struct {
	scenario, profile, thresholds string
	bots                          int
	duration                      time.Duration
	soak                          bool
	binDir                        string
	redis                         string
	addr, admin                   string
	jsonFile                      string
	keep                          bool
}

// capDuration bounds -duration, unless -soak (maxSoak).
const (
	capDuration = 10 * time.Minute
	maxSoak     = 24 * time.Hour
)

// runner is one scenario run.
type runner struct {
	opt          options
	spec         scenarioSpec
	th           *Thresholds
	dir          string // logs, reports, built binaries
	binDir       string
	procs        procs
	redis        *redisproc.Proc
	redisAddr    string
	servers      []*server // nil entry: the external server (-addr)
	externalAddr string
	external     *span // the external server's metrics
	start        time.Time

	mu         sync.Mutex // guards the fields below
	restarting map[int]bool
	samples    []sample
	notReady   int
	restarts   []restart
	bots       []*botResult
}

// sample is the servers' state at one moment of the run.
type sample struct {
	Ms          int64   `json:"ms"` // from the run's start
	Connections float64 `json:"connections"`
	Ready       bool    `json:"ready"`
}

// restart is one node's restart under load.
type restart struct {
	Node         string  `json:"node"`
	AtMs         int64   `json:"at_ms"`
	Exit         int     `json:"exit"`
	ReadySeconds float64 `json:"ready_seconds"` // SIGTERM to the new process ready
	Err          string  `json:"error,omitempty"`
}

func (rn *runner) bin(name string) string { return filepath.Join(rn.binDir, name) }

// binaries builds (or finds, with -bin) the commands the run needs.
func (rn *runner) binaries(ctx context.Context) error {
	need := []string{rn.spec.server + "-bot"}
	if rn.opt.addr == "" {
		need = append(need, rn.spec.server)
	}
	pkgs := map[string]string{
		"lockstep":     "github.com/zinxgame/zinxgame/examples/lockstep",
		"mmo":          "github.com/zinxgame/zinxgame/examples/mmo",
		"lockstep-bot": "github.com/zinxgame/zinxgame/examples/lockstep/bot",
		"mmo-bot":      "github.com/zinxgame/zinxgame/examples/mmo/bot",
	}
	if rn.opt.binDir != "" {
		rn.binDir = rn.opt.binDir
		for _, n := range need {
			if _, err := os.Stat(rn.bin(n)); err != nil {
				return fmt.Errorf("-bin %s: %w", rn.opt.binDir, err)
			}
		}
		return nil
	}
	rn.binDir = filepath.Join(rn.dir, "bin")
	for _, n := range need {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", rn.bin(n), pkgs[n])
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s (run the tool inside the module, or give -bin): %w\n%s", pkgs[n], err, out)
		}
	}
	return nil
}

// serverEnv is a node's configuration: loopback ports, the admin
// listener, its node ID, the scenario's settings.
func (rn *runner) serverEnv(node int, addr, admin string) []string {
	_, port, _ := splitHostPort(addr)
	env := []string{
		"ZINX_HOST=127.0.0.1", "ZINX_TCPPORT=" + port, "ZINX_MODE=tcp",
		"ZINX_ADMINADDR=" + admin, "ZINX_NODEID=" + strconv.Itoa(node+1),
		"ZINX_MAXCONN=" + strconv.Itoa(4*rn.opt.bots+100),
		"ZINX_SHUTDOWNTIMEOUT=" + shutdownTimeout.String(), "ZINX_LOGLEVEL=warn",
		// Every bot logs in from 127.0.0.1: new identities are not
		// limited per address here, as they are by default.
		"ZINX_ACCOUNT_NEWIDENTITYRATE=-1",
	}
	if rn.redisAddr != "" {
		env = append(env, "ZINX_REDIS_ADDR="+rn.redisAddr, "ZINX_REDIS_REQUIRED=true",
			"ZINX_REDIS_SPILLFILE="+filepath.Join(rn.dir, fmt.Sprintf("node-%d.spill", node+1)))
	}
	return append(env, rn.spec.env...)
}

// startServers starts the nodes (or checks the external server).
func (rn *runner) startServers(ctx context.Context) error {
	if rn.opt.addr != "" {
		rn.externalAddr = rn.opt.addr
		rn.servers = []*server{nil}
		if err := waitReady(ctx, rn.opt.admin, nil, 5*time.Second); err != nil {
			return fmt.Errorf("-admin %s: %w", rn.opt.admin, err)
		}
		sc, err := fetchMetrics(ctx, rn.opt.admin)
		if err != nil {
			return err
		}
		rn.external = &span{node: "external", start: 1, first: sc, last: sc}
		return nil
	}
	for n := range rn.spec.nodes {
		addr, err1 := freeAddr()
		adminAddr, err2 := freeAddr()
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		s := &server{kind: rn.spec.server, node: n + 1, bin: rn.bin(rn.spec.server), addr: addr,
			admin: "http://" + adminAddr, dir: rn.dir, p: &rn.procs}
		s.env = rn.serverEnv(n, addr, adminAddr)
		rn.servers = append(rn.servers, s)
		if err := s.start(ctx); err != nil {
			return err
		}
	}
	return nil
}

// adminURLs are the servers' admin base URLs, by node index.
func (rn *runner) adminURL(i int) string {
	if rn.servers[i] == nil {
		return rn.opt.admin
	}
	return rn.servers[i].admin
}

// sampleLoop records the servers' readiness and connections every
// sampleEvery until ctx ends; a node being restarted is left out.
func (rn *runner) sampleLoop(ctx context.Context) {
	const sampleEvery = 250 * time.Millisecond
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s := sample{Ms: time.Since(rn.start).Milliseconds(), Ready: true}
		for i := range rn.servers {
			rn.mu.Lock()
			skip := rn.restarting[i]
			rn.mu.Unlock()
			if skip {
				continue
			}
			code, _, err := httpGet(ctx, rn.adminURL(i)+"/readyz", 4096)
			if ctx.Err() != nil {
				return
			}
			rn.mu.Lock()
			skip = rn.restarting[i] // it may have begun meanwhile
			rn.mu.Unlock()
			if skip {
				continue
			}
			if err != nil || code != http.StatusOK {
				s.Ready = false
			}
			if sc, err := fetchMetrics(ctx, rn.adminURL(i)); err == nil {
				v, _ := sc.sum("zinxgame_connections", nil)
				s.Connections += v
			}
		}
		rn.mu.Lock()
		rn.samples = append(rn.samples, s)
		if !s.Ready {
			rn.notReady++
		}
		rn.mu.Unlock()
	}
}

// runBots runs the scheduled bot processes, each from its start offset,
// and waits for all of them.
func (rn *runner) runBots(ctx context.Context, runs []botRun) error {
	var wg sync.WaitGroup
	errs := make([]error, len(runs))
	for i, br := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if d := time.Until(rn.start.Add(br.At)); d > 0 {
				select {
				case <-ctx.Done():
					errs[i] = ctx.Err()
					return
				case <-time.After(d):
				}
			}
			res, err := rn.runBot(br)
			if err != nil {
				errs[i] = err
				return
			}
			rn.mu.Lock()
			rn.bots = append(rn.bots, res)
			rn.mu.Unlock()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// stopServers takes each node's last scrape and stops it.
func (rn *runner) stopServers(ctx context.Context) error {
	if rn.external != nil {
		sc, err := fetchMetrics(ctx, rn.opt.admin)
		if err != nil {
			return err
		}
		rn.external.last = sc
		return nil
	}
	var errs []error
	for _, s := range rn.servers {
		if s != nil && s.proc != nil {
			select {
			case <-s.proc.done: // it died during the run: a breach, counted
				s.exits = append(s.exits, s.proc.exitCode())
				continue
			default:
			}
			if err := s.stop(ctx); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// spans are every server process's metrics spans.
func (rn *runner) spans() []span {
	if rn.external != nil {
		return []span{*rn.external}
	}
	var out []span
	for _, s := range rn.servers {
		out = append(out, s.spans...)
	}
	return out
}

// factValue is a fact of the finished run.
func (rn *runner) factValue(name string, ver *verification) float64 {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	switch name {
	case "bots_failed":
		n := 0
		for _, b := range rn.bots {
			if b.Exit != 0 {
				n++
			}
		}
		return float64(n)
	case "bot_processes":
		return float64(len(rn.bots))
	case "not_ready_samples":
		return float64(rn.notReady)
	case "peak_connections":
		peak := 0.0
		for _, s := range rn.samples {
			peak = math.Max(peak, s.Connections)
		}
		return peak
	case "server_exit_nonzero":
		n := 0
		for _, s := range rn.servers {
			n += s.nonzeroExits()
		}
		return float64(n)
	case "server_starts":
		n := 0
		for _, s := range rn.servers {
			n += s.starts
		}
		return float64(n)
	case "restarts":
		return float64(len(rn.restarts))
	case "restart_ready_seconds_max":
		m := math.NaN()
		for _, r := range rn.restarts {
			if r.Err != "" {
				return math.Inf(1)
			}
			if math.IsNaN(m) || r.ReadySeconds > m {
				m = r.ReadySeconds
			}
		}
		return m
	case "restart_exit_nonzero":
		n := 0
		for _, r := range rn.restarts {
			if r.Exit != 0 {
				n++
			}
		}
		return float64(n)
	case "acked_matches":
		if ver == nil {
			return math.NaN()
		}
		return float64(ver.Acked)
	case "acked_matches_lost":
		if ver == nil {
			return math.NaN()
		}
		return float64(ver.Lost)
	}
	return math.NaN()
}
