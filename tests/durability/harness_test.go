package durability

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// binDir holds the example servers, built once for the test binary (plain
// builds: they are other processes, so the race detector of this one does
// not reach them anyway).
var binDir string

func TestMain(m *testing.M) {
	redis.SetLogger(quietRedis{}) // the view's client logs every refused dial while Redis is down
	dir, err := os.MkdirTemp("", "zinxgame-durability")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	build := exec.Command("go", "build", "-o", dir+"/", "../../examples/lockstep", "../../examples/mmo")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the example servers:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

// testSecret signs the tokens; fixed, so tokens survive a restart.
const testSecret = "durability-test-secret-0123456789abcdef"

// testNode is the servers' ZINX_NODEID: a restarted server must find the
// matches its node left running.
const testNode = 7

// maxLog bounds the log kept of one server process; the rest is counted.
const maxLog = 4 << 20

// server is one example server binary, started on a fixed loopback port
// so a restart serves the same address. Its methods are for the test's
// goroutine.
type server struct {
	t    *testing.T
	bin  string
	port int
	env  []string
	dir  string // working directory

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{} // closed once cmd has exited; state is set then
	state   *os.ProcessState
	log     strings.Builder
	dropped int // log bytes past maxLog
}

// newServer prepares binary name (lockstep or mmo) on a free port with the
// environment every test shares plus env; it does not start it.
func newServer(t *testing.T, name string, env ...string) *server {
	t.Helper()
	s := &server{t: t, bin: filepath.Join(binDir, name), port: freePort(t), dir: t.TempDir()}
	s.env = append([]string{
		"ZINX_HOST=127.0.0.1", "ZINX_LOGFORMAT=json", "ZINX_MODE=tcp",
		"ZINX_NODEID=" + strconv.Itoa(testNode), "ZINX_AUTH_SECRET=" + testSecret,
		"ZINX_CONNRATEPERIP=0", "ZINX_ACCOUNT_NEWIDENTITYRATE=-1", // every player comes from 127.0.0.1
		"ZINX_SHUTDOWNTIMEOUT=8s",
	}, env...)
	t.Cleanup(s.kill)
	return s
}

// addr is where the server listens (TCP).
func (s *server) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// freePort returns a loopback TCP port nobody listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start runs the server and waits until it serves, or fails the test.
func (s *server) start() {
	s.t.Helper()
	if err := s.tryStart(20 * time.Second); err != nil {
		s.t.Fatal(err)
	}
}

// tryStart runs the server and waits up to wait until it serves. It
// returns an error when it exits first or does not serve in time (the
// process is then left to exit, or killed).
func (s *server) tryStart(wait time.Duration) error {
	s.mu.Lock()
	if s.cmd != nil {
		s.mu.Unlock()
		return errors.New("server already running")
	}
	cmd := exec.Command(s.bin, "-port", strconv.Itoa(s.port))
	cmd.Env = append(os.Environ(), s.env...)
	cmd.Dir = s.dir
	cmd.SysProcAttr = sysProcAttr()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		s.mu.Unlock()
		return err
	}
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("starting %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	s.cmd, s.exited, s.state = cmd, exited, nil
	fmt.Fprintf(&s.log, "--- start pid %d\n", cmd.Process.Pid)
	s.mu.Unlock()

	serving := make(chan struct{}, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.appendLog(line)
			var rec struct{ Msg string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "znet: serving" {
				select {
				case serving <- struct{}{}:
				default:
				}
			}
		}
		_ = cmd.Wait()
		s.mu.Lock()
		s.state = cmd.ProcessState
		s.mu.Unlock()
		close(exited)
	}()
	select {
	case <-serving:
		return nil
	case <-exited:
		return fmt.Errorf("%s exited before serving (%v); log:\n%s", filepath.Base(s.bin), s.exitState(), s.logTail())
	case <-time.After(wait):
		s.kill()
		return fmt.Errorf("%s did not serve within %s; log:\n%s", filepath.Base(s.bin), wait, s.logTail())
	}
}

func (s *server) appendLog(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.log.Len()+len(line) > maxLog {
		s.dropped += len(line) + 1
		return
	}
	s.log.WriteString(line)
	s.log.WriteByte('\n')
}

// logs is everything the server processes logged (every start's).
func (s *server) logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dropped > 0 {
		return s.log.String() + fmt.Sprintf("(%d bytes of log dropped)\n", s.dropped)
	}
	return s.log.String()
}

// lastRunLogs is the log of the process started last.
func (s *server) lastRunLogs() string {
	l := s.logs()
	if i := strings.LastIndex(l, "--- start pid "); i >= 0 {
		return l[i:]
	}
	return l
}

// logTail is the end of the log, for a failure message.
func (s *server) logTail() string {
	l := s.logs()
	if len(l) > 6000 {
		l = "..." + l[len(l)-6000:]
	}
	return l
}

func (s *server) exitState() *os.ProcessState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// kill9 kills the server with SIGKILL, as a crash would, and waits until
// it is gone; it returns the moment just before the signal. Only the
// process this server started is signalled.
func (s *server) kill9() time.Time {
	s.t.Helper()
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil {
		s.t.Fatal("kill9: the server is not running")
	}
	at := time.Now()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		s.t.Fatalf("kill9: %v", err)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		s.t.Fatalf("the server (pid %d) did not die within 10s of SIGKILL", cmd.Process.Pid)
	}
	s.mu.Lock()
	s.cmd = nil
	s.mu.Unlock()
	return at
}

// sigterm sends SIGTERM and waits up to wait for the exit; it returns the
// exit status, or fails the test when the server does not exit in time.
func (s *server) sigterm(wait time.Duration) *os.ProcessState {
	s.t.Helper()
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil {
		s.t.Fatal("sigterm: the server is not running")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.t.Fatalf("sigterm: %v", err)
	}
	select {
	case <-exited:
	case <-time.After(wait):
		s.kill()
		s.t.Fatalf("the server did not exit within %s of SIGTERM; log:\n%s", wait, s.logTail())
	}
	s.mu.Lock()
	s.cmd = nil
	st := s.state
	s.mu.Unlock()
	return st
}

// waitExit waits up to wait for a server that stops by itself.
func (s *server) waitExit(wait time.Duration) (*os.ProcessState, bool) {
	s.mu.Lock()
	exited := s.exited
	s.mu.Unlock()
	if exited == nil {
		return nil, false
	}
	select {
	case <-exited:
	case <-time.After(wait):
		return nil, false
	}
	s.mu.Lock()
	s.cmd = nil
	st := s.state
	s.mu.Unlock()
	return st, true
}

// kill stops a server still running at the end of a test (SIGKILL, by
// PID) and waits for it.
func (s *server) kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
	}
}

// lastErrorLine is the last line the server wrote that is not JSON: the
// main function's "<name> server: <error>" on a failed exit.
func (s *server) lastErrorLine() string {
	lines := strings.Split(strings.TrimSpace(s.logs()), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := lines[i]; !strings.HasPrefix(l, "{") && !strings.HasPrefix(l, "---") {
			return l
		}
	}
	return ""
}

// eventually polls cond every 20ms until it holds or wait passes.
func eventually(wait time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(wait)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
