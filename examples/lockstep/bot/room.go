package main

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/zinxgame/zinxgame/protocol/lspb"
)

// room is one group of -players bots: the first creates a server room, the
// others join it by ID. It also keeps what the group shares: the match it
// got, the state hashes its bots computed (every bot of a room must compute
// the same ones, whatever the server says), and the frame at which they
// vote the match's result.
type room struct {
	idx  int
	bots []*bot

	createOnce sync.Once
	created    chan struct{} // closed once id is known
	id         uint64        // the server's room ID; 0 if creating it failed

	endFrame atomic.Uint32 // the frame to vote the result at; 0 until the run ends

	mu        sync.Mutex
	started   bool
	matchID   uint64
	seed      uint64
	ended     bool
	endReason lspb.MatchEndReason
	endedLive bool              // ended before the run did
	hashes    map[uint32]hashes // frame -> the hashes reported so far
	// After a server restart (restart.go): the room's next generation,
	// decided once.
	next    *room
	decided bool
}

type hashes struct {
	hash uint64 // the first bot's
	n    int    // bots that computed it
}

var errCreateFailed = errors.New("the room's creator could not create it")

func newRoom(idx int) *room {
	return &room{idx: idx, created: make(chan struct{}), hashes: map[uint32]hashes{}}
}

// publish makes the room's ID known to the joiners; 0 says creation failed.
func (rm *room) publish(id uint64) {
	rm.createOnce.Do(func() {
		rm.id = id
		close(rm.created)
	})
}

// wait returns the room's ID once the creator has it.
func (rm *room) wait(ctx context.Context) (uint64, error) {
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-rm.created:
	}
	if rm.id == 0 {
		return 0, errCreateFailed
	}
	return rm.id, nil
}

// matchStarted records a bot's first MatchStart. It reports whether the
// match is the one the room's other bots got (same ID and seed).
func (rm *room) matchStarted(m *lspb.MatchStart) (same bool) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if !rm.started {
		rm.started, rm.matchID, rm.seed = true, m.MatchId, m.Seed
		return true
	}
	return rm.matchID == m.MatchId && rm.seed == m.Seed
}

// matchEnded records a MatchEnd; live says the run was still going. It
// reports whether this call ended the match (the room's first MatchEnd).
func (rm *room) matchEnded(reason lspb.MatchEndReason, live bool) bool {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if !rm.ended {
		rm.ended, rm.endReason, rm.endedLive = true, reason, live
		return true
	}
	return false
}

func (rm *room) state() (started, ended bool) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	return rm.started, rm.ended
}

// checkHash compares a bot's state hash after frame with the room's other
// bots'; it reports false when they differ. A frame's entry is dropped once
// every bot of the room has reported it.
func (rm *room) checkHash(frame uint32, h uint64) bool {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	e, ok := rm.hashes[frame]
	if !ok {
		e.hash = h
	}
	e.n++
	if e.n >= len(rm.bots) {
		delete(rm.hashes, frame)
	} else {
		rm.hashes[frame] = e
	}
	return e.hash == h
}

// setEndFrame picks the frame the room's bots vote the result at: a little
// after the furthest frame any of them has, so that all of them still
// compute it.
func (rm *room) setEndFrame(margin uint32) {
	if started, _ := rm.state(); !started {
		return
	}
	var last uint32
	for _, b := range rm.bots {
		last = max(last, b.lastFrame.Load())
	}
	rm.endFrame.Store(last + margin)
}
