package zconf

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"time"
)

// The values that choose what a zero once chose, now that zero means the
// default. Durations that can be turned off take any negative value.
const (
	// FreePort as TcpPort or WsPort lets the operating system pick a free
	// port.
	FreePort = -1
	// Off as WorkerPoolSize runs handlers without a pool, on each
	// connection's reader goroutine; as ConnRatePerIP it turns the limit
	// off.
	Off = -1
	// MsgIDOff as PingMsgID turns the framework's ping answer off. In a
	// config file or the environment, -1 means the same.
	MsgIDOff uint32 = math.MaxUint32
	// Disabled is a negative duration: as HeartbeatTimeout,
	// FirstMessageTimeout or ServerPingInterval it turns the check off, as
	// ShutdownTimeout it closes the connections without waiting, as
	// ReconnectAfter it sends no hint. Any negative duration does the same.
	Disabled time.Duration = -1
)

// WithDefaults returns c with every zero field set to its Default value,
// so that Config{} serves exactly as Default() does. NewServer, NewClient
// and Load apply it, and Validate checks its result. It works on a copy;
// safe for concurrent use.
func (c Config) WithDefaults() Config {
	// By reflection rather than a list of fields, so a key added later
	// means its default at zero without an edit here. A key whose default
	// is itself zero is left alone.
	rv := reflect.ValueOf(&c).Elem()
	def := reflect.ValueOf(Default())
	for i := range rv.NumField() {
		if f := rv.Field(i); f.IsZero() {
			f.Set(def.Field(i))
		}
	}
	return c
}

// explicitZero lists the keys whose 0 meant something other than their
// default, in Zinx or in earlier zinxgame releases. Load maps a 0 (or "")
// given for one of them (in the file, the environment, an override or
// Source.Defaults) to the value that keeps that meaning, so an existing
// zinx.json serves as it did. An entry that returns an error is a 0 whose
// old meaning cannot be kept. Every key here has a non-zero default, so a
// zero after loading was given explicitly.
var explicitZero = map[string]func(*Config) error{
	"TcpPort":             func(c *Config) error { c.TcpPort = FreePort; return nil },
	"WsPort":              func(c *Config) error { c.WsPort = FreePort; return nil },
	"KcpPort":             func(c *Config) error { c.KcpPort = FreePort; return nil },
	"KcpNoDelay":          func(c *Config) error { c.KcpNoDelay = Off; return nil },
	"KcpResend":           func(c *Config) error { c.KcpResend = Off; return nil },
	"KcpNc":               func(c *Config) error { c.KcpNc = Off; return nil },
	"Mode":                func(c *Config) error { c.Mode = ModeBoth; return nil }, // Zinx: "" serves both
	"WorkerPoolSize":      func(c *Config) error { c.WorkerPoolSize = Off; return nil },
	"ConnRatePerIP":       func(c *Config) error { c.ConnRatePerIP = Off; return nil },
	"HeartbeatTimeout":    func(c *Config) error { c.HeartbeatTimeout = Disabled; return nil },
	"FirstMessageTimeout": func(c *Config) error { c.FirstMessageTimeout = Disabled; return nil },
	"ShutdownTimeout":     func(c *Config) error { c.ShutdownTimeout = Disabled; return nil },
	"ReconnectAfter":      func(c *Config) error { c.ReconnectAfter = Disabled; return nil },
	"PingMsgID":           func(c *Config) error { c.PingMsgID = MsgIDOff; return nil },
	// Message ID 0 is where Zinx applications put their first router, so
	// it cannot be the notices' or the server pings' ID any more; moving
	// them to the default silently would break the clients listening there.
	"NoticeMsgID":     func(*Config) error { return idZeroErr("NoticeMsgID", Default().NoticeMsgID) },
	"ServerPingMsgID": func(*Config) error { return idZeroErr("ServerPingMsgID", Default().ServerPingMsgID) },
}

func idZeroErr(key string, def uint32) error {
	return fmt.Errorf("zconf: %s = 0: message ID 0 is no longer available here (0 means the default, %d); choose another ID", key, def)
}

// applyExplicitZeros maps the explicit zeros Load found (see explicitZero).
func (c *Config) applyExplicitZeros() error {
	rv := reflect.ValueOf(c).Elem()
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(explicitZero)) { // errors in a stable order
		if rv.FieldByName(key).IsZero() {
			if err := explicitZero[key](c); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// offID turns -1, as a config file or the environment writes "off" for a
// message ID, into MsgIDOff for the keys that can be turned off.
func offID(key string, raw any) any {
	if key != "PingMsgID" {
		return raw
	}
	if n, ok := toInt64(raw); ok && n == -1 {
		return uint64(MsgIDOff)
	}
	return raw
}
