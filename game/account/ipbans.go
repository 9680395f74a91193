package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"

	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/znet"
)

// IP bans in the game's document store. znet holds IP bans in memory and
// checks them on every accept; it knows no store (it sits below the game
// layer), so the servers hand it this one (Server.LoadIPBans) to keep the
// bans where player bans are kept: on Redis they survive a restart. One
// document per ban, owner player 0 as for player bans, collection
// IPBanCollection, keyed by the network ("203.0.113.0/24", an address as
// a /32 or /128). The store's MaxDocsPerOwner (1,000 by default) bounds
// the bans kept, under znet.MaxIPBans: past it a ban is refused with
// znet.ErrTooManyBans (507). A network bans many addresses in one entry.

// IPBanCollection is the document collection IP bans are kept in.
const IPBanCollection = "account.ipbans"

// IPBanDocs keeps IP bans in docs, for znet's Server.LoadIPBans. Safe for
// concurrent use when docs is.
func IPBanDocs(docs store.DocStore) znet.IPBanStore { return ipBanDocs{docs} }

type ipBanDocs struct{ docs store.DocStore }

func ipBanRef(p netip.Prefix) store.DocRef {
	return store.DocRef{Collection: IPBanCollection, Owner: banOwner, Key: p.String()}
}

func (d ipBanDocs) ListIPBans(ctx context.Context) ([]znet.IPBan, error) {
	var out []znet.IPBan
	after := ""
	for {
		page, more, err := d.docs.ListDocs(ctx, banOwner, IPBanCollection, after, 0)
		if err != nil {
			return nil, fmt.Errorf("account: listing the IP bans: %w", err)
		}
		for _, doc := range page {
			var ban znet.IPBan
			if err := json.Unmarshal(doc.Value, &ban); err != nil || ban.Prefix.String() != doc.Key {
				return nil, fmt.Errorf("account: listing the IP bans: document %q is not an IP ban", doc.Key)
			}
			out = append(out, ban)
		}
		if !more || len(page) == 0 {
			return out, nil
		}
		after = page[len(page)-1].Key
	}
}

func (d ipBanDocs) PutIPBan(ctx context.Context, ban znet.IPBan) error {
	v, err := json.Marshal(ban)
	if err != nil {
		return fmt.Errorf("account: encoding the IP ban: %w", err)
	}
	if _, err := d.docs.PutDoc(ctx, ipBanRef(ban.Prefix), v); err != nil {
		if errors.Is(err, store.ErrDocOwnerFull) || errors.Is(err, store.ErrDocStoreFull) {
			return fmt.Errorf("%w: %w", znet.ErrTooManyBans, err)
		}
		return fmt.Errorf("account: saving the IP ban: %w", err)
	}
	return nil
}

func (d ipBanDocs) DeleteIPBan(ctx context.Context, p netip.Prefix) error {
	if err := d.docs.DeleteDoc(ctx, ipBanRef(p)); err != nil {
		return fmt.Errorf("account: deleting the IP ban: %w", err)
	}
	return nil
}
