package servercmd

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
)

// gameSection is a server's own section, so the tests see section keys
// accepted from the environment as the servers' are.
type gameSection struct{ Speed int }

// testCommand is a server command line over zconf with one section; its
// Run must not be reached by a subcommand.
func testCommand(t *testing.T, environ ...string) (Command, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	return Command{
		Name: "test server",
		Load: func(src zconf.Source) (zconf.Config, error) {
			g := gameSection{Speed: 1}
			src.Sections = map[string]any{"Game": &g}
			return zconf.Load(src)
		},
		Run: func(args []string) error {
			t.Errorf("Run(%q) called for a subcommand", args)
			return nil
		},
		Stdout: &stdout, Stderr: &stderr,
		Environ: append([]string{}, environ...),
	}, &stdout, &stderr
}

// startServer starts a real znet server with its admin listener on a free
// loopback port and returns it with that port.
func startServer(t *testing.T) (*znet.Server, string) {
	t.Helper()
	cfg := zconf.Default()
	cfg.Host = "127.0.0.1"
	cfg.TcpPort = zconf.FreePort
	cfg.Mode = zconf.ModeTCP
	cfg.AdminAddr = "127.0.0.1:0"
	cfg.ShutdownTimeout = 2 * time.Second
	srv, err := znet.NewServer(cfg, znet.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	_, port, err := net.SplitHostPort(srv.AdminAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	return srv, port
}

// TestHealthcheckLiveServer: against a live admin listener found through
// the config (a 0.0.0.0 AdminAddr probed on 127.0.0.1), /healthz and
// /readyz answer 200 (exit 0); readiness held down fails -ready only, with
// the reason on stderr; a stopped server fails both.
func TestHealthcheckLiveServer(t *testing.T) {
	srv, port := startServer(t)
	cmd, _, stderr := testCommand(t, "ZINX_ADMINADDR=0.0.0.0:"+port, "ZINX_GAME_SPEED=3")
	for _, args := range [][]string{{"healthcheck"}, {"healthcheck", "-ready"},
		{"healthcheck", "-ready", "-url", "http://127.0.0.1:" + port}} {
		if code := cmd.Main(args); code != 0 {
			t.Fatalf("%q = %d, want 0; stderr: %s", args, code, stderr)
		}
	}

	srv.SetReady(false)
	stderr.Reset()
	if code := cmd.Main([]string{"healthcheck", "-ready"}); code != 1 {
		t.Fatalf("healthcheck -ready on a server not ready = %d, want 1", code)
	}
	reason := stderr.String()
	if !strings.Contains(reason, "/readyz") || !strings.Contains(reason, "503") ||
		!strings.Contains(reason, "not ready") || strings.Count(reason, "\n") != 1 {
		t.Fatalf("reason %q: want one line naming /readyz, 503 and \"not ready\"", reason)
	}
	if code := cmd.Main([]string{"healthcheck"}); code != 0 {
		t.Fatalf("healthcheck (alive) on a server not ready = %d, want 0; stderr: %s", code, stderr)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	if code := cmd.Main([]string{"healthcheck"}); code != 1 {
		t.Fatalf("healthcheck with nothing listening = %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "127.0.0.1:"+port+"/healthz") {
		t.Fatalf("reason %q does not name the URL probed", stderr)
	}
}

// TestHealthcheckRefusals: no AdminAddr, a config error, a bad -url, a
// bad flag and a listener that never answers all exit 1 (never Docker's
// reserved 2), each with its reason.
func TestHealthcheckRefusals(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() { // accepts and never answers
		var held []net.Conn
		defer func() {
			for _, c := range held {
				_ = c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	cases := []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"healthcheck"}, "AdminAddr is not set"},
		{[]string{"ZINX_TCPPORT=x"}, []string{"healthcheck"}, "TcpPort"},
		{nil, []string{"healthcheck", "-url", "ftp://x"}, "want http://host:port"},
		{nil, []string{"healthcheck", "-nope"}, "-nope"},
		{nil, []string{"healthcheck", "extra"}, "unexpected arguments"},
		{nil, []string{"healthcheck", "-timeout", "200ms", "-url", "http://" + silent.Addr().String()},
			"no answer within 200ms"},
	}
	for _, tc := range cases {
		cmd, _, stderr := testCommand(t, tc.env...)
		start := time.Now()
		if code := cmd.Main(tc.args); code != 1 {
			t.Errorf("%q with %q = %d, want 1", tc.args, tc.env, code)
		}
		if !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%q with %q: stderr %q, want it to say %q", tc.args, tc.env, stderr, tc.want)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%q took %v", tc.args, d)
		}
	}
}

func TestAdminURL(t *testing.T) {
	for addr, want := range map[string]string{
		"0.0.0.0:9101":   "http://127.0.0.1:9101",
		"[::]:9101":      "http://127.0.0.1:9101",
		":9101":          "http://127.0.0.1:9101",
		"10.1.2.3:9101":  "http://10.1.2.3:9101",
		"[::1]:9101":     "http://[::1]:9101",
		"localhost:9101": "http://localhost:9101",
	} {
		if got, err := AdminURL(addr); err != nil || got != want {
			t.Errorf("AdminURL(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
	for _, addr := range []string{"", "9101"} {
		if _, err := AdminURL(addr); err == nil {
			t.Errorf("AdminURL(%q) succeeded", addr)
		}
	}
}

// TestCheckConfig: known server, alias and section variables pass with a
// summary; an unknown ZINX_* variable (which the server itself only warns
// about) fails naming it, as does a bad file.
func TestCheckConfig(t *testing.T) {
	cmd, stdout, stderr := testCommand(t, "ZINX_NODEID=7", "ZINX_MAXPACKETSIZE=4096", "ZINX_GAME_SPEED=2",
		"ZINX_ADMINADDR=0.0.0.0:9101", "HOME=/nonexistent")
	if code := cmd.Main([]string{"checkconfig"}); code != 0 {
		t.Fatalf("checkconfig = %d, want 0; stderr: %s", code, stderr)
	}
	if out := stdout.String(); !strings.Contains(out, "config ok") || !strings.Contains(out, "NodeID 7") ||
		!strings.Contains(out, "AdminAddr 0.0.0.0:9101") {
		t.Fatalf("summary %q: want \"config ok\", NodeID 7 and the AdminAddr", out)
	}

	cmd, _, stderr = testCommand(t, "ZINX_NODEID=7", "ZINX_REDIS_ADDR=redis:6379", "ZINX_GAME_SPEEED=2")
	if code := cmd.Main([]string{"checkconfig"}); code != 1 {
		t.Fatalf("checkconfig with unknown variables = %d, want 1", code)
	}
	for _, name := range []string{"ZINX_REDIS_ADDR", "ZINX_GAME_SPEEED"} {
		if !strings.Contains(stderr.String(), name) {
			t.Errorf("stderr %q does not name %s", stderr, name)
		}
	}

	cmd, _, stderr = testCommand(t)
	if code := cmd.Main([]string{"checkconfig", "-c", t.TempDir() + "/missing.json"}); code != 1 {
		t.Fatalf("checkconfig with a missing file = %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "missing.json") {
		t.Fatalf("stderr %q does not name the file", stderr)
	}
}

// TestMainRunsServer: arguments that are not a subcommand go to Run, and
// its error is the exit status 1 with the server's name.
func TestMainRunsServer(t *testing.T) {
	var stderr bytes.Buffer
	var got []string
	cmd := Command{Name: "x server", Stderr: &stderr, Stdout: io.Discard,
		Run: func(args []string) error {
			got = args
			return io.ErrUnexpectedEOF
		}}
	if code := cmd.Main([]string{"-port", "1"}); code != 1 {
		t.Fatalf("Main = %d, want 1", code)
	}
	if len(got) != 2 || got[0] != "-port" || got[1] != "1" {
		t.Fatalf("Run got %q", got)
	}
	if !strings.HasPrefix(stderr.String(), "x server: unexpected EOF") {
		t.Fatalf("stderr %q", stderr.String())
	}
}
