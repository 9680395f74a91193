package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// procs is every child process the run started, so the hard deadline can
// kill them all, by PID. Its methods are safe from any goroutine.
type procs struct {
	mu   sync.Mutex
	live map[*child]bool
}

func (p *procs) add(c *child) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live == nil {
		p.live = map[*child]bool{}
	}
	p.live[c] = true
}

func (p *procs) remove(c *child) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.live, c)
}

// killAll sends SIGKILL to every child still running and waits for them.
func (p *procs) killAll() {
	p.mu.Lock()
	var cs []*child
	for c := range p.live {
		cs = append(cs, c)
	}
	p.mu.Unlock()
	for _, c := range cs {
		c.kill()
	}
}

// child is one process the run started: a server, a bot swarm.
type child struct {
	name    string
	cmd     *exec.Cmd
	log     string // its stdout and stderr
	started time.Time
	done    chan struct{} // closed once it has exited
	exited  time.Time     // set before done closes
	err     error         // Wait's
	owner   *procs
}

// startChild runs bin with args and env (added to this process's
// environment without its ZINX_ variables, which are the child server's
// to be given), its output to logPath.
func startChild(p *procs, name, bin string, args, env []string, logPath string) (*child, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer f.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(childEnv(), env...)
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: starting %s: %w", name, bin, err)
	}
	c := &child{name: name, cmd: cmd, log: logPath, started: time.Now(), done: make(chan struct{}), owner: p}
	p.add(c)
	go func() {
		c.err = cmd.Wait()
		c.exited = time.Now()
		p.remove(c)
		close(c.done)
	}()
	return c, nil
}

// childEnv is this process's environment without ZINX_ variables: a
// child server is configured by what the scenario gives it alone.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(strings.ToUpper(kv), "ZINX_") {
			env = append(env, kv)
		}
	}
	return env
}

// exitCode is the child's exit status once done: -1 when a signal ended
// it.
func (c *child) exitCode() int {
	if c.cmd.ProcessState == nil {
		return -1
	}
	return c.cmd.ProcessState.ExitCode()
}

// kill sends SIGKILL (by PID, the process we started) and waits.
func (c *child) kill() {
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Kill()
	<-c.done
}

// stop sends SIGTERM and waits up to wait for the exit, then kills. It
// returns the exit status (-1 when killed).
func (c *child) stop(wait time.Duration) (int, error) {
	select {
	case <-c.done:
		return c.exitCode(), fmt.Errorf("%s exited before it was stopped (%v)", c.name, c.cmd.ProcessState)
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-c.done:
		return c.exitCode(), nil
	case <-t.C:
		c.kill()
		return -1, fmt.Errorf("%s did not exit within %s of SIGTERM: killed", c.name, wait)
	}
}

// tail is the end of the child's log, for an error message.
func (c *child) tail() string {
	b, err := os.ReadFile(c.log)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return strings.TrimSpace(string(b))
}

// freeAddr is a loopback host:port nobody listens on right now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// server is one game server node: its ports stay the same across
// restarts, each process is a span of metrics.
type server struct {
	kind   string // "lockstep" or "mmo": the binary
	node   int
	bin    string
	env    []string
	addr   string // game TCP, host:port
	admin  string // admin listener base URL, http://host:port
	dir    string
	p      *procs
	proc   *child
	spans  []span
	starts int
	// exits are the exit statuses of the processes stopped so far.
	exits []int
}

// readyTimeout bounds a server's start: process up, /readyz 200.
const readyTimeout = 30 * time.Second

// stopWait bounds a server's exit after SIGTERM: its ShutdownTimeout
// (shutdownTimeout) and a margin.
const (
	shutdownTimeout = 10 * time.Second
	stopWait        = shutdownTimeout + 10*time.Second
)

func (s *server) name() string { return fmt.Sprintf("%s-%d", s.kind, s.node) }

// start runs the server process, waits until /readyz answers 200, and
// takes the span's first scrape.
func (s *server) start(ctx context.Context) error {
	s.starts++
	logPath := filepath.Join(s.dir, fmt.Sprintf("%s.log", s.name()))
	c, err := startChild(s.p, s.name(), s.bin, nil, s.env, logPath)
	if err != nil {
		return err
	}
	s.proc = c
	if err := waitReady(ctx, s.admin, c, readyTimeout); err != nil {
		c.kill()
		s.exits = append(s.exits, c.exitCode())
		s.proc = nil
		return fmt.Errorf("%s: %w; its log:\n%s", s.name(), err, c.tail())
	}
	sc, err := fetchMetrics(ctx, s.admin)
	if err != nil {
		return fmt.Errorf("%s: %w", s.name(), err)
	}
	s.spans = append(s.spans, span{node: s.name(), start: s.starts, first: sc, last: sc})
	return nil
}

// waitReady polls /readyz until 200, the process's exit or timeout.
func waitReady(ctx context.Context, admin string, c *child, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		code, _, err := httpGet(ctx, admin+"/readyz", 4096)
		if err == nil && code == http.StatusOK {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("/readyz: status %d", code)
		}
		last = err
		if c != nil {
			select {
			case <-c.done:
				return fmt.Errorf("exited while starting (%v)", c.cmd.ProcessState)
			default:
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within %s: %w", timeout, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop takes the span's last scrape, sends SIGTERM and waits for the
// exit; a non-zero status is recorded (a breach, not an error).
func (s *server) stop(ctx context.Context) error {
	var errs []error
	if sc, err := fetchMetrics(ctx, s.admin); err != nil {
		errs = append(errs, fmt.Errorf("%s: the last scrape: %w", s.name(), err))
	} else {
		s.spans[len(s.spans)-1].last = sc
	}
	code, err := s.proc.stop(stopWait)
	s.exits = append(s.exits, code)
	if err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// nonzeroExits counts the processes that exited non-zero or were killed.
func (s *server) nonzeroExits() int {
	n := 0
	for _, c := range s.exits {
		if c != 0 {
			n++
		}
	}
	return n
}
