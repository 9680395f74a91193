package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// binDir holds the example servers, built once for the package's tests by
// TestMain; binaries lists them by the name the image gives them.
var (
	binDir string
	binMu  sync.Mutex // one build at a time, for parallel tests
)

// binaries are the commands the image ships, by their name in the image.
var binaries = map[string]string{
	"lockstep":     "./examples/lockstep",
	"mmo":          "./examples/mmo",
	"echo-server":  "./examples/echo/server",
	"lockstep-bot": "./examples/lockstep/bot",
	"mmo-bot":      "./examples/mmo/bot",
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "zinxgame-deploy-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// binary returns the path of the named command (a key of binaries), built
// on first use without the race detector: the tests run it as an operator
// would, and a race build would only slow them.
func binary(t *testing.T, name string) string {
	t.Helper()
	pkg, ok := binaries[name]
	if !ok {
		t.Fatalf("no binary %q", name)
	}
	binMu.Lock()
	defer binMu.Unlock()
	path := filepath.Join(binDir, name)
	if runtime.GOOS == "windows" {
		path += ".exe"
	}
	if _, err := os.Stat(path); err == nil {
		return path
	}
	cmd := exec.Command("go", "build", "-o", path, pkg)
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return path
}
