package account

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/znet"
)

// TestIPBanDocs: IP bans round-trip through a document store, a full
// store refuses one more with znet.ErrTooManyBans, and a document that
// is not a ban fails the listing instead of being taken for one.
func TestIPBanDocs(t *testing.T) {
	ctx := context.Background()
	docs := store.NewMemoryDocStore(store.DocLimits{MaxDocsPerOwner: 2})
	st := IPBanDocs(docs)
	at := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
	bans := []znet.IPBan{
		{Prefix: netip.MustParsePrefix("203.0.113.7/32"), Reason: "flood", At: at},
		{Prefix: netip.MustParsePrefix("2001:db8::/32"), At: at, Until: at.Add(time.Hour)},
	}
	for _, b := range bans {
		if err := st.PutIPBan(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	err := st.PutIPBan(ctx, znet.IPBan{Prefix: netip.MustParsePrefix("198.51.100.0/24"), At: at})
	if !errors.Is(err, znet.ErrTooManyBans) {
		t.Fatalf("a third ban in a store of two = %v, want znet.ErrTooManyBans", err)
	}
	got, err := st.ListIPBans(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("ListIPBans = %v, want the two bans", got)
	}
	for _, g := range got {
		want := bans[0]
		if g.Prefix == bans[1].Prefix {
			want = bans[1]
		}
		if g.Prefix != want.Prefix || g.Reason != want.Reason || !g.At.Equal(want.At) || !g.Until.Equal(want.Until) {
			t.Errorf("ListIPBans: %+v, want %+v", g, want)
		}
	}
	if err := st.DeleteIPBan(ctx, bans[0].Prefix); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteIPBan(ctx, bans[0].Prefix); err != nil {
		t.Fatalf("deleting a ban not stored: %v", err)
	}
	if got, _ := st.ListIPBans(ctx); len(got) != 1 || got[0].Prefix != bans[1].Prefix {
		t.Fatalf("after the delete: %v", got)
	}

	ref := store.DocRef{Collection: IPBanCollection, Owner: banOwner, Key: "10.0.0.0/8"}
	if _, err := docs.PutDoc(ctx, ref, []byte(`{"ip": "10.9.9.9/32"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ListIPBans(ctx); err == nil {
		t.Fatal("a document whose ban names another network was listed")
	}
}
