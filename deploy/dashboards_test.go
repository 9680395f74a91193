package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The Grafana dashboards (grafana/dashboards/*.json) and their
// provisioning: each loads, keeps its fixed uid, names only the
// provisioned datasource, and every panel's query is valid PromQL over
// metrics the servers really expose.

// datasourceUID is the provisioned Prometheus's uid, the only datasource
// a dashboard may name.
const datasourceUID = "zinxgame-prometheus"

// wantDashboards are the dashboards' fixed uids, which links and
// bookmarks use.
var wantDashboards = []string{"zinxgame-overview", "zinxgame-redis", "zinxgame-rooms"}

type dashboard struct {
	file       string
	raw        map[string]any
	UID        string  `json:"uid"`
	ID         *int    `json:"id"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Datasource json.RawMessage `json:"datasource"`
			Query      json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID     int     `json:"id"`
	Type   string  `json:"type"`
	Title  string  `json:"title"`
	Panels []panel `json:"panels"` // a collapsed row's
	Field  struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

// allPanels flattens the rows, collapsed ones included.
func (d *dashboard) allPanels() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

func loadDashboards(t *testing.T) []*dashboard {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("grafana", "dashboards", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no dashboards in grafana/dashboards")
	}
	var out []*dashboard
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d := &dashboard{file: f}
		if err := json.Unmarshal(b, d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := json.Unmarshal(b, &d.raw); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, d)
	}
	return out
}

func TestDashboardStructure(t *testing.T) {
	var uids []string
	for _, d := range loadDashboards(t) {
		uids = append(uids, d.UID)
		if d.ID != nil {
			t.Errorf("%s: id = %d, want null (Grafana assigns it on import)", d.file, *d.ID)
		}
		if d.Title == "" {
			t.Errorf("%s: no title", d.file)
		}
		if _, ok := d.raw["__inputs"]; ok {
			t.Errorf("%s: has __inputs (an export for sharing externally); export it with the datasource uid instead", d.file)
		}
		for _, bad := range datasourceRefs(d.raw, "") {
			t.Errorf("%s: %s", d.file, bad)
		}
		vars := map[string]bool{}
		for _, v := range d.Templating.List {
			vars[v.Name] = true
		}
		for _, v := range []string{"job", "instance"} {
			if !vars[v] {
				t.Errorf("%s: no $%s variable", d.file, v)
			}
		}
		ids := map[int]string{}
		for _, p := range d.allPanels() {
			if p.Title == "" {
				t.Errorf("%s: panel %d has no title", d.file, p.ID)
			}
			if other, ok := ids[p.ID]; ok {
				t.Errorf("%s: panel id %d is used by %q and %q", d.file, p.ID, other, p.Title)
			}
			ids[p.ID] = p.Title
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", d.file, p.Title)
			}
			if p.Field.Defaults.Unit == "" {
				t.Errorf("%s: panel %q has no unit", d.file, p.Title)
			}
			for _, tg := range p.Targets {
				if strings.TrimSpace(tg.Expr) == "" {
					t.Errorf("%s: panel %q query %s has no expr", d.file, p.Title, tg.RefID)
				}
			}
		}
	}
	slices.Sort(uids)
	if !slices.Equal(uids, wantDashboards) {
		t.Errorf("dashboard uids = %q, want %q (each once)", uids, wantDashboards)
	}
}

// datasourceRefs walks a dashboard's JSON and describes every datasource
// reference that is not the provisioned one by uid: a name, a
// ${DS_...} input, or another uid.
func datasourceRefs(v any, path string) []string {
	var bad []string
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			p := path + "." + k
			if k == "datasource" {
				ref, ok := c.(map[string]any)
				if !ok || ref["uid"] != datasourceUID || (ref["type"] != nil && ref["type"] != "prometheus") {
					bad = append(bad, fmt.Sprintf("%s = %v, want {\"type\": \"prometheus\", \"uid\": %q}", p, c, datasourceUID))
				}
				continue
			}
			bad = append(bad, datasourceRefs(c, p)...)
		}
	case []any:
		for i, c := range x {
			bad = append(bad, datasourceRefs(c, fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return bad
}

func TestDashboardDatasourceRefsFindsStrays(t *testing.T) {
	doc := map[string]any{"panels": []any{
		map[string]any{"datasource": map[string]any{"type": "prometheus", "uid": datasourceUID}},
		map[string]any{"datasource": "Prometheus"},
		map[string]any{"targets": []any{map[string]any{"datasource": map[string]any{"uid": "${DS_PROMETHEUS}"}}}},
	}}
	if bad := datasourceRefs(doc, ""); len(bad) != 2 {
		t.Errorf("datasourceRefs found %d strays, want 2: %q", len(bad), bad)
	}
}

// labelValuesRe reads the selector of a Grafana label_values(selector,
// label) variable query.
var labelValuesRe = regexp.MustCompile(`^\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$`)

// dashboardExprs are every panel query and variable query's PromQL, named
// by dashboard, panel and query.
func dashboardExprs(t *testing.T) []recordedExpr {
	t.Helper()
	var out []recordedExpr
	for _, d := range loadDashboards(t) {
		for _, p := range d.allPanels() {
			for _, tg := range p.Targets {
				out = append(out, recordedExpr{where: fmt.Sprintf("%s panel %q query %s", d.UID, p.Title, tg.RefID), expr: tg.Expr})
			}
		}
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			var q struct{ Query string }
			if err := json.Unmarshal(v.Query, &q); err != nil {
				if err := json.Unmarshal(v.Query, &q.Query); err != nil {
					t.Fatalf("%s: variable %s: query: %v", d.file, v.Name, err)
				}
			}
			m := labelValuesRe.FindStringSubmatch(q.Query)
			if m == nil {
				t.Fatalf("%s: variable %s: query %q is not label_values(selector, label)", d.file, v.Name, q.Query)
			}
			out = append(out, recordedExpr{where: fmt.Sprintf("%s variable %s", d.UID, v.Name), expr: m[1]})
		}
	}
	return out
}

// prometheusSeries are the series Prometheus makes itself for each scrape
// or alert, which no /metrics page has.
var prometheusSeries = map[string]bool{"up": true, "scrape_duration_seconds": true, "scrape_samples_scraped": true,
	"scrape_samples_post_metric_relabeling": true, "scrape_series_added": true, "ALERTS": true, "ALERTS_FOR_STATE": true}

// TestDashboardLiveMetrics: every metric a panel, a variable or a rule
// reads is one the servers expose, so a renamed metric cannot leave a
// panel empty or an alert silent.
func TestDashboardLiveMetrics(t *testing.T) {
	live := liveMetrics(t)
	exprs := append(dashboardExprs(t), ruleExprs(t)...)
	for _, e := range exprs {
		for _, name := range metricNames(e.expr) {
			if !live[name] && !prometheusSeries[name] {
				t.Errorf("%s reads %s, which neither server exposes", e.where, name)
			}
		}
	}
}

// TestDashboardPromQL: every panel and variable query, with Grafana's
// variables filled in, is an expression promtool accepts.
func TestDashboardPromQL(t *testing.T) {
	exprs := dashboardExprs(t)
	for i := range exprs {
		exprs[i].expr = grafanaToPromQL(exprs[i].expr)
	}
	if out, err := checkRules(t, exprs); err != nil {
		var where strings.Builder
		for i, e := range exprs {
			fmt.Fprintf(&where, "  expr_%04d: %s: %s\n", i, e.where, e.expr)
		}
		t.Errorf("promtool check rules: %v\n%s\nthe rules:\n%s", err, out, where.String())
	}
	t.Run("broken expr fails", func(t *testing.T) {
		broken := []recordedExpr{{where: "good", expr: grafanaToPromQL(`sum by (instance) (rate(zinxgame_messages_received_total{job=~"$job"}[$__rate_interval]))`)},
			{where: "broken", expr: `sum by (instance (rate(zinxgame_messages_received_total[5m]))`}}
		out, err := checkRules(t, broken)
		if err == nil {
			t.Fatalf("promtool accepted an unbalanced expression:\n%s", out)
		}
		if !strings.Contains(out, "expr_0001") {
			t.Errorf("promtool's complaint does not name the broken rule expr_0001:\n%s", out)
		}
	})
}

// TestLiveMetrics: the live set holds what the dashboards are built on,
// from both servers, both transports and the store, histograms with their
// series, and the label vectors the code creates at zero.
func TestLiveMetrics(t *testing.T) {
	live := liveMetrics(t)
	for _, name := range []string{
		"zinxgame_ready", "zinxgame_connections_refused_total", "zinxgame_handler_duration_seconds_bucket",
		"zinxgame_kcp_packets_sent_total", "zinxgame_lockstep_frames_total", "zinxgame_lockstep_inputs_dropped_total",
		"zinxgame_lockstep_matches_ended_total", "zinxgame_room_refused_total", "zinxgame_room_ended_total",
		"zinxgame_mmo_players", "zinxgame_mmo_refused_total", "zinxgame_redis_up", "zinxgame_redis_flush_duration_seconds_count",
		"go_goroutines", "process_resident_memory_bytes",
	} {
		if !live[name] {
			t.Errorf("the live servers do not expose %s", name)
		}
	}
}

// TestDashboardProvisioning: Grafana provisions the datasource the
// dashboards name, by uid, and loads the dashboards from where the compose
// stack mounts them.
func TestDashboardProvisioning(t *testing.T) {
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name, UID, Type, URL string
			IsDefault            bool `yaml:"isDefault"`
		}
	}
	readYAML(t, filepath.Join("grafana", "provisioning", "datasources", "prometheus.yml"), &ds)
	if ds.APIVersion != 1 || len(ds.Datasources) != 1 {
		t.Fatalf("datasources provisioning: apiVersion %d with %d datasources, want 1 and 1", ds.APIVersion, len(ds.Datasources))
	}
	if d := ds.Datasources[0]; d.UID != datasourceUID || d.Type != "prometheus" || d.URL != "http://prometheus:9090" || !d.IsDefault {
		t.Errorf("datasource = %+v, want the default prometheus at http://prometheus:9090 with uid %s", d, datasourceUID)
	}
	var dp struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name, Folder, Type string
			Options            struct{ Path string }
		}
	}
	readYAML(t, filepath.Join("grafana", "provisioning", "dashboards", "zinxgame.yml"), &dp)
	if dp.APIVersion != 1 || len(dp.Providers) != 1 {
		t.Fatalf("dashboards provisioning: apiVersion %d with %d providers, want 1 and 1", dp.APIVersion, len(dp.Providers))
	}
	if p := dp.Providers[0]; p.Type != "file" || p.Folder != "zinxgame" || p.Options.Path != "/var/lib/grafana/dashboards" {
		t.Errorf("provider = %+v, want a file provider of /var/lib/grafana/dashboards in folder zinxgame", p)
	}
}

// readYAML decodes file into v (the keys v names; Grafana's others are
// its business).
func readYAML(t *testing.T, file string, v any) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := yaml.NewDecoder(f).Decode(v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}
