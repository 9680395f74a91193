package zconf_test

import (
	"strings"
	"testing"

	"github.com/zinxgame/zinxgame/zconf"
)

// A Zinx zinx.json's Kcp* keys take effect, with Zinx's zeros keeping
// their meaning.
func TestLoadZinxKcpKeys(t *testing.T) {
	path := writeConfig(t, `{"Mode": "kcp", "KcpPort": 0, "KcpNoDelay": 0, "KcpInterval": 20, "KcpResend": 0,
		"KcpNc": 0, "KcpSendWindow": 64, "KcpRecvWindow": 128, "KcpFecDataShards": 10, "KcpFecParityShards": 3,
		"KcpACKNoDelay": true, "KcpStreamMode": true}`)
	c, err := zconf.Load(zconf.Source{File: path, Environ: []string{}, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if c.ServesTCP() || c.ServesWebSocket() || !c.ServesKCP() {
		t.Errorf(`Mode "kcp" serves TCP %v, WebSocket %v, KCP %v; want KCP only`, c.ServesTCP(), c.ServesWebSocket(), c.ServesKCP())
	}
	if c.KcpPort != zconf.FreePort {
		t.Errorf("KcpPort 0 loaded as %d, want FreePort", c.KcpPort)
	}
	k := c.KCP()
	want := zconf.KCPSettings{NoDelay: 0, Interval: 20, Resend: 0, NoCongestion: 0, SendWindow: 64, RecvWindow: 128,
		MTU: 1400, DataShards: 10, ParityShards: 3, ACKNoDelay: true, SocketBuffer: 4 << 20}
	if k != want {
		t.Errorf("KCP() = %+v\nwant   %+v", k, want)
	}
	d := zconf.Default().KCP()
	if d.NoDelay != 1 || d.Resend != 2 || d.NoCongestion != 1 || d.Interval != zconf.DefaultKcpInterval || d.DataShards != 0 {
		t.Errorf("default KCP() = %+v: want nodelay 1, resend 2, nc 1, no FEC", d)
	}
}

func TestKcpFromEnvironment(t *testing.T) {
	c, err := zconf.Load(zconf.Source{Environ: []string{"ZINX_MODE=tcp,kcp", "ZINX_KCPPORT=7777", "ZINX_KCPINTERVAL=30", "ZINX_KCPMTU=1200"}})
	if err != nil {
		t.Fatal(err)
	}
	if !c.ServesTCP() || !c.ServesKCP() || c.ServesWebSocket() || c.KcpPort != 7777 || c.KcpInterval != 30 || c.KcpMTU != 1200 {
		t.Fatalf("loaded %+v", c)
	}
}

func TestModeLists(t *testing.T) {
	for _, tc := range []struct {
		mode        string
		tcp, ws, kc bool
	}{
		{"", true, false, false},
		{"tcp", true, false, false},
		{"websocket", false, true, false},
		{"both", true, true, false},
		{"kcp", false, false, true},
		{"tcp,kcp", true, false, true},
		{"both, kcp", true, true, true},
		{"websocket,kcp", false, true, true},
	} {
		c := zconf.Config{Mode: tc.mode}
		if err := c.Validate(); err != nil {
			t.Errorf("Mode %q: %v", tc.mode, err)
		}
		if c.ServesTCP() != tc.tcp || c.ServesWebSocket() != tc.ws || c.ServesKCP() != tc.kc {
			t.Errorf("Mode %q serves TCP %v WS %v KCP %v; want %v %v %v", tc.mode,
				c.ServesTCP(), c.ServesWebSocket(), c.ServesKCP(), tc.tcp, tc.ws, tc.kc)
		}
	}
	for _, bad := range []string{"udp", "tcp,", "tcp;kcp", "KCP"} {
		if err := (zconf.Config{Mode: bad}).Validate(); err == nil || !strings.Contains(err.Error(), "Mode") {
			t.Errorf("Mode %q: err %v, want a Mode error", bad, err)
		}
	}
}

func TestKcpValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*zconf.Config)
		key  string
	}{
		{"interval under 10 ms", func(c *zconf.Config) { c.KcpInterval = 5 }, "KcpInterval"},
		{"FEC data without parity", func(c *zconf.Config) { c.KcpFecDataShards = 10 }, "set both or neither"},
		{"MTU over 1500", func(c *zconf.Config) { c.KcpMTU = 9000 }, "KcpMTU"},
		{"window 0 after defaults is fine, 40000 is not", func(c *zconf.Config) { c.KcpSendWindow = 40000 }, "KcpSendWindow"},
		{"nodelay 2", func(c *zconf.Config) { c.KcpNoDelay = 2 }, "KcpNoDelay"},
		{"port", func(c *zconf.Config) { c.KcpPort = 70000 }, "KcpPort"},
	} {
		c := zconf.Default()
		tc.edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s: err %v, want one naming %s", tc.name, err, tc.key)
		}
	}
}
