package docs_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/game/account"
	"github.com/zinxgame/zinxgame/game/account/auth"
	"github.com/zinxgame/zinxgame/game/lockstep"
	"github.com/zinxgame/zinxgame/game/mmo"
	"github.com/zinxgame/zinxgame/zconf"
)

// documented maps each heading of configuration.md to the defaults of the
// section it documents. A config section the examples load must be here.
var documented = map[string]any{
	"Server keys":        zconf.Default(),
	"`Redis` section":    zconf.DefaultRedis(),
	"`Account` section":  account.DefaultConfig(),
	"`Auth` section":     auth.Config{},
	"`Lockstep` section": lockstep.DefaultConfig(),
	"`MMO` section":      mmo.DefaultConfig(),
	// examples/lockstep's demoConfig, whose package (main) cannot be
	// imported: the same fields, so a key added there fails
	// TestExampleDemoSectionMatches below.
	"`Demo` section": demoSection{},
}

// demoSection mirrors examples/lockstep's Demo section.
type demoSection struct{ Addr string }

// row is one line of a key table: the key and its Default cell's literal.
type row struct {
	key, literal string
	line         int
}

var backticked = regexp.MustCompile("`([^`]*)`")

// tables reads configuration.md's key tables, by the heading above each.
func tables(t *testing.T) map[string][]row {
	t.Helper()
	b, err := os.ReadFile("configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]row{}
	heading := ""
	for i, line := range strings.Split(string(b), "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			heading = strings.TrimSpace(h)
			continue
		}
		cells := strings.Split(line, "|")
		if heading == "" || len(cells) < 4 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue // not a table row, or the header or separator row
		}
		key := backticked.FindStringSubmatch(cells[1])
		def := backticked.FindStringSubmatch(cells[2])
		if key == nil || def == nil || strings.TrimSpace(cells[1]) != "`"+key[1]+"`" {
			t.Errorf("configuration.md:%d: want | `Key` | `default` | ...: %q", i+1, line)
			continue
		}
		out[heading] = append(out[heading], row{key: key[1], literal: def[1], line: i + 1})
	}
	return out
}

// TestConfigDoc: every key of every config section is in its table in
// configuration.md, once, with a Default equal to the code's default, and
// every row names a real key.
func TestConfigDoc(t *testing.T) {
	got := tables(t)
	for heading, defaults := range documented {
		rows, ok := got[heading]
		if !ok {
			t.Errorf("configuration.md has no table under \"## %s\"", heading)
			continue
		}
		dv := reflect.ValueOf(defaults)
		byKey := map[string]row{}
		for _, r := range rows {
			if _, dup := byKey[r.key]; dup {
				t.Errorf("configuration.md:%d: %s: %s documented twice", r.line, heading, r.key)
			}
			byKey[r.key] = r
			if _, ok := dv.Type().FieldByName(r.key); !ok {
				t.Errorf("configuration.md:%d: %s: %s is not a key of %s", r.line, heading, r.key, dv.Type())
			}
		}
		for _, f := range reflect.VisibleFields(dv.Type()) {
			if !f.IsExported() || f.Anonymous {
				continue
			}
			r, ok := byKey[f.Name]
			if !ok {
				t.Errorf("configuration.md: %s: key %s (%s.%s) is not documented", heading, f.Name, dv.Type(), f.Name)
				continue
			}
			want := dv.FieldByIndex(f.Index)
			doc, err := parseLiteral(r.literal, f.Type)
			if err != nil {
				t.Errorf("configuration.md:%d: %s: %s default `%s`: %v", r.line, heading, f.Name, r.literal, err)
				continue
			}
			if !sameValue(doc, want) {
				t.Errorf("configuration.md:%d: %s: %s default is `%s`; the code's is %s", r.line, heading, f.Name, r.literal, asFile(want))
			}
		}
	}
}

// parseLiteral reads a Default cell as a config file writes the value:
// JSON, with durations as strings such as "10s".
func parseLiteral(lit string, typ reflect.Type) (reflect.Value, error) {
	v := reflect.New(typ).Elem()
	if typ == reflect.TypeFor[time.Duration]() {
		var s string
		if err := json.Unmarshal([]byte(lit), &s); err != nil {
			return v, errDuration
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return v, errDuration
		}
		v.SetInt(int64(d))
		return v, nil
	}
	return v, json.Unmarshal([]byte(lit), v.Addr().Interface())
}

type docError string

func (e docError) Error() string { return string(e) }

const errDuration = docError(`want a duration as the config file writes it, such as "10s"`)

// sameValue compares a documented default with the code's; an empty list
// and nil read the same in a table.
func sameValue(doc, code reflect.Value) bool {
	if code.Kind() == reflect.Slice && code.Len() == 0 && doc.Len() == 0 {
		return true
	}
	return reflect.DeepEqual(doc.Interface(), code.Interface())
}

// asFile formats a default the way the table should show it.
func asFile(v reflect.Value) string {
	if v.Type() == reflect.TypeFor[time.Duration]() {
		return "`\"" + time.Duration(v.Int()).String() + "\"`"
	}
	b, _ := json.Marshal(v.Interface())
	return "`" + string(b) + "`"
}

// TestConfigDocCoversExampleSections: every section an example loads with
// zconf.Load has a table (and so is checked above).
func TestConfigDocCoversExampleSections(t *testing.T) {
	files, err := filepath.Glob("../examples/*/main.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example servers found (%v)", err)
	}
	sections := regexp.MustCompile(`Sections:\s*map\[string\]any\{([^}]*)\}`)
	name := regexp.MustCompile(`"(\w+)"\s*:`)
	seen := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range sections.FindAllStringSubmatch(string(b), -1) {
			for _, n := range name.FindAllStringSubmatch(m[1], -1) {
				seen++
				if _, ok := documented["`"+n[1]+"` section"]; !ok {
					t.Errorf("%s loads a %q section that docs/configuration.md does not document (add a \"## `%s` section\" table and its defaults to this test)", f, n[1], n[1])
				}
			}
		}
	}
	if seen == 0 {
		t.Fatal("found no Sections in the examples: the pattern no longer matches how they load their config")
	}
}

// TestExampleDemoSectionMatches keeps demoSection in step with the
// example's demoConfig: the same field names, read from its source.
func TestExampleDemoSectionMatches(t *testing.T) {
	b, err := os.ReadFile("../examples/lockstep/demopage.go")
	if err != nil {
		t.Fatal(err)
	}
	body := regexp.MustCompile(`(?s)type demoConfig struct \{(.*?)\n\}`).FindSubmatch(b)
	if body == nil {
		t.Fatal("examples/lockstep/demopage.go has no demoConfig struct")
	}
	var got []string
	for _, m := range regexp.MustCompile(`(?m)^\t(\w+)\s`).FindAllSubmatch(body[1], -1) {
		got = append(got, string(m[1]))
	}
	var want []string
	for _, f := range reflect.VisibleFields(reflect.TypeFor[demoSection]()) {
		want = append(want, f.Name)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("demoConfig's fields %v, demoSection's %v: update docs/configuration.md's Demo table and demoSection", got, want)
	}
}

// TestMMOConfigAccountSection keeps conf/mmo.json's Account section the
// complete reference: every key listed, and loading it gives the defaults
// the example runs with (LoginTimeout off).
func TestMMOConfigAccountSection(t *testing.T) {
	b, err := os.ReadFile("../conf/mmo.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Account map[string]any }
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, f := range reflect.VisibleFields(reflect.TypeFor[account.Config]()) {
		if _, ok := doc.Account[f.Name]; !ok {
			t.Errorf("conf/mmo.json's Account section lacks %s", f.Name)
		}
	}
	world, got := mmo.DefaultConfig(), account.Config{}
	if _, err := zconf.Load(zconf.Source{File: "../conf/mmo.json",
		Sections: map[string]any{"MMO": &world, "Account": &got}}); err != nil {
		t.Fatal(err)
	}
	want := account.DefaultConfig()
	want.LoginTimeout = -time.Second
	if got != want {
		t.Fatalf("conf/mmo.json's Account section loads as\n%+v\nwant\n%+v", got, want)
	}
	if _, err := account.New(got, nil, nil); err != nil {
		t.Fatalf("the service refuses conf/mmo.json's Account section: %v", err)
	}
}
