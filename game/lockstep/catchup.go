package lockstep

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/zinxgame/zinxgame/game/room"
	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/ziface"
)

// Catch-up and replays are streams: a goroutine of the connection's
// blocking pool (Async) reads the frames a bounded batch at a time, from
// the room's history or, for frames older than it, from the frame store,
// and sends each batch when the connection's send queue has room
// (WaitSendRoom), so a stream never copies a whole log and never gets a
// slow reader cut. While a seat catches up it gets no live frames; the
// stream then asks the room (Signal) to hand over: the room sends the few
// frames assembled meanwhile itself and makes the seat live, with no gap.

// handOverFrames bounds the frames the room sends itself at a hand-over;
// with more to go, the stream runs another pass.
const handOverFrames = 64

// caughtUp is a stream telling the room it has sent frames up to upTo.
type caughtUp struct {
	slot uint32
	gen  uint64
	upTo uint32
}

// handOver is the room's answer: done, or stream on up to to.
type handOver struct {
	done bool
	to   uint32
}

// startCatchUp streams frames [from, sentUpTo] to a seat; the seat is
// live again when the stream hands over.
func (m *match) startCatchUp(slot uint32, s *seat, from uint32) {
	m.catchGen++
	s.catching = m.catchGen
	if m.l.framesDur != nil {
		m.out.forget(s.conn) // the stream sends it what they hold
	}
	st := &stream{l: m.l, conn: s.conn, match: m.matchID, room: m.r.ID(), hist: m.hist, ended: &m.ended,
		slot: slot, gen: m.catchGen, from: from, to: m.liveUpTo(), started: time.Now()}
	if err := s.conn.Async(st.catchUp, nil); err != nil {
		// The seat stays off live frames: a new Reconnect starts over.
		m.l.sendError(s.conn, m.l.id(lspb.MsgReconnect), commonpb.ErrorCode_ERROR_BUSY, "server busy: send Reconnect again")
	}
}

// handOver answers a stream that has sent frames up to c.upTo.
func (m *match) handOver(c caughtUp) handOver {
	s := m.seats[c.slot]
	if s == nil || s.catching != c.gen || s.conn == nil {
		return handOver{done: true} // the player left or another stream took over
	}
	if m.l.framesDur != nil {
		return m.handOverDurable(c, s)
	}
	if m.sentUpTo-c.upTo > handOverFrames {
		return handOver{to: m.sentUpTo}
	}
	if c.upTo < m.sentUpTo {
		m.sendHistory(s.conn, c.upTo+1, m.sentUpTo)
	}
	s.catching = 0
	return handOver{done: true}
}

// sendHistory sends frames [from, to] from the room's history as catch-up
// batches. On the tick: unpaced (a tick never waits for a client), and
// bounded by handOverFrames.
func (m *match) sendHistory(conn ziface.IConnection, from, to uint32) {
	_, _ = sendFrames(context.Background(), false, conn, m.l.id(lspb.MsgCatchUp), m.l.cfg.MaxBatchBytes, from, to,
		func(from, to uint32, fn func(uint32, []byte) bool) error {
			if !m.hist.read(from, to, fn) {
				return errHistoryTrimmed
			}
			return nil
		})
}

var errHistoryTrimmed = errors.New("game: the frames asked for left the room's history")

// stream is one catch-up or replay in progress.
type stream struct {
	l       *Service
	conn    ziface.IConnection
	match   uint64
	room    uint64
	hist    *history                 // nil for a replay
	ended   *atomic.Pointer[endInfo] // the match's end, once it has ended; nil for a replay
	slot    uint32
	gen     uint64
	from    uint32
	to      uint32
	started time.Time
}

// read reads busy frames [from, to], from the history when it still holds
// them, else from the frame store.
func (st *stream) read(from, to uint32, fn func(uint32, []byte) bool) error {
	if st.hist != nil {
		if st.hist.read(from, to, fn) {
			return nil
		}
		// Older than the history: the store has them. Read up to the
		// history's first frame; the next read comes back here.
		to = min(to, st.hist.from()-1)
	}
	return st.l.frames.ReadFrames(st.match, from, to, fn)
}

func (st *stream) catchUp(ctx context.Context) {
	msgID := st.l.id(lspb.MsgCatchUp)
	for {
		if st.from <= st.to {
			n, err := sendFrames(ctx, true, st.conn, msgID, st.l.cfg.MaxBatchBytes, st.from, st.to, st.read)
			st.l.met.bytesSent.Add(float64(n))
			if err != nil {
				st.fail(err)
				return
			}
		}
		v, err := st.l.rooms.Signal(ctx, st.room, caughtUp{slot: st.slot, gen: st.gen, upTo: st.to})
		switch {
		case err == nil:
			h := v.(handOver)
			if h.done {
				st.l.met.catchUp.Observe(time.Since(st.started).Seconds())
				return
			}
			st.from, st.to = st.to+1, h.to
		case errors.Is(err, room.ErrBusy):
			select {
			case <-time.After(5 * time.Millisecond):
			case <-ctx.Done():
				return
			}
		case errors.Is(err, room.ErrRoomEnded), errors.Is(err, room.ErrRoomNotFound):
			st.finishEnded(ctx)
			return
		default:
			return // the connection closed
		}
	}
}

// finishEnded sends a catching-up player the rest of a match that ended
// meanwhile, then MatchEnd (the room did not, since the seat was not live).
func (st *stream) finishEnded(ctx context.Context) {
	e := st.ended.Load()
	if e == nil {
		return
	}
	// With Sync stores, the end is sent once it, and the frames before
	// it, are durable, as the room's own MatchEnd is.
	for _, d := range st.l.durables(true) {
		if err := store.WaitDurable(ctx, d); err != nil {
			if ctx.Err() == nil {
				st.l.log.Error("game: catch-up: the match's end is not durable, so not sent", "match", st.match, "err", err)
			}
			return
		}
	}
	if st.to < e.end.LastFrame {
		if _, err := sendFrames(ctx, true, st.conn, st.l.id(lspb.MsgCatchUp), st.l.cfg.MaxBatchBytes, st.to+1, e.end.LastFrame, st.read); err != nil {
			st.fail(err)
			return
		}
	}
	send(st.conn, st.l.id(lspb.MsgMatchEnd), e.end)
}

func (st *stream) fail(err error) {
	if errors.Is(err, context.Canceled) || st.conn.Context().Err() != nil {
		return
	}
	st.l.log.Error("game: catch-up: reading frames failed", "match", st.match, "err", err)
	code := commonpb.ErrorCode_ERROR_UNAVAILABLE
	if errors.Is(err, store.ErrFramesLost) || errors.Is(err, errHistoryTrimmed) {
		code = commonpb.ErrorCode_ERROR_FRAMES_UNAVAILABLE
	}
	st.l.sendError(st.conn, st.l.id(lspb.MsgReconnect), code, "the frames you missed cannot be read now: send Reconnect again")
}

// roomSender is a connection a stream can pace (*znet.Connection).
type roomSender interface {
	WaitSendRoom(ctx context.Context) error
}

// sendFrames sends frames [from, to], read with read, as catch-up batches
// of at most maxBytes each, holding one batch at a time; it returns the
// bytes sent. read may be called many times, each from the frame after the
// last batch. Paced, each batch waits for room in the connection's send
// queue (a stream); unpaced it does not (the room's tick, which never
// waits).
func sendFrames(ctx context.Context, pace bool, conn ziface.IConnection, msgID uint32, maxBytes int, from, to uint32,
	read func(from, to uint32, fn func(uint32, []byte) bool) error) (int, error) {
	var (
		w    batchWriter
		buf  []byte
		list []pendFrame
		sent int
	)
	limit := maxBytes - batchHead
	for first := from; first <= to; {
		buf, list = buf[:0], list[:0]
		size, stop := 0, uint32(0) // stop: the first busy frame that did not fit
		err := read(first, to, func(frame uint32, inputs []byte) bool {
			if len(list) > 0 && size+len(inputs)+8 > limit {
				stop = frame
				return false
			}
			size += len(inputs) + 8
			list = append(list, pendFrame{frame, len(buf), len(buf) + len(inputs)})
			buf = append(buf, inputs...)
			return true
		})
		if err != nil {
			return sent, err
		}
		last := to
		if stop != 0 {
			last = stop - 1
		}
		w.begin(first, last-first+1)
		for _, f := range list {
			w.busy(f.frame, buf[f.off:f.end])
		}
		if rs, ok := conn.(roomSender); ok && pace {
			if err := rs.WaitSendRoom(ctx); err != nil {
				return sent, err
			}
		}
		if err := conn.SendMsg(msgID, w.b); err != nil {
			return sent, err
		}
		sent += len(w.b) + 8
		first = last + 1
	}
	return sent, nil
}

// handleReplay streams an ended match: ReplayStart (seed, every seat that
// played, last frame), its frames as catch-up batches (1016) from frame 1,
// then MatchEnd: the messages a reconnecting player gets, so a client
// replays with the code it plays with. One replay per connection at a
// time (ERROR_REPLAY_BUSY); the stores may be remote, so the stream runs
// on the connection's blocking pool.
func (l *Service) handleReplay(req ziface.IRequest) {
	c := req.GetConnection()
	var m lspb.ReplayRequest
	if _, ok := l.player(req); !ok || !l.decode(req, &m) {
		return
	}
	busy := l.replaying(c)
	if !busy.CompareAndSwap(false, true) {
		l.sendError(c, req.GetMsgID(), commonpb.ErrorCode_ERROR_REPLAY_BUSY, "a replay is already streaming to you")
		return
	}
	var answer func()
	err := c.Async(func(ctx context.Context) {
		defer busy.Store(false)
		answer = l.replay(ctx, c, m.MatchId)
	}, func() {
		if answer != nil {
			answer()
		}
	})
	if err != nil {
		busy.Store(false)
		l.sendError(c, req.GetMsgID(), commonpb.ErrorCode_ERROR_BUSY, "server busy, try again")
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
	// Check that the frames are all there before promising them.
	if err := l.frames.ReadFrames(meta.MatchID, 1, 0, func(uint32, []byte) bool { return false }); err != nil {
		if errors.Is(err, store.ErrFramesLost) || errors.Is(err, store.ErrNoMatch) {
			return fail(commonpb.ErrorCode_ERROR_FRAMES_UNAVAILABLE, fmt.Sprintf("the frames of match %d are not kept", matchID))
		}
		return fail(commonpb.ErrorCode_ERROR_UNAVAILABLE, "the frame store failed")
	}
	send(c, l.id(lspb.MsgReplayStart), start)
	if meta.LastFrame > 0 {
		st := &stream{l: l, conn: c, match: meta.MatchID}
		n, err := sendFrames(ctx, true, c, l.id(lspb.MsgCatchUp), l.cfg.MaxBatchBytes, 1, meta.LastFrame, st.read)
		l.met.bytesSent.Add(float64(n))
		if err != nil {
			if c.Context().Err() != nil {
				return nil
			}
			l.log.Error("game: replay: reading frames failed", "match", matchID, "err", err)
			return fail(commonpb.ErrorCode_ERROR_UNAVAILABLE, "the frame store failed")
		}
	}
	send(c, l.id(lspb.MsgMatchEnd), &lspb.MatchEnd{MatchId: meta.MatchID, LastFrame: meta.LastFrame, Reason: start.Reason, Result: meta.Result})
	return nil
}
