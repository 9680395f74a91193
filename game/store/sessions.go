package store

import (
	"container/heap"
	"context"
	"time"
)

// memorySessions is MemoryStore's sessions: a map by ID and a heap by
// expiry, so the expired ones are dropped as the store goes instead of
// only when they are read again (a player who never comes back would
// otherwise be kept forever). Every PutSession drops what has expired,
// and a timer armed for the earliest expiry does it for a store nobody
// writes to. Guarded by MemoryStore.mu.
type memorySessions struct {
	byID  map[string]*sessionEntry
	heap  sessionHeap // the sessions with an expiry, earliest first
	peak  int         // the most sessions held since the map was last rebuilt
	timer *time.Timer
}

type sessionEntry struct {
	s     Session
	index int // in the heap; -1 when it has no expiry
}

func newMemorySessions() memorySessions {
	return memorySessions{byID: make(map[string]*sessionEntry)}
}

// PutSession stores se, replacing the session with its ID. Safe for
// concurrent use.
func (s *MemoryStore) PutSession(_ context.Context, se Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	ss := &s.sessions
	e, ok := ss.byID[se.ID]
	if !ok {
		e = &sessionEntry{index: -1}
		ss.byID[se.ID] = e
		ss.peak = max(ss.peak, len(ss.byID))
	}
	e.s = se
	switch {
	case se.ExpiresAt.IsZero() && e.index >= 0:
		heap.Remove(&ss.heap, e.index)
	case !se.ExpiresAt.IsZero() && e.index < 0:
		heap.Push(&ss.heap, e)
	case !se.ExpiresAt.IsZero():
		heap.Fix(&ss.heap, e.index)
	}
	s.expireSessionsLocked(now)
	return nil
}

// GetSession returns the session, false when there is none or it has
// expired. Safe for concurrent use.
func (s *MemoryStore) GetSession(_ context.Context, id string) (Session, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.sessions.byID[id]
	if !ok {
		return Session{}, false, nil
	}
	if expired(e.s, s.now()) {
		s.dropSessionLocked(e)
		return Session{}, false, nil
	}
	return e.s, true, nil
}

// RevokeSession marks the session revoked; it is kept, revoked, until it
// expires. Safe for concurrent use.
func (s *MemoryStore) RevokeSession(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.sessions.byID[id]; ok {
		e.s.Revoked = true
	}
	return nil
}

// Sessions is the number of sessions held, expired ones not yet dropped
// included. Safe for concurrent use.
func (s *MemoryStore) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions.byID)
}

func expired(se Session, now time.Time) bool {
	return !se.ExpiresAt.IsZero() && !now.Before(se.ExpiresAt)
}

// expireSessionsLocked drops every expired session and arms the timer for
// the next expiry.
func (s *MemoryStore) expireSessionsLocked(now time.Time) {
	ss := &s.sessions
	for len(ss.heap) > 0 && expired(ss.heap[0].s, now) {
		s.dropSessionLocked(ss.heap[0])
	}
	if len(ss.heap) == 0 {
		if ss.timer != nil {
			ss.timer.Stop()
		}
		return
	}
	// At least a millisecond: a clock that does not move (tests) must not
	// spin the timer.
	d := max(ss.heap[0].s.ExpiresAt.Sub(now), time.Millisecond)
	if ss.timer == nil {
		ss.timer = time.AfterFunc(d, s.sweepSessions)
	} else {
		ss.timer.Reset(d)
	}
}

// sweepSessions is the timer's work.
func (s *MemoryStore) sweepSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireSessionsLocked(s.now())
}

func (s *MemoryStore) dropSessionLocked(e *sessionEntry) {
	ss := &s.sessions
	if e.index >= 0 {
		heap.Remove(&ss.heap, e.index)
	}
	delete(ss.byID, e.s.ID)
	// Go maps keep their buckets after deletes: once most sessions are
	// gone, rebuild the map so their memory goes too.
	if n := len(ss.byID); ss.peak > 64 && n < ss.peak/4 {
		m := make(map[string]*sessionEntry, n)
		for k, v := range ss.byID {
			m[k] = v
		}
		ss.byID, ss.peak = m, n
		ss.heap = append(sessionHeap(nil), ss.heap...) // its array shrinks too
	}
}

// sessionHeap orders sessions by expiry (container/heap).
type sessionHeap []*sessionEntry

func (h sessionHeap) Len() int           { return len(h) }
func (h sessionHeap) Less(i, j int) bool { return h[i].s.ExpiresAt.Before(h[j].s.ExpiresAt) }
func (h sessionHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *sessionHeap) Push(x any) {
	e := x.(*sessionEntry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *sessionHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.index = -1
	return e
}
