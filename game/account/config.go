package account

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Disabled turns off a Config setting that has an off value (LoginTimeout,
// NewIdentityRate). Any negative value means the same.
const Disabled = -1

// Config bounds the service. The zero value is valid; zero fields mean the
// defaults below (DefaultConfig spells them out). It is the Account
// section of the example servers' config (docs/configuration.md).
type Config struct {
	// LoginTimeout closes a connection that has not logged in within it
	// (Error code ERROR_LOGIN_TIMEOUT, then close). 0 means 10s; Disabled
	// (-1) never closes (the MMO: Zinx clients play anonymously).
	LoginTimeout time.Duration
	// MaxNameBytes bounds a Login's name; longer is refused with
	// ERROR_NAME_TOO_LONG. 0 means 32.
	MaxNameBytes int
	// NewIdentityRate is new identities (Login with no token) per second
	// per client IP, with a burst of NewIdentityBurst; over it:
	// ERROR_RATE_LIMITED. 0 means 1/s; Disabled (-1) turns the limit off
	// (load tests from one machine). NewIdentityBurst 0 means 20.
	NewIdentityRate  float64
	NewIdentityBurst int
	// MaxTrackedIPs bounds the per-IP limiters kept (least recently used
	// dropped first; a dropped IP starts again with a full burst). 0 means
	// 10000.
	MaxTrackedIPs int
	// MaxBans bounds the player bans held (BanPlayer, POST
	// /admin/players/{id}/ban); past it a ban is refused (ErrTooManyBans)
	// until one expires or is lifted. With a ban store (LoadBans) keep it
	// within the store's MaxDocsPerOwner. 0 means 1000.
	MaxBans int
	// BanRefresh is how often the example servers re-read the player and
	// IP bans from their store (RefreshBans, znet's RefreshIPBans), so a
	// ban made through one replica holds on every replica sharing the
	// store within it. 0 means 10s; negative (Disabled) never re-reads
	// (one server, or a store of its own). At least 100ms.
	BanRefresh time.Duration
}

// The defaults of the zero Config's fields.
const (
	DefaultLoginTimeout     = 10 * time.Second
	DefaultMaxNameBytes     = 32
	DefaultNewIdentityRate  = 1.0
	DefaultNewIdentityBurst = 20
	DefaultMaxTrackedIPs    = 10000
	DefaultMaxBans          = 1000
	DefaultBanRefresh       = 10 * time.Second
)

// DefaultConfig returns the defaults written out, as a config file lists
// them.
func DefaultConfig() Config {
	return Config{}.WithDefaults()
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.LoginTimeout == 0 {
		c.LoginTimeout = DefaultLoginTimeout
	}
	if c.MaxNameBytes == 0 {
		c.MaxNameBytes = DefaultMaxNameBytes
	}
	if c.NewIdentityRate == 0 {
		c.NewIdentityRate = DefaultNewIdentityRate
	}
	if c.NewIdentityBurst == 0 {
		c.NewIdentityBurst = DefaultNewIdentityBurst
	}
	if c.MaxTrackedIPs == 0 {
		c.MaxTrackedIPs = DefaultMaxTrackedIPs
	}
	if c.MaxBans == 0 {
		c.MaxBans = DefaultMaxBans
	}
	if c.BanRefresh == 0 {
		c.BanRefresh = DefaultBanRefresh
	}
	return c
}

// Validate checks the ranges documented in docs/configuration.md.
func (c Config) Validate() error {
	var errs []error
	if c.LoginTimeout > time.Hour {
		errs = append(errs, fmt.Errorf("account: LoginTimeout = %v: must be at most 1h (or negative: off)", c.LoginTimeout))
	}
	if c.MaxNameBytes < 0 || c.MaxNameBytes > 1024 {
		errs = append(errs, fmt.Errorf("account: MaxNameBytes = %d: must be between 0 and 1024", c.MaxNameBytes))
	}
	if math.IsNaN(c.NewIdentityRate) || c.NewIdentityRate > 1e6 || math.IsInf(c.NewIdentityRate, 0) {
		errs = append(errs, fmt.Errorf("account: NewIdentityRate = %v: must be at most 1,000,000 a second (or negative: off)", c.NewIdentityRate))
	}
	if c.NewIdentityBurst < 0 || c.NewIdentityBurst > 1_000_000 {
		errs = append(errs, fmt.Errorf("account: NewIdentityBurst = %d: must be between 0 and 1,000,000", c.NewIdentityBurst))
	}
	if c.MaxTrackedIPs < 0 || c.MaxTrackedIPs > 10_000_000 {
		errs = append(errs, fmt.Errorf("account: MaxTrackedIPs = %d: must be between 0 and 10,000,000", c.MaxTrackedIPs))
	}
	if c.MaxBans < 0 || c.MaxBans > 1_000_000 {
		errs = append(errs, fmt.Errorf("account: MaxBans = %d: must be between 0 and 1,000,000", c.MaxBans))
	}
	if c.BanRefresh > 0 && c.BanRefresh < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("account: BanRefresh = %v: must be 0 (10s), negative (never) or at least 100ms", c.BanRefresh))
	}
	return errors.Join(errs...)
}
