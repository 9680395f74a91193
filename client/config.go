package client

import (
	"crypto/tls"
	"io"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/zinxgame/zinxgame/zconf"
)

// Config is what every connection of a Dialer shares. The zero value is a
// valid configuration for a server on its defaults; each field says what
// zero means.
type Config struct {
	// Net holds the framing (Endian, MaxPackageSize) and the framework's
	// message IDs (PingMsgID, NoticeMsgID, ServerPingMsgID); they must
	// match the server's. Its Kcp* keys are the settings of kcp://
	// connections (KcpMTU and the FEC shards must match the server's). nil means zconf.Default() with MaxPackageSize
	// raised to 64 KiB (catch-up batches are larger than live ones). Its
	// worker pool and timeouts are the client's own and are set by the
	// Dialer; MaxConn bounds the connections a Dialer holds at once.
	Net *zconf.Config
	// TLS is used for wss:// addresses and for tls:// ones (TLS over TCP).
	// nil means the system's roots.
	TLS *tls.Config
	// KeepAlive is how often a connection pings the server (PingMsgID),
	// which keeps it from the server's HeartbeatTimeout and measures the
	// round-trip time. 0 means 2s; a negative duration turns pings off.
	KeepAlive time.Duration
	// DeadAfter is how long the server may send nothing, not even a pong,
	// before the connection is taken for lost and the client reconnects.
	// A KCP session has no close: without it a client over KCP would not
	// notice a server that died (nor would one over TCP whose path broke
	// without a reset). 0 means 3 × KeepAlive, at least 6s; it needs
	// KeepAlive on, and a negative duration turns it off.
	DeadAfter time.Duration
	// Backoff paces reconnection. The zero value means 15 attempts, from
	// 100ms doubling to 5s, with jitter 0.5.
	Backoff Backoff
	// DialTimeout bounds one dial (TCP, and the WebSocket handshake). 0
	// means 5s.
	DialTimeout time.Duration
	// RequestTimeout bounds a request's wait for its answer (a login, a
	// room create or join) when the caller's context has no deadline. 0
	// means 10s.
	RequestTimeout time.Duration
	// Logger gets the client's warnings (a reconnection, a gap in the
	// frames). nil discards them.
	Logger *slog.Logger
}

// Backoff is a reconnection schedule: attempt n (from 0) waits
// min(Max, Min·2ⁿ), scaled by a random factor in [1-Jitter, 1], so that a
// crowd that lost a server together does not come back in step.
type Backoff struct {
	// Attempts is how many reconnections are tried before giving up. 0
	// means 15; a negative value never reconnects.
	Attempts int
	// Min is the first wait. 0 means 100ms.
	Min time.Duration
	// Max caps the wait. 0 means 5s.
	Max time.Duration
	// Jitter is the fraction of each wait that is random, in [0, 1]. 0
	// means 0.5; a negative value means none.
	Jitter float64
}

// Player is who a connection logs in as.
type Player struct {
	// Name is the Login name (the server bounds its length).
	Name string
	// Token resumes an identity the server gave before (LoginAck.token).
	// Empty asks for a new identity.
	Token string
}

func (c Config) withDefaults() Config {
	if c.Net == nil {
		n := zconf.Default()
		n.MaxPackageSize = 64 << 10
		c.Net = &n
	} else {
		n := *c.Net
		c.Net = &n
	}
	c.Net.WorkerPoolSize = zconf.Off           // handlers only decode and queue; they run on the reader
	c.Net.HeartbeatTimeout = zconf.Disabled    // the server speaks only when it has something to say
	c.Net.FirstMessageTimeout = zconf.Disabled // ... and may say nothing before the client does
	c.Net.ServerPingInterval = zconf.Disabled  // a client never pings on the server's behalf
	if c.KeepAlive == 0 {
		c.KeepAlive = 2 * time.Second
	}
	if c.DeadAfter == 0 {
		c.DeadAfter = max(3*c.KeepAlive, 6*time.Second)
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = 5 * time.Second
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c.Backoff = c.Backoff.withDefaults()
	return c
}

func (b Backoff) withDefaults() Backoff {
	if b.Attempts == 0 {
		b.Attempts = 15
	}
	if b.Min <= 0 {
		b.Min = 100 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 5 * time.Second
	}
	if b.Max < b.Min {
		b.Max = b.Min
	}
	switch {
	case b.Jitter == 0:
		b.Jitter = 0.5
	case b.Jitter < 0:
		b.Jitter = 0
	case b.Jitter > 1:
		b.Jitter = 1
	}
	return b
}

// Delay is the wait before reconnection attempt n (0 for the first),
// drawn with rng (nil: the global source). Safe for concurrent use when
// rng is nil.
func (b Backoff) Delay(n int, rng *rand.Rand) time.Duration {
	b = b.withDefaults()
	d := b.Max
	if n < 32 {
		if v := b.Min << uint(n); v > 0 && v < b.Max {
			d = v
		}
	}
	f := rand.Float64
	if rng != nil {
		f = rng.Float64
	}
	return time.Duration(float64(d) * (1 - b.Jitter*f()))
}
