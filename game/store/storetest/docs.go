package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/game/store"
)

// NewDocStore returns an empty document store bounded by l, cleaned up
// when t ends. A store that buffers writes should hold them long enough
// (a long flush interval, say) that the suite reads them while queued.
type NewDocStore func(t *testing.T, l store.DocLimits) store.DocStore

// RunDocs runs the document store's table against stores from newStore.
func RunDocs(t *testing.T, newStore NewDocStore) {
	t.Run("put get overwrite delete", func(t *testing.T) { docsCRUD(t, newStore(t, store.DocLimits{})) })
	t.Run("read your writes", func(t *testing.T) { docsReadYourWrites(t, newStore(t, store.DocLimits{})) })
	t.Run("list", func(t *testing.T) { docsList(t, newStore(t, store.DocLimits{MaxDocsPerOwner: 30})) })
	t.Run("limits", func(t *testing.T) { docsLimits(t, newStore) })
	t.Run("concurrent writers", func(t *testing.T) { docsConcurrent(t, newStore(t, store.DocLimits{})) })
	t.Run("one document's order", func(t *testing.T) { docsOrder(t, newStore(t, store.DocLimits{})) })
}

func docCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustPut(t *testing.T, ctx context.Context, st store.DocStore, ref store.DocRef, v string) uint64 {
	t.Helper()
	ver, err := st.PutDoc(ctx, ref, []byte(v))
	if err != nil {
		t.Fatalf("PutDoc %+v: %v", ref, err)
	}
	if ver == 0 {
		t.Fatalf("PutDoc %+v: version 0", ref)
	}
	return ver
}

// wantDoc checks the document holds v (found) or is absent (v == nil).
func wantDoc(t *testing.T, ctx context.Context, st store.DocStore, ref store.DocRef, v *string) store.Doc {
	t.Helper()
	d, ok, err := st.GetDoc(ctx, ref)
	switch {
	case err != nil:
		t.Fatalf("GetDoc %+v: %v", ref, err)
	case v == nil && ok:
		t.Fatalf("GetDoc %+v = %q, want none", ref, d.Value)
	case v != nil && (!ok || string(d.Value) != *v || d.Key != ref.Key):
		t.Fatalf("GetDoc %+v = %q %q %v, want %q", ref, d.Key, d.Value, ok, *v)
	}
	return d
}

func ptr(s string) *string { return &s }

func docsCRUD(t *testing.T, st store.DocStore) {
	ctx := docCtx(t)
	ref := store.DocRef{Collection: "stats", Owner: store.PlayerOwner(7), Key: "season-1"}
	wantDoc(t, ctx, st, ref, nil)
	buf := []byte("wins=1")
	v1, err := st.PutDoc(ctx, ref, buf)
	if err != nil || v1 == 0 {
		t.Fatalf("PutDoc = %d, %v", v1, err)
	}
	copy(buf, "XXXX") // the store copied it
	if d := wantDoc(t, ctx, st, ref, ptr("wins=1")); d.Version != v1 {
		t.Fatalf("version %d, PutDoc said %d", d.Version, v1)
	} else {
		d.Value[0] = 'Z' // and hands out copies
	}
	wantDoc(t, ctx, st, ref, ptr("wins=1"))
	v2 := mustPut(t, ctx, st, ref, "wins=2")
	if v2 <= v1 {
		t.Fatalf("overwrite's version %d not above %d", v2, v1)
	}
	if d := wantDoc(t, ctx, st, ref, ptr("wins=2")); d.Version != v2 {
		t.Fatalf("version %d, want %d", d.Version, v2)
	}
	// The same key elsewhere is another document.
	others := []store.DocRef{
		{Collection: "stats2", Owner: ref.Owner, Key: ref.Key},
		{Collection: ref.Collection, Owner: store.MatchOwner(7), Key: ref.Key},
		{Collection: ref.Collection, Owner: store.PlayerOwner(8), Key: ref.Key},
		{Collection: ref.Collection, Owner: ref.Owner, Key: ref.Key + "x"},
	}
	for i, o := range others {
		wantDoc(t, ctx, st, o, nil)
		mustPut(t, ctx, st, o, "other"+strconv.Itoa(i))
	}
	if err := st.DeleteDoc(ctx, ref); err != nil {
		t.Fatal(err)
	}
	wantDoc(t, ctx, st, ref, nil)
	if err := st.DeleteDoc(ctx, ref); err != nil {
		t.Fatalf("deleting a missing document: %v", err)
	}
	if v3 := mustPut(t, ctx, st, ref, ""); v3 <= v2 {
		t.Fatalf("version after delete %d not above %d", v3, v2)
	}
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	wantDoc(t, ctx, st, ref, ptr("")) // an empty value is a document
	for i, o := range others {
		wantDoc(t, ctx, st, o, ptr("other"+strconv.Itoa(i)))
	}
	bin := string([]byte{0, 1, ':', 0xff, '\n'})
	mustPut(t, ctx, st, others[0], bin)
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	wantDoc(t, ctx, st, others[0], ptr(bin))
}

func docsReadYourWrites(t *testing.T, st store.DocStore) {
	ctx := docCtx(t)
	owner := store.MatchOwner(99)
	ref := func(k string) store.DocRef { return store.DocRef{Collection: "results", Owner: owner, Key: k} }
	mustPut(t, ctx, st, ref("a"), "a1")
	mustPut(t, ctx, st, ref("b"), "b1")
	mustPut(t, ctx, st, ref("a"), "a2")
	if err := st.DeleteDoc(ctx, ref("b")); err != nil {
		t.Fatal(err)
	}
	mustPut(t, ctx, st, ref("c"), "c1")
	if err := st.DeleteDoc(ctx, ref("c")); err != nil {
		t.Fatal(err)
	}
	mustPut(t, ctx, st, ref("c"), "c2")
	check := func(when string) {
		t.Helper()
		wantDoc(t, ctx, st, ref("a"), ptr("a2"))
		wantDoc(t, ctx, st, ref("b"), nil)
		wantDoc(t, ctx, st, ref("c"), ptr("c2"))
		docs, more, err := st.ListDocs(ctx, owner, "results", "", 0)
		if err != nil || more || len(docs) != 2 || docs[0].Key != "a" || string(docs[0].Value) != "a2" ||
			docs[1].Key != "c" || string(docs[1].Value) != "c2" {
			t.Fatalf("%s: ListDocs = %v %v %v", when, docKeys(docs), more, err)
		}
	}
	check("queued")
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	check("flushed")
}

func docKeys(docs []store.Doc) []string {
	keys := make([]string, len(docs))
	for i, d := range docs {
		keys[i] = d.Key
	}
	return keys
}

func docsList(t *testing.T, st store.DocStore) {
	ctx := docCtx(t)
	owner := store.PlayerOwner(3)
	var want []string
	for i := range 25 {
		want = append(want, fmt.Sprintf("k%02d", i))
	}
	want = append(want, "Z", "a", "é") // byte order: "Z" < "a" < "k.." < "é"
	order := rand.Perm(len(want))
	for _, i := range order {
		mustPut(t, ctx, st, store.DocRef{Collection: "inv", Owner: owner, Key: want[i]}, "v"+want[i])
	}
	mustPut(t, ctx, st, store.DocRef{Collection: "inv", Owner: store.MatchOwner(3), Key: "elsewhere"}, "x")
	mustPut(t, ctx, st, store.DocRef{Collection: "inv2", Owner: owner, Key: "elsewhere"}, "x")
	want = []string{"Z", "a"}
	for i := range 25 {
		want = append(want, fmt.Sprintf("k%02d", i))
	}
	want = append(want, "é")

	var got []string
	after, pages := "", 0
	for {
		docs, more, err := st.ListDocs(ctx, owner, "inv", after, 10)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(docs) > 10 || (more && len(docs) != 10) {
			t.Fatalf("page %d: %d documents, more %v", pages, len(docs), more)
		}
		for _, d := range docs {
			if string(d.Value) != "v"+d.Key || d.Version == 0 {
				t.Fatalf("document %q = %q version %d", d.Key, d.Value, d.Version)
			}
			got = append(got, d.Key)
		}
		if !more {
			break
		}
		after = docs[len(docs)-1].Key
	}
	if pages != 3 || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("%d pages of %v, want 3 of %v", pages, got, want)
	}
	if docs, more, err := st.ListDocs(ctx, owner, "inv", "", 0); err != nil || more || len(docs) != 28 {
		t.Fatalf("a default page = %d documents, more %v, %v; want all 28", len(docs), more, err)
	}
	if docs, more, err := st.ListDocs(ctx, owner, "inv", "k05x", 3); err != nil || !more ||
		strings.Join(docKeys(docs), ",") != "k06,k07,k08" {
		t.Fatalf("after k05x = %v %v %v", docKeys(docs), more, err)
	}
	if docs, more, err := st.ListDocs(ctx, owner, "inv", "é", 10); err != nil || more || len(docs) != 0 {
		t.Fatalf("after the last = %v %v %v", docKeys(docs), more, err)
	}
	if docs, _, err := st.ListDocs(ctx, store.PlayerOwner(4), "inv", "", 10); err != nil || len(docs) != 0 {
		t.Fatalf("another owner's list = %v %v", docKeys(docs), err)
	}
	// A page is at most MaxDocsPerOwner (30 here), whatever is asked.
	for i := range 2 {
		mustPut(t, ctx, st, store.DocRef{Collection: "inv", Owner: owner, Key: "zz" + strconv.Itoa(i)}, "vzz"+strconv.Itoa(i))
	}
	if docs, more, err := st.ListDocs(ctx, owner, "inv", "", 1_000_000); err != nil || len(docs) != 30 || more {
		t.Fatalf("a huge limit = %d documents, more %v, %v; want 30", len(docs), more, err)
	}
	if docs, more, err := st.ListDocs(ctx, owner, "inv", "", -1); err != nil || len(docs) != 30 || more {
		t.Fatalf("limit -1 = %d documents, more %v, %v", len(docs), more, err)
	}
}

// refused checks err wraps want and says more than want alone.
func refused(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) || err.Error() == want.Error() {
		t.Fatalf("%s = %v, want %v with detail", what, err, want)
	}
}

func docsLimits(t *testing.T, newStore NewDocStore) {
	ctx := docCtx(t)
	l := store.DocLimits{MaxKeyLen: 8, MaxCollectionLen: 6, MaxValueSize: 16, MaxDocsPerOwner: 3}
	st := newStore(t, l)
	p := store.PlayerOwner(1)
	ref := func(c, k string) store.DocRef { return store.DocRef{Collection: c, Owner: p, Key: k} }

	mustPut(t, ctx, st, ref("c", "12345678"), "x")
	_, err := st.PutDoc(ctx, ref("c", "123456789"), []byte("x"))
	refused(t, "a 9-byte key", err, store.ErrDocKeyTooLong)
	_, _, err = st.GetDoc(ctx, ref("c", "123456789"))
	refused(t, "GetDoc of a 9-byte key", err, store.ErrDocKeyTooLong)
	refused(t, "DeleteDoc of a 9-byte key", st.DeleteDoc(ctx, ref("c", "123456789")), store.ErrDocKeyTooLong)
	_, _, err = st.ListDocs(ctx, p, "c", "123456789", 1)
	refused(t, "ListDocs after a 9-byte key", err, store.ErrDocKeyTooLong)

	mustPut(t, ctx, st, ref("coll-6", "k"), "x")
	_, err = st.PutDoc(ctx, ref("coll-07", "k"), []byte("x"))
	refused(t, "a 7-byte collection", err, store.ErrDocCollectionTooLong)
	_, _, err = st.ListDocs(ctx, p, "coll-07", "", 1)
	refused(t, "ListDocs of a 7-byte collection", err, store.ErrDocCollectionTooLong)

	mustPut(t, ctx, st, ref("v", "max"), strings.Repeat("v", 16))
	_, err = st.PutDoc(ctx, ref("v", "over"), bytes.Repeat([]byte("v"), 17))
	refused(t, "a 17-byte value", err, store.ErrDocTooLarge)
	_, err = st.PutDoc(ctx, ref("v", "max"), bytes.Repeat([]byte("v"), 17))
	refused(t, "overwriting with a 17-byte value", err, store.ErrDocTooLarge)

	for _, bad := range []store.DocRef{
		ref("c", ""), ref("", "k"), ref("a b", "k"), ref("a:b", "k"), ref("c", "a\nb"), ref("c", "\x7f"), ref("c", "\xff"),
		{Collection: "c", Owner: store.DocOwner{Kind: 0, ID: 1}, Key: "k"},
		{Collection: "c", Owner: store.DocOwner{Kind: 3, ID: 1}, Key: "k"},
	} {
		_, err := st.PutDoc(ctx, bad, []byte("x"))
		refused(t, fmt.Sprintf("PutDoc %+v", bad), err, store.ErrDocInvalid)
		_, _, err = st.GetDoc(ctx, bad)
		refused(t, fmt.Sprintf("GetDoc %+v", bad), err, store.ErrDocInvalid)
	}
	_, _, err = st.ListDocs(ctx, store.DocOwner{ID: 1}, "c", "", 1)
	refused(t, "ListDocs of no owner kind", err, store.ErrDocInvalid)

	// Three documents per owner and collection.
	for _, k := range []string{"a", "b", "c"} {
		mustPut(t, ctx, st, ref("inv", k), k)
	}
	_, err = st.PutDoc(ctx, ref("inv", "d"), []byte("d"))
	refused(t, "a fourth document", err, store.ErrDocOwnerFull)
	mustPut(t, ctx, st, ref("inv", "a"), "a2") // overwriting is fine
	mustPut(t, ctx, st, store.DocRef{Collection: "inv", Owner: store.MatchOwner(1), Key: "d"}, "d")
	mustPut(t, ctx, st, store.DocRef{Collection: "inv", Owner: store.PlayerOwner(2), Key: "d"}, "d")
	if err := st.DeleteDoc(ctx, ref("inv", "b")); err != nil {
		t.Fatal(err)
	}
	mustPut(t, ctx, st, ref("inv", "d"), "d") // room made by a deletion, queued or not
	_, err = st.PutDoc(ctx, ref("inv", "e"), []byte("e"))
	refused(t, "a fourth document after the swap", err, store.ErrDocOwnerFull)
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = st.PutDoc(ctx, ref("inv", "e"), []byte("e"))
	refused(t, "a fourth document after a flush", err, store.ErrDocOwnerFull)
	if err := st.DeleteDoc(ctx, ref("inv", "c")); err != nil {
		t.Fatal(err)
	}
	mustPut(t, ctx, st, ref("inv", "e"), "e") // the room a stored document's deletion makes
	docs, more, err := st.ListDocs(ctx, p, "inv", "", 10)
	if err != nil || more || strings.Join(docKeys(docs), ",") != "a,d,e" || string(docs[0].Value) != "a2" {
		t.Fatalf("the bounded collection = %v %v %v", docKeys(docs), more, err)
	}
	for _, k := range []string{"over", "123456789"} {
		if _, ok, _ := st.GetDoc(ctx, ref("v", k)); ok {
			t.Fatalf("a refused write %q was stored", k)
		}
	}
	wantDoc(t, ctx, st, ref("v", "max"), ptr(strings.Repeat("v", 16)))
}

// Writers to different documents do not disturb each other.
func docsConcurrent(t *testing.T, st store.DocStore) {
	ctx := docCtx(t)
	const writers, docs, rounds = 8, 40, 3
	ref := func(w, i int) store.DocRef {
		return store.DocRef{Collection: "c", Owner: store.PlayerOwner(uint64(w % 4)), Key: fmt.Sprintf("w%d-%d", w, i)}
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for r := range rounds {
				for i := range docs {
					if _, err := st.PutDoc(ctx, ref(w, i), []byte(fmt.Sprintf("%d-%d-%d", w, i, r))); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for w := range writers {
		for i := range docs {
			wantDoc(t, ctx, st, ref(w, i), ptr(fmt.Sprintf("%d-%d-%d", w, i, rounds-1)))
		}
	}
	for o := range 4 {
		list, more, err := st.ListDocs(ctx, store.PlayerOwner(uint64(o)), "c", "", 1000)
		if err != nil || more || len(list) != 2*docs {
			t.Fatalf("owner %d: %d documents, more %v, %v; want %d", o, len(list), more, err, 2*docs)
		}
	}
}

// One document's writes are never reordered: while one goroutine writes
// (and now and then deletes) it and another flushes, the writer reads each
// of its writes back, a reader never sees an older value after a newer
// one, and the last write is what stays.
func docsOrder(t *testing.T, st store.DocStore) {
	ctx := docCtx(t)
	ref := store.DocRef{Collection: "counter", Owner: store.PlayerOwner(5), Key: "n"}
	const n = 2000
	done, reading := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	var readErr, flushErr error
	wg.Go(func() {
		last, lastVer := 0, uint64(0)
		var once sync.Once
		defer once.Do(func() { close(reading) }) // whatever the first read found
		for {
			select {
			case <-done:
				return
			default:
			}
			d, ok, err := st.GetDoc(ctx, ref)
			once.Do(func() { close(reading) }) // the writer starts after a first read
			if err != nil {
				readErr = err
				return
			}
			if !ok {
				continue
			}
			v, err := strconv.Atoi(string(d.Value))
			if err != nil || v < last || d.Version < lastVer || (v > last && d.Version == lastVer) {
				readErr = fmt.Errorf("read %q version %d after %d version %d", d.Value, d.Version, last, lastVer)
				return
			}
			last, lastVer = v, d.Version
		}
	})
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
			if err := st.Flush(ctx); err != nil {
				flushErr = err
				return
			}
		}
	})
	<-reading
	var prev uint64
	for i := 1; i <= n; i++ {
		v, err := st.PutDoc(ctx, ref, []byte(strconv.Itoa(i)))
		if err != nil {
			close(done)
			wg.Wait()
			t.Fatal(err)
		}
		if v <= prev {
			t.Errorf("write %d: version %d not above %d", i, v, prev)
		}
		prev = v
		// The writer reads its own write, whether it is queued, behind one
		// in flight, or stored.
		if d, ok, err := st.GetDoc(ctx, ref); err != nil || !ok || string(d.Value) != strconv.Itoa(i) || d.Version != v {
			t.Errorf("GetDoc right after write %d (version %d) = %q version %d, %v, %v", i, v, d.Value, d.Version, ok, err)
		}
		if i%7 == 0 {
			if err := st.DeleteDoc(ctx, ref); err != nil {
				t.Fatal(err)
			}
			if _, ok, err := st.GetDoc(ctx, ref); err != nil || ok {
				t.Errorf("GetDoc right after a delete = %v, %v", ok, err)
			}
		}
	}
	close(done)
	wg.Wait()
	if readErr != nil || flushErr != nil {
		t.Fatalf("reader: %v; flusher: %v", readErr, flushErr)
	}
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if d := wantDoc(t, ctx, st, ref, ptr(strconv.Itoa(n))); d.Version != prev {
		t.Fatalf("version %d, want the last write's %d", d.Version, prev)
	}
}
