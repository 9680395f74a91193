package znet

import (
	"net"
	"net/netip"
	"strings"
)

// The real client IP. Behind a load balancer every connection arrives from
// the balancer, so the balancer must say who the client is: with a PROXY
// protocol header on TCP (proxyproto.go) or an X-Forwarded-For header on
// the WebSocket upgrade (httpguard.go). Either is believed only from a peer
// in TrustedProxies; anyone else could name any address and slip past the
// per-IP limit. The address found replaces the socket's for the
// connection: its RemoteAddr, its log lines and the per-IP limiter.

// trustedNets are the TrustedProxies networks.
type trustedNets []netip.Prefix

// newTrustedNets parses TrustedProxies (Validate has checked them).
func newTrustedNets(cidrs []string) trustedNets {
	var t trustedNets
	for _, s := range cidrs {
		if p, err := netip.ParsePrefix(s); err == nil {
			t = append(t, p.Masked())
		}
	}
	return t
}

func (t trustedNets) contains(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range t {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// trusts reports whether a is the address of a trusted proxy.
func (t trustedNets) trusts(a net.Addr) bool {
	if len(t) == 0 || a == nil {
		return false
	}
	ip, ok := addrIP(a)
	return ok && t.contains(ip)
}

// maxForwardedHops bounds how many X-Forwarded-For entries one request
// makes us look at; a chain of trusted proxies is never that long.
const maxForwardedHops = 32

// forwardedFor returns the client that X-Forwarded-For names, for a request
// that came from a trusted proxy: the right-most entry that is not itself
// a trusted proxy. Entries left of it were written by the client and are
// ignored: anyone can prepend anything. values are the header's values in
// order (several headers count as one list). When every entry looked at is
// a trusted proxy, the left-most of them is the client (a machine of our
// own); an entry that is not an address ends the walk there. ok is false
// when there is no usable entry: the socket's address stands.
func (t trustedNets) forwardedFor(values []string) (addr netip.AddrPort, ok bool) {
	hops := 0
	for i := len(values) - 1; i >= 0; i-- {
		rest := values[i]
		for rest != "" {
			var entry string
			if j := strings.LastIndexByte(rest, ','); j >= 0 {
				entry, rest = rest[j+1:], rest[:j]
			} else {
				entry, rest = rest, ""
			}
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue // "a, , b": proxies differ on empty elements; skip them
			}
			hop, good := parseHop(entry)
			if !good {
				return addr, ok
			}
			addr, ok = hop, true
			if !t.contains(hop.Addr()) {
				return addr, ok
			}
			if hops++; hops == maxForwardedHops {
				return addr, ok
			}
		}
	}
	return addr, ok
}

// parseHop reads one X-Forwarded-For entry: an IP address, or an
// address:port as some proxies write it ("[v6]:port" for IPv6). The port
// is 0 when the entry has none.
func parseHop(s string) (netip.AddrPort, bool) {
	if ip, err := netip.ParseAddr(s); err == nil {
		return netip.AddrPortFrom(ip.WithZone("").Unmap(), 0), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return netip.AddrPortFrom(ap.Addr().WithZone("").Unmap(), ap.Port()), true
	}
	return netip.AddrPort{}, false
}

// unmapPort unmaps an IPv4-mapped IPv6 address, as addrIP does, so a
// client has one per-IP bucket whichever way the proxy wrote it.
func unmapPort(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// tcpAddr is ap as the net.Addr a connection reports.
func tcpAddr(ap netip.AddrPort) *net.TCPAddr {
	return net.TCPAddrFromAddrPort(ap)
}
