// Package redistest runs a private redis-server for tests: its own process
// on a free loopback port, never the machine's shared Redis. Tests that
// need Redis fail (never skip) when the server cannot start, so a missing
// binary shows up in CI instead of silently shrinking the suite; .ci/run
// installs Debian's redis-server package.
//
// A Server can be killed and restarted on the same port, so a client's
// reconnection and an application's outage handling can be tested against
// the real thing.
package redistest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is one redis-server process (or the place for one: see New).
// Its methods must be called from the test's goroutine, as they may call
// t.Fatal.
type Server struct {
	// Addr is host:port on 127.0.0.1, stable across Kill and Restart.
	Addr string

	t    testing.TB
	bin  string
	dir  string
	args []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Option changes how the server runs.
type Option func(*Server)

// Persistent turns on the append-only file with an fsync before every
// reply, so what Redis acknowledged survives Kill and is there again after
// Restart, as with a production Redis; by default nothing is saved.
func Persistent() Option {
	return func(s *Server) { s.args = append(s.args, "--appendonly", "yes", "--appendfsync", "always") }
}

// Args adds redis-server arguments; they come after the defaults, so they
// win (Args("--appendonly", "no") after Persistent, say).
func Args(args ...string) Option {
	return func(s *Server) { s.args = append(s.args, args...) }
}

// DataDir runs the server in dir instead of a directory of its own, so a
// test can place a snapshot (dump.rdb) there before Start, or start a
// second server on the files a first one left.
func DataDir(dir string) Option {
	return func(s *Server) { s.dir = dir }
}

// Start runs a redis-server on a free loopback port, waits until it answers
// PING, and stops it when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := New(t, opts...)
	s.Start()
	return s
}

// New picks a free loopback port for a server but does not start it, for
// tests of a client that comes up before its Redis; Start starts it.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		bin = "/usr/bin/redis-server"
		if _, serr := os.Stat(bin); serr != nil {
			t.Fatalf("redistest: redis-server not found on PATH or at %s (install Debian's redis-server package; .ci/run does): %v", bin, err)
		}
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir()}
	for _, o := range opts {
		o(s)
	}
	s.Addr = freeAddr(t)
	t.Cleanup(s.Kill)
	return s
}

// freeAddr returns a loopback address nobody listens on right now. Another
// process could take it before redis-server binds it; Start then fails
// with redis-server's log, which says so.
func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: finding a free port: %v", err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// Start runs the server if it is not running and waits until it answers
// PING (after loading its data, when Persistent).
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	_, port, _ := net.SplitHostPort(s.Addr)
	logPath := filepath.Join(s.dir, "redis.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.t.Fatalf("redistest: %v", err)
	}
	defer logFile.Close()
	args := append([]string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", s.dir, "--daemonize", "no", "--logfile", ""}, s.args...) // later arguments win
	cmd := exec.Command(s.bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("redistest: starting %s: %v", s.bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done

	deadline := time.Now().Add(10 * time.Second)
	for {
		err := ping(s.Addr)
		if err == nil {
			return
		}
		select {
		case <-done:
			s.cmd = nil
			s.t.Fatalf("redistest: redis-server on %s exited at start (%v); its log:\n%s", s.Addr, cmd.ProcessState, tail(logPath))
		default:
		}
		if time.Now().After(deadline) {
			s.killLocked()
			s.t.Fatalf("redistest: redis-server on %s does not answer PING after 10s (%v); its log:\n%s", s.Addr, err, tail(logPath))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Kill stops the server at once with SIGKILL, as a crash would, and waits
// until the process is gone. It does nothing when the server is not
// running. Only the process this Server started is signalled.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.killLocked()
}

func (s *Server) killLocked() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill() // by PID: the process we started
	<-s.done
	s.cmd = nil
}

// Restart kills the server if it runs and starts it again on the same
// port, so clients reconnect to the same address.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	s.Start()
}

// Dir is the server's data directory (its dump.rdb and append-only files).
func (s *Server) Dir() string { return s.dir }

// Running reports whether the server process is up.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// ping sends an inline PING and wants +PONG (not -LOADING, which a server
// still reading its append-only file answers).
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line = strings.TrimSpace(line); line != "+PONG" {
		return errors.New("PING answered " + strconv.Quote(line))
	}
	return nil
}

// tail returns the end of a log file, for a failure message.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}
