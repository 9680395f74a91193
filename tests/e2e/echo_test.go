package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/internal/testcert"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "zinxgame-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	build := exec.Command("go", "build", "-o", dir+"/", "../../examples/echo/server", "../../examples/echo/client", "../../examples/mmo")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the examples:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running example server.
type proc struct {
	cmd       *exec.Cmd
	addr      string // the first listener's, from its "znet: serving" log line
	transport string // that line's transport: "tcp" or "kcp"
	mu        sync.Mutex
	log       strings.Builder
	exit      chan error
}

func (p *proc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// startEcho runs the echo server with JSON logs on a free loopback port and
// waits for it to report its address.
func startEcho(t *testing.T, args ...string) *proc {
	t.Helper()
	return startBinary(t, "server", nil, args...)
}

// startBinary runs one of the built examples with JSON logs, env added to
// the environment, on a free loopback port, and waits for its address.
func startBinary(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, name), append(args, "-port", "0")...)
	cmd.Env = append(append(os.Environ(), "ZINX_HOST=127.0.0.1", "ZINX_LOGFORMAT=json"), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, exit: make(chan error, 1)}
	type serving struct{ addr, transport string }
	addrc := make(chan serving, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			p.mu.Unlock()
			var rec struct{ Msg, Addr, Transport string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "znet: serving" {
				select {
				case addrc <- serving{rec.Addr, rec.Transport}:
				default: // a second listener (Mode "tcp,kcp"): the first is the one returned
				}
			}
		}
		p.exit <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill() // only the process this test started
			<-p.exit
		}
	})
	select {
	case sv := <-addrc:
		p.addr, p.transport = sv.addr, sv.transport
	case err := <-p.exit:
		t.Fatalf("server exited before serving: %v\n%s", err, p.logs())
	case <-time.After(20 * time.Second):
		t.Fatalf("server did not start; log:\n%s", p.logs())
	}
	return p
}

// stop sends SIGTERM and expects a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exit:
		if err != nil {
			t.Fatalf("server exited with %v; log:\n%s", err, p.logs())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("server did not stop on SIGTERM; log:\n%s", p.logs())
	}
	if !strings.Contains(p.logs(), "shutdown complete") {
		t.Fatalf("no clean shutdown in the log:\n%s", p.logs())
	}
}

// TestEchoServerEndToEnd runs the echo server from its config file over
// each transport, with the same checks: every echo comes back, and a
// SIGTERM tells every client (the shutdown notice) before a clean exit.
func TestEchoServerEndToEnd(t *testing.T) {
	for _, tr := range []struct {
		name string
		env  []string
	}{
		{"tcp", nil},
		// ZINX_KCPPORT=0 picks a free port, as -port 0 does for TCP.
		{"kcp", []string{"ZINX_MODE=kcp", "ZINX_KCPPORT=0"}},
	} {
		t.Run(tr.name, func(t *testing.T) { echoEndToEnd(t, tr.name, tr.env) })
	}
}

func echoEndToEnd(t *testing.T, transport string, env []string) {
	p := startBinary(t, "server", env, "-c", "../../conf/echo.json")
	if !strings.Contains(p.addr, "127.0.0.1:") {
		t.Fatalf("ZINX_HOST did not override the file: serving on %s", p.addr)
	}
	if p.transport != transport {
		t.Fatalf("the serving log line names transport %q, want %q", p.transport, transport)
	}
	cfg := zconf.Default()
	cfg.WorkerPoolSize = zconf.Off
	cl, err := znet.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	type echoed struct {
		id   uint32
		data string
	}
	got := make(chan echoed, 1000)
	cl.SetNotFound(func(req ziface.IRequest) { got <- echoed{req.GetMsgID(), string(req.GetData())} })
	dial := cl.Dial
	if transport == "kcp" {
		dial = cl.DialKCP
	}
	var conns []*znet.Connection
	for range 10 {
		c, err := dial(context.Background(), p.addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	sent := map[echoed]int{}
	for i, c := range conns {
		for j := range 50 {
			e := echoed{uint32(i*100 + j%7), fmt.Sprintf("conn %d msg %d", i, j)}
			sent[e]++
			if err := c.SendMsg(e.id, []byte(e.data)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range 500 {
		select {
		case e := <-got:
			if sent[e] == 0 {
				t.Fatalf("unexpected echo %+v", e)
			}
			sent[e]--
		case <-time.After(10 * time.Second):
			t.Fatal("echoes missing")
		}
	}

	// The example client, dialling by address, gets its echoes too.
	addr := p.addr
	if transport == "kcp" {
		addr = "kcp://" + addr
	}
	out, err := exec.Command(filepath.Join(binDir, "client"), "-addr", addr, "-n", "3").CombinedOutput()
	if err != nil {
		t.Fatalf("client -addr %s: %v\n%s", addr, err, out)
	}
	if n := strings.Count(string(out), "echo msg_id=1"); n != 3 {
		t.Fatalf("client -addr %s printed %d echoes:\n%s", addr, n, out)
	}

	p.stop(t)
	for range conns {
		select {
		case e := <-got:
			if n, err := znet.ParseNotice([]byte(e.data)); e.id != cfg.NoticeMsgID || err != nil || n.Code != znet.NoticeShutdown {
				t.Fatalf("after SIGTERM got message %d %q, want the shutdown notice", e.id, e.data)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a client got no shutdown notice")
		}
	}
	if transport == "kcp" {
		// KCP has no close signal: the client cannot see the server go
		// (it would only by silence, with a DeadAfter of its own). The
		// notices above and the clean exit are what the server side says.
		return
	}
	for _, c := range conns {
		select {
		case <-c.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("client connection still open after the server stopped")
		}
	}
}

func TestZinxConfigFileLoads(t *testing.T) {
	p := startEcho(t, "-c", "../../conf/zinx.json")
	if !strings.Contains(p.logs(), "key=LogDir") {
		t.Fatalf("no warning for the Zinx-only key LogDir:\n%s", p.logs())
	}
	out, err := exec.Command(filepath.Join(binDir, "client"), "-addr", p.addr, "-n", "3").CombinedOutput()
	if err != nil {
		t.Fatalf("client: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "echo msg_id=1"); n != 3 {
		t.Fatalf("client printed %d echoes:\n%s", n, out)
	}
	p.stop(t)
}

func TestBadConfigRefused(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"TcpPortt": 1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(binDir, "server"), "-c", bad).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "TcpPortt") {
		t.Fatalf("bad config: err %v, output:\n%s", err, out)
	}
}

// TestEchoServerTLS runs the echo server with a certificate generated here,
// as docs/operations.md's TLS section does with openssl: the client trusting it
// gets echoes, a plain client is closed, a missing key file stops the server.
func TestEchoServerTLS(t *testing.T) {
	cert := testcert.New(t)
	p := startEcho(t, "-cert", cert.CertFile, "-key", cert.KeyFile)
	client := filepath.Join(binDir, "client")
	out, err := exec.Command(client, "-addr", p.addr, "-n", "3", "-ca", cert.CertFile).CombinedOutput()
	if err != nil {
		t.Fatalf("TLS client: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "echo msg_id=1"); n != 3 {
		t.Fatalf("TLS client printed %d echoes:\n%s", n, out)
	}
	out, err = exec.Command(client, "-addr", p.addr, "-n", "1").CombinedOutput()
	if err == nil || strings.Contains(string(out), "echo msg_id=1") {
		t.Fatalf("a plain client got an echo from the TLS port: %v\n%s", err, out)
	}
	p.stop(t)
	if !strings.Contains(p.logs(), "TLS handshake failed") {
		t.Fatalf("no log line for the plain client:\n%s", p.logs())
	}

	missing := filepath.Join(t.TempDir(), "key.pem")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // should it serve after all
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "server"), "-cert", cert.CertFile, "-key", missing, "-port", "0")
	cmd.Env = append(os.Environ(), "ZINX_HOST=127.0.0.1")
	out, err = cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(string(out), missing) {
		t.Fatalf("missing key file: err %v, output:\n%s", err, out)
	}
}
