package deploy

import (
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
	line int // where it starts, 1-based
}

// stage is a FROM and the instructions under it.
type stage struct {
	from  string // the image
	name  string // AS name, or ""
	instr []instruction
}

// parseDockerfile splits text into stages the way the Dockerfile syntax
// does: a line ending in a backslash continues on the next (the backslash
// and newline removed), and comment lines, also inside a continuation,
// are dropped.
func parseDockerfile(text string) ([]stage, error) {
	var stages []stage
	var cur strings.Builder
	start := 0
	flush := func() error {
		s := strings.TrimSpace(cur.String())
		cur.Reset()
		if s == "" {
			return nil
		}
		cmd, args, _ := strings.Cut(s, " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			st := stage{}
			for _, w := range f {
				if !strings.HasPrefix(w, "--") {
					st.from = w
					break
				}
			}
			if i := slices.IndexFunc(f, func(w string) bool { return strings.EqualFold(w, "AS") }); i >= 0 && i+1 < len(f) {
				st.name = f[i+1]
			}
			stages = append(stages, st)
			return nil
		}
		if len(stages) == 0 {
			if in.cmd == "ARG" {
				return nil // before the first FROM
			}
			return fmt.Errorf("line %d: %s before FROM", in.line, in.cmd)
		}
		last := &stages[len(stages)-1]
		last.instr = append(last.instr, in)
		return nil
	}
	for i, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue
		}
		if cur.Len() == 0 {
			if trimmed == "" {
				continue
			}
			start = i + 1
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`))
			continue
		}
		cur.WriteString(line)
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if cur.Len() > 0 {
		return nil, errors.New("the file ends inside a continued line")
	}
	if len(stages) < 2 {
		return nil, fmt.Errorf("%d stages, want a build stage and a final stage", len(stages))
	}
	return stages, nil
}

// find returns st's instructions named cmd.
func (st stage) find(cmd string) []instruction {
	var out []instruction
	for _, in := range st.instr {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// ciBuild returns the build stage's one RUN with CGO_ENABLED=0 (the ci-build
// line), and the directory its ARG OUT defaults to.
func ciBuild(stages []stage) (run, out string, err error) {
	var runs []string
	for _, st := range stages {
		for _, in := range st.find("RUN") {
			if strings.Contains(in.args, "CGO_ENABLED=0") {
				runs = append(runs, in.args)
			}
		}
	}
	if len(runs) != 1 {
		return "", "", fmt.Errorf("%d RUN lines with CGO_ENABLED=0, want exactly one (the ci-build line)", len(runs))
	}
	if strings.HasPrefix(runs[0], "[") || strings.HasPrefix(runs[0], "--") {
		return "", "", fmt.Errorf("the ci-build RUN %q: want the shell form without flags, which the test runs with sh -c", runs[0])
	}
	if !strings.Contains(runs[0], "$OUT") {
		return "", "", fmt.Errorf("the ci-build RUN %q does not write to $OUT", runs[0])
	}
	for _, st := range stages[:len(stages)-1] {
		for _, in := range st.find("ARG") {
			if v, ok := strings.CutPrefix(in.args, "OUT="); ok {
				out = v
			}
		}
	}
	if out == "" {
		return "", "", errors.New("no ARG OUT=<dir> in the build stage")
	}
	return runs[0], out, nil
}

// goLine returns go.mod's go line as major.minor.
func goLine(gomod string) (string, error) {
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(gomod)
	if m == nil {
		return "", errors.New("go.mod has no go line")
	}
	return m[1], nil
}

// checkStructure checks everything about the Dockerfile but the build
// itself: the builder's Go is go.mod's, the final image is distroless
// static (or scratch) running as a user that is not root, the binaries
// are copied from OUT to /usr/local/bin, the healthcheck is the
// healthcheck subcommand of one of them, and nothing runs through a
// shell (there is none).
func checkStructure(stages []stage, goVersion string) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if want := "golang:" + goVersion + "-"; !strings.HasPrefix(stages[0].from, want) {
		bad("build stage FROM %q: want %s<variant> (go.mod's go line is %s)", stages[0].from, want, goVersion)
	}
	final := stages[len(stages)-1]
	if !strings.HasPrefix(final.from, "gcr.io/distroless/static") && final.from != "scratch" {
		bad("final stage FROM %q: want gcr.io/distroless/static-* or scratch", final.from)
	}
	users := final.find("USER")
	if len(users) == 0 {
		bad("the final stage has no USER: it would run as root")
	} else if u, _, _ := strings.Cut(users[len(users)-1].args, ":"); u == "root" || u == "0" {
		bad("final USER %q is root", users[len(users)-1].args)
	}
	_, out, err := ciBuild(stages)
	if err != nil {
		errs = append(errs, err)
	} else if !slices.ContainsFunc(final.find("COPY"), func(in instruction) bool {
		f := strings.Fields(in.args)
		return strings.HasPrefix(in.args, "--from=") && len(f) >= 3 &&
			strings.TrimSuffix(f[len(f)-2], "/") == strings.TrimSuffix(out, "/") && f[len(f)-1] == "/usr/local/bin/"
	}) {
		bad("the final stage does not COPY --from=<build> %s/ /usr/local/bin/", out)
	}
	hc := final.find("HEALTHCHECK")
	if len(hc) != 1 {
		bad("%d HEALTHCHECK instructions in the final stage, want 1", len(hc))
	} else {
		_, exe, ok := strings.Cut(hc[0].args, "CMD ")
		var argv []string
		if !ok || json.Unmarshal([]byte(strings.TrimSpace(exe)), &argv) != nil || len(argv) < 2 {
			bad("HEALTHCHECK %q: want CMD [\"/usr/local/bin/<server>\", \"healthcheck\", ...] (exec form: no shell)", hc[0].args)
		} else if _, known := binaries[strings.TrimPrefix(argv[0], "/usr/local/bin/")]; !known ||
			!strings.HasPrefix(argv[0], "/usr/local/bin/") || argv[1] != "healthcheck" {
			bad("HEALTHCHECK runs %q: want one of our binaries' healthcheck subcommand", argv)
		}
	}
	for _, cmd := range []string{"CMD", "ENTRYPOINT"} {
		for _, in := range final.find(cmd) {
			var argv []string
			if json.Unmarshal([]byte(in.args), &argv) != nil {
				bad("line %d: %s %s is the shell form; the image has no shell", in.line, cmd, in.args)
			}
		}
	}
	return errs
}

// checkStatic returns an error unless path is an ELF executable with no
// interpreter (PT_INTERP) and no shared libraries (DT_NEEDED).
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s: has an interpreter (PT_INTERP): dynamically linked", path)
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(libs) > 0 {
		return fmt.Errorf("%s: needs shared libraries %q", path, libs)
	}
	return nil
}

func readDockerfile(t *testing.T) ([]stage, string) {
	t.Helper()
	text, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	stages, err := parseDockerfile(string(text))
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	v, err := goLine(string(gomod))
	if err != nil {
		t.Fatal(err)
	}
	return stages, v
}

// TestDockerfileStructure checks the Dockerfile as written, and that each
// check refuses a Dockerfile that is wrong in its way.
func TestDockerfileStructure(t *testing.T) {
	stages, goVersion := readDockerfile(t)
	for _, err := range checkStructure(stages, goVersion) {
		t.Error(err)
	}

	text, _ := os.ReadFile("Dockerfile")
	for name, edit := range map[string]func(string) string{
		"older Go": func(s string) string { return strings.Replace(s, "golang:"+goVersion, "golang:1.21", 1) },
		"debian final": func(s string) string {
			return strings.Replace(s, "gcr.io/distroless/static-debian12:nonroot", "debian:bookworm", 1)
		},
		"no USER":   func(s string) string { return strings.Replace(s, "USER nonroot:nonroot", "", 1) },
		"root USER": func(s string) string { return strings.Replace(s, "USER nonroot:nonroot", "USER root", 1) },
		"curl healthcheck": func(s string) string {
			return strings.Replace(s, `["/usr/local/bin/lockstep", "healthcheck"]`, `curl -f http://127.0.0.1:9101/healthz`, 1)
		},
		"shell CMD": func(s string) string {
			return strings.Replace(s, `CMD ["/usr/local/bin/lockstep"]`, `CMD /usr/local/bin/lockstep`, 1)
		},
		"no copy":           func(s string) string { return strings.Replace(s, "COPY --from=build /out/ /usr/local/bin/", "", 1) },
		"two ci-build RUNs": func(s string) string { return strings.Replace(s, "RUN mkdir -p /empty", "RUN CGO_ENABLED=0 true", 1) },
		"no OUT":            func(s string) string { return strings.Replace(s, "ARG OUT=/out", "", 1) },
	} {
		edited := edit(string(text))
		if edited == string(text) {
			t.Errorf("%s: the edit did not apply; update this test with the Dockerfile", name)
			continue
		}
		st, err := parseDockerfile(edited)
		if err == nil && len(checkStructure(st, goVersion)) == 0 {
			t.Errorf("%s: the checks accept it", name)
		}
	}
	if runtime.GOOS == "linux" {
		// A dynamically linked program, so the static check is seen failing.
		if err := checkStatic("/bin/sh"); err == nil {
			t.Error("checkStatic accepts /bin/sh, which is dynamically linked on Linux")
		}
	}
}

// TestDockerfileBuild runs the Dockerfile's ci-build line, as the build
// stage would, with sh -c in the repository root and OUT set to a
// temporary directory (GOOS=linux: the image's), then checks every binary
// bin_test.go lists was built, static.
func TestDockerfileBuild(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh to run the Dockerfile's build line with")
	}
	stages, _ := readDockerfile(t)
	run, _, err := ciBuild(stages)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cmd := exec.Command("sh", "-c", run)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "OUT="+out, "GOOS=linux", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the ci-build line failed: %v\n%s\n%s", err, run, b)
	}
	entries, _ := os.ReadDir(out)
	var built []string
	for _, e := range entries {
		built = append(built, e.Name())
	}
	for name := range binaries {
		path := filepath.Join(out, name)
		if _, err := os.Stat(path); err != nil {
			t.Errorf("the ci-build line did not build %s (built %q)", name, built)
			continue
		}
		if err := checkStatic(path); err != nil {
			t.Error(err)
		}
	}
	if runtime.GOOS == "linux" {
		// The built server runs, with its subcommands, as the image would
		// (a clean environment: the test's own may hold ZINX_ variables).
		check := exec.Command(filepath.Join(out, "lockstep"), "checkconfig")
		check.Env = []string{"ZINX_ADMINADDR=0.0.0.0:9101"}
		b, err := check.CombinedOutput()
		if err != nil || !strings.Contains(string(b), "config ok") {
			t.Errorf("the built lockstep checkconfig: %v\n%s", err, b)
		}
	}
}
