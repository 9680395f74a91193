package main

import (
	"context"
	"fmt"
	"time"

	"github.com/zinxgame/zinxgame/protocol/lspb"
)

// Riding out a server restart (-survive-restarts). A server that shuts
// down ends every match with MATCH_END_SHUTDOWN, while its players are
// still connected, then closes; a bot's match is over and, by default,
// the bot stops there (and the run fails: a match ended during the run).
// With SurviveRestarts the room's bots come back instead: each closes its
// client, dials again until the server is back (a new login: the old
// process's seats are gone with it), and the room forms again as a new
// room of the same bots (the creator creates it, the others join it),
// readies and plays a new match, all under the usual checks. A room whose
// first bot to come back finds the run in its last quiet stretch stays
// ended (counted, not a failure). Every match whose MatchEnd a bot got is
// listed in the report (acked_matches), so a scenario can look each one up
// in the server's store afterwards: MatchEnd is what acknowledges a match
// (with Redis.MatchDurability sync, it leaves once the match is durable).

// rejoinWait bounds how long a bot keeps dialling a restarting server.
const rejoinWait = 30 * time.Second

// maxAcked bounds the matches listed in the report; more are counted.
const maxAcked = 10000

// AckedMatch is a match whose MatchEnd a bot received.
type AckedMatch struct {
	MatchID   uint64 `json:"match_id"`
	LastFrame uint32 `json:"last_frame"`
	Reason    string `json:"reason"`
}

// Restarts counts what -survive-restarts did.
type Restarts struct {
	Enabled bool `json:"enabled"`
	// MatchesEnded: matches the server ended for its shutdown during the
	// run, by room.
	MatchesEnded uint64 `json:"matches_ended_by_shutdown"`
	Rejoined     uint64 `json:"rejoined"`   // bots back in a new match after one
	Failed       uint64 `json:"failed"`     // bots that could not come back
	TooLate      uint64 `json:"too_late"`   // bots left out: the run was ending
	DialRetries  uint64 `json:"dial_retry"` // dials refused while a server was away
}

// ackMatch records a match's MatchEnd, once per match.
func (r *runner) ackMatch(m *lspb.MatchEnd) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ackedTotal++
	if len(r.acked) < maxAcked {
		r.acked = append(r.acked, AckedMatch{MatchID: m.MatchId, LastFrame: m.LastFrame, Reason: m.Reason.String()})
	}
}

// shutdownEnded reports whether the bot's match was ended by its server's
// shutdown during the run, and the bot is to come back.
func (b *bot) shutdownEnded(ctx context.Context) bool {
	if !b.r.cfg.SurviveRestarts || ctx.Err() != nil {
		return false
	}
	b.rm.mu.Lock()
	defer b.rm.mu.Unlock()
	return b.rm.ended && b.rm.endReason == lspb.MatchEndReason_MATCH_END_SHUTDOWN
}

// rejoin closes the bot's client and resets its match state for the
// room's next generation; join then dials (retrying) and plays again.
// It returns false when the room stays ended (the run is ending).
func (b *bot) rejoin(ctx context.Context) (bool, error) {
	next := b.rm.successor(func() bool { return time.Until(b.r.deadline) > b.r.quiet()+b.r.cfg.Offline })
	b.mu.Lock()
	old := b.c
	b.mu.Unlock()
	_ = old.Close()
	select {
	case <-old.Done():
	case <-time.After(stopTimeout):
		return false, fmt.Errorf("the old client did not close within %s", stopTimeout)
	case <-ctx.Done():
		return false, ctx.Err()
	}
	b.mu.Lock()
	// The old client's sequencing counters go to the runner's, which
	// counters() adds to the live clients'.
	s := old.Stats()
	b.r.add(cGaps, s.Gaps)
	b.r.add(cGapFrames, s.GapFrames)
	b.r.add(cDups, s.Dups)
	b.r.add(cDupFrames, s.DupFrames)
	b.r.add(cStale, s.Stale)
	b.r.add(cUnmarshalErr, s.Malformed)
	b.c = nil
	if next != nil {
		b.rm = next
		b.started, b.ended, b.sim, b.voted, b.vote = false, false, nil, false, nil
		b.roomID, b.maxSeat, b.slot, b.matchID, b.seed = 0, 0, 0, 0, 0
		b.catchingUp, b.reconnectAt = false, 0
		b.fly, b.ring = inflight{}, hashRing{}
		clear(b.seated)
		b.endCh = make(chan struct{})
		b.rejoining = true
	}
	b.mu.Unlock()
	if next == nil {
		return false, nil
	}
	select {
	case <-b.wake:
	default:
	}
	return true, nil
}

// successor is the room's next generation after a restart, the same bots
// in a new server room; made once, by the first bot to ask, when ok says
// there is time for it, else nil for every bot of the room.
func (rm *room) successor(ok func() bool) *room {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if !rm.decided {
		rm.decided = true
		if ok() {
			rm.next = newRoom(rm.idx)
			rm.next.bots = rm.bots
		}
	}
	return rm.next
}

// chain is the room and its later generations, oldest first.
func (rm *room) chain() []*room {
	var out []*room
	for g := rm; g != nil; {
		out = append(out, g)
		g.mu.Lock()
		next := g.next
		g.mu.Unlock()
		g = next
	}
	return out
}

// generations are every room of the run, later generations included.
func (r *runner) generations() []*room {
	var out []*room
	for _, rm := range r.rooms {
		out = append(out, rm.chain()...)
	}
	return out
}

// latest is the room's current generation.
func (rm *room) latest() *room {
	c := rm.chain()
	return c[len(c)-1]
}

// dialRetrying dials until the server answers, within rejoinWait and the
// run: a restarting server refuses connections for a while.
func (b *bot) dialRetrying(ctx context.Context) error {
	deadline := time.Now().Add(rejoinWait)
	wait := 50 * time.Millisecond
	for {
		err := b.dial(ctx)
		if err == nil || ctx.Err() != nil || time.Now().Add(wait).After(deadline) {
			return err
		}
		b.r.add(cDialRetries, 1)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}
