package zconf

import (
	"fmt"
	"strings"
)

// DefaultKcpInterval is KcpInterval's default, in milliseconds. KCP's own
// default is 10 ms; docs/performance.md ("KCP") has the measurement that
// chose this one.
const DefaultKcpInterval = 10

// transports is what Mode serves.
type transports struct{ tcp, ws, kcp bool }

// transports parses Mode: one of the modes, or a comma-separated list.
func (c Config) transports() (transports, error) {
	var t transports
	mode := c.Mode
	if mode == "" {
		mode = ModeTCP
	}
	for _, part := range strings.Split(mode, ",") {
		switch strings.TrimSpace(part) {
		case ModeTCP:
			t.tcp = true
		case ModeWebSocket:
			t.ws = true
		case ModeBoth:
			t.tcp, t.ws = true, true
		case ModeKCP:
			t.kcp = true
		default:
			return transports{}, fmt.Errorf("zconf: Mode = %q: must be one of %q, or a comma-separated list of them such as \"tcp,kcp\"",
				c.Mode, []string{ModeTCP, ModeWebSocket, ModeBoth, ModeKCP})
		}
	}
	return t, nil
}

// validateKCP checks the KCP keys (c has its defaults).
func (c Config) validateKCP() []error {
	var errs []error
	in := func(key string, v, lo, hi int) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("zconf: %s = %d: must be between %d and %d", key, v, lo, hi))
		}
	}
	if c.KcpPort != FreePort {
		in("KcpPort", c.KcpPort, 1, 65535)
	}
	if c.KcpNoDelay != Off {
		in("KcpNoDelay", c.KcpNoDelay, 1, 1)
	}
	in("KcpInterval", c.KcpInterval, 10, 5000)
	if c.KcpResend != Off {
		in("KcpResend", c.KcpResend, 1, 100)
	}
	if c.KcpNc != Off {
		in("KcpNc", c.KcpNc, 1, 1)
	}
	in("KcpSendWindow", c.KcpSendWindow, 1, 32768)
	in("KcpRecvWindow", c.KcpRecvWindow, 1, 32768)
	in("KcpMTU", c.KcpMTU, 576, 1500)
	in("KcpFecDataShards", c.KcpFecDataShards, 0, 128)
	in("KcpFecParityShards", c.KcpFecParityShards, 0, 128)
	if (c.KcpFecDataShards == 0) != (c.KcpFecParityShards == 0) {
		errs = append(errs, fmt.Errorf("zconf: KcpFecDataShards = %d, KcpFecParityShards = %d: set both or neither",
			c.KcpFecDataShards, c.KcpFecParityShards))
	}
	in("KcpSocketBuffer", c.KcpSocketBuffer, 64<<10, 256<<20)
	return errs
}

// KCP is the KCP settings with Off resolved to what the library takes:
// nodelay, resend and nc as 0 or 1 (resend as a count). Safe for
// concurrent use (it works on a copy).
func (c Config) KCP() KCPSettings {
	c = c.WithDefaults()
	on := func(v int) int {
		if v == Off {
			return 0
		}
		return v
	}
	return KCPSettings{
		NoDelay: on(c.KcpNoDelay), Interval: c.KcpInterval, Resend: on(c.KcpResend), NoCongestion: on(c.KcpNc),
		SendWindow: c.KcpSendWindow, RecvWindow: c.KcpRecvWindow, MTU: c.KcpMTU,
		DataShards: c.KcpFecDataShards, ParityShards: c.KcpFecParityShards,
		ACKNoDelay: c.KcpACKNoDelay, SocketBuffer: c.KcpSocketBuffer,
	}
}

// KCPSettings is a session's KCP settings, as kcp-go's setters take them.
type KCPSettings struct {
	NoDelay, Interval, Resend, NoCongestion int
	SendWindow, RecvWindow, MTU             int
	DataShards, ParityShards                int
	ACKNoDelay                              bool
	SocketBuffer                            int
}
