package deploy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// The compose stack's checks: docker-compose's own validation, then what
// it cannot see. Every ZINX_* variable a server service sets goes through
// that server's checkconfig (strict: a variable no key reads is an error),
// and the services' wiring (health, shutdown, mounts, ports) is held to
// what the servers and the other artifacts need.

// composeFile is the part of compose.yaml the checks read.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image string `yaml:"image"`
	Build *struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	Command     []string    `yaml:"command"`
	Environment envMap      `yaml:"environment"`
	DependsOn   dependsOn   `yaml:"depends_on"`
	Healthcheck healthcheck `yaml:"healthcheck"`
	StopGrace   string      `yaml:"stop_grace_period"`
	Volumes     []string    `yaml:"volumes"`
	Ports       []string    `yaml:"ports"`
	Profiles    []string    `yaml:"profiles"`
}

type healthcheck struct {
	Test    []string `yaml:"test"`
	Disable bool     `yaml:"disable"`
}

// envMap is a service's environment, in either of compose's forms (a map,
// or a list of KEY=VALUE).
type envMap map[string]string

func (e *envMap) UnmarshalYAML(n *yaml.Node) error {
	*e = envMap{}
	switch n.Kind {
	case yaml.MappingNode:
		var m map[string]string
		if err := n.Decode(&m); err != nil {
			return err
		}
		for k, v := range m {
			(*e)[k] = v
		}
	case yaml.SequenceNode:
		var l []string
		if err := n.Decode(&l); err != nil {
			return err
		}
		for _, kv := range l {
			k, v, _ := strings.Cut(kv, "=")
			(*e)[k] = v
		}
	default:
		return fmt.Errorf("line %d: environment: want a map or a list", n.Line)
	}
	return nil
}

// dependsOn maps a dependency to its condition, in either of compose's
// forms (a list means service_started).
type dependsOn map[string]string

func (d *dependsOn) UnmarshalYAML(n *yaml.Node) error {
	*d = dependsOn{}
	switch n.Kind {
	case yaml.SequenceNode:
		var l []string
		if err := n.Decode(&l); err != nil {
			return err
		}
		for _, s := range l {
			(*d)[s] = "service_started"
		}
	case yaml.MappingNode:
		var m map[string]struct {
			Condition string `yaml:"condition"`
		}
		if err := n.Decode(&m); err != nil {
			return err
		}
		for s, c := range m {
			(*d)[s] = c.Condition
		}
	default:
		return fmt.Errorf("line %d: depends_on: want a list or a map", n.Line)
	}
	return nil
}

// servers are the binaries with the checkconfig subcommand
// (internal/servercmd); the others are the bots.
var servers = []string{"lockstep", "mmo", "echo-server"}

// needTool returns the path of a tool the test runs: missing, it fails
// with CI=true and skips otherwise.
func needTool(t *testing.T, name, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed (%s); .ci/run installs it", name, install)
		}
		t.Skipf("%s is not installed (%s)", name, install)
	}
	return path
}

// cleanEnv is the process environment without ZINX_ variables (the test's
// own must not leak into what it checks) and without the stack's
// pass-through variables, so compose expands them to their defaults.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "ZINX_") && !strings.HasPrefix(k, "GF_") {
			env = append(env, kv)
		}
	}
	return env
}

// TestComposeConfig: docker-compose validates the file, without and with
// the load profile.
func TestComposeConfig(t *testing.T) {
	bin := needTool(t, "docker-compose", "Debian's docker-compose package")
	for _, args := range [][]string{
		{"-f", "deploy/compose.yaml", "config", "-q"},
		{"-f", "deploy/compose.yaml", "--profile", "load", "config", "-q"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir = ".."
		cmd.Env = cleanEnv()
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("docker-compose %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

func readCompose(t *testing.T) composeFile {
	t.Helper()
	raw, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f composeFile
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	if len(f.Services) == 0 {
		t.Fatal("compose.yaml: no services")
	}
	return f
}

// interpolation is compose's ${VAR}, ${VAR:-default} and ${VAR-default}
// (and $VAR); $$ is a literal $.
var interpolation = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// dummySecret stands in for a secret the stack takes from the operator's
// environment: long enough for every secret's minimum (auth 32 bytes).
const dummySecret = "compose-test-dummy-secret-0123456789abcdef"

// expand expands s as compose would with an empty environment: to each
// variable's default, or, with secrets, a variable named like a secret
// (SECRET, TOKEN, PASSWORD) to dummySecret.
func expand(s string, secrets bool) string {
	return interpolation.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		sub := interpolation.FindStringSubmatch(m)
		name, def := sub[1]+sub[4], sub[3]
		if secrets && regexp.MustCompile(`SECRET|TOKEN|PASSWORD`).MatchString(name) {
			return dummySecret
		}
		return def
	})
}

// imageEnv is the final stage's ENV of the Dockerfile: the containers'
// environment under the service's.
func imageEnv(t *testing.T) map[string]string {
	t.Helper()
	stages, _ := readDockerfile(t)
	env := map[string]string{}
	for _, in := range stages[len(stages)-1].find("ENV") {
		for _, kv := range strings.Fields(in.args) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("Dockerfile line %d: ENV %s: want KEY=VALUE", in.line, in.args)
			}
			env[k] = strings.Trim(v, `"`)
		}
	}
	return env
}

// serviceBinary returns the name (a key of binaries) of the binary the
// service runs, or "" when it runs another image.
func serviceBinary(s composeService) string {
	if len(s.Command) == 0 || !strings.HasPrefix(s.Command[0], "/usr/local/bin/") {
		return ""
	}
	name := strings.TrimPrefix(s.Command[0], "/usr/local/bin/")
	if _, ok := binaries[name]; !ok {
		return ""
	}
	return name
}

// runCheckconfig runs the server's checkconfig with env (KEY=VALUE) and
// returns its output.
func runCheckconfig(t *testing.T, server string, env []string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t, server), "checkconfig")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestComposeServerEnvironment runs each server service's environment
// (the image's ENV under it, compose's defaults expanded; then again with
// the secrets set) through the server's checkconfig, so every ZINX_*
// variable is proved a key the server reads, and checks that the service
// waits for a healthy Redis, is probed by the subcommand, and is given
// longer than its ShutdownTimeout to stop.
func TestComposeServerEnvironment(t *testing.T) {
	f := readCompose(t)
	base := imageEnv(t)
	checked := 0
	for name, s := range f.Services {
		bin := serviceBinary(s)
		if !slices.Contains(servers, bin) {
			continue
		}
		checked++
		if len(s.Command) != 1 {
			t.Errorf("%s: command %q: checkconfig is run without the arguments; extend this test for them", name, s.Command)
		}
		var shutdown time.Duration
		for _, secrets := range []bool{false, true} {
			env := []string{}
			merged := map[string]string{}
			for k, v := range base {
				merged[k] = v
			}
			for k, v := range s.Environment {
				merged[k] = expand(v, secrets)
			}
			for k, v := range merged {
				env = append(env, k+"="+v)
			}
			out, err := runCheckconfig(t, bin, env)
			if err != nil {
				t.Errorf("%s: %s checkconfig (secrets set: %v): %v\n%s", name, bin, secrets, err, out)
				continue
			}
			m := regexp.MustCompile(`ShutdownTimeout (\S+)`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("%s checkconfig printed no ShutdownTimeout: %q", bin, out)
			}
			if shutdown, err = time.ParseDuration(m[1]); err != nil {
				t.Fatal(err)
			}
		}

		if c := s.DependsOn["redis"]; c != "service_healthy" {
			t.Errorf("%s: depends_on redis %q, want condition service_healthy", name, c)
		}
		if want := []string{"CMD", "/usr/local/bin/" + bin, "healthcheck", "-ready"}; !slices.Equal(s.Healthcheck.Test, want) {
			t.Errorf("%s: healthcheck %q, want %q", name, s.Healthcheck.Test, want)
		}
		if grace, err := time.ParseDuration(s.StopGrace); err != nil || grace <= shutdown {
			t.Errorf("%s: stop_grace_period %q (%v): want a duration longer than its ShutdownTimeout %s", name, s.StopGrace, err, shutdown)
		}
		if s.Build == nil || s.Build.Context != ".." || s.Build.Dockerfile != "deploy/Dockerfile" {
			t.Errorf("%s: build %+v, want context .. and dockerfile deploy/Dockerfile", name, s.Build)
		}
		if s.Environment["ZINX_REDIS_ADDR"] != "redis:6379" {
			t.Errorf("%s: ZINX_REDIS_ADDR %q, want redis:6379", name, s.Environment["ZINX_REDIS_ADDR"])
		}
		if !slices.ContainsFunc(s.Volumes, func(v string) bool {
			src, dst, _ := strings.Cut(v, ":")
			_, named := f.Volumes[src]
			return named && strings.HasPrefix(s.Environment["ZINX_REDIS_SPILLFILE"], strings.TrimSuffix(dst, "/")+"/")
		}) {
			t.Errorf("%s: ZINX_REDIS_SPILLFILE %q is not on a named volume", name, s.Environment["ZINX_REDIS_SPILLFILE"])
		}
	}
	if checked < 2 {
		t.Errorf("%d server services checked, want lockstep and mmo at least", checked)
	}

	// The check itself: a misspelt key is refused, named.
	out, err := runCheckconfig(t, "lockstep", []string{"ZINX_REDIS_ADRR=redis:6379"})
	if err == nil || !strings.Contains(out, "ZINX_REDIS_ADRR") {
		t.Errorf("checkconfig accepted ZINX_REDIS_ADRR (%v): %s", err, out)
	}
}

// TestComposeNodeIDs: each server service has its own node ID, as the
// IDs they issue embed it.
func TestComposeNodeIDs(t *testing.T) {
	seen := map[string]string{}
	for name, s := range readCompose(t).Services {
		if !slices.Contains(servers, serviceBinary(s)) {
			continue
		}
		id := s.Environment["ZINX_NODEID"]
		if id == "" {
			t.Errorf("%s: no ZINX_NODEID", name)
		} else if other, dup := seen[id]; dup {
			t.Errorf("%s and %s: both ZINX_NODEID %s", name, other, id)
		}
		seen[id] = name
	}
}

// TestComposeBots: the bots run under the load profile, dial a server
// service of this file (with the -allow-remote opt-in, as it is another
// container), and read no ZINX_ configuration.
func TestComposeBots(t *testing.T) {
	f := readCompose(t)
	bots := 0
	for name, s := range f.Services {
		bin := serviceBinary(s)
		if bin == "" || slices.Contains(servers, bin) {
			continue
		}
		bots++
		if !slices.Equal(s.Profiles, []string{"load"}) {
			t.Errorf("%s: profiles %q, want [load]", name, s.Profiles)
		}
		for k := range s.Environment {
			if strings.HasPrefix(k, "ZINX_") {
				t.Errorf("%s: %s: the bots read no ZINX_ configuration", name, k)
			}
		}
		i := slices.Index(s.Command, "-addr")
		if i < 0 || i+1 >= len(s.Command) {
			t.Errorf("%s: command %q has no -addr", name, s.Command)
			continue
		}
		host, port, err := net.SplitHostPort(s.Command[i+1])
		if err != nil {
			t.Errorf("%s: -addr %q: %v", name, s.Command[i+1], err)
			continue
		}
		if target, ok := f.Services[host]; !ok || !slices.Contains(servers, serviceBinary(target)) || port != "8999" {
			t.Errorf("%s: -addr %s: want a server service of this file on its game port 8999", name, s.Command[i+1])
		}
		if !slices.Contains(s.Command, "-allow-remote") {
			t.Errorf("%s: dials %s without -allow-remote, which the bots refuse", name, host)
		}
		if c := s.DependsOn[host]; c != "service_healthy" {
			t.Errorf("%s: depends_on %s %q, want service_healthy", name, host, c)
		}
		if !s.Healthcheck.Disable {
			t.Errorf("%s: the image's healthcheck probes a server; a bot service should disable it", name)
		}
	}
	if bots < 2 {
		t.Errorf("%d bot services, want lockstep-bots and mmo-bots", bots)
	}
}

// TestComposeMounts: the bind mounts point at what exists (Prometheus's
// configuration, Grafana's provisioning and dashboards), and the admin,
// Prometheus and Grafana ports are published on loopback only.
func TestComposeMounts(t *testing.T) {
	f := readCompose(t)
	want := map[string][]string{ // container path -> files that must be under the source
		"/etc/prometheus":             {"prometheus.yml"},
		"/etc/grafana/provisioning":   {"datasources/*.yml", "dashboards/*.yml"},
		"/var/lib/grafana/dashboards": {"*.json"},
	}
	found := map[string]bool{}
	for name, s := range f.Services {
		for _, v := range s.Volumes {
			parts := strings.Split(v, ":")
			src := parts[0]
			if !strings.HasPrefix(src, ".") && !strings.HasPrefix(src, "/") {
				continue // a named volume
			}
			if len(parts) < 2 {
				t.Errorf("%s: volume %q: want source:target", name, v)
				continue
			}
			found[parts[1]] = true
			if _, err := os.Stat(src); err != nil {
				t.Errorf("%s: bind mount %q: %v", name, v, err)
				continue
			}
			for _, pattern := range want[parts[1]] {
				if m, _ := filepath.Glob(filepath.Join(src, pattern)); len(m) == 0 {
					t.Errorf("%s: %s mounted at %s has no %s", name, src, parts[1], pattern)
				}
			}
		}
		for _, p := range s.Ports {
			if err := checkPort(p); err != nil {
				t.Errorf("%s: port %q: %v", name, p, err)
			}
		}
	}
	for target := range want {
		if !found[target] {
			t.Errorf("nothing is mounted at %s", target)
		}
	}
}

// checkPort refuses publishing an operator port (admin 9101, Prometheus
// 9090, Grafana 3000) on anything but 127.0.0.1.
func checkPort(p string) error {
	spec := strings.TrimSuffix(strings.TrimSuffix(p, "/tcp"), "/udp")
	parts := strings.Split(spec, ":")
	container := parts[len(parts)-1]
	switch container {
	case "9101", "9090", "3000":
		if len(parts) != 3 || parts[0] != "127.0.0.1" {
			return errors.New("an operator port: publish it on 127.0.0.1 only")
		}
	}
	return nil
}

func TestComposeExpand(t *testing.T) {
	for in, want := range map[string][2]string{
		"${ZINX_AUTH_SECRET:-}":   {"", dummySecret},
		"${X:-a b}":               {"a b", "a b"},
		"${X-b}/$Y/$$Z":           {"b//$Z", "b//$Z"},
		"redis:6379":              {"redis:6379", "redis:6379"},
		"${GF_ADMIN_PASSWORD:-x}": {"x", dummySecret},
	} {
		for i, secrets := range []bool{false, true} {
			if got := expand(in, secrets); got != want[i] {
				t.Errorf("expand(%q, %v) = %q, want %q", in, secrets, got, want[i])
			}
		}
	}
	for p, ok := range map[string]bool{"127.0.0.1:9101:9101": true, "9101:9101": false, "0.0.0.0:3000:3000": false,
		"8999:8999": true, "9001:9001/udp": true} {
		if err := checkPort(p); (err == nil) != ok {
			t.Errorf("checkPort(%q) = %v", p, err)
		}
	}
}
