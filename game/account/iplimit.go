package account

import (
	"container/list"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// ipLimits rations new identities per client IP: a token bucket per IP,
// at most max of them, the least recently used dropped first. A dropped
// IP starts again with a full bucket, so max must exceed the IPs active
// within a burst's refill for the limit to hold; at 10,000 it does for any
// single server. Safe for concurrent use.
type ipLimits struct {
	rate  rate.Limit
	burst int
	max   int

	mu    sync.Mutex
	byIP  map[netip.Addr]*list.Element // of *ipLimit
	order *list.List                   // most recently used first
}

type ipLimit struct {
	ip  netip.Addr
	lim *rate.Limiter
}

func newIPLimits(perSecond float64, burst, max int) *ipLimits {
	return &ipLimits{rate: rate.Limit(perSecond), burst: burst, max: max,
		byIP: make(map[netip.Addr]*list.Element), order: list.New()}
}

// allow takes one new identity from addr's bucket.
func (l *ipLimits) allow(addr net.Addr, now time.Time) bool {
	ip := addrIP(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.byIP[ip]
	if ok {
		l.order.MoveToFront(e)
	} else {
		for l.order.Len() >= l.max {
			old := l.order.Remove(l.order.Back()).(*ipLimit)
			delete(l.byIP, old.ip)
		}
		e = l.order.PushFront(&ipLimit{ip: ip, lim: rate.NewLimiter(l.rate, l.burst)})
		l.byIP[ip] = e
	}
	return e.Value.(*ipLimit).lim.AllowN(now, 1)
}

// tracked is the number of IPs with a limiter.
func (l *ipLimits) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.byIP)
}

// addrIP is the IP of a connection's remote address; znet has already
// replaced it with the real client's when a trusted proxy named one. An
// address that carries no IP (a pipe, a test recorder) maps to the zero
// Addr, one bucket for all of them.
func addrIP(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case nil:
		return netip.Addr{}
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap()
	}
	if ip, err := netip.ParseAddr(a.String()); err == nil {
		return ip.Unmap()
	}
	return netip.Addr{}
}
