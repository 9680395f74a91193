package znet

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"
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
