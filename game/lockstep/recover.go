package lockstep

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/zinxgame/zinxgame/game/account"
	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/ziface"
)

// Recovery. A process that crashes ends none of its matches: the match
// store still has them running, and their players' sessions still name
// their rooms. The next process of the node marks them ended with
// MATCH_END_INTERRUPTED at their last durable frame (Recover, run in the
// background once mounted), so they replay up to it; a player whose
// session names a room this process does not have is told how its match
// ended (staleRoom).

// Recovery's retry delays: doubling from the first to the last.
const (
	recoverFirstDelay = 100 * time.Millisecond
	recoverMaxDelay   = 30 * time.Second
)

// recovery is the background Recover of a mounted service.
type recovery struct {
	once   sync.Once
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// start runs Recover in the background until it succeeds or stop; a
// second call does nothing.
func (r *recovery) start(l *Service) {
	r.once.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		r.mu.Lock()
		r.cancel, r.done = cancel, make(chan struct{})
		r.mu.Unlock()
		go func() {
			defer close(r.done)
			defer cancel()
			delay := recoverFirstDelay
			for attempt := 1; ; attempt++ {
				_, err := l.Recover(ctx)
				if err == nil || ctx.Err() != nil {
					return
				}
				l.log.Warn("game: recovering the matches a previous process left running failed; retrying",
					"attempt", attempt, "retry_in", delay, "err", err)
				t := time.NewTimer(delay)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
				delay = min(2*delay, recoverMaxDelay)
			}
		}()
	})
}

// stop ends the background Recover and waits for it, or for ctx.
func (r *recovery) stop(ctx context.Context) error {
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("game: waiting for the match recovery to stop: %w", ctx.Err())
	}
}

// Recover marks ended the matches this node's previous process left
// running (a crash): for each match the MatchStore (a store.MatchRecovery)
// lists as running on the node, it ends its frame log at its last durable
// frame (the FrameStore's store.FrameRecovery LastFrame; 0 without one)
// and saves its metadata with EndedAt now, that LastFrame and EndReason
// MATCH_END_INTERRUPTED, so it replays up to there. Matches of this
// process are never touched: they have IDs issued after the service was
// made. It returns how many matches it marked; stores that cannot list
// running matches make it a no-op. Mount runs it in the background,
// retrying until it succeeds; it is safe to call again (what it marked is
// no longer running) and safe for concurrent use.
func (l *Service) Recover(ctx context.Context) (int, error) {
	mr, ok := l.matches.(store.MatchRecovery)
	if !ok {
		return 0, nil
	}
	running, err := mr.RunningMatches(ctx, l.node)
	if err != nil {
		return 0, fmt.Errorf("game: listing the matches left running on node %d: %w", l.node, err)
	}
	n := 0
	for _, id := range running {
		if id >= l.fence {
			continue // this process's
		}
		ok, err := l.recoverMatch(ctx, id)
		if err != nil {
			return n, err
		}
		if ok {
			n++
			l.met.matchesRecovered.Inc()
		}
	}
	if n > 0 {
		l.log.Warn("game: matches a previous process left running marked interrupted",
			"node", l.node, "matches", n, "reason", lspb.MatchEndReason_MATCH_END_INTERRUPTED.String())
	}
	return n, nil
}

// recoverMatch marks one match interrupted; false when it is not a
// running match of this node after all.
func (l *Service) recoverMatch(ctx context.Context, id uint64) (bool, error) {
	meta, ok, err := l.matches.LoadMatch(ctx, id)
	if err != nil {
		return false, fmt.Errorf("game: loading match %d to recover it: %w", id, err)
	}
	if !ok || !meta.EndedAt.IsZero() || meta.Node != l.node {
		return false, nil
	}
	var last uint32
	if fr, ok := l.frames.(store.FrameRecovery); ok {
		f, ok, err := fr.LastFrame(ctx, id)
		if err != nil {
			return false, fmt.Errorf("game: reading the last frame of match %d: %w", id, err)
		}
		if ok {
			last = f
		}
	}
	if err := l.frames.EndMatch(id, last); err != nil {
		return false, fmt.Errorf("game: ending match %d's frames: %w", id, err)
	}
	meta.EndedAt, meta.LastFrame = time.Now(), last
	meta.EndReason = lspb.MatchEndReason_MATCH_END_INTERRUPTED.String()
	if err := l.matches.SaveMatch(ctx, meta); err != nil {
		return false, fmt.Errorf("game: saving match %d as interrupted: %w", id, err)
	}
	return true, nil
}

// staleRoomOf is the room p's session names when this process has no such
// room (its server stopped), 0 otherwise.
func (l *Service) staleRoomOf(p account.Player) uint64 {
	se := p.Session
	if se == nil || se.RoomID == 0 || l.rooms.Room(se.RoomID) != nil {
		return 0
	}
	return se.RoomID
}

// staleRoom answers a Reconnect whose session names a room this process
// does not have: how the match ended (MatchEnd, from the match store; an
// unknown or unfinished match of this node's previous process is
// MATCH_END_INTERRUPTED), then ERROR_NO_SEAT, which a client that knows
// nothing of the first takes as today's answer; the session's room is
// cleared. A room of this process that has ended with its match not
// (yet) stored as ended gets ERROR_NO_SEAT alone, the session cleared; a
// match still running on another node gets ERROR_NO_SEAT alone, the
// session left as it is. The store read runs off the worker.
func (l *Service) staleRoom(c ziface.IConnection, req uint32, p account.Player) {
	se := *p.Session
	var (
		end   *lspb.MatchEnd
		clear bool
		err   error
	)
	aerr := c.Async(func(ctx context.Context) { end, clear, err = l.staleEnd(ctx, se) }, func() {
		if err != nil {
			l.log.Error("game: reconnect: loading the match of a stale session failed", "match", se.MatchID, "err", err)
			l.sendError(c, req, commonpb.ErrorCode_ERROR_UNAVAILABLE, "the match store failed: send Reconnect again")
			return
		}
		if clear {
			l.acc.UpdateSession(p.ID, 0, 0, 0)
		}
		if end == nil {
			l.sendError(c, req, commonpb.ErrorCode_ERROR_NO_SEAT, "no seat is held for you")
			return
		}
		send(c, l.id(lspb.MsgMatchEnd), end)
		l.sendError(c, req, commonpb.ErrorCode_ERROR_NO_SEAT, "no seat: your match has ended (MatchEnd)")
	})
	if aerr != nil {
		l.sendError(c, req, commonpb.ErrorCode_ERROR_BUSY, "server busy: send Reconnect again")
	}
}

// staleEnd is the end of the match of a session whose room is gone (nil
// when there is none to tell), and whether the session's room is to be
// cleared (not when the match runs on another node).
func (l *Service) staleEnd(ctx context.Context, se store.Session) (end *lspb.MatchEnd, clear bool, err error) {
	interrupted := &lspb.MatchEnd{MatchId: se.MatchID, Reason: lspb.MatchEndReason_MATCH_END_INTERRUPTED}
	if se.MatchID == 0 {
		return interrupted, true, nil
	}
	meta, ok, err := l.matches.LoadMatch(ctx, se.MatchID)
	ours := se.MatchID >= l.fence // this process's: its room ended, not crashed
	switch {
	case err != nil:
		return nil, false, err
	case ok && !meta.EndedAt.IsZero():
		// Ended: interrupted (recovered), or while the player was away.
		end := &lspb.MatchEnd{MatchId: se.MatchID, LastFrame: meta.LastFrame, Result: meta.Result,
			Reason: lspb.MatchEndReason_MATCH_END_INTERRUPTED}
		if r, ok := lspb.MatchEndReason_value[meta.EndReason]; ok {
			end.Reason = lspb.MatchEndReason(r)
		}
		return end, true, nil
	case ours:
		return nil, true, nil // a lobby that closed, or an end the store does not show yet
	case ok && meta.Node != l.node:
		return nil, false, nil // running on another node
	}
	// This node's previous process's, not recovered yet; or not in the
	// store (a lobby, or no longer kept).
	return interrupted, true, nil
}
