package store

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Persistence. The game keeps its hot state in memory and writes through
// these interfaces; the in-memory implementations are the defaults (the
// demos need no service) and package game/store/redisstore implements them on
// Redis. Writes may be buffered by an implementation (Redis batches them
// in pipelines); Flush pushes everything pending and returns once it is
// stored or ctx ends.

// PlayerRecord is what survives a player's session: its profile and, in an
// MMO scene, where it stood.
type PlayerRecord struct {
	ID        uint64
	Name      string
	Scene     string  // the scene the position is in
	X, Y, Z   float32 // position
	V         float32 // facing
	UpdatedAt time.Time
}

// PlayerStore keeps player records by ID.
type PlayerStore interface {
	SavePlayer(ctx context.Context, p PlayerRecord) error
	// LoadPlayer returns the record and true, or false when there is none.
	LoadPlayer(ctx context.Context, id uint64) (PlayerRecord, bool, error)
	Flush(ctx context.Context) error
}

// MatchPlayer is one seat of a match.
type MatchPlayer struct {
	Slot     uint32
	PlayerID uint64
	Name     string
}

// MatchMeta describes a lockstep match; its inputs are in a FrameStore.
type MatchMeta struct {
	MatchID   uint64
	RoomID    uint64
	Node      uint32 // the server node that runs it (its ID generator's node)
	Seed      uint64
	TickRate  uint32
	Players   []MatchPlayer
	StartedAt time.Time
	EndedAt   time.Time // zero while running
	LastFrame uint32    // set when it ends
	EndReason string    // lspb.MatchEndReason name, when it ends
	Result    []byte
}

// MatchStore keeps match metadata; SaveMatch is called at the start and
// again at the end.
type MatchStore interface {
	SaveMatch(ctx context.Context, m MatchMeta) error
	LoadMatch(ctx context.Context, matchID uint64) (MatchMeta, bool, error)
	Flush(ctx context.Context) error
}

// Session is a logged-in identity's server-side state, for reconnection:
// the token's ID (JWT jti) maps to it.
type Session struct {
	ID        string // the token's ID
	PlayerID  uint64
	Node      uint32 // the server node holding the player
	RoomID    uint64 // 0 when not in a room
	MatchID   uint64 // the match running in RoomID when the player was last there; 0 for none
	LastFrame uint32 // the last frame the player acknowledged
	ExpiresAt time.Time
	Revoked   bool
}

// SessionStore keeps sessions until they expire.
type SessionStore interface {
	PutSession(ctx context.Context, s Session) error
	// GetSession returns the session and true, or false when there is none
	// or it has expired.
	GetSession(ctx context.Context, id string) (Session, bool, error)
	// RevokeSession marks a session revoked; a later GetSession returns it
	// with Revoked set until it expires.
	RevokeSession(ctx context.Context, id string) error
}

// MemoryStore implements PlayerStore, MatchStore and SessionStore in
// memory. Its sessions are bounded by the live ones: an expired session is
// dropped as the store goes (sessions.go). Safe for concurrent use.
type MemoryStore struct {
	mu       sync.Mutex
	players  map[uint64]PlayerRecord
	matches  map[uint64]MatchMeta
	sessions memorySessions
	now      func() time.Time
	// KeepMatches bounds the ended matches kept (oldest dropped first); 0
	// keeps them all. Set it before the store is used.
	KeepMatches int
	ended       []uint64
}

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		players:  make(map[uint64]PlayerRecord),
		matches:  make(map[uint64]MatchMeta),
		sessions: newMemorySessions(),
		now:      time.Now,
	}
}

func (s *MemoryStore) SavePlayer(_ context.Context, p PlayerRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.players[p.ID] = p
	return nil
}

func (s *MemoryStore) LoadPlayer(_ context.Context, id uint64) (PlayerRecord, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.players[id]
	return p, ok, nil
}

func (s *MemoryStore) SaveMatch(_ context.Context, m MatchMeta) error {
	m.Players = slices.Clone(m.Players)
	m.Result = slices.Clone(m.Result)
	s.mu.Lock()
	defer s.mu.Unlock()
	old, had := s.matches[m.MatchID]
	s.matches[m.MatchID] = m
	if !m.EndedAt.IsZero() && (!had || old.EndedAt.IsZero()) {
		s.ended = append(s.ended, m.MatchID)
		for s.KeepMatches > 0 && len(s.ended) > s.KeepMatches {
			delete(s.matches, s.ended[0])
			s.ended = s.ended[1:]
		}
	}
	return nil
}

func (s *MemoryStore) LoadMatch(_ context.Context, id uint64) (MatchMeta, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.matches[id]
	return m, ok, nil
}

// Flush does nothing: memory writes are immediate.
func (s *MemoryStore) Flush(context.Context) error { return nil }

// RunningMatches returns the matches node saved with a zero EndedAt and
// has not ended since, in no particular order (store.MatchRecovery). The
// memory store dies with its process, so in practice it finds only the
// running matches of this one. Safe for concurrent use.
func (s *MemoryStore) RunningMatches(_ context.Context, node uint32) ([]uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []uint64
	for id, m := range s.matches {
		if m.Node == node && m.EndedAt.IsZero() {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// The recovery interfaces the memory stores implement.
var (
	_ MatchRecovery = (*MemoryStore)(nil)
	_ FrameRecovery = (*MemoryFrameStore)(nil)
)
