package store

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestExpiredSessionsAreDropped: expired sessions are dropped without
// being read again: by the next PutSession (a clock moved past them) and,
// on a store nobody writes to, by the timer. It once kept every session
// until it was read, so players who never came back were kept forever.
func TestExpiredSessionsAreDropped(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Unix(1_000_000, 0)
	s := NewMemoryStore()
	s.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	for i := range 1000 {
		if err := s.PutSession(ctx, Session{ID: strconv.Itoa(i), PlayerID: uint64(i), ExpiresAt: now.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutSession(ctx, Session{ID: "forever", PlayerID: 1}); err != nil { // no expiry: kept
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	if err := s.PutSession(ctx, Session{ID: "late", PlayerID: 2, ExpiresAt: now.Add(50 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	if n := s.Sessions(); n != 2 {
		t.Fatalf("%d sessions after a put past 1,000 expiries, want 2 (the live ones)", n)
	}
	mu.Lock()
	now = now.Add(time.Second) // "late" expires; nobody calls the store
	mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for s.Sessions() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions; the timer did not drop the expired one", s.Sessions())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, ok, _ := s.GetSession(ctx, "forever"); !ok {
		t.Fatal("a session without expiry was dropped")
	}
}
