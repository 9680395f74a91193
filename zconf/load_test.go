package zconf_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/zconf"
)

// writeConfig writes body to a fresh zinx.json and returns its path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "zinx.json")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// bufLogger returns a logger that records everything into a buffer.
func bufLogger() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

func discardLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// with returns Default() changed by f.
func with(f func(*zconf.Config)) zconf.Config {
	c := zconf.Default()
	f(&c)
	return c
}

func mustContain(t *testing.T, err error, subs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want an error containing %q", subs)
	}
	for _, s := range subs {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
}

func TestLoadNoFileEqualsDefault(t *testing.T) {
	log, buf := bufLogger()
	got, err := zconf.Load(zconf.Source{Environ: []string{}, Logger: log})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if want := zconf.Default(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Load() = %+v\nwant     %+v", got, want)
	}
	if buf.Len() != 0 {
		t.Errorf("Load with no file logged %q, want nothing", buf.String())
	}
}

func TestLoadEmptyObjectEqualsDefault(t *testing.T) {
	for _, body := range []string{`{}`, "  {}\n\n", `null`} {
		got, err := zconf.Load(zconf.Source{File: writeConfig(t, body), Environ: []string{}, Logger: discardLogger()})
		if err != nil {
			t.Fatalf("%q: Load: %v", body, err)
		}
		if !reflect.DeepEqual(got, zconf.Default()) {
			t.Errorf("%q: Load() = %+v, want Default()", body, got)
		}
	}
}

func TestLoadZinxFile(t *testing.T) {
	const body = `{
	"Name": "demo",
	"Host": "127.0.0.1",
	"TCPPort": 9001,
	"MaxConn": 3,
	"MaxPacketSize": 512,
	"WorkerPoolSize": 4,
	"MaxWorkerTaskLen": 16,
	"MaxMsgChanLen": 8,
	"IOReadBuffSize": 1024,
	"Mode": "",
	"LogDir": "./log",
	"HeartbeatMax": 10,
	"CertFile": ""
}`
	log, buf := bufLogger()
	got, err := zconf.Load(zconf.Source{File: writeConfig(t, body), Environ: []string{}, Logger: log})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := with(func(c *zconf.Config) {
		c.Name = "demo"
		c.Host = "127.0.0.1"
		c.TcpPort = 9001
		c.MaxConn = 3
		c.MaxPackageSize = 512
		c.WorkerPoolSize = 4
		c.MaxWorkerTaskLen = 16
		c.MaxMsgChanLen = 8
		c.IOReadBuffSize = 1024
		c.Mode = zconf.ModeBoth // Zinx's "" serves both
	})
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Load() = %+v\nwant     %+v", got, want)
	}
	logged := buf.String()
	for _, key := range []string{"LogDir", "HeartbeatMax"} {
		if !strings.Contains(logged, "key="+key) {
			t.Errorf("log lacks a warning for Zinx-only key %s:\n%s", key, logged)
		}
	}
	if n := strings.Count(logged, "level=WARN"); n != 2 {
		t.Errorf("got %d warnings, want 2 (one per Zinx-only key):\n%s", n, logged)
	}
	for _, key := range []string{"TCPPort", "MaxPacketSize", "Name", "CertFile"} {
		if strings.Contains(logged, "key="+key) {
			t.Errorf("log warns about used key %s:\n%s", key, logged)
		}
	}
}

func TestLoadEveryZinxOnlyKeyWarns(t *testing.T) {
	keys := []string{
		"HeartbeatMax", "LogDir",
		"LogFile", "LogIsolationLevel", "LogSaveDays", "LogFileSize", "LogCons",
		"WorkerMode", "RouterSlicesMode", "PrometheusMetricsEnable",
		"PrometheusServer", "PrometheusListen",
	}
	for _, key := range keys {
		t.Run(key, func(t *testing.T) {
			log, buf := bufLogger()
			_, err := zconf.Load(zconf.Source{File: writeConfig(t, `{"`+key+`": 1}`), Environ: []string{}, Logger: log})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !strings.Contains(buf.String(), "key="+key) || !strings.Contains(buf.String(), "level=WARN") {
				t.Errorf("no warning naming %s:\n%s", key, buf.String())
			}
		})
	}
}

func TestLoadKeyCase(t *testing.T) {
	tests := []struct {
		name string
		body string
		want zconf.Config
		warn string // a key that must be warned about, if any
	}{
		{"lower case", `{"tcpport": 9005}`, with(func(c *zconf.Config) { c.TcpPort = 9005 }), ""},
		{"upper case", `{"MAXCONN": 7}`, with(func(c *zconf.Config) { c.MaxConn = 7 }), ""},
		{"Zinx spelling", `{"TCPPort": 9006}`, with(func(c *zconf.Config) { c.TcpPort = 9006 }), ""},
		{"mixed case", `{"wRiTeTiMeOuT": "2s", "logLEVEL": "debug"}`,
			with(func(c *zconf.Config) { c.WriteTimeout = 2 * time.Second; c.LogLevel = "debug" }), ""},
		{"alias lower case", `{"maxpacketsize": 100}`, with(func(c *zconf.Config) { c.MaxPackageSize = 100 }), ""},
		{"alias upper case", `{"MAXPACKETSIZE": 101}`, with(func(c *zconf.Config) { c.MaxPackageSize = 101 }), ""},
		{"canonical name", `{"MaxPackageSize": 102}`, with(func(c *zconf.Config) { c.MaxPackageSize = 102 }), ""},
		{"Zinx-only key upper case", `{"LOGDIR": "x"}`, zconf.Default(), "LOGDIR"},
		{"every typed key", `{"Version":"v9","Framing":"be","BlockingPoolSize":3,"ShutdownTimeout":"0s","NoticeMsgID":7,"LogFormat":"json"}`,
			with(func(c *zconf.Config) {
				c.Version = "v9"
				c.Framing = zconf.FramingBE
				c.BlockingPoolSize = 3
				c.ShutdownTimeout = zconf.Disabled // "0s": no wait, as before
				c.NoticeMsgID = 7
				c.LogFormat = "json"
			}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, buf := bufLogger()
			got, err := zconf.Load(zconf.Source{File: writeConfig(t, tt.body), Environ: []string{}, Logger: log})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Load() = %+v\nwant     %+v", got, tt.want)
			}
			if tt.warn == "" && buf.Len() != 0 {
				t.Errorf("unexpected log output: %s", buf.String())
			}
			if tt.warn != "" && !strings.Contains(buf.String(), "key="+tt.warn) {
				t.Errorf("log lacks key=%s: %s", tt.warn, buf.String())
			}
		})
	}
}

func TestLoadFileCanonicalBeatsAlias(t *testing.T) {
	// normalize ranges over a map, so repeat to exercise both orders.
	for _, body := range []string{
		`{"MaxPacketSize": 100, "MaxPackageSize": 200}`,
		`{"MaxPackageSize": 200, "maxpacketsize": 100}`,
	} {
		path := writeConfig(t, body)
		for i := 0; i < 30; i++ {
			got, err := zconf.Load(zconf.Source{File: path, Environ: []string{}, Logger: discardLogger()})
			if err != nil {
				t.Fatalf("%s: Load: %v", body, err)
			}
			if got.MaxPackageSize != 200 {
				t.Fatalf("%s: MaxPackageSize = %d, want 200 (the canonical key wins)", body, got.MaxPackageSize)
			}
		}
	}
}

func TestLoadFileErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string
	}{
		{"unknown key", `{"TcpPortt": 9001}`, []string{"TcpPortt", "unknown"}},
		{"unknown keys sorted, known ones not listed", `{"zeta": 1, "TcpPort": 1, "Alpha": 2}`,
			[]string{`unknown keys ["Alpha" "zeta"]`}},
		{"malformed JSON", `{"TcpPort": 9001,}`, []string{"zconf: parsing"}},
		{"unterminated object", `{"TcpPort": 9001`, []string{"zconf: parsing"}},
		{"trailing garbage", `{"TcpPort": 9001} xyz`, []string{"zconf: parsing", "unexpected data after the JSON object"}},
		{"second object", `{"TcpPort": 9001}{"MaxConn": 1}`, []string{"unexpected data after the JSON object"}},
		{"trailing bracket", `{"TcpPort": 9001} ]`, []string{"unexpected data after the JSON object"}},
		{"empty file", ``, []string{"zconf: parsing"}},
		{"top-level array", `[{"TcpPort": 9001}]`, []string{"zconf: parsing"}},
		{"object for an int", `{"TcpPort": {"a": 1}}`, []string{"TcpPort"}},
		{"non-numeric string for an int", `{"MaxConn": "many"}`, []string{"MaxConn"}},
		{"bad duration string", `{"WriteTimeout": "soon"}`, []string{"WriteTimeout"}},
		{"duration without unit", `{"WriteTimeout": "250"}`, []string{"WriteTimeout", "duration"}},
		{"duration as a bare number", `{"WriteTimeout": 2000000000}`, []string{"WriteTimeout", "duration string"}},
		{"fractional integer", `{"TcpPort": 9001.5}`, []string{"TcpPort", "whole number"}},
		{"bool for integer", `{"TcpPort": true}`, []string{"TcpPort", "whole number"}},
		{"uint32 overflow", `{"NoticeMsgID": 4294967296}`, []string{"NoticeMsgID = 4294967296", "between 0 and 4294967295"}},
		{"negative uint32", `{"NoticeMsgID": -1}`, []string{"NoticeMsgID = -1"}},
		{"same key twice in other case", `{"TcpPort": 1, "tcpport": 2}`, []string{"given twice"}},
		{"number overflowing float64", `{"MaxConn": 1e400}`, []string{"MaxConn", "whole number"}},
		{"invalid value fails validation", `{"MaxConn": -1}`, []string{"MaxConn = -1", "between 1 and 10000000"}},
		{"invalid alias value fails validation", `{"MaxPacketSize": -1}`, []string{"MaxPackageSize = -1"}},
		{"NoticeMsgID 0 cannot keep its meaning", `{"NoticeMsgID": 0}`, []string{"NoticeMsgID = 0", "no longer available", "65535"}},
		{"ServerPingMsgID 0 cannot keep its meaning", `{"ServerPingMsgID": 0}`, []string{"ServerPingMsgID = 0", "65533"}},
		{"PingMsgID below -1", `{"PingMsgID": -2}`, []string{"PingMsgID = -2"}},
		{"several invalid values", `{"TcpPort": 70000, "LogLevel": "loud"}`,
			[]string{"TcpPort = 70000", `LogLevel = "loud"`}},
		{"framing is case-sensitive", `{"Framing": "LE"}`, []string{`Framing = "LE"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.body)
			got, err := zconf.Load(zconf.Source{File: path, Environ: []string{}, Logger: discardLogger()})
			mustContain(t, err, tt.want...)
			if !reflect.DeepEqual(got, zconf.Config{}) {
				t.Errorf("Load returned %+v with an error, want the zero Config", got)
			}
		})
	}
}

func TestLoadParseErrorNamesFile(t *testing.T) {
	path := writeConfig(t, `{`)
	_, err := zconf.Load(zconf.Source{File: path, Environ: []string{}, Logger: discardLogger()})
	mustContain(t, err, path)
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.json")
	_, err := zconf.Load(zconf.Source{File: path, Environ: []string{}, Logger: discardLogger()})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want one wrapping fs.ErrNotExist", err)
	}
	mustContain(t, err, "nope.json")
}

func TestLoadDirectoryAsFile(t *testing.T) {
	_, err := zconf.Load(zconf.Source{File: t.TempDir(), Environ: []string{}, Logger: discardLogger()})
	if err == nil {
		t.Fatal("Load of a directory succeeded, want an error")
	}
}

func TestLoadDurations(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		env       []string
		overrides map[string]any
		wantWrite time.Duration
		wantShut  time.Duration
	}{
		{"file string", `{"WriteTimeout": "250ms"}`, nil, nil, 250 * time.Millisecond, 10 * time.Second},
		{"file compound string", `{"ShutdownTimeout": "1m30s"}`, nil, nil, 5 * time.Second, 90 * time.Second},
		{"environment", `{}`, []string{"ZINX_WRITETIMEOUT=750ms", "ZINX_SHUTDOWNTIMEOUT=2m"}, nil, 750 * time.Millisecond, 2 * time.Minute},
		{"override Duration", `{}`, nil, map[string]any{"WriteTimeout": 3 * time.Second}, 3 * time.Second, 10 * time.Second},
		{"override string", `{}`, nil, map[string]any{"shutdowntimeout": "4s"}, 5 * time.Second, 4 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := tt.env
			if env == nil {
				env = []string{}
			}
			got, err := zconf.Load(zconf.Source{File: writeConfig(t, tt.body), Environ: env, Overrides: tt.overrides, Logger: discardLogger()})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got.WriteTimeout != tt.wantWrite || got.ShutdownTimeout != tt.wantShut {
				t.Errorf("WriteTimeout, ShutdownTimeout = %v, %v; want %v, %v",
					got.WriteTimeout, got.ShutdownTimeout, tt.wantWrite, tt.wantShut)
			}
		})
	}
}

func TestLoadPrecedence(t *testing.T) {
	tests := []struct {
		name      string
		file      string // empty: no file
		env       []string
		overrides map[string]any
		want      zconf.Config
	}{
		{"file over default", `{"TcpPort": 9001}`, nil, nil,
			with(func(c *zconf.Config) { c.TcpPort = 9001 })},
		{"environment over file", `{"TcpPort": 9001}`, []string{"ZINX_TCPPORT=9002"}, nil,
			with(func(c *zconf.Config) { c.TcpPort = 9002 })},
		{"override over environment", `{"TcpPort": 9001}`, []string{"ZINX_TCPPORT=9002"}, map[string]any{"tcpport": 9003},
			with(func(c *zconf.Config) { c.TcpPort = 9003 })},
		{"override over file", `{"TcpPort": 9001}`, nil, map[string]any{"TcpPort": 9004},
			with(func(c *zconf.Config) { c.TcpPort = 9004 })},
		{"environment without file", "", []string{"ZINX_TCPPORT=9005", "ZINX_NAME=env", "ZINX_FRAMING=be"}, nil,
			with(func(c *zconf.Config) { c.TcpPort = 9005; c.Name = "env"; c.Framing = zconf.FramingBE })},
		{"layers merge per key", `{"TcpPort": 9001, "MaxConn": 5, "Name": "file"}`,
			[]string{"ZINX_MAXCONN=6", "ZINX_WORKERPOOLSIZE=7"}, map[string]any{"WORKERPOOLSIZE": 8},
			with(func(c *zconf.Config) { c.TcpPort = 9001; c.MaxConn = 6; c.WorkerPoolSize = 8; c.Name = "file" })},
		{"environment alias", "", []string{"ZINX_MAXPACKETSIZE=2048"}, nil,
			with(func(c *zconf.Config) { c.MaxPackageSize = 2048 })},
		{"environment alias over file", `{"MaxPackageSize": 1000}`, []string{"ZINX_MAXPACKETSIZE=2048"}, nil,
			with(func(c *zconf.Config) { c.MaxPackageSize = 2048 })},
		{"canonical environment beats alias", "", []string{"ZINX_MAXPACKETSIZE=2048", "ZINX_MAXPACKAGESIZE=1024"}, nil,
			with(func(c *zconf.Config) { c.MaxPackageSize = 1024 })},
		{"override alias", `{"MaxPacketSize": 1000}`, []string{"ZINX_MAXPACKAGESIZE=1024"}, map[string]any{"MaxPacketSize": 777},
			with(func(c *zconf.Config) { c.MaxPackageSize = 777 })},
		{"environment name is case-insensitive", "", []string{"zinx_tcpport=9006"}, nil,
			with(func(c *zconf.Config) { c.TcpPort = 9006 })},
		{"non-ZINX variables ignored", "", []string{"TCPPORT=1", "MYZINX_TCPPORT=2", "PATH=/bin", "no-equals-sign", "ZINX_TCPPORT"}, nil,
			zconf.Default()},
		{"environment value containing '='", "", []string{"ZINX_NAME=a=b"}, nil,
			with(func(c *zconf.Config) { c.Name = "a=b" })},
		{"environment uint", "", []string{"ZINX_NOTICEMSGID=4294967295"}, nil,
			with(func(c *zconf.Config) { c.NoticeMsgID = 4294967295 })},
		{"override string for int", "", nil, map[string]any{"MaxConn": "42"},
			with(func(c *zconf.Config) { c.MaxConn = 42 })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := zconf.Source{Environ: tt.env, Overrides: tt.overrides, Logger: discardLogger()}
			if src.Environ == nil {
				src.Environ = []string{}
			}
			if tt.file != "" {
				src.File = writeConfig(t, tt.file)
			}
			got, err := zconf.Load(src)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Load() = %+v\nwant     %+v", got, tt.want)
			}
		})
	}
}

func TestLoadEnvAndOverrideErrors(t *testing.T) {
	tests := []struct {
		name      string
		env       []string
		overrides map[string]any
		want      []string
	}{
		{"env not a number", []string{"ZINX_TCPPORT=abc"}, nil, []string{"TcpPort"}},
		{"env float for int", []string{"ZINX_MAXCONN=1.5"}, nil, []string{"MaxConn"}},
		{"env padded number", []string{"ZINX_TCPPORT= 9002"}, nil, []string{"TcpPort"}},
		{"env empty number", []string{"ZINX_TCPPORT="}, nil, []string{"TcpPort"}},
		{"env hex number", []string{"ZINX_TCPPORT=0x2329"}, nil, []string{"TcpPort"}},
		{"override uint32 overflow", nil, map[string]any{"NoticeMsgID": int64(1) << 32}, []string{"NoticeMsgID"}},
		{"override negative uint32", nil, map[string]any{"NoticeMsgID": -1}, []string{"NoticeMsgID"}},
		{"env uint overflow", []string{"ZINX_NOTICEMSGID=4294967296"}, nil, []string{"NoticeMsgID"}},
		{"env negative uint", []string{"ZINX_NOTICEMSGID=-1"}, nil, []string{"NoticeMsgID"}},
		{"env duration without unit", []string{"ZINX_WRITETIMEOUT=5"}, nil, []string{"WriteTimeout"}},
		{"env alias not a number", []string{"ZINX_MAXPACKETSIZE=big"}, nil, []string{"MaxPackageSize"}},
		{"env value out of range", []string{"ZINX_TCPPORT=70000"}, nil, []string{"TcpPort = 70000", "between 1 and 65535"}},
		{"env bad log format", []string{"ZINX_LOGFORMAT=xml"}, nil, []string{`LogFormat = "xml"`}},
		{"override unknown key", nil, map[string]any{"TcpPortt": 1}, []string{`override "TcpPortt"`, "unknown key"}},
		{"override Zinx-only key", nil, map[string]any{"LogDir": "x"}, []string{`override "LogDir"`, "unknown key"}},
		{"override wrong type", nil, map[string]any{"MaxConn": []int{1}}, []string{"MaxConn"}},
		{"override out of range", nil, map[string]any{"maxconn": -1}, []string{"MaxConn = -1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := tt.env
			if env == nil {
				env = []string{}
			}
			_, err := zconf.Load(zconf.Source{Environ: env, Overrides: tt.overrides, Logger: discardLogger()})
			mustContain(t, err, tt.want...)
		})
	}
}

func TestLoadNilEnvironReadsProcessEnvironment(t *testing.T) {
	t.Setenv("ZINX_TCPPORT", "9123")
	t.Setenv("ZINX_NAME", "from-process")
	got, err := zconf.Load(zconf.Source{Logger: discardLogger()})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got.TcpPort != 9123 || got.Name != "from-process" {
		t.Fatalf("TcpPort, Name = %d, %q; want 9123, %q", got.TcpPort, got.Name, "from-process")
	}

	// An explicit empty Environ shields Load from the process environment.
	got, err = zconf.Load(zconf.Source{Environ: []string{}, Logger: discardLogger()})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !reflect.DeepEqual(got, zconf.Default()) {
		t.Fatalf("Load with Environ []string{} = %+v, want Default()", got)
	}
}

func TestLoadNilLoggerUsesSlogDefault(t *testing.T) {
	prev := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prev) })
	log, buf := bufLogger()
	slog.SetDefault(log)

	_, err := zconf.Load(zconf.Source{File: writeConfig(t, `{"LogDir": "./log"}`), Environ: []string{}})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !strings.Contains(buf.String(), "key=LogDir") {
		t.Fatalf("slog.Default() did not receive the warning; got %q", buf.String())
	}
}

func TestLoadDoesNotShareState(t *testing.T) {
	// A Load with overrides must not leak into a later Load.
	if _, err := zconf.Load(zconf.Source{Environ: []string{}, Overrides: map[string]any{"TcpPort": 1}, Logger: discardLogger()}); err != nil {
		t.Fatalf("Load: %v", err)
	}
	got, err := zconf.Load(zconf.Source{Environ: []string{}, Logger: discardLogger()})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !reflect.DeepEqual(got, zconf.Default()) {
		t.Fatalf("second Load = %+v, want Default()", got)
	}
}

func TestLoadConcurrent(t *testing.T) {
	path := writeConfig(t, `{"TcpPort": 9001, "Mode": "tcp"}`)
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func(i int) {
			c, err := zconf.Load(zconf.Source{File: path, Environ: []string{}, Overrides: map[string]any{"MaxConn": i + 1}, Logger: discardLogger()})
			if err == nil && (c.TcpPort != 9001 || c.MaxConn != i+1) {
				err = errors.New("wrong values from concurrent Load")
			}
			errs <- err
		}(i)
	}
	for i := 0; i < 8; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestLoadOverrideCanonicalBeatsAlias(t *testing.T) {
	for range 50 {
		cfg, err := zconf.Load(zconf.Source{
			Environ:   []string{},
			Overrides: map[string]any{"maxpacketsize": 100, "MaxPackageSize": 200},
		})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.MaxPackageSize != 200 {
			t.Fatalf("MaxPackageSize = %d, want 200 (the canonical key wins)", cfg.MaxPackageSize)
		}
	}
}

func TestLoadEnvDecimalOnly(t *testing.T) {
	cfg, err := zconf.Load(zconf.Source{Environ: []string{"ZINX_MAXCONN=010"}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxConn != 10 {
		t.Fatalf("ZINX_MAXCONN=010 gave %d, want 10 (decimal)", cfg.MaxConn)
	}
}

func TestLoadUnknownEnvWarns(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	if _, err := zconf.Load(zconf.Source{Environ: []string{"ZINX_TCPPORTT=1"}, Logger: log}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "ZINX_TCPPORTT") {
		t.Fatalf("no warning for ZINX_TCPPORTT; log: %q", buf.String())
	}
}

func TestLoadNewerZinxKeysWarn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "zinx.json")
	if err := os.WriteFile(path, []byte(`{"KcpStreamMode": true, "LogCons": true, "RequestPoolMode": true}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	if _, err := zconf.Load(zconf.Source{File: path, Environ: []string{}, Logger: log}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"KcpStreamMode", "LogCons", "RequestPoolMode"} {
		if !strings.Contains(buf.String(), k) {
			t.Errorf("no warning naming %s; log: %q", k, buf.String())
		}
	}
}

type gameSection struct {
	MaxChatLen int
	Greeting   string
	Tick       time.Duration
	Speed      float32
}

func (g *gameSection) Validate() error {
	if g.MaxChatLen < 1 {
		return errors.New("MaxChatLen must be at least 1")
	}
	return nil
}

func TestLoadSections(t *testing.T) {
	path := writeConfig(t, `{"TcpPort": 9100, "game": {"maxchatlen": 50, "Tick": "50ms", "Speed": 2.5}}`)
	g := &gameSection{MaxChatLen: 200, Greeting: "hi", Tick: time.Second}
	cfg, err := zconf.Load(zconf.Source{
		File:      path,
		Environ:   []string{"ZINX_GAME_GREETING=hello"},
		Sections:  map[string]any{"Game": g},
		Overrides: map[string]any{"Game.Tick": "20ms"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TcpPort != 9100 || g.MaxChatLen != 50 || g.Greeting != "hello" || g.Tick != 20*time.Millisecond || g.Speed != 2.5 {
		t.Fatalf("cfg.TcpPort %d, section %+v", cfg.TcpPort, *g)
	}
	for _, c := range []struct{ body, want string }{
		{`{"Game": {"MaxChatLenn": 5}}`, "Game.MaxChatLenn"},
		{`{"Game": {"MaxChatLen": 0}}`, "MaxChatLen must be at least 1"},
		{`{"Game": {"MaxChatLen": "many"}}`, "Game.MaxChatLen"},
		{`{"Other": {"X": 1}}`, "Other"},
		{`{"Game": {"Speed": 1e39}}`, "Game.Speed"},
		{`{"Game": {"Speed": "fast"}}`, "Game.Speed"},
	} {
		g := &gameSection{MaxChatLen: 200}
		_, err := zconf.Load(zconf.Source{File: writeConfig(t, c.body), Environ: []string{}, Sections: map[string]any{"Game": g}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %q", c.body, err, c.want)
		}
	}
}

func TestLoadWebSocketKeys(t *testing.T) {
	got, err := zconf.Load(zconf.Source{
		File:    writeConfig(t, `{"Mode": "both", "WsPort": 9100, "WsPath": "/game", "WsAllowedOrigins": ["https://*.example.com"]}`),
		Environ: []string{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Mode != zconf.ModeBoth || got.WsPort != 9100 || got.WsPath != "/game" || !reflect.DeepEqual(got.WsAllowedOrigins, []string{"https://*.example.com"}) {
		t.Fatalf("got %+v", got)
	}
	got, err = zconf.Load(zconf.Source{Environ: []string{"ZINX_WSALLOWEDORIGINS=https://a.example, https://b.example"}})
	if err != nil || !reflect.DeepEqual(got.WsAllowedOrigins, []string{"https://a.example", "https://b.example"}) {
		t.Fatalf("from the environment: %v %v", got.WsAllowedOrigins, err)
	}
	for _, body := range []string{`{"Mode": "udp"}`, `{"WsPath": "game"}`, `{"WsAllowedOrigins": [1]}`, `{"WsAllowedOrigins": ["["]}`} {
		if _, err := zconf.Load(zconf.Source{File: writeConfig(t, body), Environ: []string{}}); err == nil {
			t.Errorf("%s accepted", body)
		}
	}
}

func TestLoadApplicationDefaults(t *testing.T) {
	got, err := zconf.Load(zconf.Source{Environ: []string{}, Defaults: map[string]any{"mode": "both", "Name": "mmo"}})
	if err != nil || got.Mode != zconf.ModeBoth || got.Name != "mmo" {
		t.Fatalf("defaults: %+v %v", got, err)
	}
	got, err = zconf.Load(zconf.Source{
		File:     writeConfig(t, `{"Mode": "tcp"}`),
		Environ:  []string{},
		Defaults: map[string]any{"Mode": "both"},
	})
	if err != nil || got.Mode != zconf.ModeTCP {
		t.Fatalf("the file must win over application defaults: %+v %v", got.Mode, err)
	}
	if _, err := zconf.Load(zconf.Source{Environ: []string{}, Defaults: map[string]any{"Nope": 1}}); err == nil {
		t.Fatal("unknown default key accepted")
	}
}

// TestEchoConfigListsEveryKey keeps conf/echo.json the complete reference
// docs/configuration.md promises: every Config field, each at its default except Name.
func TestEchoConfigListsEveryKey(t *testing.T) {
	b, err := os.ReadFile("../conf/echo.json")
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]any
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatal(err)
	}
	for _, f := range reflect.VisibleFields(reflect.TypeFor[zconf.Config]()) {
		if _, ok := keys[f.Name]; !ok {
			t.Errorf("conf/echo.json lacks %s", f.Name)
		}
	}
	got, err := zconf.Load(zconf.Source{File: "../conf/echo.json", Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	want := zconf.Default()
	want.Name = "echo"
	want.WsAllowedOrigins = []string{} // the file's [], which means any origin, as nil does
	want.TrustedProxies = []string{}   // the file's [], which trusts nobody, as nil does
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("conf/echo.json loads as\n%+v\nwant the defaults\n%+v", got, want)
	}
}
