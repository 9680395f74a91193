package lossy

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Defaults for the bounds an Option can change.
const (
	DefaultMaxQueuePackets = 4096
	DefaultMaxQueueBytes   = 16 << 20
	DefaultMaxClients      = 65536
	DefaultIdleTimeout     = 60 * time.Second
	DefaultMaxConns        = 4096
)

// options holds the bounds of a proxy. An option that does not apply to a
// proxy (MaxConns for UDP, say) is ignored by it.
type options struct {
	maxQueuePackets int
	maxQueueBytes   int
	maxClients      int
	idleTimeout     time.Duration
	maxConns        int
}

// Option changes a bound of a proxy from its default.
type Option func(*options)

// WithQueueLimit bounds the packets and bytes in flight per direction; a
// packet that would exceed either is dropped and counted (DroppedQueue), as
// a full router queue would. Values <= 0 keep the defaults.
func WithQueueLimit(packets, bytes int) Option {
	return func(o *options) {
		if packets > 0 {
			o.maxQueuePackets = packets
		}
		if bytes > 0 {
			o.maxQueueBytes = bytes
		}
	}
}

// WithMaxClients bounds a UDPProxy's client mappings; datagrams from a new
// client beyond it are dropped and counted. n <= 0 keeps the default.
func WithMaxClients(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.maxClients = n
		}
	}
}

// WithIdleTimeout sets how long a UDPProxy keeps a client mapping with no
// traffic either way. d <= 0 keeps the default.
func WithIdleTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.idleTimeout = d
		}
	}
}

// WithMaxConns bounds a TCPProxy's open connections; a connection accepted
// beyond it is closed at once and counted. n <= 0 keeps the default.
func WithMaxConns(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.maxConns = n
		}
	}
}

func buildOptions(opts []Option) options {
	o := options{
		maxQueuePackets: DefaultMaxQueuePackets,
		maxQueueBytes:   DefaultMaxQueueBytes,
		maxClients:      DefaultMaxClients,
		idleTimeout:     DefaultIdleTimeout,
		maxConns:        DefaultMaxConns,
	}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}

// ErrNotLoopback is returned (wrapped) for a listen or target address that
// is not a loopback IP.
var ErrNotLoopback = errors.New("lossy: address is not loopback (want 127.0.0.0/8 or ::1)")

// loopbackAddrPort parses "host:port" and refuses anything but a literal
// loopback IP or "localhost" (taken as 127.0.0.1, so no resolver is asked).
// An empty host means every interface and is refused too.
func loopbackAddrPort(hostport string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("lossy: address %q: %w", hostport, err)
	}
	if strings.EqualFold(host, "localhost") {
		host = "127.0.0.1"
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%w: %q", ErrNotLoopback, hostport)
	}
	ip = ip.Unmap()
	if !ip.IsLoopback() || ip.Zone() != "" {
		return netip.AddrPort{}, fmt.Errorf("%w: %q", ErrNotLoopback, hostport)
	}
	pn, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("lossy: address %q: bad port: %w", hostport, err)
	}
	return netip.AddrPortFrom(ip, uint16(pn)), nil
}

// seeds derives one seed per direction from p.Seed, or random ones.
func seeds(p Profile) (up, down uint64) {
	if p.Seed == 0 {
		return rand.Uint64(), rand.Uint64()
	}
	s := uint64(p.Seed)
	return s, s*0xbf58476d1ce4e5b9 + 1
}
