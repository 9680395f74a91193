package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// binDir holds the servers and bots, built once (without -race: the
// tests run them as an operator would) by TestMain.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "zinxgame-scenario-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	for name, pkg := range map[string]string{
		"lockstep": "../../examples/lockstep", "mmo": "../../examples/mmo",
		"lockstep-bot": "../../examples/lockstep/bot", "mmo-bot": "../../examples/mmo/bot",
	} {
		if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", pkg, err, out)
			_ = os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// committed is a committed thresholds file's path.
func committed(scenario string) string { return "../../deploy/load/" + scenario + ".json" }

// thresholds is a copy of a committed thresholds file for a test run: every
// check of the file, but latency bounds ten times looser and no check of
// the bots' own verdicts, which judge latency too. The tests run on two
// shared cores beside the rest of the suite, where a p99 says more about
// the machine than the code (TestLockstepSpike failed once on a 41 ms
// input-to-frame p99 against 38.33 ms); the counts (desyncs, gaps, drops,
// refusals, lost matches, exits) stay exact, and the committed bounds
// are the canary's, on a machine of its own.
func thresholds(t *testing.T, scenario string) string {
	t.Helper()
	b, err := os.ReadFile(committed(scenario))
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]any
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	var checks []any
	for _, c := range f["checks"].([]any) {
		m := c.(map[string]any)
		if m["fact"] == "bots_failed" {
			continue
		}
		name, _ := m["report"].(string)
		if _, q := m["quantile"]; q || strings.HasSuffix(name, "_ms") {
			if v, ok := m["max"].(float64); ok {
				m["max"] = v * 10
			}
		}
		checks = append(checks, m)
	}
	f["checks"] = checks
	out, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), scenario+".json")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// run runs the command with args (plus -bin and -json) and returns its
// exit status, its output and its JSON result (nil when none was written).
func run(t *testing.T, args ...string) (int, string, *result) {
	t.Helper()
	jsonFile := filepath.Join(t.TempDir(), "result.json")
	var out, errOut bytes.Buffer
	start := time.Now()
	code := cli(append([]string{"-bin", binDir, "-json", jsonFile}, args...), &out, &errOut)
	t.Logf("scenario %s: exit %d in %s", strings.Join(args, " "), code, time.Since(start).Round(time.Millisecond))
	text := out.String() + errOut.String()
	b, err := os.ReadFile(jsonFile)
	if err != nil {
		return code, text, nil
	}
	var res result
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("the result JSON: %v\n%s", err, b)
	}
	return code, text, &res
}

// mustPass runs a scenario that must pass with its committed thresholds.
func mustPass(t *testing.T, args ...string) *result {
	t.Helper()
	code, text, res := run(t, args...)
	if code != 0 || res == nil || !res.Pass || !strings.Contains(text, "verdict: PASS") {
		t.Fatalf("exit %d, want 0 and verdict PASS:\n%s", code, text)
	}
	if testing.Verbose() {
		t.Log(text)
	}
	return res
}

func TestStorm(t *testing.T) {
	res := mustPass(t, "-scenario", "storm", "-thresholds", thresholds(t, "storm"), "-bots", "40", "-duration", "3s")
	if len(res.Checks) == 0 || res.Checks[0].Check != "server_exit_nonzero" {
		t.Errorf("checks %+v: want the thresholds file's, in its order", res.Checks)
	}
	if len(res.Servers) != 1 || res.Servers[0].Starts != 1 || len(res.Servers[0].Exits) != 1 || res.Servers[0].Exits[0] != 0 {
		t.Errorf("servers %+v: want one process, exited 0", res.Servers)
	}
}

func TestChat(t *testing.T) {
	mustPass(t, "-scenario", "chat", "-thresholds", thresholds(t, "chat"), "-bots", "10", "-duration", "3s")
}

// TestMMOCrowdRamp: the ramp profile brings the bots in over the run: the
// connections sampled early are fewer than those sampled late.
func TestMMOCrowdRamp(t *testing.T) {
	res := mustPass(t, "-scenario", "mmo-crowd", "-thresholds", thresholds(t, "mmo-crowd"), "-bots", "20", "-duration", "5s", "-profile", "ramp")
	early, late := connsBetween(res, 0, 1500), connsBetween(res, 4000, 4800)
	if len(early) == 0 || len(late) == 0 || maxOf(early) >= 20 || minOf(late) < 15 || maxOf(early) >= minOf(late) {
		t.Errorf("connections sampled in the first 1.5s %v, at 4-4.8s %v: want fewer early, nearly all 20 late", early, late)
	}
}

// TestLockstepSpike: the spike's extra bots run only in their window (40%
// to 60% of the run): their process starts there and stops soon after
// (the result vote), and the connections sampled before the window are
// the base load's alone while those in it are twice as many.
func TestLockstepSpike(t *testing.T) {
	res := mustPass(t, "-scenario", "lockstep", "-thresholds", thresholds(t, "lockstep"), "-bots", "8", "-duration", "10s", "-profile", "spike")
	var spike *botResult
	for _, b := range res.BotRuns {
		if b.Label == "spike" {
			spike = b
		}
	}
	if spike == nil || spike.Bots != 8 {
		t.Fatalf("bot processes %+v: want a spike of 8", res.BotRuns)
	}
	if spike.StartedMs < 3900 || spike.StartedMs > 4500 || spike.StoppedMs < 6000 || spike.StoppedMs > 9500 {
		t.Errorf("the spike process ran from %dms to %dms: want a start at 4000ms and a stop after its 2s (plus the vote)",
			spike.StartedMs, spike.StoppedMs)
	}
	before, during := connsBetween(res, 1500, 3800), connsBetween(res, 4800, 5900)
	if len(before) == 0 || len(during) == 0 || maxOf(before) != 8 || minOf(during) != 16 {
		t.Errorf("connections before the window %v, in it %v: want 8, then 16", before, during)
	}
}

// TestRolling restarts both nodes under load and passes its thresholds:
// every process exited 0, the bots came back, every acknowledged match is
// in Redis.
func TestRolling(t *testing.T) {
	res := mustPass(t, "-scenario", "rolling", "-thresholds", thresholds(t, "rolling"), "-bots", "16", "-duration", "12s")
	if len(res.Restarts) != 2 {
		t.Fatalf("restarts %+v: want both nodes", res.Restarts)
	}
	for _, s := range res.Servers {
		if s.Starts != 2 || len(s.Exits) != 2 || s.Exits[0] != 0 || s.Exits[1] != 0 {
			t.Errorf("server %+v: want two processes, both exited 0", s)
		}
	}
	if a := res.Acked; a == nil || a.Acked < 4 || a.Lost != 0 || a.Acked != a.Total {
		t.Errorf("acknowledged matches %+v: want every one (at least the 4 the restarts ended) in Redis", a)
	}
}

// TestBreach: a threshold the run must breach makes the command exit 1
// with FAIL in the table.
func TestBreach(t *testing.T) {
	file := filepath.Join(t.TempDir(), "breach.json")
	writeFile(t, file, `{"checks": [
		{"metric": "zinxgame_messages_received_total", "delta": true, "max": 0},
		{"fact": "server_exit_nonzero", "max": 0}]}`)
	code, text, res := run(t, "-scenario", "lockstep", "-thresholds", file, "-bots", "4", "-duration", "2s")
	if code != 1 || res == nil || res.Pass || !strings.Contains(text, "verdict: FAIL") {
		t.Fatalf("exit %d, want 1 and verdict FAIL:\n%s", code, text)
	}
	if c := res.Checks; len(c) != 2 || c[0].Pass || !(c[0].Value > 0) || !c[1].Pass {
		t.Errorf("checks %+v: want the first FAIL with the messages received, the second PASS", c)
	}
	if !strings.Contains(text, "FAIL") || !strings.Contains(text, "Δ zinxgame_messages_received_total") {
		t.Errorf("the table does not show the breach:\n%s", text)
	}
}

// TestBadThresholds: a malformed or unknown thresholds file is a run
// error, exit 2, before anything runs.
func TestBadThresholds(t *testing.T) {
	for name, body := range map[string]string{
		"malformed":     `{"checks": [`,
		"unknown field": `{"checks": [{"metric": "zinxgame_ready", "min": 1, "maximum": 3}]}`,
		"unknown fact":  `{"checks": [{"fact": "server_happiness", "min": 1}]}`,
		"other's fact":  `{"checks": [{"fact": "acked_matches_lost", "max": 0}]}`,
		"no bound":      `{"checks": [{"metric": "zinxgame_ready"}]}`,
		"two kinds":     `{"checks": [{"metric": "zinxgame_ready", "fact": "bots_failed", "max": 0}]}`,
		"no checks":     `{"checks": []}`,
	} {
		file := filepath.Join(t.TempDir(), "bad.json")
		writeFile(t, file, body)
		start := time.Now()
		code, text, _ := run(t, "-scenario", "lockstep", "-thresholds", file, "-bots", "4", "-duration", "2s")
		if code != 2 || !strings.Contains(text, "thresholds") {
			t.Errorf("%s: exit %d, want 2 naming the thresholds:\n%s", name, code, text)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: took %s: the file must be refused before the run", name, d)
		}
	}
}

// TestExternal loads a server the test started itself (-addr, -admin):
// the canary's way. The committed thresholds apply; the checks only a
// started server can give are skipped.
func TestExternal(t *testing.T) {
	addr, admin := mustFree(t), mustFree(t)
	_, port, _ := splitHostPort(addr)
	p := &procs{}
	c, err := startChild(p, "lockstep", filepath.Join(binDir, "lockstep"), nil, []string{
		"ZINX_HOST=127.0.0.1", "ZINX_TCPPORT=" + port, "ZINX_MODE=tcp", "ZINX_ADMINADDR=" + admin,
		"ZINX_ACCOUNT_NEWIDENTITYRATE=-1", "ZINX_LOGLEVEL=warn"}, filepath.Join(t.TempDir(), "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.killAll()
	if err := waitReady(t.Context(), "http://"+admin, c, readyTimeout); err != nil {
		t.Fatal(err)
	}
	res := mustPass(t, "-scenario", "lockstep", "-thresholds", thresholds(t, "lockstep"), "-bots", "8", "-duration", "3s",
		"-addr", addr, "-admin", "http://"+admin)
	skipped := 0
	for _, v := range res.Checks {
		if v.Skipped {
			skipped++
			if v.Check != "server_exit_nonzero" {
				t.Errorf("skipped %q: only the started servers' facts are", v.Check)
			}
		}
	}
	if skipped != 1 {
		t.Errorf("%d checks skipped, want 1 (server_exit_nonzero)", skipped)
	}
	if code, err := c.stop(stopWait); err != nil || code != 0 {
		t.Errorf("the external server after the run: exit %d, %v", code, err)
	}
}

// TestRefusesRemote: the targets must be loopback.
func TestRefusesRemote(t *testing.T) {
	for _, args := range [][]string{
		{"-addr", "10.1.2.3:8999", "-admin", "http://127.0.0.1:9101"},
		{"-addr", "127.0.0.1:8999", "-admin", "http://192.0.2.1:9101"},
		{"-redis", "192.0.2.1:6379"},
	} {
		code, text, _ := run(t, append([]string{"-scenario", "lockstep", "-thresholds", thresholds(t, "lockstep")}, args...)...)
		if code != 2 || !strings.Contains(text, "loopback") {
			t.Errorf("%v: exit %d, want 2 refusing a remote address:\n%s", args, code, text)
		}
	}
}

func writeFile(t *testing.T, file, body string) {
	t.Helper()
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustFree(t *testing.T) string {
	t.Helper()
	a, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// connsBetween are the connections sampled from ms a to ms b of the run.
func connsBetween(res *result, a, b int64) []float64 {
	var out []float64
	for _, s := range res.Samples {
		if s.Ms >= a && s.Ms <= b {
			out = append(out, s.Connections)
		}
	}
	return out
}

func maxOf(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

func minOf(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		m = min(m, x)
	}
	return m
}
