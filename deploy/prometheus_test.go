package deploy

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The Prometheus artifacts: prometheus/prometheus.yml (compose),
// prometheus/rules/*.yml and their promtool unit tests in
// prometheus/tests/*.yml.
const (
	promDir      = "prometheus"
	rulesFile    = "prometheus/rules/zinxgame.yml"
	ruleTestFile = "prometheus/tests/zinxgame_test.yml"
)

// promtool is the promtool on PATH (Debian's package prometheus ships
// /usr/bin/promtool). Without one the test fails under CI=true and is
// skipped otherwise.
func promtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		missing(t, "promtool is not on PATH (Debian: apt-get install prometheus, with its service kept stopped; see .ci/run)")
	}
	return path
}

func missing(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// runPromtool runs promtool with args in dir and returns its combined
// output and whether it exited 0. Bounded: promtool answers in well under
// a second.
func runPromtool(t *testing.T, tool, dir string, args ...string) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
	return string(out), err == nil
}

// promtool check rules and test rules, and check config of the compose
// configuration (which loads the rule files too, from rules/*.yml beside
// it).
func TestPrometheusRules(t *testing.T) {
	tool := promtool(t)
	rules, err := filepath.Glob(filepath.Join(promDir, "rules", "*.yml"))
	if err != nil || len(rules) == 0 {
		t.Fatalf("no rule files in %s/rules (%v)", promDir, err)
	}
	tests, err := filepath.Glob(filepath.Join(promDir, "tests", "*.yml"))
	if err != nil || len(tests) == 0 {
		t.Fatalf("no rule tests in %s/tests (%v)", promDir, err)
	}
	for _, c := range [][]string{
		append([]string{"check", "rules"}, rules...),
		append([]string{"test", "rules"}, tests...),
		{"check", "config", filepath.Join(promDir, "prometheus.yml")},
	} {
		out, ok := runPromtool(t, tool, ".", c...)
		if !ok {
			t.Errorf("%s %s failed:\n%s", tool, strings.Join(c, " "), out)
		}
	}
}

// The rule tests can fail: each mutation weakens one alert in a copy of
// the rules, and promtool test rules must then fail on that alert. Each
// old string must occur exactly once, so a rule edited since cannot make
// its mutation a silent no-op.
func TestPrometheusRuleTestsCatchMutations(t *testing.T) {
	tool := promtool(t)
	src, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	testsSrc, err := os.ReadFile(ruleTestFile)
	if err != nil {
		t.Fatal(err)
	}
	mutations := []struct{ alert, old, new string }{
		{"ZinxgameServerDown", `up{job=~"zinxgame-.*"} == 0 or`, `up{job=~"zinxgame-.*"} < 0 or`},
		{"ZinxgameDesync", "desyncs_total[5m])) > 0", "desyncs_total[5m])) > 1"},
		{"ZinxgameTickLate", "p99_5m > 0.005 and", "p99_5m > 0.01 and"},
		// Without the floor on ticks per second, a nearly idle server's
		// one slow tick fires.
		{"ZinxgameTickLate", "zinxgame:room_ticks:rate5m >= 1", "zinxgame:room_ticks:rate5m >= 0"},
		{"ZinxgameSendQueueOverflows", "overflows_total[5m])) > 10", "overflows_total[5m])) > 30"},
		{"ZinxgameRedisWriteFailures", "refused_writes_total[5m])) > 0", "refused_writes_total[5m])) > 1"},
		{"ZinxgameRedisDown", "zinxgame_redis_up == 0\n        for: 1m", "zinxgame_redis_up == 0\n        for: 5m"},
		// "growing" must mean growing: a high steady queue fires without
		// the slope.
		{"ZinxgameRedisPendingGrowing", "> 10000 and deriv", "> 10000 or deriv"},
		{"ZinxgameRedisSpilling", "zinxgame_redis_spill_bytes > 0\n        for: 5m", "zinxgame_redis_spill_bytes > 0\n        for: 1m"},
		// changes() counts a reset as a change: the restart case fires.
		{"ZinxgamePanics", "increase(zinxgame_panics_total[5m])", "changes(zinxgame_panics_total[5m])"},
		{"ZinxgameReadinessFlapping", "changes(zinxgame_ready[15m]) > 4", "changes(zinxgame_ready[15m]) > 1"},
		{"ZinxgameRedisPoolTimeouts", "pool_timeouts_total[5m])) > 0\n        for: 10m", "pool_timeouts_total[5m])) > 0\n        for: 3m"},
	}
	for _, m := range mutations {
		t.Run(m.alert, func(t *testing.T) {
			t.Parallel() // each waits on its own promtool
			if n := bytes.Count(src, []byte(m.old)); n != 1 {
				t.Fatalf("%q occurs %d times in %s, want once: update the mutation", m.old, n, rulesFile)
			}
			dir := t.TempDir()
			write := func(name string, b []byte) {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			write("rules/zinxgame.yml", bytes.Replace(src, []byte(m.old), []byte(m.new), 1))
			write("tests/zinxgame_test.yml", testsSrc)
			out, ok := runPromtool(t, tool, dir, "test", "rules", "tests/zinxgame_test.yml")
			if ok {
				t.Fatalf("promtool test rules passed with %q in place of %q:\n%s", m.new, m.old, out)
			}
			if !strings.Contains(out, "alertname: "+m.alert) {
				t.Fatalf("promtool test rules failed, but not on %s:\n%s", m.alert, out)
			}
		})
	}
}

// ruleFile is the part of a Prometheus rule file these checks read.
type ruleFile struct {
	Groups []struct {
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         *string           `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// ruleTests is the part of a promtool test file these checks read.
type ruleTests struct {
	Tests []struct {
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

// The alert rules keep the shape the runbook and the routing rely on
// (no promtool needed): the names docs/operations.md's runbook uses, a
// for: and a severity each, annotations with the server and the value,
// a runbook anchor that is the name in lower case; and every alert has a
// promtool test that fires it and one that must not.
func TestPrometheusAlertRulesShape(t *testing.T) {
	var rf ruleFile
	readYAML(t, rulesFile, &rf)
	var rt ruleTests
	readYAML(t, ruleTestFile, &rt)
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range rt.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	want := []string{"ZinxgameServerDown", "ZinxgameDesync", "ZinxgameTickLate", "ZinxgameSendQueueOverflows",
		"ZinxgameRedisWriteFailures", "ZinxgameRedisDown", "ZinxgameRedisPendingGrowing", "ZinxgameRedisSpilling",
		"ZinxgamePanics", "ZinxgameReadinessFlapping", "ZinxgameRedisPoolTimeouts"}
	var got []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				if !strings.HasPrefix(r.Record, "zinxgame:") {
					t.Errorf("recording rule %q: want a zinxgame:<metric>:<op> name", r.Record)
				}
				continue
			}
			got = append(got, r.Alert)
			if r.For == nil {
				t.Errorf("%s has no for:", r.Alert)
			}
			if s := r.Labels["severity"]; s != "page" && s != "ticket" {
				t.Errorf("%s: severity %q, want page or ticket", r.Alert, s)
			}
			if r.Annotations["summary"] == "" {
				t.Errorf("%s has no summary", r.Alert)
			}
			if d := r.Annotations["description"]; !strings.Contains(d, "$labels.instance") || !strings.Contains(d, "$value") {
				t.Errorf("%s: description %q names neither the instance nor the value", r.Alert, d)
			}
			if u, w := r.Annotations["runbook_url"], "docs/operations.md#"+strings.ToLower(r.Alert); u != w {
				t.Errorf("%s: runbook_url %q, want %q", r.Alert, u, w)
			}
			if !fires[r.Alert] {
				t.Errorf("%s: no test in %s expects it to fire", r.Alert, ruleTestFile)
			}
			if !quiet[r.Alert] {
				t.Errorf("%s: no test in %s expects it to stay quiet", r.Alert, ruleTestFile)
			}
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("alerts %v, want %v (the runbook in docs/operations.md uses these names)", got, want)
	}
}
