package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/game/store/redisstore"
	"github.com/zinxgame/zinxgame/game/store/storetest"
	"github.com/zinxgame/zinxgame/internal/redistest"
)

// The table the memory store passes (game/docs_test.go), each case on its
// own key prefix. Writes stay queued until a read or Flush sends them, so
// the reads of queued writes are tested as such.
func TestDocConformance(t *testing.T) {
	srv := redistest.Start(t)
	var n atomic.Int32
	storetest.RunDocs(t, func(t *testing.T, l store.DocLimits) store.DocStore {
		rc := config(srv.Addr)
		rc.KeyPrefix = "d" + strconv.Itoa(int(n.Add(1))) + ":"
		rc.FlushInterval = 10 * time.Second
		return open(t, rc, redisstore.WithDocLimits(l))
	})
}

func docRef(c string, o store.DocOwner, k string) store.DocRef {
	return store.DocRef{Collection: c, Owner: o, Key: k}
}

// The layout is documented (docs.go, docs/persistence.md): check it and
// its TTLs.
func TestDocKeys(t *testing.T) {
	srv := redistest.Start(t)
	rc := config(srv.Addr)
	rc.FrameTTL = time.Hour
	st, c, ctx := open(t, rc), client(t, srv.Addr), timeout(t, 10*time.Second)
	v1, err := st.PutDoc(ctx, docRef("inv", store.PlayerOwner(7), "sword"), []byte("+3"))
	if err != nil {
		t.Fatal(err)
	}
	v2, err := st.PutDoc(ctx, docRef("results", store.MatchOwner(9), "p7"), []byte("won"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := c.HGet(ctx, "t:doc:p:7:inv", "sword").Val(); got != strconv.FormatUint(v1, 10)+":+3" {
		t.Fatalf("player document = %q", got)
	}
	if got := c.HGet(ctx, "t:doc:m:9:results", "p7").Val(); got != strconv.FormatUint(v2, 10)+":won" {
		t.Fatalf("match document = %q", got)
	}
	if ttl := c.TTL(ctx, "t:doc:p:7:inv").Val(); ttl != -1 {
		t.Fatalf("player documents' TTL = %v, want none", ttl)
	}
	if ttl := c.TTL(ctx, "t:doc:m:9:results").Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Fatalf("match documents' TTL = %v, want FrameTTL", ttl)
	}
	if now := uint64(time.Now().UnixNano()); v1 > now || now-v1 > uint64(time.Minute) || v2 <= v1 {
		t.Fatalf("versions %d, %d: want the clock's nanoseconds, rising", v1, v2)
	}
	if err := st.DeleteDoc(ctx, docRef("inv", store.PlayerOwner(7), "sword")); err != nil {
		t.Fatal(err)
	}
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if c.Exists(ctx, "t:doc:p:7:inv").Val() != 0 {
		t.Fatal("the hash outlived its last document")
	}
	// A field that is not "<version>:<value>" is reported, not returned.
	c.HSet(ctx, "t:doc:p:7:inv", "bad", "nothing")
	if _, _, err := st.GetDoc(ctx, docRef("inv", store.PlayerOwner(7), "bad")); err == nil || !strings.Contains(err.Error(), "not <version>:<value>") {
		t.Fatalf("GetDoc of a bad field = %v", err)
	}
}

// Another process's store reads what this one stored, and its writes after
// reading get higher versions even when its clock is behind: the reading
// raises it.
func TestDocVersionsAcrossStores(t *testing.T) {
	srv := redistest.Start(t)
	a, b, ctx := open(t, config(srv.Addr)), open(t, config(srv.Addr)), timeout(t, 10*time.Second)
	ref := docRef("stats", store.PlayerOwner(1), "elo")
	c := client(t, srv.Addr)
	future := uint64(time.Now().Add(time.Hour).UnixNano()) // a writer whose clock is an hour ahead
	if err := c.HSet(ctx, "t:doc:p:1:stats", "elo", strconv.FormatUint(future, 10)+":1500").Err(); err != nil {
		t.Fatal(err)
	}
	d, ok, err := b.GetDoc(ctx, ref)
	if err != nil || !ok || string(d.Value) != "1500" || d.Version != future {
		t.Fatalf("GetDoc = %+v %v %v", d, ok, err)
	}
	v, err := b.PutDoc(ctx, ref, []byte("1510"))
	if err != nil || v <= future {
		t.Fatalf("PutDoc after reading version %d = %d, %v: want above it", future, v, err)
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if d, ok, err := a.GetDoc(ctx, ref); err != nil || !ok || string(d.Value) != "1510" || d.Version != v {
		t.Fatalf("the other store reads %+v %v %v", d, ok, err)
	}
}

// Redis is killed while documents are written and restarted: writes keep
// being taken, reads of queued documents keep working, and afterwards
// Redis holds every document's last write (none lost, none reordered).
func TestDocOutage(t *testing.T) {
	srv := redistest.Start(t, redistest.Persistent())
	reg := prometheus.NewRegistry()
	rc := config(srv.Addr)
	rc.FlushInterval = 100 * time.Millisecond
	st := open(t, rc, redisstore.WithMetrics(reg))
	ctx := timeout(t, 30*time.Second)

	// A writer: a counter rewritten every step, a log document added
	// every step (spread over 20 players) and, every fifth step, the log
	// document of four steps before deleted.
	counter := docRef("stats", store.PlayerOwner(1000), "steps")
	logRef := func(i int) store.DocRef {
		return docRef("log", store.PlayerOwner(uint64(i%20)), fmt.Sprintf("step-%05d", i))
	}
	type result struct {
		steps int
		err   error
	}
	stop, res := make(chan struct{}), make(chan result, 1)
	go func() {
		var r result
		defer func() { res <- r }()
		tk := time.NewTicker(2 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
			}
			i := r.steps + 1
			if _, r.err = st.PutDoc(ctx, counter, []byte(strconv.Itoa(i))); r.err != nil {
				return
			}
			if _, r.err = st.PutDoc(ctx, logRef(i), []byte("v"+strconv.Itoa(i))); r.err != nil {
				return
			}
			if i%5 == 0 {
				if r.err = st.DeleteDoc(ctx, logRef(i-4)); r.err != nil {
					return
				}
			}
			r.steps = i
		}
	}()

	time.Sleep(500 * time.Millisecond)
	srv.Kill()
	deadline := time.Now().Add(2 * time.Second)
	for st.Up() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st.Up() {
		t.Fatal("the store did not notice Redis died")
	}
	// With Redis down: a queued document reads from the queue; a list of
	// an owner with writes queued cannot be made.
	time.Sleep(300 * time.Millisecond)
	if d, ok, err := st.GetDoc(ctx, counter); err != nil || !ok || d.Version == 0 {
		t.Fatalf("GetDoc of a queued document with Redis down = %+v %v %v", d, ok, err)
	}
	if _, _, err := st.ListDocs(ctx, store.PlayerOwner(1000), "stats", "", 10); !errors.Is(err, redisstore.ErrUnavailable) {
		t.Fatalf("ListDocs with Redis down = %v, want ErrUnavailable", err)
	}
	time.Sleep(300 * time.Millisecond)
	pendingInOutage := st.Pending()
	srv.Restart()
	time.Sleep(500 * time.Millisecond)
	close(stop)
	r := <-res
	if r.err != nil {
		t.Fatalf("a write failed at step %d: %v", r.steps+1, r.err)
	}
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d steps; %d writes pending in the outage; %v failed flushes", r.steps, pendingInOutage,
		gauge(t, reg, "zinxgame_redis_flush_errors_total"))
	if r.steps < 300 || pendingInOutage == 0 || gauge(t, reg, "zinxgame_redis_flush_errors_total") == 0 {
		t.Fatalf("%d steps, %d pending in the outage: the test did not write through an outage", r.steps, pendingInOutage)
	}
	if st.PendingDocBytes() != 0 || gauge(t, reg, "zinxgame_redis_pending_doc_bytes") != 0 {
		t.Fatalf("PendingDocBytes = %d after the flush", st.PendingDocBytes())
	}
	if n := gauge(t, reg, "zinxgame_redis_refused_writes_total"); n != 0 {
		t.Fatalf("%v writes refused", n)
	}

	// What Redis holds, read raw and through a fresh store (no queue).
	c := client(t, srv.Addr)
	if got := c.HGet(ctx, "t:doc:p:1000:stats", "steps").Val(); !strings.HasSuffix(got, ":"+strconv.Itoa(r.steps)) {
		t.Fatalf("counter = %q, want the last step %d", got, r.steps)
	}
	fresh := open(t, config(srv.Addr))
	stored := 0
	for owner := range 20 {
		var keys []string
		after := ""
		for {
			docs, more, err := fresh.ListDocs(ctx, store.PlayerOwner(uint64(owner)), "log", after, 50)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range docs {
				keys = append(keys, d.Key)
				if i, _ := strconv.Atoi(strings.TrimPrefix(d.Key, "step-")); string(d.Value) != "v"+strconv.Itoa(i) {
					t.Fatalf("%s = %q", d.Key, d.Value)
				}
			}
			if !more {
				break
			}
			after = docs[len(docs)-1].Key
		}
		var want []string
		for i := 1; i <= r.steps; i++ {
			deleted := i+4 <= r.steps && (i+4)%5 == 0
			if i%20 == owner && !deleted {
				want = append(want, fmt.Sprintf("step-%05d", i))
			}
		}
		if strings.Join(keys, ",") != strings.Join(want, ",") {
			t.Fatalf("player %d: %d log documents in Redis, want %d\n got %v\nwant %v", owner, len(keys), len(want), keys, want)
		}
		stored += len(keys)
	}
	t.Logf("%d log documents in Redis, as written", stored)
}

// The bound holds in Redis even for writes queued while it was away: the
// store refuses what it can tell is over (the owner's queued new documents
// alone), and Redis drops the rest when they land, in order, counted.
func TestDocBoundThroughOutage(t *testing.T) {
	srv := redistest.Start(t, redistest.Persistent())
	reg := prometheus.NewRegistry()
	rc := config(srv.Addr)
	st := open(t, rc, redisstore.WithMetrics(reg), redisstore.WithDocLimits(store.DocLimits{MaxDocsPerOwner: 5}))
	ctx := timeout(t, 20*time.Second)
	p1, p2 := store.PlayerOwner(1), store.PlayerOwner(2)
	for i := range 3 {
		if _, err := st.PutDoc(ctx, docRef("inv", p1, "old"+strconv.Itoa(i)), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	if err := st.SavePlayer(ctx, store.PlayerRecord{ID: 1}); err != nil { // for the flusher to notice
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Second); st.Up() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if st.Up() {
		t.Fatal("the store did not notice Redis died")
	}
	// Player 1 has 3 documents in Redis, which the store cannot see now:
	// it takes 3 new ones, and Redis will keep the first 2.
	for i := range 3 {
		if _, err := st.PutDoc(ctx, docRef("inv", p1, "new"+strconv.Itoa(i)), []byte("y")); err != nil {
			t.Fatalf("new document %d in the outage: %v", i, err)
		}
	}
	// Player 2 has none: 5 new documents are taken, the sixth is refused
	// at once.
	for i := range 6 {
		_, err := st.PutDoc(ctx, docRef("inv", p2, "k"+strconv.Itoa(i)), []byte("z"))
		if want := i == 5; want != errors.Is(err, store.ErrDocOwnerFull) {
			t.Fatalf("player 2's document %d in the outage: %v", i, err)
		}
	}
	srv.Start()
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	c := client(t, srv.Addr)
	keys := c.HKeys(ctx, "t:doc:p:1:inv").Val()
	if len(keys) != 5 || c.HExists(ctx, "t:doc:p:1:inv", "new2").Val() || !c.HExists(ctx, "t:doc:p:1:inv", "new1").Val() {
		t.Fatalf("player 1's documents = %v, want old0-2, new0 and new1", keys)
	}
	if n := c.HLen(ctx, "t:doc:p:2:inv").Val(); n != 5 {
		t.Fatalf("player 2 has %d documents, want 5", n)
	}
	if n := gauge(t, reg, "zinxgame_redis_refused_writes_total"); n != 1 {
		t.Fatalf("refused_writes_total = %v, want 1 (new2)", n)
	}
	// With Redis back, the bound is checked before queuing again.
	if _, err := st.PutDoc(ctx, docRef("inv", p1, "new3"), []byte("y")); !errors.Is(err, store.ErrDocOwnerFull) {
		t.Fatalf("a sixth document with Redis back = %v", err)
	}
}

// Documents count against MaxPending like frames, and their bytes against
// DocLimits.MaxBytes; a document's rewrite takes its queued write's place.
func TestDocQueueFull(t *testing.T) {
	srv := redistest.New(t) // not started: everything stays queued
	reg := prometheus.NewRegistry()
	rc := config(srv.Addr)
	rc.MaxPending = 10
	st := open(t, rc, redisstore.WithMetrics(reg), redisstore.WithDocLimits(store.DocLimits{MaxBytes: 1000, MaxValueSize: 400}))
	ctx := timeout(t, 20*time.Second)
	p := store.PlayerOwner(1)
	big := []byte(strings.Repeat("b", 400))
	// "t:doc:p:1:c" (11) + "a" (1) + 400 = 412 bytes each: two fit in 1000.
	for i, k := range []string{"a", "b", "c"} {
		_, err := st.PutDoc(ctx, docRef("c", p, k), big)
		if want := i == 2; want != errors.Is(err, redisstore.ErrQueueFull) {
			t.Fatalf("document %s: %v", k, err)
		}
	}
	if st.PendingDocBytes() != 824 || gauge(t, reg, "zinxgame_redis_pending_doc_bytes") != 824 {
		t.Fatalf("PendingDocBytes = %d, want 824", st.PendingDocBytes())
	}
	if _, err := st.PutDoc(ctx, docRef("c", p, "a"), big[:100]); err != nil { // in place, smaller
		t.Fatal(err)
	}
	if err := st.DeleteDoc(ctx, docRef("c", p, "b")); err != nil { // in place, frees 400
		t.Fatal(err)
	}
	for i := range 8 { // fill MaxPending with small documents
		if _, err := st.PutDoc(ctx, docRef("s", p, strconv.Itoa(i)), []byte("s")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.PutDoc(ctx, docRef("s", p, "x"), []byte("s")); !errors.Is(err, redisstore.ErrQueueFull) || !strings.Contains(err.Error(), "MaxPending") {
		t.Fatalf("an eleventh pending write = %v, want ErrQueueFull", err)
	}
	if err := st.DeleteDoc(ctx, docRef("s", p, "x")); !errors.Is(err, redisstore.ErrQueueFull) {
		t.Fatalf("an eleventh pending delete = %v, want ErrQueueFull", err)
	}
	if _, err := st.PutDoc(ctx, docRef("s", p, "0"), []byte("rewritten")); err != nil {
		t.Fatalf("a rewrite with the queue full: %v", err)
	}
	if st.Pending() != 10 || gauge(t, reg, "zinxgame_redis_queue_full_total") != 3 {
		t.Fatalf("Pending = %d, queue_full_total = %v; want 10 and 3", st.Pending(), gauge(t, reg, "zinxgame_redis_queue_full_total"))
	}
	srv.Start()
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if st.PendingDocBytes() != 0 || st.Pending() != 0 {
		t.Fatalf("after the flush: %d bytes, %d writes pending", st.PendingDocBytes(), st.Pending())
	}
	c := client(t, srv.Addr)
	if got := c.HGet(ctx, "t:doc:p:1:c", "a").Val(); !strings.HasSuffix(got, ":"+string(big[:100])) || c.HExists(ctx, "t:doc:p:1:c", "b").Val() {
		t.Fatal("the rewrites did not land as written")
	}
	if got := c.HGet(ctx, "t:doc:p:1:s", "0").Val(); !strings.HasSuffix(got, ":rewritten") || c.HLen(ctx, "t:doc:p:1:s").Val() != 8 {
		t.Fatal("the small documents did not land")
	}
}

// Close stores the queued documents; writes after it are refused.
func TestDocClose(t *testing.T) {
	srv := redistest.Start(t)
	rc := config(srv.Addr)
	rc.FlushInterval = 10 * time.Second
	st, err := redisstore.New(context.Background(), rc, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := timeout(t, 10*time.Second)
	for i := range 50 {
		if _, err := st.PutDoc(ctx, docRef("c", store.MatchOwner(3), strconv.Itoa(i)), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutDoc(ctx, docRef("c", store.MatchOwner(3), "late"), []byte("v")); !errors.Is(err, redisstore.ErrClosed) {
		t.Fatalf("PutDoc after Close = %v", err)
	}
	if err := st.DeleteDoc(ctx, docRef("c", store.MatchOwner(3), "0")); !errors.Is(err, redisstore.ErrClosed) {
		t.Fatalf("DeleteDoc after Close = %v", err)
	}
	if n := client(t, srv.Addr).HLen(ctx, "t:doc:m:3:c").Val(); n != 50 {
		t.Fatalf("%d documents in Redis after Close, want 50", n)
	}
}
