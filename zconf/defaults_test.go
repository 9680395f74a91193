package zconf_test

import (
	"bytes"
	"crypto/tls"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/internal/testcert"
	"github.com/zinxgame/zinxgame/zconf"
)

func TestZeroConfigMeansDefault(t *testing.T) {
	var zero zconf.Config
	if err := zero.Validate(); err != nil {
		t.Fatalf("Config{}.Validate() = %v, want nil: the zero value is a valid configuration", err)
	}
	if got := zero.WithDefaults(); !reflect.DeepEqual(got, zconf.Default()) {
		t.Fatalf("Config{}.WithDefaults() = %+v\nwant Default()      %+v", got, zconf.Default())
	}
	if !zero.ServesTCP() || zero.ServesWebSocket() {
		t.Fatalf("Config{} serves TCP %v, WebSocket %v; want TCP only, as Default's Mode %q", zero.ServesTCP(), zero.ServesWebSocket(), zconf.Default().Mode)
	}
}

// TestWithDefaultsFieldByField: for every field, zero becomes the default
// and any other value is kept.
func TestWithDefaultsFieldByField(t *testing.T) {
	def := zconf.Default()
	typ := reflect.TypeFor[zconf.Config]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		t.Run(f.Name, func(t *testing.T) {
			c := zconf.Default()
			reflect.ValueOf(&c).Elem().Field(i).SetZero()
			if got := c.WithDefaults(); !reflect.DeepEqual(got, def) {
				t.Errorf("%s zero: WithDefaults() = %+v, want Default()", f.Name, got)
			}
			c = zconf.Config{}
			v := reflect.ValueOf(&c).Elem().Field(i)
			setOther(v, reflect.ValueOf(def).Field(i))
			want := v.Interface()
			if got := reflect.ValueOf(c.WithDefaults()).Field(i).Interface(); !reflect.DeepEqual(got, want) {
				t.Errorf("%s = %#v: WithDefaults() made it %#v", f.Name, want, got)
			}
		})
	}
}

// setOther sets v to a value that is neither zero nor def.
func setOther(v, def reflect.Value) {
	switch {
	case v.CanInt():
		v.SetInt(def.Int() + 7)
	case v.CanUint():
		v.SetUint(def.Uint() + 7)
	case v.CanFloat():
		v.SetFloat(def.Float() + 0.5)
	case v.Kind() == reflect.String:
		v.SetString(def.String() + "x")
	case v.Kind() == reflect.Bool:
		v.SetBool(true) // every bool defaults to false: true is the other value
	case v.Kind() == reflect.Slice:
		v.Set(reflect.Append(reflect.MakeSlice(v.Type(), 0, 1), reflect.ValueOf("x")))
	default:
		panic("setOther: add " + v.Kind().String())
	}
}

func TestWithDefaultsKeepsEmptyList(t *testing.T) {
	c := zconf.Config{ConnRateExempt: []string{}}.WithDefaults()
	if c.ConnRateExempt == nil || len(c.ConnRateExempt) != 0 {
		t.Fatalf("ConnRateExempt []string{} became %#v; an empty list means none exempt, only nil means the default", c.ConnRateExempt)
	}
}

// TestLoadExplicitZeroKeepsZinxMeaning: a 0 written in a Zinx zinx.json
// (or an older zinxgame file, the environment or an override) keeps the
// meaning it had, now that a zero field means the default.
func TestLoadExplicitZeroKeepsZinxMeaning(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		env       []string
		overrides map[string]any
		want      func(*zconf.Config)
	}{
		{"WorkerPoolSize 0: no pool", `{"WorkerPoolSize": 0}`, nil, nil, func(c *zconf.Config) { c.WorkerPoolSize = zconf.Off }},
		{"HeartbeatTimeout 0s: off", `{"HeartbeatTimeout": "0s"}`, nil, nil, func(c *zconf.Config) { c.HeartbeatTimeout = zconf.Disabled }},
		{"FirstMessageTimeout 0s: off", `{"FirstMessageTimeout": "0s"}`, nil, nil, func(c *zconf.Config) { c.FirstMessageTimeout = zconf.Disabled }},
		{"ShutdownTimeout 0s: no wait", `{"ShutdownTimeout": "0s"}`, nil, nil, func(c *zconf.Config) { c.ShutdownTimeout = zconf.Disabled }},
		{"ReconnectAfter 0s: no hint", `{"ReconnectAfter": "0s"}`, nil, nil, func(c *zconf.Config) { c.ReconnectAfter = zconf.Disabled }},
		{"TCPPort 0: a free port", `{"TCPPort": 0}`, nil, nil, func(c *zconf.Config) { c.TcpPort = zconf.FreePort }},
		{"WsPort 0: a free port", `{"WsPort": 0}`, nil, nil, func(c *zconf.Config) { c.WsPort = zconf.FreePort }},
		{`Mode "": both`, `{"Mode": ""}`, nil, nil, func(c *zconf.Config) { c.Mode = zconf.ModeBoth }},
		{"PingMsgID 0: off", `{"PingMsgID": 0}`, nil, nil, func(c *zconf.Config) { c.PingMsgID = zconf.MsgIDOff }},
		{"PingMsgID -1: off", `{"PingMsgID": -1}`, nil, nil, func(c *zconf.Config) { c.PingMsgID = zconf.MsgIDOff }},
		{"ConnRatePerIP 0: off", `{"ConnRatePerIP": 0}`, nil, nil, func(c *zconf.Config) { c.ConnRatePerIP = zconf.Off }},
		{"ConnRateExempt []: none", `{"ConnRateExempt": []}`, nil, nil, func(c *zconf.Config) { c.ConnRateExempt = []string{} }},
		{"environment", `{}`, []string{"ZINX_WORKERPOOLSIZE=0", "ZINX_HEARTBEATTIMEOUT=0s", "ZINX_PINGMSGID=-1", "ZINX_CONNRATEEXEMPT="}, nil,
			func(c *zconf.Config) {
				c.WorkerPoolSize, c.HeartbeatTimeout, c.PingMsgID, c.ConnRateExempt = zconf.Off, zconf.Disabled, zconf.MsgIDOff, []string{}
			}},
		{"overrides (a -port 0 flag)", `{}`, nil, map[string]any{"TcpPort": 0, "WorkerPoolSize": 0}, func(c *zconf.Config) {
			c.TcpPort, c.WorkerPoolSize = zconf.FreePort, zconf.Off
		}},
		// Zeros that had no meaning of their own take the default.
		{"MaxConn 0: the default", `{"MaxConn": 0, "Name": "", "IOReadBuffSize": 0}`, nil, nil, func(*zconf.Config) {}},
		{"negative values as written", `{"WorkerPoolSize": -1, "HeartbeatTimeout": "-1s", "TcpPort": -1}`, nil, nil, func(c *zconf.Config) {
			c.WorkerPoolSize, c.HeartbeatTimeout, c.TcpPort = zconf.Off, -time.Second, zconf.FreePort
		}},
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
			if want := with(tt.want); !reflect.DeepEqual(got, want) {
				t.Fatalf("Load() = %+v\nwant     %+v", got, want)
			}
		})
	}
}

// TestLoadZinxFileWithZeros: a whole Zinx zinx.json that turns the worker
// pool off and serves both transports keeps doing so.
func TestLoadZinxFileWithZeros(t *testing.T) {
	const body = `{"Name": "zinx-app", "Host": "127.0.0.1", "TCPPort": 8999, "WsPort": 9000, "Mode": "",
		"WorkerPoolSize": 0, "MaxWorkerTaskLen": 1024, "MaxPacketSize": 4096, "HeartbeatMax": 10}`
	got, err := zconf.Load(zconf.Source{File: writeConfig(t, body), Environ: []string{}, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if got.WorkerPoolSize != zconf.Off || !got.ServesTCP() || !got.ServesWebSocket() {
		t.Fatalf("WorkerPoolSize %d, TCP %v, WebSocket %v; want Off (-1) and both transports", got.WorkerPoolSize, got.ServesTCP(), got.ServesWebSocket())
	}
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestZeroFieldsInHelpers: the Config methods that build things apply the
// defaults too, so a literal with only the files set serves TLS 1.2.
func TestZeroFieldsInHelpers(t *testing.T) {
	cert := testcert.New(t)
	got, err := zconf.Config{TLSCertFile: cert.CertFile, TLSKeyFile: cert.KeyFile}.NewTLSConfig()
	if err != nil || got.MinVersion != tls.VersionTLS12 {
		t.Fatalf("NewTLSConfig() = %v, %v; want MinVersion TLS 1.2", got, err)
	}
	var buf bytes.Buffer
	zconf.Config{}.NewLogger(&buf).Info("hi")
	if !strings.Contains(buf.String(), "server=zinxgame") {
		t.Fatalf("Config{}.NewLogger logged %q, want server=zinxgame", buf.String())
	}
}
