package znet

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// IP bans. An operator bans an address or a network (POST /admin/bans/ip);
// a banned client is refused at accept with a "banned" notice naming the
// reason and the time left, counted as refused reason "banned", and the
// connections it already has are closed with the same notice. The address
// is the real client's, the one ConnRatePerIP keys on (PROXY protocol or
// X-Forwarded-For from TrustedProxies). Bans live in memory, and with an
// IPBanStore (LoadIPBans) also in a store, so they survive a restart.
//
// The check runs on every accept, so it is cheap: one atomic load when
// there are no bans, else a map lookup for single addresses and a walk of
// the network bans, which an operator keeps short.

// MaxIPBans bounds the IP bans a server holds, single addresses and
// networks together; a ban past it is refused (ErrTooManyBans, 507) until
// one expires or is lifted.
const MaxIPBans = 10_000

// ErrTooManyBans is returned when the server holds MaxIPBans already.
var ErrTooManyBans = errors.New("znet: too many IP bans")

// IPBan is one IP ban, as GET /admin/bans/ip lists it.
type IPBan struct {
	// Prefix is the banned network; a single address is a /32 (IPv4) or
	// /128 (IPv6).
	Prefix netip.Prefix `json:"ip"`
	Reason string       `json:"reason"`
	At     time.Time    `json:"at"`
	// Until is when the ban expires; zero: until lifted (or, without an
	// IPBanStore, a restart).
	Until time.Time `json:"until,omitzero"`
}

func (b IPBan) expired(now time.Time) bool { return !b.Until.IsZero() && !now.Before(b.Until) }

// ipBans is the ban list. Its methods are safe for concurrent use.
type ipBans struct {
	max int
	n   atomic.Int64 // len(exact)+len(nets): the accept path's fast "none"

	mu    sync.RWMutex
	exact map[netip.Addr]IPBan
	nets  []IPBan

	// storeMu orders the changes (BanIP, UnbanIP, LoadIPBans), so they
	// reach store in the order they take effect; it is not taken on the
	// accept path, which a slow store must not hold up.
	storeMu sync.Mutex
	store   IPBanStore // nil: in memory only
}

// banned returns the ban covering addr now, if any.
func (b *ipBans) banned(addr net.Addr, now time.Time) (IPBan, bool) {
	if b.n.Load() == 0 {
		return IPBan{}, false
	}
	ip, ok := addrIP(addr)
	if !ok {
		return IPBan{}, false
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if ban, ok := b.exact[ip]; ok && !ban.expired(now) {
		return ban, true
	}
	for _, ban := range b.nets {
		if ban.Prefix.Contains(ip) && !ban.expired(now) {
			return ban, true
		}
	}
	return IPBan{}, false
}

// add bans ban.Prefix (replacing a ban of the same prefix).
func (b *ipBans) add(ban IPBan, now time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.exact == nil {
		b.exact = make(map[netip.Addr]IPBan)
	}
	if err := b.fitsLocked(ban.Prefix, now); err != nil {
		return err
	}
	if ban.Prefix.IsSingleIP() {
		b.exact[ban.Prefix.Addr()] = ban
	} else {
		b.nets = slices.DeleteFunc(b.nets, func(x IPBan) bool { return x.Prefix == ban.Prefix })
		b.nets = append(b.nets, ban)
	}
	b.n.Store(int64(len(b.exact) + len(b.nets)))
	return nil
}

// fits reports ErrTooManyBans when a ban of p, new or replacing one,
// would pass max.
func (b *ipBans) fits(p netip.Prefix, now time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.fitsLocked(p, now)
}

func (b *ipBans) fitsLocked(p netip.Prefix, now time.Time) error {
	if b.has(p) || len(b.exact)+len(b.nets) < b.max {
		return nil
	}
	b.expireLocked(now)
	if len(b.exact)+len(b.nets) >= b.max {
		return fmt.Errorf("%w: %d held (MaxIPBans); lift some or wait for them to expire", ErrTooManyBans, b.max)
	}
	return nil
}

// has reports whether p itself is banned (expired or not); b.mu is held.
func (b *ipBans) has(p netip.Prefix) bool {
	if p.IsSingleIP() {
		_, ok := b.exact[p.Addr()]
		return ok
	}
	return slices.ContainsFunc(b.nets, func(x IPBan) bool { return x.Prefix == p })
}

// inForce reports whether p itself is banned now.
func (b *ipBans) inForce(p netip.Prefix, now time.Time) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if p.IsSingleIP() {
		ban, ok := b.exact[p.Addr()]
		return ok && !ban.expired(now)
	}
	i := slices.IndexFunc(b.nets, func(x IPBan) bool { return x.Prefix == p })
	return i >= 0 && !b.nets[i].expired(now)
}

// replace makes bans the whole list and returns those whose prefix was
// not banned before.
func (b *ipBans) replace(bans []IPBan) (added []IPBan) {
	b.mu.Lock()
	defer b.mu.Unlock()
	exact := make(map[netip.Addr]IPBan)
	var nets []IPBan
	for _, ban := range bans {
		if !b.has(ban.Prefix) {
			added = append(added, ban)
		}
		if ban.Prefix.IsSingleIP() {
			exact[ban.Prefix.Addr()] = ban
		} else {
			nets = append(nets, ban)
		}
	}
	b.exact, b.nets = exact, nets
	b.n.Store(int64(len(exact) + len(nets)))
	return added
}

// remove lifts the ban of exactly p; false when there was none.
func (b *ipBans) remove(p netip.Prefix) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	found := false
	if p.IsSingleIP() {
		_, found = b.exact[p.Addr()]
		delete(b.exact, p.Addr())
	} else {
		n := len(b.nets)
		b.nets = slices.DeleteFunc(b.nets, func(x IPBan) bool { return x.Prefix == p })
		found = len(b.nets) < n
	}
	b.n.Store(int64(len(b.exact) + len(b.nets)))
	return found
}

// list returns the bans in force, networks and addresses in address order;
// the expired ones are dropped on the way.
func (b *ipBans) list(now time.Time) []IPBan {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expireLocked(now)
	out := make([]IPBan, 0, len(b.exact)+len(b.nets))
	for _, ban := range b.exact {
		out = append(out, ban)
	}
	out = append(out, b.nets...)
	slices.SortFunc(out, func(x, y IPBan) int {
		return cmp.Or(x.Prefix.Addr().Compare(y.Prefix.Addr()), cmp.Compare(x.Prefix.Bits(), y.Prefix.Bits()))
	})
	return out
}

func (b *ipBans) expireLocked(now time.Time) {
	for ip, ban := range b.exact {
		if ban.expired(now) {
			delete(b.exact, ip)
		}
	}
	b.nets = slices.DeleteFunc(b.nets, func(x IPBan) bool { return x.expired(now) })
	if len(b.exact) == 0 {
		b.exact = nil // let a once-large map's buckets go
	}
	b.n.Store(int64(len(b.exact) + len(b.nets)))
}

// ParseIPOrPrefix reads "203.0.113.7", "2001:db8::1" or "203.0.113.0/24"
// as a prefix (an address is a /32 or /128), masked.
func ParseIPOrPrefix(s string) (netip.Prefix, error) {
	if ip, err := netip.ParseAddr(s); err == nil {
		ip = ip.WithZone("").Unmap()
		return netip.PrefixFrom(ip, ip.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is neither an IP address nor a CIDR network", s)
	}
	if p.Addr().Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, fmt.Errorf("%q: an IPv4-mapped network needs at least 96 bits", s)
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// BanIP bans p (an address is a /32 or /128) for d (0: until lifted)
// with reason, which the refused clients are told: new connections from
// it are refused with a "banned" notice and those it already has are
// closed with one. It returns how many were closed. With an IPBanStore
// (LoadIPBans) the ban is stored first, and not made when that fails;
// without one a restart lifts it. Past MaxIPBans, or when the store holds
// all it can, it fails with ErrTooManyBans. Safe for concurrent use.
func (s *Server) BanIP(ctx context.Context, p netip.Prefix, d time.Duration, reason string) (closed int, err error) {
	now := time.Now()
	ban := IPBan{Prefix: p.Masked(), Reason: reason, At: now.UTC()}
	if d > 0 {
		ban.Until = now.Add(d).UTC()
	}
	b := &s.ops.bans
	b.storeMu.Lock()
	if err := b.fits(ban.Prefix, now); err != nil {
		b.storeMu.Unlock()
		return 0, err
	}
	if b.store != nil {
		err := b.store.PutIPBan(ctx, ban)
		if errors.Is(err, ErrTooManyBans) && b.purgeStored(ctx, now) > 0 {
			err = b.store.PutIPBan(ctx, ban)
		}
		if err != nil {
			b.storeMu.Unlock()
			return 0, fmt.Errorf("znet: saving the IP ban: %w", err)
		}
	}
	err = b.add(ban, now) // fits, and every add holds storeMu
	b.storeMu.Unlock()
	if err != nil {
		return 0, err
	}
	closed = s.closeBanned(ban, now)
	s.log.Info("znet: IP banned", "ip", ban.Prefix.String(), "until", ban.Until, "reason", reason, "closed", closed)
	return closed, nil
}

// closeBanned closes the connections ban covers, each with a "banned"
// notice, and returns how many.
func (s *Server) closeBanned(ban IPBan, now time.Time) int {
	n := ban.notice(now)
	var hit []*Connection
	s.mgr.rangeConns(func(c *Connection) {
		if ip, ok := addrIP(c.RemoteAddr()); ok && ban.Prefix.Contains(ip) {
			hit = append(hit, c)
		}
	})
	for _, c := range hit {
		_ = c.SendMsg(s.cfg.NoticeMsgID, n.encode())
		c.Stop() // graceful: the notice is flushed first
	}
	return len(hit)
}

// UnbanIP lifts the ban of exactly p (a network's ban is not lifted by
// naming an address in it); false when none is in force. With an
// IPBanStore the ban is deleted from it first, and stays when that
// fails. Safe for concurrent use.
func (s *Server) UnbanIP(ctx context.Context, p netip.Prefix) (bool, error) {
	p = p.Masked()
	b := &s.ops.bans
	b.storeMu.Lock()
	defer b.storeMu.Unlock()
	if !b.inForce(p, time.Now()) {
		return false, nil
	}
	if b.store != nil {
		if err := b.store.DeleteIPBan(ctx, p); err != nil {
			return false, fmt.Errorf("znet: deleting the IP ban: %w", err)
		}
	}
	return b.remove(p), nil
}

// IPBans lists the IP bans in force. Safe for concurrent use.
func (s *Server) IPBans() []IPBan { return s.ops.bans.list(time.Now()) }

// notice is what a client of a banned address is told.
func (b IPBan) notice(now time.Time) Notice {
	n := Notice{Code: NoticeBanned, Reason: "your address is banned"}
	if b.Reason != "" {
		n.Reason += ": " + b.Reason
	}
	if !b.Until.IsZero() {
		n.RetryAfterMs = max(b.Until.Sub(now).Milliseconds(), 1)
	}
	return n
}

// bannedRefusal returns the refusal of a client from addr when a ban
// covers it, counted as refused reason "banned".
func (s *Server) bannedRefusal(addr net.Addr) (refusal, bool) {
	now := time.Now()
	ban, ok := s.ops.bans.banned(addr, now)
	if !ok {
		return refusal{}, false
	}
	s.stats.refusedBanned.Add(1)
	return refusal{
		notice: ban.notice(now),
		status: http.StatusForbidden,
		log:    "znet: connection refused: banned",
		args:   []any{"ban", ban.Prefix.String()},
	}, true
}
