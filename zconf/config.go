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
)

// Rate-limit policies (MsgRatePolicy).
const (
	RateDrop       = "drop"
	RateDisconnect = "disconnect"
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

// Config holds every setting of a server or client. Start from Default; the
// zero value is not valid.
type Config struct {
	// Name identifies the server in logs.
	Name string
	// Version is informational, kept because Zinx configs carry it.
	Version string
	// Host is the address to listen on; empty or 0.0.0.0 means every interface.
	Host string
	// TcpPort is the TCP port; 0 picks a free one.
	//lint:ignore ST1003 Zinx's name: Zinx configs and code spell it TcpPort
	TcpPort int
	// Mode chooses the transports: "tcp", "websocket" or "both" ("" also
	// means both, as in Zinx).
	Mode string
	// WsPort is the WebSocket port; 0 picks a free one.
	WsPort int
	// WsPath is the HTTP path WebSocket clients connect to.
	WsPath string
	// WsAllowedOrigins lists the Origin patterns (path.Match syntax, such
	// as "https://*.example.com") browsers may connect from. Empty allows
	// any origin, as native and mini-game clients send none or their own.
	WsAllowedOrigins []string
	// TLSCertFile and TLSKeyFile name a PEM certificate (chain) and its
	// private key. When both are set, the TCP listener serves TLS and the
	// WebSocket listener serves WSS, both with this certificate; both
	// empty serves plain TCP and WebSocket. Relative paths are relative to
	// the working directory. The files are read by NewTLSConfig, which
	// znet.NewServer calls, so a bad file stops the server before it
	// listens rather than at the first client.
	TLSCertFile string
	TLSKeyFile  string
	// TLSMinVersion is the oldest TLS version accepted: "1.2" or "1.3".
	TLSMinVersion string
	// MaxConn is the most connections served at once; more are refused
	// with a notice.
	MaxConn int
	// MaxPackageSize is the largest payload accepted or sent, in bytes.
	// Zinx's MaxPacketSize is accepted as another name for it.
	MaxPackageSize int
	// WorkerPoolSize is how many handlers may run at once across all
	// connections (each connection's own messages always run one at a time,
	// in order); 0 runs handlers on each connection's reader goroutine.
	WorkerPoolSize int
	// MaxWorkerTaskLen bounds each connection's queue of received messages
	// waiting for a worker. When it is full the connection's reader waits,
	// which pushes back on that client only.
	MaxWorkerTaskLen int
	// MaxMsgChanLen bounds each connection's queue of packets waiting to be
	// written. A client that lets it fill is disconnected.
	MaxMsgChanLen int
	// IOReadBuffSize is the read buffer per connection, in bytes.
	IOReadBuffSize int
	// Framing selects the wire layout: "le" (Zinx's original) or "be".
	Framing string
	// BlockingPoolSize is the number of goroutines for IConnection.Async work.
	BlockingPoolSize int
	// WriteTimeout bounds one write to a client; a client that does not
	// read for that long is disconnected.
	WriteTimeout time.Duration
	// FlushDelay is how long frames queued from outside a connection's own
	// handlers (broadcasts, pushes from other players' handlers) wait for
	// more before they are written; 0 writes them at once. Replies from the
	// connection's own handlers always leave at the end of their batch.
	// When one event fans out to many players, a few milliseconds here turn
	// many small writes into one, which saves more CPU (the server's and the
	// clients') than it costs in latency.
	FlushDelay time.Duration
	// HeartbeatTimeout closes a connection that sends no message for this
	// long; 0 turns it off. Clients keep alive with any message, or with
	// PingMsgID.
	HeartbeatTimeout time.Duration
	// FirstMessageTimeout closes a connection that has not sent one whole
	// message this long after connecting (slowloris: silence or half a
	// head); 0 turns it off.
	FirstMessageTimeout time.Duration
	// PingMsgID is answered by the framework itself, with the same ID and
	// payload, without reaching any router; 0 turns it off.
	PingMsgID uint32
	// ShutdownTimeout bounds Stop's graceful shutdown.
	ShutdownTimeout time.Duration
	// NoticeMsgID is the message ID of server notices (refusals, kicks,
	// shutdown): a JSON payload {"code","reason"} the client can show.
	NoticeMsgID uint32
	// ReconnectAfter is the hint sent with the shutdown notice: how long
	// clients should wait before reconnecting (a restart's downtime).
	ReconnectAfter time.Duration

	// ServerPingInterval makes the server send a ping (ServerPingMsgID,
	// payload: the server's send time, 8 bytes) to every connection this
	// often, for clients that expect the server to probe them; 0 turns it
	// off. Clients echo it back; the echo is taken by the framework as the
	// pong (round-trip time goes to the metrics), never routed, and never
	// answered, so a client that echoes everything cannot start a loop.
	ServerPingInterval time.Duration
	// ServerPingMsgID is the message ID of server-sent pings.
	ServerPingMsgID uint32

	// MsgRateLimit is each connection's allowed inbound messages per
	// second (a token bucket of MsgRateBurst); 0 turns it off.
	MsgRateLimit float64
	// MsgRateBurst is the bucket size: messages a connection may send at
	// once after being quiet; 0 means MsgRateLimit rounded up.
	MsgRateBurst int
	// MsgRatePolicy is what happens to a message over the limit: "drop"
	// (counted; the client gets one rate_limited notice) or "disconnect"
	// (the client gets the notice, then the connection closes).
	MsgRatePolicy string
	// ConnRatePerIP is how many new connections one IP address may open per
	// minute (a token bucket with that burst); 0 turns it off. Refused
	// clients get a rate_limited notice before the close.
	ConnRatePerIP int
	// ConnRateExempt lists the networks (CIDR) the per-IP limit does not
	// apply to. The default exempts loopback: behind a local proxy every
	// player arrives from 127.0.0.1, and local bots and load tools too.
	ConnRateExempt []string

	// NodeID numbers this server among its peers (0-1023): player, room
	// and match IDs embed it, so nodes never issue the same ID.
	NodeID int

	// AdminAddr is the admin HTTP listener (/metrics, /healthz, /readyz),
	// such as "127.0.0.1:9100"; empty turns it off.
	AdminAddr string
	// AdminPprof also serves net/http/pprof under /debug/pprof/ on
	// AdminAddr. Keep AdminAddr off the public network when it is on.
	AdminPprof bool

	// LogLevel is debug, info, warn or error.
	LogLevel string
	// LogFormat is text or json.
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
		LogLevel:            "info",
		LogFormat:           "text",
	}
}

// Validate reports every setting outside its allowed range, naming the key,
// the value and the range.
func (c Config) Validate() error {
	var errs []error
	intIn := func(key string, v, lo, hi int) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("zconf: %s = %d: must be between %d and %d", key, v, lo, hi))
		}
	}
	durIn := func(key string, v, lo, hi time.Duration) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("zconf: %s = %s: must be between %s and %s", key, v, lo, hi))
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
	if c.Name == "" {
		errs = append(errs, errors.New(`zconf: Name = "": must not be empty`))
	}
	intIn("TcpPort", c.TcpPort, 0, 65535)
	oneOf("Mode", c.Mode, ModeTCP, ModeWebSocket, ModeBoth, "")
	intIn("WsPort", c.WsPort, 0, 65535)
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
	intIn("WorkerPoolSize", c.WorkerPoolSize, 0, 4096)
	intIn("MaxWorkerTaskLen", c.MaxWorkerTaskLen, 1, 1<<20)
	intIn("MaxMsgChanLen", c.MaxMsgChanLen, 1, 1<<20)
	intIn("IOReadBuffSize", c.IOReadBuffSize, 512, 16<<20)
	oneOf("Framing", c.Framing, FramingLE, FramingBE)
	intIn("BlockingPoolSize", c.BlockingPoolSize, 1, 100_000)
	durIn("WriteTimeout", c.WriteTimeout, time.Millisecond, 10*time.Minute)
	durIn("FlushDelay", c.FlushDelay, 0, time.Second)
	durIn("HeartbeatTimeout", c.HeartbeatTimeout, 0, 24*time.Hour)
	durIn("FirstMessageTimeout", c.FirstMessageTimeout, 0, time.Hour)
	durIn("ShutdownTimeout", c.ShutdownTimeout, 0, time.Hour)
	durIn("ReconnectAfter", c.ReconnectAfter, 0, 24*time.Hour)
	intIn("NodeID", c.NodeID, 0, 1023)
	durIn("ServerPingInterval", c.ServerPingInterval, 0, time.Hour)
	if c.ServerPingInterval > 0 && (c.ServerPingMsgID == c.PingMsgID || c.ServerPingMsgID == c.NoticeMsgID) {
		errs = append(errs, fmt.Errorf("zconf: ServerPingMsgID = %d: must differ from PingMsgID (%d) and NoticeMsgID (%d)",
			c.ServerPingMsgID, c.PingMsgID, c.NoticeMsgID))
	}
	if !(c.MsgRateLimit >= 0 && c.MsgRateLimit <= 1e6) {
		errs = append(errs, fmt.Errorf("zconf: MsgRateLimit = %v: must be between 0 and 1000000 messages per second", c.MsgRateLimit))
	}
	intIn("MsgRateBurst", c.MsgRateBurst, 0, 1_000_000)
	oneOf("MsgRatePolicy", c.MsgRatePolicy, RateDrop, RateDisconnect)
	intIn("ConnRatePerIP", c.ConnRatePerIP, 0, 1_000_000)
	for _, n := range c.ConnRateExempt {
		if _, err := netip.ParsePrefix(n); err != nil {
			errs = append(errs, fmt.Errorf("zconf: ConnRateExempt: bad network %q (want CIDR such as 10.0.0.0/8): %w", n, err))
		}
	}
	if c.AdminAddr != "" {
		if _, _, err := net.SplitHostPort(c.AdminAddr); err != nil {
			errs = append(errs, fmt.Errorf("zconf: AdminAddr = %q: want host:port: %w", c.AdminAddr, err))
		}
	}
	oneOf("LogLevel", c.LogLevel, "debug", "info", "warn", "error")
	oneOf("LogFormat", c.LogFormat, "text", "json")
	return errors.Join(errs...)
}

// ServesTCP reports whether Mode includes the TCP listener.
func (c Config) ServesTCP() bool { return c.Mode != ModeWebSocket }

// ServesWebSocket reports whether Mode includes the WebSocket listener.
func (c Config) ServesWebSocket() bool { return c.Mode != ModeTCP }
