package zconf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/spf13/viper"
)

// Source says where Load reads configuration from. Later sources win:
// defaults < File < environment (ZINX_<KEY>, for example ZINX_TCPPORT) <
// Overrides.
type Source struct {
	// File is a JSON file. Empty means defaults and environment only; a
	// named file that does not exist is an error.
	File string
	// Overrides are applied last, for example from command-line flags.
	// Keys are matched case-insensitively.
	Overrides map[string]any
	// Environ is the environment to read, as os.Environ returns it; nil
	// means the process environment.
	Environ []string
	// Logger receives a warning for each Zinx key that zinxgame accepts
	// but does not use. Nil means slog.Default().
	Logger *slog.Logger
	// Defaults replace zconf's defaults for some keys, for an application
	// whose needs differ (a demo that serves WebSocket too, say); the
	// file, the environment and overrides still win over them.
	Defaults map[string]any
	// Sections are an application's own settings, loaded from the same
	// file under the section's name (an object), from ZINX_<SECTION>_<KEY>
	// and from overrides "Section.Key", with the same checks. Each value
	// is a pointer to a struct holding the defaults; Load fills it in and,
	// if it has a Validate() error method, calls it.
	Sections map[string]any
	// StrictEnv makes a ZINX_* environment variable that matches no key
	// (the server's keys, their aliases, the sections' keys) an error
	// naming it, for a deployment check that must prove every variable it
	// sets is read. False, the default, logs a warning and ignores it, so a
	// variable meant for another program or version does not stop a server.
	StrictEnv bool
}

// aliases maps other names for a key (lower case) to the key itself.
var aliases = map[string]string{
	"maxpacketsize": "MaxPackageSize",
	// Zinx serves TLS on its TCP and WebSocket listeners when both are
	// set, as zinxgame does with TLSCertFile and TLSKeyFile.
	"certfile":       "TLSCertFile",
	"privatekeyfile": "TLSKeyFile",
}

// zinxOnly lists keys of Zinx's zinx.json that zinxgame does not use (yet),
// lower case. They are accepted with a warning so an existing Zinx config
// loads unchanged, while a typo is still an error.
var zinxOnly = map[string]string{
	"heartbeatmax":            "heartbeat timeout in seconds (use HeartbeatTimeout, a duration)",
	"logdir":                  "log directory (zinxgame logs to stderr)",
	"logfile":                 "log file (zinxgame logs to stderr)",
	"logisolationlevel":       "log level (use LogLevel)",
	"logsavedays":             "log rotation",
	"logfilesize":             "log rotation",
	"logcons":                 "log to console",
	"workermode":              "worker mode (zinxgame always keeps per-connection order)",
	"requestpoolmode":         "request pooling (zinxgame always pools requests)",
	"kcpstreammode":           "KCP message mode (zinxgame's KCP is always a stream, as its frames are)",
	"routerslicesmode":        "router slices mode (use Use for middleware)",
	"prometheusmetricsenable": "Prometheus metrics",
	"prometheusserver":        "Prometheus server",
	"prometheuslisten":        "Prometheus listen address",
}

// Load builds a Config from src and validates it. The Config it returns
// has its defaults applied (WithDefaults). A 0 given for a key whose 0
// meant something else in Zinx keeps that meaning: WorkerPoolSize 0 runs
// handlers on the reader (Off), "HeartbeatTimeout": "0s" turns the check
// off, TcpPort 0 picks a free port, "Mode": "" serves both, and so on, as
// each Config field says. Any other 0 means the default.
func Load(src Source) (Config, error) {
	log := src.Logger
	if log == nil {
		log = slog.Default()
	}
	cfg := Default()
	targets := map[string]reflect.Value{} // canonical key -> field to fill
	rv := reflect.ValueOf(&cfg).Elem()
	for _, k := range fieldKeys(rv.Type(), "") {
		targets[k] = field(rv, k)
	}
	sections := map[string]string{} // lower-case name -> name
	for name, ptr := range src.Sections {
		sv := reflect.ValueOf(ptr)
		if sv.Kind() != reflect.Pointer || sv.Elem().Kind() != reflect.Struct {
			return Config{}, fmt.Errorf("zconf: section %q: want a pointer to a struct, have %T", name, ptr)
		}
		sections[strings.ToLower(name)] = name
		for _, k := range fieldKeys(sv.Elem().Type(), "") {
			targets[name+"."+k] = field(sv.Elem(), k)
		}
	}
	keys := make([]string, 0, len(targets))
	known := make(map[string]string, len(targets))
	for k := range targets {
		keys = append(keys, k)
		known[strings.ToLower(k)] = k
	}
	sort.Strings(keys)

	v := viper.New()
	for _, k := range keys {
		v.SetDefault(k, targets[k].Interface())
	}
	for k, val := range src.Defaults {
		canon, ok := known[strings.ToLower(k)]
		if !ok {
			return Config{}, fmt.Errorf("zconf: default %q: unknown key", k)
		}
		v.SetDefault(canon, val)
	}

	if src.File != "" {
		raw, err := os.ReadFile(src.File)
		if err != nil {
			return Config{}, fmt.Errorf("zconf: reading config file: %w", err)
		}
		flat, err := normalize(raw, known, sections, src.File, log)
		if err != nil {
			return Config{}, err
		}
		if err := v.MergeConfigMap(nest(flat)); err != nil {
			return Config{}, fmt.Errorf("zconf: %s: %w", src.File, err)
		}
	}

	env := envMap(src.Environ)
	envKnown := make(map[string]bool)
	for _, k := range keys {
		name := "ZINX_" + strings.ToUpper(strings.ReplaceAll(k, ".", "_"))
		envKnown[name] = true
		if val, ok := env[name]; ok {
			v.Set(k, val)
		}
	}
	for alias, k := range aliases {
		name := "ZINX_" + strings.ToUpper(alias)
		envKnown[name] = true
		if val, ok := env[name]; ok {
			if _, canonical := env["ZINX_"+strings.ToUpper(k)]; !canonical {
				v.Set(k, val)
			}
		}
	}
	var unknownEnv []string
	for name := range env {
		if !envKnown[name] {
			unknownEnv = append(unknownEnv, name)
		}
	}
	sort.Strings(unknownEnv)
	if len(unknownEnv) > 0 && src.StrictEnv {
		return Config{}, fmt.Errorf("zconf: environment variables match no key: %s", strings.Join(unknownEnv, ", "))
	}
	for _, name := range unknownEnv {
		log.Warn("zconf: environment variable matches no key, ignored", "name", name)
	}

	// Overrides by alias first, so the canonical key wins when both are given.
	over := make([]string, 0, len(src.Overrides))
	for k := range src.Overrides {
		over = append(over, k)
	}
	sort.Slice(over, func(i, j int) bool {
		_, ai := aliases[strings.ToLower(over[i])]
		_, aj := aliases[strings.ToLower(over[j])]
		return ai && !aj
	})
	for _, k := range over {
		canon, ok := known[strings.ToLower(k)]
		if !ok {
			canon, ok = aliases[strings.ToLower(k)]
		}
		if !ok {
			return Config{}, fmt.Errorf("zconf: override %q: unknown key", k)
		}
		v.Set(canon, src.Overrides[k])
	}

	var errs []error
	for _, k := range keys {
		if err := assign(targets[k], k, offID(k, v.Get(k))); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	// A 0 given for a key keeps the meaning it had in Zinx (see
	// explicitZero); any other zero means the default, as in a Config.
	if err := cfg.applyExplicitZeros(); err != nil {
		return Config{}, err
	}
	cfg = cfg.WithDefaults()
	for name, ptr := range src.Sections {
		if val, ok := ptr.(interface{ Validate() error }); ok {
			if err := val.Validate(); err != nil {
				if strings.HasPrefix(err.Error(), "zconf: "+name+".") {
					return Config{}, err // zconf's own sections name themselves
				}
				return Config{}, fmt.Errorf("zconf: section %s: %w", name, err)
			}
		}
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// normalize checks the file's keys and returns its values by canonical,
// dotted key (aliases renamed, sections flattened).
func normalize(raw []byte, known, sections map[string]string, file string, log *slog.Logger) (map[string]any, error) {
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("zconf: parsing %s: %w", file, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("zconf: parsing %s: unexpected data after the JSON object", file)
	}
	out := make(map[string]any, len(doc))
	var unknown []string
	var walk func(obj map[string]any, prefix string) error
	walk = func(obj map[string]any, prefix string) error {
		seen := make(map[string]string, len(obj))
		for k, val := range obj {
			lk := strings.ToLower(prefix + k)
			if prev, dup := seen[lk]; dup {
				return fmt.Errorf("zconf: %s: key %q given twice (also as %q)", file, prefix+k, prefix+prev)
			}
			seen[lk] = k
			sub, isObj := val.(map[string]any)
			switch {
			case known[lk] != "":
				out[known[lk]] = val
			case prefix == "" && sections[lk] != "" && isObj:
				if err := walk(sub, sections[lk]+"."); err != nil {
					return err
				}
			case prefix == "" && aliases[lk] != "":
				if _, dup := out[aliases[lk]]; !dup {
					out[aliases[lk]] = val
				}
			case prefix == "" && zinxOnly[lk] != "":
				log.Warn("zconf: Zinx key not used by zinxgame, ignored", "file", file, "key", k, "meaning", zinxOnly[lk])
			default:
				unknown = append(unknown, prefix+k)
			}
		}
		return nil
	}
	if err := walk(doc, ""); err != nil {
		return nil, err
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("zconf: %s: unknown keys %q", file, unknown)
	}
	return out, nil
}

// nest turns dotted keys into nested maps, as viper's config layer wants.
func nest(flat map[string]any) map[string]any {
	root := map[string]any{}
	for k, val := range flat {
		m := root
		parts := strings.Split(k, ".")
		for _, p := range parts[:len(parts)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		m[parts[len(parts)-1]] = val
	}
	return root
}

// fieldKeys lists the configuration keys of t, nested structs as dotted
// paths. time.Duration is a leaf.
func fieldKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)) {
			keys = append(keys, fieldKeys(f.Type, prefix+f.Name+".")...)
			continue
		}
		keys = append(keys, prefix+f.Name)
	}
	return keys
}

func field(v reflect.Value, key string) reflect.Value {
	for _, part := range strings.Split(key, ".") {
		v = v.FieldByName(part)
	}
	return v
}

func envMap(environ []string) map[string]string {
	if environ == nil {
		environ = os.Environ()
	}
	m := make(map[string]string)
	for _, kv := range environ {
		if k, val, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(strings.ToUpper(k), "ZINX_") {
			m[strings.ToUpper(k)] = val
		}
	}
	return m
}
