package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/game/store/storetest"
)

func TestMemoryDocStore(t *testing.T) {
	storetest.RunDocs(t, func(_ *testing.T, l store.DocLimits) store.DocStore { return store.NewMemoryDocStore(l) })
}

// MaxBytes bounds everything the memory store holds; deleting or shrinking
// a document frees its bytes.
func TestMemoryDocStoreBytes(t *testing.T) {
	ctx := context.Background()
	st := store.NewMemoryDocStore(store.DocLimits{MaxBytes: 1000})
	ref := func(id uint64, k string) store.DocRef {
		return store.DocRef{Collection: "c", Owner: store.PlayerOwner(id), Key: k}
	}
	big := []byte(strings.Repeat("x", 300)) // 1 + 1 + 300 + 64 = 366 bytes each
	for i, k := range []string{"a", "b"} {
		if _, err := st.PutDoc(ctx, ref(uint64(i), k), big); err != nil {
			t.Fatal(err)
		}
	}
	if st.Bytes() != 732 {
		t.Fatalf("Bytes = %d, want 732", st.Bytes())
	}
	_, err := st.PutDoc(ctx, ref(9, "c"), big) // under another owner: the bound is the store's
	if !errors.Is(err, store.ErrDocStoreFull) || !strings.Contains(err.Error(), "MaxBytes 1000") {
		t.Fatalf("a third 366-byte document in 1000 bytes = %v, want ErrDocStoreFull", err)
	}
	if _, ok, _ := st.GetDoc(ctx, ref(9, "c")); ok {
		t.Fatal("the refused document was stored")
	}
	if _, err := st.PutDoc(ctx, ref(0, "a"), big[:10]); err != nil { // shrinking frees 290 bytes
		t.Fatal(err)
	}
	if _, err := st.PutDoc(ctx, ref(9, "c"), big); err != nil {
		t.Fatalf("after shrinking: %v", err)
	}
	if err := st.DeleteDoc(ctx, ref(1, "b")); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteDoc(ctx, ref(9, "c")); err != nil {
		t.Fatal(err)
	}
	if st.Bytes() != 76 {
		t.Fatalf("Bytes after deletes = %d, want 76 (one 10-byte document)", st.Bytes())
	}
	// Many owners' empty documents count too (64 bytes of overhead each).
	n := 0
	for id := uint64(100); ; id++ {
		if _, err := st.PutDoc(ctx, ref(id, "k"), nil); err != nil {
			if !errors.Is(err, store.ErrDocStoreFull) {
				t.Fatal(err)
			}
			break
		}
		n++
	}
	if n != (1000-76)/66 {
		t.Fatalf("%d empty documents fit, want %d", n, (1000-76)/66)
	}
}

// The zero value works, with the default limits.
func TestMemoryDocStoreZero(t *testing.T) {
	var st store.MemoryDocStore
	ctx := context.Background()
	ref := store.DocRef{Collection: "c", Owner: store.MatchOwner(1), Key: "k"}
	if _, err := st.PutDoc(ctx, ref, []byte("v")); err != nil {
		t.Fatal(err)
	}
	if d, ok, err := st.GetDoc(ctx, ref); err != nil || !ok || string(d.Value) != "v" {
		t.Fatalf("GetDoc = %+v %v %v", d, ok, err)
	}
	l := st.Limits()
	if l.MaxKeyLen != 128 || l.MaxCollectionLen != 64 || l.MaxValueSize != 64<<10 || l.MaxDocsPerOwner != 1000 || l.MaxBytes != 64<<20 {
		t.Fatalf("default limits = %+v", l)
	}
	if l.Page(0) != 100 || l.Page(5000) != 1000 || l.Page(7) != 7 {
		t.Fatalf("Page = %d %d %d", l.Page(0), l.Page(5000), l.Page(7))
	}
	if _, err := st.PutDoc(ctx, ref, make([]byte, 64<<10+1)); !errors.Is(err, store.ErrDocTooLarge) {
		t.Fatalf("a value over 64 KiB = %v", err)
	}
}
