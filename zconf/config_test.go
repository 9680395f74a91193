package zconf_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/zconf"
)

func TestDefaultValues(t *testing.T) {
	want := zconf.Config{
		Name:                "zinxgame",
		Version:             "v1.0",
		Host:                "0.0.0.0",
		TcpPort:             8999,
		Mode:                zconf.ModeTCP,
		WsPort:              9000,
		WsPath:              "/",
		TLSMinVersion:       "1.2",
		MaxConn:             12000,
		MaxPackageSize:      4096,
		WorkerPoolSize:      10,
		MaxWorkerTaskLen:    1024,
		MaxMsgChanLen:       1024,
		MaxQueuedBytes:      256 << 20,
		IOReadBuffSize:      4096,
		Framing:             zconf.FramingLE,
		BlockingPoolSize:    256,
		WriteTimeout:        5 * time.Second,
		HeartbeatTimeout:    60 * time.Second,
		FirstMessageTimeout: 10 * time.Second,
		PingMsgID:           65534,
		ShutdownTimeout:     10 * time.Second,
		NoticeMsgID:         65535,
		ReconnectAfter:      5 * time.Second,
		ServerPingMsgID:     65533,
		MsgRatePolicy:       zconf.RateDrop,
		ConnRatePerIP:       20,
		ConnRateExempt:      []string{"127.0.0.0/8", "::1/128"},
		ProxyProtocol:       zconf.ProxyOff,
		HandshakeTimeout:    10 * time.Second,
		KcpPort:             9001,
		KcpNoDelay:          1,
		KcpInterval:         zconf.DefaultKcpInterval,
		KcpResend:           2,
		KcpNc:               1,
		KcpSendWindow:       256,
		KcpRecvWindow:       256,
		KcpMTU:              1400,
		KcpSocketBuffer:     4 << 20,
		LogLevel:            "info",
		LogFormat:           "text",
	}
	if got := zconf.Default(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Default() = %+v\nwant        %+v", got, want)
	}
}

func TestDefaultValidates(t *testing.T) {
	if err := zconf.Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v, want nil", err)
	}
}

func TestFramingConstants(t *testing.T) {
	if zconf.FramingLE != "le" || zconf.FramingBE != "be" {
		t.Fatalf("FramingLE, FramingBE = %q, %q; want \"le\", \"be\"", zconf.FramingLE, zconf.FramingBE)
	}
}

// allKeys are the key names Validate may report.
var allKeys = []string{
	"Name", "TcpPort", "MaxConn", "MaxPackageSize", "WorkerPoolSize",
	"MaxWorkerTaskLen", "MaxMsgChanLen", "MaxSendQueueBytes", "MaxQueuedBytes", "IOReadBuffSize", "Framing",
	"BlockingPoolSize", "WriteTimeout", "FlushDelay", "ShutdownTimeout", "MsgRateLimit", "MsgRateBurst", "MsgRatePolicy",
	"ConnRatePerIP", "ConnRateExempt", "ServerPingMsgID", "ServerPingInterval", "AdminAddr", "LogLevel", "LogFormat",
	"TLSCertFile", "TLSKeyFile", "TLSMinVersion", "TrustedProxies", "ProxyProtocol", "HandshakeTimeout",
}

func TestValidateRejectsEachBadValue(t *testing.T) {
	tests := []struct {
		name   string
		key    string // the key the error must name
		mutate func(*zconf.Config)
		want   []string // substrings of the message: key = value, range
	}{
		{"TcpPort too big", "TcpPort", func(c *zconf.Config) { c.TcpPort = 70000 },
			[]string{"TcpPort = 70000", "between 1 and 65535, or -1 for a free port"}},
		{"TcpPort below -1", "TcpPort", func(c *zconf.Config) { c.TcpPort = -2 },
			[]string{"TcpPort = -2", "between 1 and 65535, or -1 for a free port"}},
		{"WsPort below -1", "WsPort", func(c *zconf.Config) { c.WsPort = -2 },
			[]string{"WsPort = -2", "between 1 and 65535, or -1 for a free port"}},
		{"MaxConn negative", "MaxConn", func(c *zconf.Config) { c.MaxConn = -1 },
			[]string{"MaxConn = -1", "between 1 and 10000000"}},
		{"MaxConn too big", "MaxConn", func(c *zconf.Config) { c.MaxConn = 10_000_001 },
			[]string{"MaxConn = 10000001", "between 1 and 10000000"}},
		{"MaxPackageSize negative", "MaxPackageSize", func(c *zconf.Config) { c.MaxPackageSize = -1 },
			[]string{"MaxPackageSize = -1", "between 1 and 67108864"}},
		{"MaxPackageSize over 64MiB", "MaxPackageSize", func(c *zconf.Config) { c.MaxPackageSize = 64<<20 + 1 },
			[]string{"MaxPackageSize = 67108865", "between 1 and 67108864"}},
		{"WorkerPoolSize below -1", "WorkerPoolSize", func(c *zconf.Config) { c.WorkerPoolSize = -2 },
			[]string{"WorkerPoolSize = -2", "between 1 and 4096, or -1 to run handlers on the reader"}},
		{"WorkerPoolSize too big", "WorkerPoolSize", func(c *zconf.Config) { c.WorkerPoolSize = 4097 },
			[]string{"WorkerPoolSize = 4097", "between 1 and 4096"}},
		{"MaxWorkerTaskLen negative", "MaxWorkerTaskLen", func(c *zconf.Config) { c.MaxWorkerTaskLen = -1 },
			[]string{"MaxWorkerTaskLen = -1", "between 1 and 1048576"}},
		{"MaxMsgChanLen negative", "MaxMsgChanLen", func(c *zconf.Config) { c.MaxMsgChanLen = -1 },
			[]string{"MaxMsgChanLen = -1", "between 1 and 1048576"}},
		{"MaxSendQueueBytes under one frame", "MaxSendQueueBytes", func(c *zconf.Config) { c.MaxSendQueueBytes = 4000 },
			[]string{"MaxSendQueueBytes = 4000", "between 4104 and 1073741824, or negative"}},
		{"MaxQueuedBytes tiny", "MaxQueuedBytes", func(c *zconf.Config) { c.MaxQueuedBytes = 1000 },
			[]string{"MaxQueuedBytes = 1000", "between 65536 and 1099511627776, or negative"}},
		{"IOReadBuffSize too small", "IOReadBuffSize", func(c *zconf.Config) { c.IOReadBuffSize = 100 },
			[]string{"IOReadBuffSize = 100", "between 512 and 16777216"}},
		{"IOReadBuffSize too big", "IOReadBuffSize", func(c *zconf.Config) { c.IOReadBuffSize = 16<<20 + 1 },
			[]string{"IOReadBuffSize = 16777217", "between 512 and 16777216"}},
		{"Framing unknown", "Framing", func(c *zconf.Config) { c.Framing = "xx" },
			[]string{`Framing = "xx"`, `must be one of ["le" "be"]`}},
		{"Framing is case-sensitive", "Framing", func(c *zconf.Config) { c.Framing = "LE" },
			[]string{`Framing = "LE"`, `["le" "be"]`}},
		{"BlockingPoolSize negative", "BlockingPoolSize", func(c *zconf.Config) { c.BlockingPoolSize = -1 },
			[]string{"BlockingPoolSize = -1", "between 1 and 100000"}},
		{"WriteTimeout negative (cannot be turned off)", "WriteTimeout", func(c *zconf.Config) { c.WriteTimeout = -time.Millisecond },
			[]string{"WriteTimeout = -1ms", "between 1ms and 10m0s"}},
		{"WriteTimeout too long", "WriteTimeout", func(c *zconf.Config) { c.WriteTimeout = 11 * time.Minute },
			[]string{"WriteTimeout = 11m0s", "between 1ms and 10m0s"}},
		{"MsgRateLimit negative", "MsgRateLimit", func(c *zconf.Config) { c.MsgRateLimit = -1 },
			[]string{"MsgRateLimit = -1", "between 0 and 1000000"}},
		{"MsgRatePolicy unknown", "MsgRatePolicy", func(c *zconf.Config) { c.MsgRatePolicy = "ignore" },
			[]string{`MsgRatePolicy = "ignore"`, "drop", "disconnect"}},
		{"ConnRatePerIP below -1", "ConnRatePerIP", func(c *zconf.Config) { c.ConnRatePerIP = -2 },
			[]string{"ConnRatePerIP = -2", "between 1 and 1000000, or -1 to turn it off"}},
		{"ConnRateExempt not CIDR", "ConnRateExempt", func(c *zconf.Config) { c.ConnRateExempt = []string{"10.0.0.1"} },
			[]string{`ConnRateExempt: bad network "10.0.0.1"`}},
		{"TrustedProxies not CIDR", "TrustedProxies", func(c *zconf.Config) { c.TrustedProxies = []string{"10.0.0.1"} },
			[]string{`TrustedProxies: bad network "10.0.0.1"`}},
		{"ProxyProtocol unknown", "ProxyProtocol", func(c *zconf.Config) { c.ProxyProtocol = "on" },
			[]string{`ProxyProtocol = "on"`, `["off" "optional" "required"]`}},
		{"ProxyProtocol without TrustedProxies", "ProxyProtocol", func(c *zconf.Config) { c.ProxyProtocol = zconf.ProxyRequired },
			[]string{`ProxyProtocol = "required"`, "needs TrustedProxies"}},
		{"HandshakeTimeout negative", "HandshakeTimeout", func(c *zconf.Config) { c.HandshakeTimeout = -time.Second },
			[]string{"HandshakeTimeout = -1s", "between 0s and 10m0s"}},
		{"HandshakeTimeout too long", "HandshakeTimeout", func(c *zconf.Config) { c.HandshakeTimeout = time.Hour },
			[]string{"HandshakeTimeout = 1h0m0s", "between 0s and 10m0s"}},
		{"ServerPingMsgID clashes", "ServerPingMsgID", func(c *zconf.Config) {
			c.ServerPingInterval, c.ServerPingMsgID = time.Second, c.PingMsgID
		}, []string{"ServerPingMsgID = 65534", "must differ"}},
		{"ServerPingMsgID is MsgIDOff", "ServerPingMsgID", func(c *zconf.Config) { c.ServerPingMsgID = zconf.MsgIDOff },
			[]string{"ServerPingMsgID = 4294967295", "reserved"}},
		{"AdminAddr no port", "AdminAddr", func(c *zconf.Config) { c.AdminAddr = "localhost" },
			[]string{`AdminAddr = "localhost"`, "host:port"}},
		{"FlushDelay negative", "FlushDelay", func(c *zconf.Config) { c.FlushDelay = -time.Millisecond },
			[]string{"FlushDelay = -1ms", "between 0s and 1s"}},
		{"FlushDelay too long", "FlushDelay", func(c *zconf.Config) { c.FlushDelay = 2 * time.Second },
			[]string{"FlushDelay = 2s", "between 0s and 1s"}},
		{"ShutdownTimeout too long", "ShutdownTimeout", func(c *zconf.Config) { c.ShutdownTimeout = time.Hour + 1 },
			[]string{"ShutdownTimeout = 1h0m0.000000001s", "at most 1h0m0s (negative turns it off)"}},
		{"HeartbeatTimeout too long", "HeartbeatTimeout", func(c *zconf.Config) { c.HeartbeatTimeout = 25 * time.Hour },
			[]string{"HeartbeatTimeout = 25h0m0s", "at most 24h0m0s"}},
		{"LogLevel unknown", "LogLevel", func(c *zconf.Config) { c.LogLevel = "loud" },
			[]string{`LogLevel = "loud"`, `must be one of ["debug" "info" "warn" "error"]`}},
		{"LogFormat unknown", "LogFormat", func(c *zconf.Config) { c.LogFormat = "xml" },
			[]string{`LogFormat = "xml"`, `must be one of ["text" "json"]`}},
		{"TLS certificate without key", "TLSKeyFile", func(c *zconf.Config) { c.TLSCertFile = "cert.pem" },
			[]string{`TLSKeyFile = ""`, `must be set when TLSCertFile is ("cert.pem")`}},
		{"TLS key without certificate", "TLSCertFile", func(c *zconf.Config) { c.TLSKeyFile = "key.pem" },
			[]string{`TLSCertFile = ""`, `must be set when TLSKeyFile is ("key.pem")`}},
		{"TLSMinVersion 1.1", "TLSMinVersion", func(c *zconf.Config) { c.TLSMinVersion = "1.1" },
			[]string{`TLSMinVersion = "1.1"`, `must be one of ["1.2" "1.3"]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := zconf.Default()
			tt.mutate(&c)
			err := c.Validate()
			if err == nil {
				t.Fatalf("Validate() = nil, want an error naming %s", tt.key)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if !strings.HasPrefix(msg, "zconf: ") {
				t.Errorf("error %q lacks the zconf: prefix", msg)
			}
			if n := strings.Count(msg, "\n") + 1; n != 1 {
				t.Errorf("error has %d lines, want exactly 1 for one bad value: %q", n, msg)
			}
			for _, other := range allKeys {
				if other == tt.key {
					continue
				}
				if strings.Contains(msg, other+" = ") {
					t.Errorf("error %q also names the valid key %s", msg, other)
				}
			}
		})
	}
}

func TestValidateAcceptsBoundaries(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*zconf.Config)
	}{
		{"TcpPort 0 (the default)", func(c *zconf.Config) { c.TcpPort = 0 }},
		{"TcpPort -1 (free port)", func(c *zconf.Config) { c.TcpPort = zconf.FreePort }},
		{"TcpPort 1", func(c *zconf.Config) { c.TcpPort = 1 }},
		{"TcpPort 65535", func(c *zconf.Config) { c.TcpPort = 65535 }},
		{"MaxConn 1", func(c *zconf.Config) { c.MaxConn = 1 }},
		{"MaxConn 10M", func(c *zconf.Config) { c.MaxConn = 10_000_000 }},
		{"MaxPackageSize 1", func(c *zconf.Config) { c.MaxPackageSize = 1 }},
		{"MaxPackageSize 64MiB", func(c *zconf.Config) { c.MaxPackageSize = 64 << 20 }},
		{"WorkerPoolSize 0 (the default)", func(c *zconf.Config) { c.WorkerPoolSize = 0 }},
		{"WorkerPoolSize -1 (no pool)", func(c *zconf.Config) { c.WorkerPoolSize = zconf.Off }},
		{"WorkerPoolSize 1", func(c *zconf.Config) { c.WorkerPoolSize = 1 }},
		{"WorkerPoolSize 4096", func(c *zconf.Config) { c.WorkerPoolSize = 4096 }},
		{"MaxWorkerTaskLen 1", func(c *zconf.Config) { c.MaxWorkerTaskLen = 1 }},
		{"MaxWorkerTaskLen 1Mi", func(c *zconf.Config) { c.MaxWorkerTaskLen = 1 << 20 }},
		{"MaxMsgChanLen 1Mi", func(c *zconf.Config) { c.MaxMsgChanLen = 1 << 20 }},
		{"IOReadBuffSize 512", func(c *zconf.Config) { c.IOReadBuffSize = 512 }},
		{"IOReadBuffSize 16MiB", func(c *zconf.Config) { c.IOReadBuffSize = 16 << 20 }},
		{"Framing be", func(c *zconf.Config) { c.Framing = zconf.FramingBE }},
		{"BlockingPoolSize 100000", func(c *zconf.Config) { c.BlockingPoolSize = 100_000 }},
		{"WriteTimeout 1ms", func(c *zconf.Config) { c.WriteTimeout = time.Millisecond }},
		{"WriteTimeout 10m", func(c *zconf.Config) { c.WriteTimeout = 10 * time.Minute }},
		{"FlushDelay 1s", func(c *zconf.Config) { c.FlushDelay = time.Second }},
		{"ShutdownTimeout 0 (the default)", func(c *zconf.Config) { c.ShutdownTimeout = 0 }},
		{"ShutdownTimeout negative (no wait)", func(c *zconf.Config) { c.ShutdownTimeout = -time.Hour * 1000 }},
		{"ShutdownTimeout 1h", func(c *zconf.Config) { c.ShutdownTimeout = time.Hour }},
		{"NoticeMsgID 0 (the default)", func(c *zconf.Config) { c.NoticeMsgID = 0 }},
		{"PingMsgID off", func(c *zconf.Config) { c.PingMsgID = zconf.MsgIDOff }},
		{"HeartbeatTimeout negative (off)", func(c *zconf.Config) { c.HeartbeatTimeout = zconf.Disabled }},
		{"FirstMessageTimeout negative (off)", func(c *zconf.Config) { c.FirstMessageTimeout = -time.Second }},
		{"ReconnectAfter negative (no hint)", func(c *zconf.Config) { c.ReconnectAfter = zconf.Disabled }},
		{"ServerPingInterval negative (off)", func(c *zconf.Config) { c.ServerPingInterval = zconf.Disabled }},
		{"ConnRatePerIP -1 (off)", func(c *zconf.Config) { c.ConnRatePerIP = zconf.Off }},
		{"ConnRateExempt empty (none)", func(c *zconf.Config) { c.ConnRateExempt = []string{} }},
		{"Name, Mode, TLSMinVersion empty (the defaults)", func(c *zconf.Config) { c.Name, c.Mode, c.TLSMinVersion = "", "", "" }},
		{"LogLevel debug", func(c *zconf.Config) { c.LogLevel = "debug" }},
		{"LogLevel warn", func(c *zconf.Config) { c.LogLevel = "warn" }},
		{"LogLevel error", func(c *zconf.Config) { c.LogLevel = "error" }},
		{"LogFormat json", func(c *zconf.Config) { c.LogFormat = "json" }},
		{"Host and Version empty", func(c *zconf.Config) { c.Host, c.Version = "", "" }},
		// Validate reads no files: NewTLSConfig does, when the server starts.
		{"TLS files both set, not read", func(c *zconf.Config) { c.TLSCertFile, c.TLSKeyFile = "/nonexistent/c", "/nonexistent/k" }},
		{"TLSMinVersion 1.3", func(c *zconf.Config) { c.TLSMinVersion = zconf.TLS13 }},
		{"ProxyProtocol empty (off)", func(c *zconf.Config) { c.ProxyProtocol = "" }},
		{"ProxyProtocol optional with a trusted network", func(c *zconf.Config) {
			c.ProxyProtocol, c.TrustedProxies = zconf.ProxyOptional, []string{"10.0.0.0/8", "fd00::/8"}
		}},
		{"HandshakeTimeout 0 (default)", func(c *zconf.Config) { c.HandshakeTimeout = 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := zconf.Default()
			tt.mutate(&c)
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
		})
	}
}

func TestValidateReportsAllBadValuesTogether(t *testing.T) {
	c := zconf.Default()
	c.TcpPort = 70000
	c.MaxConn = -1
	c.Framing = "xx"
	c.WriteTimeout = -1
	c.LogFormat = "xml"
	c.WsPath = "game"
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate() = nil, want errors")
	}
	msg := err.Error()
	want := []string{
		"TcpPort = 70000: must be between 1 and 65535",
		`WsPath = "game"`,
		"MaxConn = -1: must be between 1 and 10000000",
		`Framing = "xx"`,
		"WriteTimeout = -1ns: must be between 1ms and 10m0s",
		`LogFormat = "xml"`,
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not contain %q", msg, w)
		}
	}
	if n := strings.Count(msg, "\n") + 1; n != len(want) {
		t.Errorf("error has %d lines, want %d (one per bad value): %q", n, len(want), msg)
	}
	// errors.Join: each cause is reachable on its own.
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("error %T does not unwrap to several errors", err)
	}
	if n := len(joined.Unwrap()); n != len(want) {
		t.Errorf("Unwrap() gives %d errors, want %d", n, len(want))
	}
}

func TestNewLogger(t *testing.T) {
	tests := []struct {
		name      string
		level     string
		format    string
		log       func(*testing.T, *bytes.Buffer)
		wantLines int
	}{
		{"info shows info, hides debug", "info", "text", nil, 3},
		{"warn hides info", "warn", "text", nil, 2},
		{"error hides warn", "error", "text", nil, 1},
		{"debug shows debug", "debug", "text", nil, 4},
		{"unknown level falls back to info", "loud", "text", nil, 3},
		{"json warn hides info", "warn", "json", nil, 2},
		{"json debug", "debug", "json", nil, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := zconf.Default()
			c.Name = "srv-1"
			c.LogLevel = tt.level
			c.LogFormat = tt.format
			var buf bytes.Buffer
			l := c.NewLogger(&buf)
			l.Debug("m-debug")
			l.Info("m-info")
			l.Warn("m-warn")
			l.Error("m-error")
			out := strings.TrimRight(buf.String(), "\n")
			var lines []string
			if out != "" {
				lines = strings.Split(out, "\n")
			}
			if len(lines) != tt.wantLines {
				t.Fatalf("got %d lines, want %d:\n%s", len(lines), tt.wantLines, buf.String())
			}
			all := []string{"m-debug", "m-info", "m-warn", "m-error"}
			shown := all[len(all)-tt.wantLines:]
			for i, line := range lines {
				if !strings.Contains(line, shown[i]) {
					t.Errorf("line %d = %q, want it to contain %q", i, line, shown[i])
				}
				if tt.format == "json" {
					var rec map[string]any
					if err := json.Unmarshal([]byte(line), &rec); err != nil {
						t.Fatalf("line %q is not JSON: %v", line, err)
					}
					if rec["msg"] != shown[i] {
						t.Errorf("msg = %v, want %q", rec["msg"], shown[i])
					}
					if rec["server"] != "srv-1" {
						t.Errorf("server = %v, want %q", rec["server"], "srv-1")
					}
				} else {
					if json.Valid([]byte(line)) {
						t.Errorf("text format produced JSON: %q", line)
					}
					if !strings.Contains(line, "server=srv-1") {
						t.Errorf("line %q lacks server=srv-1", line)
					}
					if !strings.Contains(line, "msg="+shown[i]) {
						t.Errorf("line %q lacks msg=%s", line, shown[i])
					}
				}
			}
		})
	}
}

func TestNewLoggerJSONLevelField(t *testing.T) {
	c := zconf.Default()
	c.LogFormat = "json"
	var buf bytes.Buffer
	c.NewLogger(&buf).Info("hello", "k", 42)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("output %q is not one JSON object: %v", buf.String(), err)
	}
	if rec["level"] != "INFO" || rec["msg"] != "hello" || rec["k"] != float64(42) || rec["server"] != "zinxgame" {
		t.Fatalf("record = %v, want level INFO, msg hello, k 42, server zinxgame", rec)
	}
	if !bytes.HasSuffix(buf.Bytes(), []byte("\n")) {
		t.Errorf("JSON record %q is not newline-terminated", buf.String())
	}
}

func TestMemoryBoundsZeroMeansDefault(t *testing.T) {
	if got := (zconf.Config{}).QueuedBytesLimit(); got != 256<<20 {
		t.Errorf("Config{}.QueuedBytesLimit() = %d, want 256 MiB", got)
	}
	c := zconf.Default()
	if got := c.SendQueueLimit(); got != 4<<20 {
		t.Errorf("SendQueueLimit() = %d, want 4 MiB", got)
	}
	if got := c.QueuedBytesLimit(); got != 256<<20 {
		t.Errorf("QueuedBytesLimit() = %d, want 256 MiB", got)
	}
	c.MaxPackageSize = 4 << 20 // four of the largest frames outgrow 4 MiB
	if got := c.SendQueueLimit(); got != 4*(4<<20+8) {
		t.Errorf("SendQueueLimit() with 4 MiB packets = %d, want four frames", got)
	}
	c.MaxSendQueueBytes, c.MaxQueuedBytes = -1, -1
	if c.SendQueueLimit() != 0 || c.QueuedBytesLimit() != 0 {
		t.Errorf("negative: limits %d, %d, want 0 (off)", c.SendQueueLimit(), c.QueuedBytesLimit())
	}
	c.MaxSendQueueBytes, c.MaxQueuedBytes = 5<<20, 1<<30
	if c.SendQueueLimit() != 5<<20 || c.QueuedBytesLimit() != 1<<30 {
		t.Errorf("set: limits %d, %d, want the values", c.SendQueueLimit(), c.QueuedBytesLimit())
	}
}
