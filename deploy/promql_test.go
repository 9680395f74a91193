package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// PromQL helpers shared by the dashboard and rule checks: the metric names
// an expression reads, Grafana's variables replaced by values Prometheus
// accepts, and promtool.

var (
	promStrings = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")
	promBraces  = regexp.MustCompile(`\{[^{}]*\}`)
	promRanges  = regexp.MustCompile(`\[[^\[\]]*\]`)
	// Label lists of aggregations and vector matching: by (job, le).
	promLabelLists = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)`)
	promOffset     = regexp.MustCompile(`\boffset\s+-?[0-9a-zA-Z_$]+`)
	promAt         = regexp.MustCompile(`@\s*(?:[0-9.]+|start\(\s*\)|end\(\s*\))`)
	promNumbers    = regexp.MustCompile(`(?i)(^|[^a-z0-9_:])(?:0x[0-9a-f]+|[0-9]+(?:\.[0-9]*)?(?:e[+-]?[0-9]+)?|\.[0-9]+(?:e[+-]?[0-9]+)?)`)
	promIdents     = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
	// Words PromQL reserves: operators, modifiers, and the float literals.
	promKeywords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true,
		"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
		"inf": true, "nan": true, "atan2": true, "start": true, "end": true}
)

// metricNames returns the metric names expr reads, sorted: identifiers
// outside strings, label matchers, label lists and ranges that are not
// followed by "(" (functions and aggregations), not keywords, and not
// recording rules' names (which contain ':' and are checked as rules).
func metricNames(expr string) []string {
	s := promStrings.ReplaceAllString(expr, `""`)
	s = promBraces.ReplaceAllString(s, " ")
	s = promRanges.ReplaceAllString(s, " ")
	s = promLabelLists.ReplaceAllString(s, " ")
	s = promOffset.ReplaceAllString(s, " ")
	s = promAt.ReplaceAllString(s, " ")
	s = promNumbers.ReplaceAllString(s, "$1 ")
	var out []string
	for _, m := range promIdents.FindAllStringSubmatch(s, -1) {
		name := m[0]
		if m[1] != "" || promKeywords[strings.ToLower(name)] || strings.Contains(name, ":") {
			continue
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func TestDashboardMetricNamesParser(t *testing.T) {
	for _, c := range []struct {
		expr string
		want []string
	}{
		{`sum by (instance, le) (rate(zinxgame_handler_duration_seconds_bucket{job=~"$job",msg_id!="1"}[$__rate_interval]))`,
			[]string{"zinxgame_handler_duration_seconds_bucket"}},
		{`histogram_quantile(0.99, sum(rate(a_bucket[5m])) by (le)) > 5e-3 and on (job) b:rec:rate5m >= 1`, []string{"a_bucket"}},
		{`sum without (reason) (increase(x_total[1h] offset 5m)) / ignoring (le) group_left (type) y`, []string{"x_total", "y"}},
		{`up{job=~"zinxgame-.*"} == 0 or absent(up{job=~"by(foo)"}) unless bool z`, []string{"up", "z"}},
		{`changes(zinxgame_ready[15m]) > 4 or vector(0) or Inf`, []string{"zinxgame_ready"}},
	} {
		if got := metricNames(c.expr); !slices.Equal(got, c.want) {
			t.Errorf("metricNames(%q) = %q, want %q", c.expr, got, c.want)
		}
	}
}

// grafanaVars are Grafana's variables as values Prometheus takes: the
// interval variables become 5m, and the dashboards' own variables (used
// only in regex label matchers) match anything.
var (
	grafanaIntervals = strings.NewReplacer("$__rate_interval", "5m", "${__rate_interval}", "5m",
		"$__interval", "5m", "${__interval}", "5m", "$__range", "1h", "${__range}", "1h")
	grafanaVarRe = regexp.MustCompile(`\$\{?[a-zA-Z_][a-zA-Z0-9_]*(?::[a-z]+)?\}?`)
)

func grafanaToPromQL(expr string) string {
	return grafanaVarRe.ReplaceAllString(grafanaIntervals.Replace(expr), ".+")
}

// recordedExpr is one expression to check, named for failure messages.
type recordedExpr struct{ where, expr string }

// checkRules writes exprs as recording rules to a rules file and runs
// promtool check rules on it, returning its error and output.
func checkRules(t *testing.T, exprs []recordedExpr) (string, error) {
	t.Helper()
	type rule struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var rules []rule
	for i, e := range exprs {
		rules = append(rules, rule{Record: fmt.Sprintf("dashboard_check:expr_%04d", i), Expr: e.expr})
	}
	doc := map[string]any{"groups": []any{map[string]any{"name": "dashboards", "rules": rules}}}
	b, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dashboards.yml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool(t), "check", "rules", path).CombinedOutput()
	return string(out), err
}

// ruleExprs reads every expr of the Prometheus rule files in
// deploy/prometheus/rules (none when the directory does not exist yet).
func ruleExprs(t *testing.T) []recordedExpr {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("prometheus", "rules", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []recordedExpr
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Groups []struct {
				Name  string
				Rules []struct{ Record, Alert, Expr string }
			}
		}
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, g := range doc.Groups {
			for _, r := range g.Rules {
				out = append(out, recordedExpr{where: f + " group " + g.Name + " rule " + r.Record + r.Alert, expr: r.Expr})
			}
		}
	}
	return out
}
