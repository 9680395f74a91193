package lockstep

import (
	"context"
	"fmt"

	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/ziface"
)

// handleReplay sends an ended match: ReplayStart (seed, seats, last
// frame), every frame as catch-up batches (1016) from frame 1, then
// MatchEnd, the same messages a reconnecting player gets, so a client
// replays with the code it plays with. The stores may be remote (Redis), so
// the reads run on the blocking pool (Async) and never hold up a worker.
func (l *Service) handleReplay(req ziface.IRequest) {
	c := req.GetConnection()
	var m lspb.ReplayRequest
	if l.loggedIn(req) == nil || !l.decode(req, &m) {
		return
	}
	var answer func()
	err := c.Async(func(ctx context.Context) {
		answer = l.replay(ctx, c, m.MatchId)
	}, func() {
		if answer != nil {
			answer()
		}
	})
	if err != nil {
		l.sendError(c, l.id(lspb.MsgReplay), commonpb.ErrorCode_ERROR_BUSY, "server busy, try again")
	}
}

// replay does the reads and the sends; a failure is answered by the
// returned func, on the connection's worker, after everything before it.
func (l *Service) replay(ctx context.Context, c ziface.IConnection, matchID uint64) func() {
	fail := func(code commonpb.ErrorCode, msg string) func() {
		return func() { l.sendError(c, l.id(lspb.MsgReplay), code, msg) }
	}
	meta, ok, err := l.matches.LoadMatch(ctx, matchID)
	switch {
	case err != nil:
		l.log.Error("game: replay: loading match metadata failed", "match", matchID, "err", err)
		return fail(commonpb.ErrorCode_ERROR_UNAVAILABLE, "the match store failed")
	case !ok || meta.EndedAt.IsZero():
		return fail(commonpb.ErrorCode_ERROR_MATCH_NOT_FOUND, fmt.Sprintf("no ended match %d", matchID))
	}
	start := &lspb.ReplayStart{MatchId: meta.MatchID, Seed: meta.Seed, TickRate: meta.TickRate, StartFrame: 1,
		LastFrame: meta.LastFrame, Reason: lspb.MatchEndReason(lspb.MatchEndReason_value[meta.EndReason]), Result: meta.Result}
	for _, p := range meta.Players {
		start.Slots = append(start.Slots, &lspb.SlotPlayer{Slot: p.Slot, PlayerId: p.PlayerID, Name: p.Name})
	}
	send(c, l.id(lspb.MsgReplayStart), start)
	if meta.LastFrame > 0 {
		n, err := sendBatches(c, l.id(lspb.MsgCatchUp), l.cfg.MaxBatchBytes, 1, meta.LastFrame, func(fn func(uint32, []byte) bool) error {
			return l.store.ReadFrames(meta.MatchID, 1, meta.LastFrame, fn)
		})
		l.met.bytesSent.Add(float64(n))
		if err != nil {
			l.log.Error("game: replay: reading frames failed", "match", matchID, "err", err)
			return fail(commonpb.ErrorCode_ERROR_UNAVAILABLE, "the frame store failed")
		}
	}
	send(c, l.id(lspb.MsgMatchEnd), &lspb.MatchEnd{MatchId: meta.MatchID, LastFrame: meta.LastFrame, Reason: start.Reason, Result: meta.Result})
	return nil
}
