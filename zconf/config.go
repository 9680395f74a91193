// Package zconf is zinxgame's configuration: a typed Config with defaults and
// validation, loaded from a Zinx-style JSON file, ZINX_* environment
// variables and explicit overrides (see Load). A Config is a plain value
// handed to znet.NewServer; nothing here is global.
package zconf

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path"
	"strings"
	"time"
)

// Transport modes.
const (
	ModeTCP       = "tcp"
	ModeWebSocket = "websocket"
	ModeBoth      = "both"
	// ModeKCP serves KCP (reliable UDP, Zinx's Mode "kcp") on KcpPort. The
	// modes combine with commas: "tcp,kcp" serves both, so a client can
	// move between them mid-session.
	ModeKCP = "kcp"
)

// Rate-limit policies (MsgRatePolicy).
const (
	RateDrop       = "drop"
	RateDisconnect = "disconnect"
)

// PROXY protocol modes (ProxyProtocol).
const (
	ProxyOff      = "off"
	ProxyOptional = "optional"
	ProxyRequired = "required"
)

// Framing names a wire layout. Both have an 8-byte head.
const (
	// FramingLE is Zinx's original layout: [DataLen uint32 LE][MsgID uint32 LE][Data].
	// The Zinx tutorial and its MMO demo clients use it.
	FramingLE = "le"
	// FramingBE is newer Zinx releases' default: [MsgID uint32 BE][DataLen uint32 BE][Data].
	FramingBE = "be"
)

// TLS versions for TLSMinVersion.
const (
	TLS12 = "1.2"
	TLS13 = "1.3"
)

// Config holds every setting of a server or client. The zero value is a
// valid configuration: every zero field means its default (Default; see
// WithDefaults), as each field says. A setting that can be turned off says
// how: a negative duration (Disabled), -1 for a count (Off, FreePort), or
// MsgIDOff for a message ID. Load keeps the meaning a 0 had in a Zinx
// zinx.json (see the fields that mention it).
type Config struct {
	// Name identifies the server in logs. Empty means "zinxgame".
	Name string
	// Version is informational, kept because Zinx configs carry it. Empty
	// means "v1.0".
	Version string
	// Host is the address to listen on. Empty means "0.0.0.0", every
	// interface.
	Host string
	// TcpPort is the TCP port. 0 means 8999; FreePort (-1) lets the system
	// pick a free one (Load maps a 0 given explicitly to FreePort, as Zinx
	// listened on port 0).
	//lint:ignore ST1003 Zinx's name: Zinx configs and code spell it TcpPort
	TcpPort int
	// Mode chooses the transports: "tcp", "websocket", "both" (TCP and
	// WebSocket) or "kcp", or a comma-separated list of them, such as
	// "tcp,kcp" or "both,kcp". Empty means "tcp". In Zinx an empty Mode
	// serves both, so Load maps a Mode given explicitly as "" to "both".
	Mode string
	// WsPort is the WebSocket port. 0 means 9000; FreePort (-1) picks a
	// free one (Load maps an explicit 0 to FreePort).
	WsPort int
	// WsPath is the HTTP path WebSocket clients connect to. Empty means "/".
	WsPath string
	// WsAllowedOrigins lists the Origin patterns (path.Match syntax, such
	// as "https://*.example.com") browsers may connect from. Empty (the
	// default) allows any origin, as native and mini-game clients send
	// none or their own.
	WsAllowedOrigins []string
	// TLSCertFile and TLSKeyFile name a PEM certificate (chain) and its
	// private key. When both are set, the TCP listener serves TLS and the
	// WebSocket listener serves WSS, both with this certificate; both
	// empty (the default) serves plain TCP and WebSocket. Relative paths
	// are relative to the working directory. The files are read by
	// NewTLSConfig, which znet.NewServer calls, so a bad file stops the
	// server before it listens rather than at the first client.
	TLSCertFile string
	TLSKeyFile  string
	// TLSMinVersion is the oldest TLS version accepted: "1.2" or "1.3".
	// Empty means "1.2".
	TLSMinVersion string
	// MaxConn is the most connections served at once; more are refused
	// with a notice. 0 means 12000.
	MaxConn int
	// MaxPackageSize is the largest payload accepted or sent, in bytes. 0
	// means 4096. Zinx's MaxPacketSize is accepted as another name for it.
	MaxPackageSize int
	// WorkerPoolSize is how many handlers may run at once across all
	// connections (each connection's own messages always run one at a time,
	// in order). 0 means 10; Off (-1) runs handlers on each connection's
	// reader goroutine, with no pool. Load maps an explicit 0 to Off, as
	// Zinx's WorkerPoolSize 0 meant no pool.
	WorkerPoolSize int
	// MaxWorkerTaskLen bounds each connection's queue of received messages
	// waiting for a worker. When it is full the connection's reader waits,
	// which pushes back on that client only. 0 means 1024.
	MaxWorkerTaskLen int
	// MaxMsgChanLen bounds each connection's queue of packets waiting to be
	// written. A client that lets it fill is disconnected. Frames held back
	// only by FlushDelay, never offered to the socket yet, do not count
	// here (MaxSendQueueBytes bounds them): the delay is the server's
	// choice, not the client's slowness. 0 means 1024.
	MaxMsgChanLen int
	// MaxSendQueueBytes bounds the bytes each connection's send queue holds
	// (queued and being written), besides MaxMsgChanLen's frames; a client
	// that lets it fill is disconnected at once, and what was queued for
	// it is dropped. While half of it is held, no more of that client's
	// requests are read. 0 means 4 MiB, or four of the largest frames (4 ×
	// (MaxPackageSize + 8)) if that is more; Off (-1, or any negative)
	// turns the byte bound off (frames only). SendQueueLimit resolves it.
	MaxSendQueueBytes int
	// MaxQueuedBytes caps the memory (RSS) the server spends on what it
	// holds for all clients together: every send queue, and the received
	// messages waiting for a handler. A Go heap takes several times its
	// live data (the collector's 1 + GOGC/100, and more under an attack's
	// allocation rate), so the bytes themselves are capped at a quarter of
	// it at the default GOGC (znet's heldLimit; Stats.QueuedBytesLimit).
	// Over that, the connections holding the most are closed (stats
	// OverBudgetCuts) until the rest hold under 15/16 of it, so a crowd of
	// clients that do not read cannot take the server's memory. 0 means
	// 256 MiB; Off (-1, or any negative) turns it off. QueuedBytesLimit
	// resolves it.
	MaxQueuedBytes int64
	// IOReadBuffSize is the read buffer per connection, in bytes. 0 means
	// 4096.
	IOReadBuffSize int
	// Framing selects the wire layout: "le" (Zinx's original) or "be".
	// Empty means "le".
	Framing string
	// BlockingPoolSize is the number of goroutines for IConnection.Async
	// work. 0 means 256.
	BlockingPoolSize int
	// WriteTimeout bounds one write to a client; a client that does not
	// read for that long is disconnected. 0 means 5s. It cannot be turned
	// off: a client that never reads would hold its queue forever.
	WriteTimeout time.Duration
	// FlushDelay is how long frames queued from outside a connection's own
	// handlers (broadcasts, pushes from other players' handlers) wait for
	// more before they are written; 0 (the default) writes them at once.
	// Replies from the connection's own handlers always leave at the end
	// of their batch. When one event fans out to many players, a few
	// milliseconds here turn many small writes into one, which saves more
	// CPU (the server's and the clients') than it costs in latency.
	FlushDelay time.Duration
	// HeartbeatTimeout closes a connection that sends no message for this
	// long. 0 means 60s; a negative duration turns it off (Load maps an
	// explicit "0s" to off). Clients keep alive with any message, or with
	// PingMsgID.
	HeartbeatTimeout time.Duration
	// FirstMessageTimeout closes a connection that has not sent one whole
	// message this long after connecting (slowloris: silence or half a
	// head). 0 means 10s; a negative duration turns it off (Load maps an
	// explicit "0s" to off).
	FirstMessageTimeout time.Duration
	// PingMsgID is answered by the framework itself, with the same ID and
	// payload, without reaching any router. 0 means 65534; MsgIDOff turns
	// it off (so does -1 in a file or the environment, and Load maps an
	// explicit 0 to off).
	PingMsgID uint32
	// ShutdownTimeout bounds a graceful shutdown started by Stop or Run
	// (Shutdown takes its bound from its context) and a Client's Close,
	// and the wait for Async work at their end. 0 means 10s; a negative duration closes the remaining
	// connections at once (Load maps an explicit "0s" to that).
	ShutdownTimeout time.Duration
	// NoticeMsgID is the message ID of server notices (refusals, kicks,
	// shutdown): a JSON payload {"code","reason"} the client can show. 0
	// means 65535. Message ID 0 cannot carry notices (Zinx applications
	// route it), so Load refuses an explicit 0.
	NoticeMsgID uint32
	// ReconnectAfter is the hint sent with the shutdown notice: how long
	// clients should wait before reconnecting (a restart's downtime). 0
	// means 5s; a negative duration sends no hint (Load maps an explicit
	// "0s" to that).
	ReconnectAfter time.Duration

	// ServerPingInterval makes the server send a ping (ServerPingMsgID,
	// payload: the server's send time, 8 bytes) to every connection this
	// often, for clients that expect the server to probe them; 0 (the
	// default) or a negative duration turns it off. Clients echo it back;
	// the echo is taken by the framework as the pong (round-trip time goes
	// to the metrics), never routed, and never answered, so a client that
	// echoes everything cannot start a loop.
	ServerPingInterval time.Duration
	// ServerPingMsgID is the message ID of server-sent pings. 0 means
	// 65533; Load refuses an explicit 0, as for NoticeMsgID.
	ServerPingMsgID uint32

	// MsgRateLimit is each connection's allowed inbound messages per
	// second (a token bucket of MsgRateBurst); 0 (the default) turns it
	// off.
	MsgRateLimit float64
	// MsgRateBurst is the bucket size: messages a connection may send at
	// once after being quiet; 0 (the default) means MsgRateLimit rounded
	// up.
	MsgRateBurst int
	// MsgRatePolicy is what happens to a message over the limit: "drop"
	// (counted; the client gets one rate_limited notice) or "disconnect"
	// (the client gets the notice, then the connection closes). Empty
	// means "drop".
	MsgRatePolicy string
	// ConnRatePerIP is how many new connections one IP address may open per
	// minute (a token bucket with that burst). 0 means 20; Off (-1) turns
	// it off (Load maps an explicit 0 to Off). Refused clients get a
	// rate_limited notice before the close.
	ConnRatePerIP int
	// ConnRateExempt lists the networks (CIDR) the per-IP limit does not
	// apply to, matched against the client's real address when a trusted
	// proxy names it (TrustedProxies). Nil means loopback (127.0.0.0/8 and
	// ::1/128): local bots and load tools, and a local proxy that does not
	// name clients (with TrustedProxies set, such a proxy should, and
	// loopback can be limited too). An empty list that is not nil ([] in a
	// file, an empty ZINX_CONNRATEEXEMPT) exempts nothing.
	ConnRateExempt []string

	// TrustedProxies lists the networks (CIDR) of the load balancers and
	// proxies in front of the server. Only a peer inside one may say who the
	// client really is: with a PROXY protocol header on TCP (ProxyProtocol)
	// or an X-Forwarded-For header on the WebSocket upgrade. The real
	// address then stands for the client everywhere: RemoteAddr, logs and
	// ConnRatePerIP (and ConnRateExempt applies to it). Empty, the default,
	// trusts nobody: X-Forwarded-For is ignored and ProxyProtocol must be
	// off.
	TrustedProxies []string
	// ProxyProtocol reads a PROXY protocol header (v1 or v2, as sent by
	// HAProxy, AWS NLB, nginx stream) on the TCP listener: "off" (the
	// default; "" means off) reads none; "optional" reads one from peers in
	// TrustedProxies when they send it, serves other peers directly and
	// closes a peer outside TrustedProxies that sends one; "required"
	// serves only peers in TrustedProxies that send one (a LOCAL header,
	// the proxy's own health check, keeps the proxy's address) and closes
	// every other connection. ListenAndServe reads the header before any
	// TLS handshake; Serve(l) reads it from l's connections, so l must
	// not be a TLS listener then.
	ProxyProtocol string
	// HandshakeTimeout bounds what comes before a connection is a session:
	// on the WebSocket port, the whole HTTP exchange from accept to the
	// upgrade (TLS handshake, request, response), so HTTP that never
	// upgrades is closed; on the TCP port, reading the PROXY header and
	// the TLS handshake. 0 means the default, 10s; it cannot be turned off.
	HandshakeTimeout time.Duration

	// NodeID numbers this server among its peers (0-1023): player, room
	// and match IDs embed it, so nodes never issue the same ID. 0 is the
	// default.
	NodeID int

	// AdminAddr is the admin HTTP listener (/metrics, /healthz, /readyz),
	// such as "127.0.0.1:9100"; empty (the default) turns it off.
	AdminAddr string
	// AdminPprof also serves net/http/pprof under /debug/pprof/ on
	// AdminAddr. Keep AdminAddr off the public network when it is on.
	AdminPprof bool
	// AdminToken turns on the operator endpoints under /admin/ on the
	// admin listener (kick, bans, maintenance, broadcast): every request
	// must carry "Authorization: Bearer <AdminToken>". It must be at least
	// MinAdminTokenLen bytes; empty (the default) leaves the operator
	// endpoints unmounted, and /metrics, /healthz and /readyz open as
	// always. It prints and logs as "(set)": it is never written out.
	AdminToken Secret

	// The KCP listener (Mode "kcp"), under Zinx's key names. Client and
	// server must agree on KcpMTU and the FEC shards; the rest is each
	// side's own.
	//
	// KcpPort is the UDP port. 0 means 9001; FreePort (-1) picks a free one
	// (Load maps an explicit 0 to FreePort).
	KcpPort int
	// KcpNoDelay 1 is KCP's nodelay mode: a 30 ms minimum retransmission
	// timeout instead of 100 ms, and backoff by 1.5 instead of 2. 0 means 1;
	// Off (-1) turns it off (Load maps an explicit 0 to Off, as Zinx's 0).
	KcpNoDelay int
	// KcpInterval is KCP's internal clock, in milliseconds (10-5000): how
	// often a session with nothing to send flushes its acknowledgements and
	// checks for retransmissions. 0 means DefaultKcpInterval. Writes are
	// flushed when made, so it does not delay data; it is the idle cost of
	// a session (each tick of it is work for every session).
	KcpInterval int
	// KcpResend is fast retransmission: resend a segment this many later
	// acknowledgements skip. 0 means 2; Off (-1) turns it off (Load maps an
	// explicit 0 to Off).
	KcpResend int
	// KcpNc 1 turns congestion control off, so a loss does not shrink the
	// window: a game sends little, and late data is worse than a little
	// more of it. 0 means 1; Off (-1) turns congestion control on (Load
	// maps an explicit 0 to Off, as Zinx's 0).
	KcpNc int
	// KcpSendWindow and KcpRecvWindow are the windows, in packets
	// (1-32768); 0 means 256. A reconnecting lockstep client's catch-up is
	// the largest burst: its frames beyond the window wait a round trip.
	KcpSendWindow, KcpRecvWindow int
	// KcpMTU is the largest UDP payload sent (576-1500). 0 means 1400.
	KcpMTU int
	// KcpFecDataShards and KcpFecParityShards turn on forward error
	// correction (Reed-Solomon: that many parity packets per that many
	// data packets). 0 (the default) turns it off; set both or neither.
	KcpFecDataShards, KcpFecParityShards int
	// KcpACKNoDelay acknowledges each packet as it arrives instead of at
	// the next flush. Off by default.
	KcpACKNoDelay bool
	// KcpSocketBuffer is the UDP socket's send and receive buffer, in bytes
	// (the kernel caps it at net.core.[rw]mem_max). 0 means 4 MiB: one
	// socket carries every session.
	KcpSocketBuffer int

	// LogLevel is debug, info, warn or error. Empty means info.
	LogLevel string
	// LogFormat is text or json. Empty means text.
	LogFormat string
}

// Default returns the default configuration. The numbers follow Zinx's
// defaults where Zinx has one, so a Zinx user sees familiar behaviour.
func Default() Config {
	return Config{
		Name:                "zinxgame",
		Version:             "v1.0",
		Host:                "0.0.0.0",
		TcpPort:             8999,
		Mode:                ModeTCP,
		WsPort:              9000,
		WsPath:              "/",
		TLSMinVersion:       TLS12,
		MaxConn:             12000,
		MaxPackageSize:      4096,
		WorkerPoolSize:      10,
		MaxWorkerTaskLen:    1024,
		MaxMsgChanLen:       1024,
		MaxQueuedBytes:      DefaultMaxQueuedBytes,
		IOReadBuffSize:      4096,
		Framing:             FramingLE,
		BlockingPoolSize:    256,
		WriteTimeout:        5 * time.Second,
		HeartbeatTimeout:    60 * time.Second,
		FirstMessageTimeout: 10 * time.Second,
		PingMsgID:           65534,
		ShutdownTimeout:     10 * time.Second,
		NoticeMsgID:         65535,
		ReconnectAfter:      5 * time.Second,
		ServerPingMsgID:     65533,
		MsgRatePolicy:       RateDrop,
		ConnRatePerIP:       20,
		ConnRateExempt:      []string{"127.0.0.0/8", "::1/128"},
		ProxyProtocol:       ProxyOff,
		HandshakeTimeout:    DefaultHandshakeTimeout,
		KcpPort:             9001,
		KcpNoDelay:          1,
		KcpInterval:         DefaultKcpInterval,
		KcpResend:           2,
		KcpNc:               1,
		KcpSendWindow:       256,
		KcpRecvWindow:       256,
		KcpMTU:              1400,
		KcpSocketBuffer:     4 << 20,
		LogLevel:            "info",
		LogFormat:           "text",
	}
}

// Validate reports every setting outside its allowed range, naming the key,
// the value and the range. It checks c.WithDefaults(), so a zero field is
// never an error.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	intIn := func(key string, v, lo, hi int) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("zconf: %s = %d: must be between %d and %d", key, v, lo, hi))
		}
	}
	// intOr is a range that also admits one value with a meaning of its
	// own (Off, FreePort).
	intOr := func(key string, v, lo, hi, special int, meaning string) {
		if v != special && (v < lo || v > hi) {
			errs = append(errs, fmt.Errorf("zconf: %s = %d: must be between %d and %d, or %d %s", key, v, lo, hi, special, meaning))
		}
	}
	durIn := func(key string, v, lo, hi time.Duration) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("zconf: %s = %s: must be between %s and %s", key, v, lo, hi))
		}
	}
	// durOff is a duration where any negative value turns the setting off.
	durOff := func(key string, v, hi time.Duration) {
		if v > hi {
			errs = append(errs, fmt.Errorf("zconf: %s = %s: must be at most %s (negative turns it off)", key, v, hi))
		}
	}
	oneOf := func(key, v string, allowed ...string) {
		for _, a := range allowed {
			if v == a {
				return
			}
		}
		errs = append(errs, fmt.Errorf("zconf: %s = %q: must be one of %q", key, v, allowed))
	}
	intOr("TcpPort", c.TcpPort, 1, 65535, FreePort, "for a free port")
	if _, err := c.transports(); err != nil {
		errs = append(errs, err)
	}
	intOr("WsPort", c.WsPort, 1, 65535, FreePort, "for a free port")
	if !strings.HasPrefix(c.WsPath, "/") {
		errs = append(errs, fmt.Errorf("zconf: WsPath = %q: must start with /", c.WsPath))
	}
	for _, o := range c.WsAllowedOrigins {
		if _, err := path.Match(o, ""); err != nil {
			errs = append(errs, fmt.Errorf("zconf: WsAllowedOrigins: bad pattern %q: %w", o, err))
		}
	}
	errs = append(errs, c.validateTLS()...)
	intIn("MaxConn", c.MaxConn, 1, 10_000_000)
	intIn("MaxPackageSize", c.MaxPackageSize, 1, 64<<20)
	intOr("WorkerPoolSize", c.WorkerPoolSize, 1, 4096, Off, "to run handlers on the reader")
	intIn("MaxWorkerTaskLen", c.MaxWorkerTaskLen, 1, 1<<20)
	intIn("MaxMsgChanLen", c.MaxMsgChanLen, 1, 1<<20)
	if q := c.MaxSendQueueBytes; q > 0 && (q < c.MaxPackageSize+8 || q > 1<<30) {
		errs = append(errs, fmt.Errorf("zconf: MaxSendQueueBytes = %d: must be between %d and %d, or negative to turn it off",
			q, c.MaxPackageSize+8, 1<<30))
	}
	if q := c.MaxQueuedBytes; q > 0 && (q < 64<<10 || q > 1<<40) {
		errs = append(errs, fmt.Errorf("zconf: MaxQueuedBytes = %d: must be between %d and %d, or negative to turn it off",
			q, 64<<10, int64(1)<<40))
	}
	intIn("IOReadBuffSize", c.IOReadBuffSize, 512, 16<<20)
	oneOf("Framing", c.Framing, FramingLE, FramingBE)
	intIn("BlockingPoolSize", c.BlockingPoolSize, 1, 100_000)
	durIn("WriteTimeout", c.WriteTimeout, time.Millisecond, 10*time.Minute)
	durIn("FlushDelay", c.FlushDelay, 0, time.Second)
	durOff("HeartbeatTimeout", c.HeartbeatTimeout, 24*time.Hour)
	durOff("FirstMessageTimeout", c.FirstMessageTimeout, time.Hour)
	durOff("ShutdownTimeout", c.ShutdownTimeout, time.Hour)
	durOff("ReconnectAfter", c.ReconnectAfter, 24*time.Hour)
	intIn("NodeID", c.NodeID, 0, 1023)
	durOff("ServerPingInterval", c.ServerPingInterval, time.Hour)
	if c.ServerPingMsgID == MsgIDOff {
		errs = append(errs, fmt.Errorf("zconf: ServerPingMsgID = %d: reserved (MsgIDOff); turn server pings off with ServerPingInterval", c.ServerPingMsgID))
	} else if c.ServerPingInterval > 0 && (c.ServerPingMsgID == c.PingMsgID || c.ServerPingMsgID == c.NoticeMsgID) {
		errs = append(errs, fmt.Errorf("zconf: ServerPingMsgID = %d: must differ from PingMsgID (%d) and NoticeMsgID (%d)",
			c.ServerPingMsgID, c.PingMsgID, c.NoticeMsgID))
	}
	if !(c.MsgRateLimit >= 0 && c.MsgRateLimit <= 1e6) {
		errs = append(errs, fmt.Errorf("zconf: MsgRateLimit = %v: must be between 0 and 1000000 messages per second", c.MsgRateLimit))
	}
	intIn("MsgRateBurst", c.MsgRateBurst, 0, 1_000_000)
	oneOf("MsgRatePolicy", c.MsgRatePolicy, RateDrop, RateDisconnect)
	intOr("ConnRatePerIP", c.ConnRatePerIP, 1, 1_000_000, Off, "to turn it off")
	for _, n := range c.ConnRateExempt {
		if _, err := netip.ParsePrefix(n); err != nil {
			errs = append(errs, fmt.Errorf("zconf: ConnRateExempt: bad network %q (want CIDR such as 10.0.0.0/8): %w", n, err))
		}
	}
	errs = append(errs, c.validateProxies()...)
	errs = append(errs, c.validateKCP()...)
	durIn("HandshakeTimeout", c.HandshakeTimeout, 0, 10*time.Minute)
	if c.AdminAddr != "" {
		if _, _, err := net.SplitHostPort(c.AdminAddr); err != nil {
			errs = append(errs, fmt.Errorf("zconf: AdminAddr = %q: want host:port: %w", c.AdminAddr, err))
		}
	}
	if n := len(c.AdminToken); n > 0 && n < MinAdminTokenLen {
		// The token itself is never part of an error.
		errs = append(errs, fmt.Errorf("zconf: AdminToken is %d bytes: must be at least %d (or empty: operator endpoints off)", n, MinAdminTokenLen))
	}
	oneOf("LogLevel", c.LogLevel, "debug", "info", "warn", "error")
	oneOf("LogFormat", c.LogFormat, "text", "json")
	return errors.Join(errs...)
}

// DefaultHandshakeTimeout is HandshakeTimeout's default.
const DefaultHandshakeTimeout = 10 * time.Second

func (c Config) validateProxies() []error {
	var errs []error
	for _, n := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(n); err != nil {
			errs = append(errs, fmt.Errorf("zconf: TrustedProxies: bad network %q (want CIDR such as 10.0.0.0/8): %w", n, err))
		}
	}
	switch c.ProxyProtocol {
	case "", ProxyOff:
	case ProxyOptional, ProxyRequired:
		if len(c.TrustedProxies) == 0 {
			errs = append(errs, fmt.Errorf("zconf: ProxyProtocol = %q: needs TrustedProxies, the networks allowed to send the header", c.ProxyProtocol))
		}
	default:
		errs = append(errs, fmt.Errorf("zconf: ProxyProtocol = %q: must be one of %q", c.ProxyProtocol, []string{ProxyOff, ProxyOptional, ProxyRequired}))
	}
	return errs
}

// ServesTCP reports whether Mode includes the TCP listener (an empty Mode
// is the default, "tcp").
func (c Config) ServesTCP() bool { t, _ := c.transports(); return t.tcp }

// ServesWebSocket reports whether Mode includes the WebSocket listener.
func (c Config) ServesWebSocket() bool { t, _ := c.transports(); return t.ws }

// ServesKCP reports whether Mode includes the KCP listener.
func (c Config) ServesKCP() bool { t, _ := c.transports(); return t.kcp }
