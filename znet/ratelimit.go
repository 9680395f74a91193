package znet

import (
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/zinxgame/zinxgame/zconf"
)

// Two limits keep one client from taking more than its share: a token
// bucket per connection for inbound messages (MsgRateLimit), checked by the
// reader before a message is queued, so a flood never fills a worker queue;
// and a token bucket per IP address for new connections (ConnRatePerIP),
// checked before a connection is admitted.

// newMsgLimiter returns the per-connection message bucket, or nil when the
// limit is off.
func newMsgLimiter(cfg *zconf.Config) *rate.Limiter {
	if cfg.MsgRateLimit <= 0 {
		return nil
	}
	burst := cfg.MsgRateBurst
	if burst == 0 {
		burst = int(math.Ceil(cfg.MsgRateLimit))
	}
	return rate.NewLimiter(rate.Limit(cfg.MsgRateLimit), burst)
}

// limited reports whether a message just read is over the connection's rate
// limit, and applies MsgRatePolicy: the client is told once, and with
// "disconnect" the connection stops (messages read before it still run). It
// runs on the reader goroutine only.
func (c *Connection) limited() bool {
	if c.lim.Allow() {
		return false
	}
	c.eng.stats.rateLimited.Add(1)
	c.touch() // flooding is not silence
	disconnect := c.eng.cfg.MsgRatePolicy == zconf.RateDisconnect
	if !c.rateNoticed {
		c.rateNoticed = true
		reason := fmt.Sprintf("over %g messages per second: messages dropped", c.eng.cfg.MsgRateLimit)
		if disconnect {
			reason = fmt.Sprintf("over %g messages per second: disconnected", c.eng.cfg.MsgRateLimit)
		}
		_ = c.SendMsg(c.eng.cfg.NoticeMsgID, Notice{Code: NoticeRateLimited, Reason: reason}.encode())
		c.eng.logs.Log(c.log, "rate_limited", slog.LevelWarn, "znet: message rate limit exceeded", "limit", c.eng.cfg.MsgRateLimit,
			"burst", c.lim.Burst(), "policy", c.eng.cfg.MsgRatePolicy)
	}
	if disconnect {
		c.stop()
	}
	return true
}

// maxTrackedIPs bounds the per-IP buckets kept between sweeps. Past it new
// addresses are admitted unlimited until the next sweep (a warning says
// so): a limiter that refused everyone under a wide attack would be worse.
const maxTrackedIPs = 1 << 20

// ipLimiter holds a token bucket per client IP address.
type ipLimiter struct {
	log    *slog.Logger
	perMin int
	exempt []netip.Prefix

	mu     sync.Mutex
	m      map[netip.Addr]*rate.Limiter
	warned bool
}

// newIPLimiter returns nil when ConnRatePerIP is off.
func newIPLimiter(cfg *zconf.Config, log *slog.Logger) *ipLimiter {
	if cfg.ConnRatePerIP <= 0 {
		return nil
	}
	l := &ipLimiter{log: log, perMin: cfg.ConnRatePerIP, m: make(map[netip.Addr]*rate.Limiter)}
	for _, s := range cfg.ConnRateExempt {
		if p, err := netip.ParsePrefix(s); err == nil { // Validate has checked them
			l.exempt = append(l.exempt, p.Masked())
		}
	}
	return l
}

// allow reports whether addr may open one more connection now.
func (l *ipLimiter) allow(addr net.Addr, now time.Time) bool {
	ip, ok := addrIP(addr)
	if !ok {
		return true // not an IP transport: nothing to key on
	}
	for _, p := range l.exempt {
		if p.Contains(ip) {
			return true
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[ip]
	if b == nil {
		if len(l.m) >= maxTrackedIPs {
			l.dropFullLocked(now)
		}
		if len(l.m) >= maxTrackedIPs {
			if !l.warned {
				l.warned = true
				l.log.Warn("znet: per-IP connection limiter is tracking too many addresses; new ones are admitted unlimited until the next sweep",
					"max", maxTrackedIPs)
			}
			return true
		}
		b = rate.NewLimiter(rate.Limit(float64(l.perMin)/60), l.perMin)
		l.m[ip] = b
	}
	return b.AllowN(now, 1)
}

// sweep forgets addresses whose bucket has refilled: they would be
// recreated exactly as they are.
func (l *ipLimiter) sweep(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dropFullLocked(now)
}

func (l *ipLimiter) dropFullLocked(now time.Time) {
	for ip, b := range l.m {
		if b.TokensAt(now) >= float64(l.perMin) {
			delete(l.m, ip)
		}
	}
}

// tracked is how many addresses have a bucket.
func (l *ipLimiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

// addrIP is the IP of a TCP or UDP address, IPv4-mapped IPv6 unmapped so
// one client has one bucket whichever way it arrives.
func addrIP(a net.Addr) (netip.Addr, bool) {
	var ip net.IP
	switch a := a.(type) {
	case *net.TCPAddr:
		ip = a.IP
	case *net.UDPAddr:
		ip = a.IP
	default:
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return netip.Addr{}, false
		}
		return ap.Addr().Unmap(), true
	}
	addr, ok := netip.AddrFromSlice(ip)
	return addr.Unmap(), ok
}
