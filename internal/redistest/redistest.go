// Package redistest runs a private redis-server for tests: its own process
// on a free loopback port, never the machine's shared Redis. Tests that
// need Redis fail (never skip) when the server cannot start, so a missing
// binary shows up in CI instead of silently shrinking the suite; .ci/run
// installs Debian's redis-server package. The process itself is
// internal/redisproc's, which the scenario tool shares.
//
// A Server can be killed and restarted on the same port, so a client's
// reconnection and an application's outage handling can be tested against
// the real thing.
package redistest

import (
	"sync"
	"testing"

	"github.com/zinxgame/zinxgame/internal/redisproc"
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
	proc *redisproc.Proc
}

// Option changes how the server runs.
type Option func(*Server)

// Persistent turns on the append-only file with an fsync before every
// reply, so what Redis acknowledged survives Kill and is there again after
// Restart, as with a production Redis; by default nothing is saved.
func Persistent() Option {
	return func(s *Server) { s.args = append(s.args, redisproc.Persistent...) }
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
	bin, err := redisproc.Bin()
	if err != nil {
		t.Fatalf("redistest: %v (.ci/run installs it)", err)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir()}
	for _, o := range opts {
		o(s)
	}
	if s.Addr, err = redisproc.FreeAddr(); err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(s.Kill)
	return s
}

// Start runs the server if it is not running and waits until it answers
// PING (after loading its data, when Persistent).
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return
	}
	p, err := redisproc.Start(redisproc.Config{Bin: s.bin, Addr: s.Addr, Dir: s.dir, Args: s.args})
	if err != nil {
		s.t.Fatalf("redistest: %v", err)
	}
	s.proc = p
}

// Kill stops the server at once with SIGKILL, as a crash would, and waits
// until the process is gone. It does nothing when the server is not
// running. Only the process this Server started is signalled.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		s.proc.Kill()
		s.proc = nil
	}
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
	return s.proc != nil
}
