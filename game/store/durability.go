package store

import (
	"context"
	"fmt"
)

// Durability. A write-behind store (Redis) acknowledges a write when it is
// queued, before it is stored: a crash then loses what was queued. Each
// kind of record has its own mode, so a game pays for durability only
// where it wants it: a session a player was told about (LoginAck), a frame
// it was sent, a match it was told had ended. The code that gives the
// acknowledgement asks the store (ModeOf) and, in Sync mode, waits for
// AfterDurable before giving it.

// Kind is a kind of record; each has its own durability mode.
type Kind uint8

const (
	// KindPlayers is PlayerStore's records (an MMO player's position).
	KindPlayers Kind = iota + 1
	// KindMatches is MatchStore's metadata and FrameStore's end marks.
	KindMatches
	// KindSessions is SessionStore's sessions.
	KindSessions
	// KindFrames is FrameStore's input logs.
	KindFrames
	// KindDocs is DocStore's documents.
	KindDocs
)

var kindNames = [...]string{KindPlayers: "players", KindMatches: "matches", KindSessions: "sessions",
	KindFrames: "frames", KindDocs: "docs"}

// String returns the kind's name: "players", "matches", "sessions",
// "frames" or "docs".
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Mode says when a write of a kind counts as acknowledged.
type Mode uint8

const (
	// Async acknowledges a write once it is queued: a crash of the process
	// loses what was queued (at most one flush interval of writes).
	Async Mode = iota
	// Sync acknowledges a write once it is durable: stored in Redis, or
	// fsynced to the store's local spill file, which the next start
	// replays into Redis.
	Sync
)

// String returns "async" or "sync".
func (m Mode) String() string {
	switch m {
	case Async:
		return "async"
	case Sync:
		return "sync"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// Durability is implemented by stores that may acknowledge writes before
// they are durable (package game/store/redisstore's Store). Implementations
// are safe for concurrent use.
type Durability interface {
	// Mode is kind's durability mode.
	Mode(kind Kind) Mode
	// AfterDurable calls done once every write made before the call is
	// durable (stored, or spilled to the local file), or with an error
	// when it never will be (the store closed with the write neither
	// stored nor spilled). When everything is durable already, done runs
	// at once, on the caller's goroutine, before AfterDurable returns;
	// otherwise it runs on the store's goroutine, in the order of the
	// calls, and must not block. A call also asks the store to send what
	// is queued now rather than at its next interval (a group commit: one
	// round trip serves every caller waiting).
	AfterDurable(done func(error))
}

// ModeOf is st's mode for kind: Async when st does not implement
// Durability (the memory stores: nothing of theirs outlives the process).
func ModeOf(st any, kind Kind) Mode {
	if d, ok := st.(Durability); ok {
		return d.Mode(kind)
	}
	return Async
}

// WaitDurable blocks until every write made through st before the call is
// durable, or ctx ends. It returns nil at once when st does not implement
// Durability.
func WaitDurable(ctx context.Context, st any) error {
	d, ok := st.(Durability)
	if !ok {
		return nil
	}
	ch := make(chan error, 1)
	d.AfterDurable(func(err error) { ch <- err })
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return fmt.Errorf("store: waiting for writes to be durable: %w", ctx.Err())
	}
}

// MatchRecovery is implemented by match stores that outlive the process,
// so a restarted server can find the matches its previous process left
// running (a crash ends no match).
type MatchRecovery interface {
	// RunningMatches returns the IDs of the matches node saved with a
	// zero EndedAt and has not saved again with one since.
	RunningMatches(ctx context.Context, node uint32) ([]uint64, error)
}

// FrameRecovery is implemented by frame stores that can tell how far a
// match's log goes, for marking an interrupted match's end.
type FrameRecovery interface {
	// LastFrame returns the last busy frame stored for the match, and
	// false when it has none.
	LastFrame(ctx context.Context, matchID uint64) (frame uint32, ok bool, err error)
}
