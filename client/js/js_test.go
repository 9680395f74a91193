package jsclient

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/game/lockstep"
	"github.com/zinxgame/zinxgame/znet"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// needNode returns the node binary, or ends the test when node or
// client/js/node_modules is missing: a failure under CI=true (CI installs
// both), a skip elsewhere, with what to run.
func needNode(t *testing.T) string {
	t.Helper()
	missing := ""
	node, err := exec.LookPath("node")
	switch {
	case err != nil:
		missing = "node is not installed (Debian: apt-get install nodejs npm), then run `npm ci --prefix client/js`"
	default:
		for _, p := range []string{"node_modules/@bufbuild/protobuf/package.json", "node_modules/ws/package.json"} {
			if _, err := os.Stat(p); err != nil {
				missing = "client/js/node_modules is missing or incomplete: run `npm ci --prefix client/js` from the repository root"
				break
			}
		}
	}
	if missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(missing)
		}
		t.Skip(missing)
	}
	return node
}

// runNode runs `node --test` on files (in this directory) with env added,
// bounded by timeout, and fails the test with node's output if it fails.
func runNode(t *testing.T, node string, timeout time.Duration, env []string, files ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{"--test"}, files...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 5 * time.Second // a stray grandchild holding the pipes does not hang the test
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		t.Fatalf("node --test %s: %v (ctx: %v)\n%s", strings.Join(files, " "), err, ctx.Err(), out.String())
	}
	t.Logf("node --test %s:\n%s", strings.Join(files, " "), tail(out.String(), 12))
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(l[max(0, len(l)-lines):], "\n")
}

// TestNodeUnit runs the library's unit tests (test/*.test.js).
func TestNodeUnit(t *testing.T) {
	node := needNode(t)
	files, err := filepath.Glob("test/*.test.js")
	if err != nil || len(files) == 0 {
		t.Fatalf("no unit tests in test/: %v", err)
	}
	runNode(t, node, 60*time.Second, nil, files...)
}

// TestIntegration runs test/integration/ against a real lockstep server
// serving WebSocket on a loopback port; the JS test asks for the server's
// shutdown through a control endpoint when it is ready to hear the notice.
func TestIntegration(t *testing.T) {
	node := needNode(t)
	files, err := filepath.Glob("test/integration/*.test.js")
	if err != nil || len(files) == 0 {
		t.Fatalf("no integration tests: %v", err)
	}
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	lc := lockstep.DefaultConfig()
	lc.Shards = 1
	lc.ReconnectGrace = 30 * time.Second
	ls, err := lockstep.New(lc, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ls.Close) // after the server's shutdown (cleanups run last in, first out)
	zc := znettest.Config()
	zc.ReconnectAfter = 1500 * time.Millisecond // the hint the JS test checks
	zc.LogLevel = "info"
	ts := znettest.NewServer(t, zc, func(srv *znet.Server) {
		if err := srv.Mount("lockstep", ls); err != nil {
			t.Fatal(err)
		}
	}, znettest.WithWebSocket())

	shutdown := make(chan error, 1)
	var once sync.Once
	control := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/shutdown" {
			http.NotFound(w, r)
			return
		}
		once.Do(func() {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				shutdown <- ts.Shutdown(ctx)
			}()
		})
		w.WriteHeader(http.StatusAccepted)
	}))
	defer control.Close()

	runNode(t, node, 90*time.Second, []string{"ZINX_WS_URL=" + ts.URL, "ZINX_CONTROL_URL=" + control.URL}, files...)

	select {
	case err := <-shutdown:
		if err != nil {
			t.Errorf("server shutdown: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the JS test never asked for the shutdown, or it did not finish")
	}
	// The JS clients' lie at the end is the only desync the server may see.
	if n := strings.Count(logs.String(), "game: desync"); n == 0 {
		t.Errorf("the server judged no desync, though one client lied about its hash; log:\n%s", logs.String())
	}
}

// syncBuffer is a bytes.Buffer for a logger written from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestFSAndImportMap checks that the embedded tree holds the entry points
// and that the import map resolves every bare specifier the embedded code
// imports to a file in it.
func TestFSAndImportMap(t *testing.T) {
	fsys := FS()
	for _, p := range []string{"src/index.js", "src/lockstep.js", "gen/lspb/lockstep_pb.js", "gen/commonpb/common_pb.js",
		"gen/mmopb/msg_pb.js", "vendor/@bufbuild/protobuf/index.js", "vendor/@bufbuild/protobuf/codegenv2/index.js"} {
		if _, err := fs.Stat(fsys, p); err != nil {
			t.Errorf("FS(): %v", err)
		}
	}
	var m struct{ Imports map[string]string }
	raw := ImportMap("/client")
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("ImportMap: %v\n%s", err, raw)
	}
	for spec, target := range m.Imports {
		rel, ok := strings.CutPrefix(target, "/client/")
		if !ok {
			t.Errorf("%s -> %s: not under the prefix", spec, target)
			continue
		}
		if _, err := fs.Stat(fsys, rel); err != nil {
			t.Errorf("%s -> %s: %v", spec, target, err)
		}
	}
	bare := regexp.MustCompile(`(?m)^\s*(?:import|export)\b[^"';]*?from\s+"([^"./][^"]*)"`)
	seen := 0
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") || strings.HasPrefix(p, "vendor/") {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		for _, sm := range bare.FindAllStringSubmatch(string(b), -1) {
			seen++
			if _, ok := m.Imports[sm[1]]; !ok {
				t.Errorf("%s imports %q, which the import map does not map", p, sm[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 4 {
		t.Errorf("found %d bare imports; the pattern no longer matches the code", seen)
	}
	if !strings.Contains(ImportMap("/x/"), `"/x/vendor/@bufbuild/protobuf/index.js"`) {
		t.Errorf("a prefix with its slash gets a second one:\n%s", ImportMap("/x/"))
	}
}

// TestVendorMatchesNodeModules checks vendor/@bufbuild/protobuf against the
// installed runtime (the lockfile's version after `npm ci`), as CI does.
func TestVendorMatchesNodeModules(t *testing.T) {
	needNode(t)
	want := os.DirFS("node_modules/@bufbuild/protobuf/dist/esm")
	got := os.DirFS("vendor/@bufbuild/protobuf")
	list := func(fsys fs.FS) []string {
		var out []string
		if err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				out = append(out, p)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	wl, gl := list(want), list(got)
	if !slices.Equal(wl, gl) {
		t.Fatalf("vendor/@bufbuild/protobuf lists %d files, node_modules' dist/esm %d: run `npm run vendor --prefix client/js`", len(gl), len(wl))
	}
	for _, p := range wl {
		a, _ := fs.ReadFile(want, p)
		b, _ := fs.ReadFile(got, p)
		if !bytes.Equal(a, b) {
			t.Errorf("vendor/@bufbuild/protobuf/%s differs from node_modules: run `npm run vendor --prefix client/js`", p)
		}
	}
}
