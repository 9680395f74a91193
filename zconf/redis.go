package zconf

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"
)

// RedisConfig is the connection and write-behind settings of the Redis
// stores (package game/store/redisstore). It is an application section, loaded
// with the server's config:
//
//	rc := zconf.DefaultRedis()
//	cfg, err := zconf.Load(zconf.Source{File: f, Sections: map[string]any{"Redis": &rc}})
//
// which reads the file's "Redis" object, ZINX_REDIS_<KEY> and overrides
// "Redis.<Key>". Redis is in use when Addr is set (see Enabled).
type RedisConfig struct {
	// Addr is the server's host:port; empty keeps everything in memory.
	Addr string
	// Username and Password authenticate (ACL user, or Password alone for
	// requirepass). Never logged.
	Username string
	Password string
	// DB is the database number SELECTed after connecting.
	DB int
	// PoolSize is the most connections kept to Redis; MinIdleConns of them
	// are opened in advance so a read after a quiet spell does not pay
	// for a dial.
	PoolSize     int
	MinIdleConns int
	// DialTimeout bounds connecting; ReadTimeout and WriteTimeout bound one
	// socket read or write (a stuck server fails a flush instead of
	// hanging it); PoolTimeout bounds the wait for a free connection.
	DialTimeout  time.Duration
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	PoolTimeout  time.Duration
	// KeyPrefix starts every key, so several games or environments can
	// share a Redis.
	KeyPrefix string
	// TLS connects over TLS, verifying the server against the system's
	// roots; TLSServerName is the name checked (default: Addr's host).
	TLS           bool
	TLSServerName string
	// Required makes a Redis that cannot be reached at start an error (the
	// server refuses to start). When false the server starts anyway,
	// queues writes, logs loudly and keeps retrying.
	Required bool
	// FlushInterval is how often queued writes are sent, all of them in
	// one pipeline: the most a crash can lose, and the time a room's
	// frames wait before they are in Redis.
	FlushInterval time.Duration
	// MaxPending bounds the writes queued in memory (while Redis is slow
	// or away). When it is full, frame appends fail with
	// redisstore.ErrQueueFull; player, match and session writes replace
	// their pending predecessor for the same key and are always taken.
	MaxPending int
	// FrameTTL is how long a match's input log and metadata are kept after
	// their last write (its end, or the crash of the server running it);
	// 0 keeps them forever.
	FrameTTL time.Duration

	// Durability per kind of record: DurabilityAsync acknowledges a write
	// when it is queued (a crash loses up to FlushInterval of them),
	// DurabilitySync once it is in Redis or in the spill file. Frames:
	// a lockstep frame's broadcast; matches: MatchEnd; sessions:
	// LoginAck; docs: PutDoc's return; players (MMO positions, with no
	// acknowledgement): sync sends each save at once.
	FrameDurability   Durability
	MatchDurability   Durability
	SessionDurability Durability
	PlayerDurability  Durability
	DocDurability     Durability
	// SpillFile is the local file that takes the writes Redis cannot
	// (the queue is full, or the store closes while Redis is away):
	// append-only, a checksum per record, fsynced, and replayed into Redis
	// in order at the next start. Empty means spill/<program>.spill under
	// the working directory; SpillOff turns spilling off.
	SpillFile string
	// MaxSpillBytes bounds the spill file; past it, writes are refused as
	// with a full queue.
	MaxSpillBytes int64
}

// Durability is a kind of record's durability mode (see RedisConfig).
type Durability string

// The durability modes.
const (
	DurabilityAsync Durability = "async"
	DurabilitySync  Durability = "sync"
)

// SpillOff as RedisConfig.SpillFile turns the spill file off.
const SpillOff = "off"

// DefaultRedis returns the defaults: Redis off (no Addr), a 1 s flush
// interval, 100,000 pending writes and a week of match retention.
func DefaultRedis() RedisConfig {
	return RedisConfig{
		PoolSize:      10,
		MinIdleConns:  1,
		DialTimeout:   2 * time.Second,
		ReadTimeout:   3 * time.Second,
		WriteTimeout:  3 * time.Second,
		PoolTimeout:   4 * time.Second,
		KeyPrefix:     "zinxgame:",
		FlushInterval: time.Second,
		MaxPending:    100_000,
		FrameTTL:      7 * 24 * time.Hour,
		// The defaults follow docs/persistence.md's measurements.
		FrameDurability:   DurabilityAsync,
		MatchDurability:   DurabilitySync,
		SessionDurability: DurabilitySync,
		PlayerDurability:  DurabilityAsync,
		DocDurability:     DurabilitySync,
		MaxSpillBytes:     1 << 30,
	}
}

// Enabled reports whether Redis is configured (Addr is set).
func (c RedisConfig) Enabled() bool { return c.Addr != "" }

// Validate reports every setting outside its allowed range, naming the key
// (as Redis.<Key>, its name in a config file), the value and the range.
func (c RedisConfig) Validate() error {
	var errs []error
	intIn := func(key string, v, lo, hi int) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("zconf: Redis.%s = %d: must be between %d and %d", key, v, lo, hi))
		}
	}
	durIn := func(key string, v, lo, hi time.Duration) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("zconf: Redis.%s = %s: must be between %s and %s", key, v, lo, hi))
		}
	}
	if c.Addr != "" {
		if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
			errs = append(errs, fmt.Errorf("zconf: Redis.Addr = %q: want host:port, such as 127.0.0.1:6379", c.Addr))
		}
	}
	intIn("DB", c.DB, 0, 65535)
	intIn("PoolSize", c.PoolSize, 1, 10_000)
	intIn("MinIdleConns", c.MinIdleConns, 0, c.PoolSize)
	durIn("DialTimeout", c.DialTimeout, time.Millisecond, time.Minute)
	durIn("ReadTimeout", c.ReadTimeout, time.Millisecond, time.Minute)
	durIn("WriteTimeout", c.WriteTimeout, time.Millisecond, time.Minute)
	durIn("PoolTimeout", c.PoolTimeout, time.Millisecond, time.Minute)
	if len(c.KeyPrefix) > 256 {
		errs = append(errs, fmt.Errorf("zconf: Redis.KeyPrefix = %q: must be at most 256 bytes", c.KeyPrefix))
	}
	if c.TLSServerName != "" && !c.TLS {
		errs = append(errs, fmt.Errorf("zconf: Redis.TLSServerName = %q: set only with Redis.TLS = true", c.TLSServerName))
	}
	if c.Required && c.Addr == "" {
		errs = append(errs, errors.New(`zconf: Redis.Required = true: needs Redis.Addr`))
	}
	durIn("FlushInterval", c.FlushInterval, time.Millisecond, 10*time.Second)
	intIn("MaxPending", c.MaxPending, 1, 100_000_000)
	durIn("FrameTTL", c.FrameTTL, 0, 10*365*24*time.Hour)
	for _, d := range []struct {
		key string
		v   Durability
	}{{"FrameDurability", c.FrameDurability}, {"MatchDurability", c.MatchDurability},
		{"SessionDurability", c.SessionDurability}, {"PlayerDurability", c.PlayerDurability},
		{"DocDurability", c.DocDurability}} {
		if d.v != DurabilityAsync && d.v != DurabilitySync {
			errs = append(errs, fmt.Errorf("zconf: Redis.%s = %q: want %q or %q", d.key, d.v, DurabilityAsync, DurabilitySync))
		}
	}
	if c.MaxSpillBytes < 1<<20 || c.MaxSpillBytes > 1<<40 {
		errs = append(errs, fmt.Errorf("zconf: Redis.MaxSpillBytes = %d: must be between 1 MiB and 1 TiB", c.MaxSpillBytes))
	}
	if c.FrameTTL > 0 && c.FrameTTL < time.Second {
		errs = append(errs, fmt.Errorf("zconf: Redis.FrameTTL = %s: must be 0 (keep forever) or at least 1s", c.FrameTTL))
	}
	return errors.Join(errs...)
}

// TLSConfig returns the client TLS settings, or nil when TLS is off. The
// system's roots verify the server.
func (c RedisConfig) TLSConfig() *tls.Config {
	if !c.TLS {
		return nil
	}
	name := c.TLSServerName
	if name == "" {
		name, _, _ = net.SplitHostPort(c.Addr)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, ServerName: name}
}

// LogValue keeps the password out of logs.
func (c RedisConfig) LogValue() slog.Value {
	if c.Password != "" {
		c.Password = "(set)"
	}
	type plain RedisConfig // no LogValue method: no recursion
	return slog.AnyValue(plain(c))
}
