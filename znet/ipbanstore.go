package znet

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/zinxgame/zinxgame/internal/poll"
)

// IPBanStore keeps IP bans across restarts. Server.LoadIPBans reads the
// bans it holds, and from then on BanIP and UnbanIP write through it
// before they take effect, so a ban an operator was told is made
// survives the process. Implementations must be safe for concurrent use;
// game/account's IPBanDocs keeps the bans in the game's document store
// (Redis in production).
type IPBanStore interface {
	// ListIPBans returns every ban stored, expired ones included.
	ListIPBans(ctx context.Context) ([]IPBan, error)
	// PutIPBan stores ban, replacing a ban of the same prefix. A store
	// that holds as many bans as it can fails with an error wrapping
	// ErrTooManyBans.
	PutIPBan(ctx context.Context, ban IPBan) error
	// DeleteIPBan deletes the ban of exactly p; deleting one that is not
	// stored is not an error.
	DeleteIPBan(ctx context.Context, p netip.Prefix) error
}

// LoadIPBans keeps the server's IP bans in st from now on, after loading
// the ones it holds; those expired are deleted from it. Call it once,
// before serving; without it IP bans live in memory and a restart lifts
// them. Bans made before the load are kept, and written to st. It fails
// when st does, or when it holds more than MaxIPBans bans in force. Safe
// for concurrent use.
func (s *Server) LoadIPBans(ctx context.Context, st IPBanStore) error {
	b := &s.ops.bans
	b.storeMu.Lock()
	defer b.storeMu.Unlock()
	if b.store != nil {
		return errors.New("znet: LoadIPBans called twice")
	}
	stored, err := st.ListIPBans(ctx)
	if err != nil {
		return fmt.Errorf("znet: loading the IP bans: %w", err)
	}
	now := time.Now()
	var live []IPBan
	for _, ban := range stored {
		if !ban.Prefix.IsValid() || ban.Prefix != ban.Prefix.Masked() {
			return fmt.Errorf("znet: loading the IP bans: %q is not a masked network", ban.Prefix)
		}
		if ban.expired(now) {
			if err := st.DeleteIPBan(ctx, ban.Prefix); err != nil {
				return fmt.Errorf("znet: deleting an expired IP ban: %w", err)
			}
			continue
		}
		live = append(live, ban)
	}
	if len(live) > b.max {
		return fmt.Errorf("%w: the store holds %d in force, MaxIPBans is %d", ErrTooManyBans, len(live), b.max)
	}
	made := b.list(now) // before the load: this process's are newer
	for _, ban := range made {
		if err := st.PutIPBan(ctx, ban); err != nil {
			return fmt.Errorf("znet: saving an IP ban made before the load: %w", err)
		}
	}
	for _, ban := range live {
		if !slices.ContainsFunc(made, func(x IPBan) bool { return x.Prefix == ban.Prefix }) {
			if err := b.add(ban, now); err != nil {
				return err
			}
		}
	}
	b.store = st
	s.log.Info("znet: IP bans loaded", "bans", len(live), "expired_deleted", len(stored)-len(live))
	return nil
}

// purgeStored deletes the expired bans from the store and returns how
// many. Memory drops an expired ban when it looks (list, a full list);
// the store keeps it until this, or the next LoadIPBans, so a store
// bounded below MaxIPBans fills with expired bans: BanIP purges when the
// store says it is full. b.storeMu is held. A store error leaves the
// rest for the next time.
func (b *ipBans) purgeStored(ctx context.Context, now time.Time) int {
	stored, err := b.store.ListIPBans(ctx)
	if err != nil {
		return 0
	}
	n := 0
	for _, ban := range stored {
		if ban.expired(now) && b.store.DeleteIPBan(ctx, ban.Prefix) == nil {
			n++
		}
	}
	return n
}

// DefaultBanRefresh is how often RefreshIPBans re-reads the store when
// given no interval.
const DefaultBanRefresh = 10 * time.Second

// RefreshIPBans re-reads the IP bans from the store LoadIPBans was given,
// every every (0 or less: DefaultBanRefresh), until ctx ends. Servers
// sharing one store (the replicas of a StatefulSet on one Redis) then
// share their bans: one made or lifted through any of them takes effect
// on the others within every, and a ban new to this server closes its
// connections from the address, as BanIP does. A failed read keeps the
// bans as they were, and is logged. It returns nil when ctx ends, or an
// error at once when LoadIPBans was not called. Safe for concurrent use;
// run one per server.
func (s *Server) RefreshIPBans(ctx context.Context, every time.Duration) error {
	b := &s.ops.bans
	b.storeMu.Lock()
	loaded := b.store != nil
	b.storeMu.Unlock()
	if !loaded {
		return errors.New("znet: RefreshIPBans before LoadIPBans")
	}
	if every <= 0 {
		every = DefaultBanRefresh
	}
	poll.Every(ctx, every, s.log, "znet: refreshing the IP bans", s.syncIPBans)
	return nil
}

// syncIPBans makes the bans in force in the store the server's.
func (s *Server) syncIPBans(ctx context.Context) error {
	b := &s.ops.bans
	b.storeMu.Lock()
	stored, err := b.store.ListIPBans(ctx)
	if err != nil {
		b.storeMu.Unlock()
		return fmt.Errorf("znet: reading the IP bans: %w", err)
	}
	now := time.Now()
	live := make([]IPBan, 0, len(stored))
	for _, ban := range stored {
		if ban.Prefix.IsValid() && ban.Prefix == ban.Prefix.Masked() && !ban.expired(now) && len(live) < b.max {
			live = append(live, ban)
		}
	}
	added := b.replace(live)
	b.storeMu.Unlock()
	for _, ban := range added {
		closed := s.closeBanned(ban, now)
		s.log.Info("znet: IP banned through the store", "ip", ban.Prefix.String(), "until", ban.Until, "reason", ban.Reason, "closed", closed)
	}
	return nil
}
