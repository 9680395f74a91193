package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"github.com/zinxgame/zinxgame/examples/lockstep/demo"
	"io"
	"log/slog"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/internal/botkit"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

// Replay is the check that an ended match can be fetched again (ReplayRequest)
// and re-simulated from its frames alone to the state hash its players
// voted.
type Replay struct {
	MatchID     uint64 `json:"match_id"`
	Frames      uint32 `json:"frames"`
	ResultFrame uint32 `json:"result_frame"`
	WantHash    string `json:"want_hash"`
	GotHash     string `json:"got_hash"`
	Took        Millis `json:"took_ms"`
	OK          bool   `json:"ok"`
	Err         string `json:"error,omitempty"`
}

// replayTimeout bounds the whole check.
const replayTimeout = 20 * time.Second

// replayOne replays the first match that ended on its bots' vote; nil when
// there is none.
func (r *runner) replayOne(ctx context.Context) *Replay {
	var matchID uint64
	var vote []byte
	for _, rm := range r.generations() {
		rm.mu.Lock()
		ok := rm.ended && rm.endReason == lspb.MatchEndReason_MATCH_END_RESULT
		id := rm.matchID
		rm.mu.Unlock()
		if !ok {
			continue
		}
		for _, b := range rm.bots {
			b.mu.Lock()
			v := slices.Clone(b.vote)
			b.mu.Unlock()
			if len(v) == 12 {
				matchID, vote = id, v
				break
			}
		}
		if matchID != 0 {
			break
		}
	}
	if matchID == 0 {
		return nil
	}
	rp := &Replay{MatchID: matchID, ResultFrame: binary.LittleEndian.Uint32(vote),
		WantHash: fmt.Sprintf("%016x", binary.LittleEndian.Uint64(vote[4:]))}
	start := time.Now()
	err := r.replay(ctx, rp)
	rp.Took = Millis(time.Since(start))
	if err != nil {
		rp.Err = err.Error()
	}
	rp.OK = err == nil && rp.GotHash == rp.WantHash
	return rp
}

func (r *runner) replay(ctx context.Context, rp *Replay) error {
	ctx, cancel := context.WithTimeout(ctx, replayTimeout)
	defer cancel()
	cfg := zconf.Default()
	cfg.WorkerPoolSize = zconf.Off
	cfg.MaxPackageSize = 64 << 10
	cl, err := znet.NewClient(cfg, znet.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		return err
	}
	defer cl.Close()
	type msg struct {
		id   uint32
		data []byte
	}
	in := make(chan msg, 4096)
	for _, id := range []uint32{lspb.MsgLoginAck, lspb.MsgError, lspb.MsgReplayStart, lspb.MsgCatchUp, lspb.MsgMatchEnd} {
		cl.AddRouterFunc(id, func(req ziface.IRequest) {
			select {
			case in <- msg{req.GetMsgID(), slices.Clone(req.GetData())}:
			case <-ctx.Done():
			}
		})
	}
	conn, err := botkit.Dial(ctx, cl, r.addr)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	send := func(id uint32, m proto.Message) error {
		b, _ := proto.Marshal(m)
		return conn.SendMsg(id, b)
	}
	next := func(want uint32, m proto.Message) error {
		for {
			select {
			case got := <-in:
				if got.id == lspb.MsgError {
					var e commonpb.Error
					_ = proto.Unmarshal(got.data, &e)
					return fmt.Errorf("server error %v: %s", e.Code, e.Message)
				}
				if got.id != want {
					return fmt.Errorf("got message %d, want %d", got.id, want)
				}
				return proto.Unmarshal(got.data, m)
			case <-ctx.Done():
				return fmt.Errorf("waiting for message %d: %w", want, ctx.Err())
			}
		}
	}
	if err := send(lspb.MsgLogin, &commonpb.Login{Name: "replay"}); err != nil {
		return err
	}
	if err := next(lspb.MsgLoginAck, &commonpb.LoginAck{}); err != nil {
		return err
	}
	if err := send(lspb.MsgReplay, &lspb.ReplayRequest{MatchId: rp.MatchID}); err != nil {
		return err
	}
	var st lspb.ReplayStart
	if err := next(lspb.MsgReplayStart, &st); err != nil {
		return err
	}
	seats := 0
	for _, s := range st.Slots {
		seats = max(seats, int(s.Slot)+1)
	}
	sm := demo.New(st.Seed, seats, st.StartFrame-1)
	var seq frameSeq
	seq.start(st.StartFrame)
	for seq.last() < st.LastFrame {
		var b lspb.FrameBatch
		if err := next(lspb.MsgCatchUp, &b); err != nil {
			return err
		}
		if !validBatch(&b) {
			return fmt.Errorf("malformed batch from frame %d", b.FirstFrame)
		}
		from, n, skipped, repeated := seq.accept(b.FirstFrame, b.Count)
		if skipped > 0 || repeated > 0 {
			return fmt.Errorf("batch from frame %d: %d frames skipped, %d repeated", b.FirstFrame, skipped, repeated)
		}
		eachFrame(&b, from, n, func(f uint32, inputs []*lspb.SlotInput) {
			for _, in := range inputs {
				sm.Input(in.Slot, in.Data)
			}
			sm.Step()
			if f == rp.ResultFrame {
				rp.GotHash = fmt.Sprintf("%016x", sm.Hash())
			}
			rp.Frames++
		})
	}
	var end lspb.MatchEnd
	if err := next(lspb.MsgMatchEnd, &end); err != nil {
		return err
	}
	if end.MatchId != rp.MatchID {
		return fmt.Errorf("MatchEnd for match %d", end.MatchId)
	}
	return nil
}

// eachFrame calls fn with each frame of [from, from+n), a part of batch
// m, and its inputs (none for an empty frame), in order; m is valid.
func eachFrame(m *lspb.FrameBatch, from, n uint32, fn func(frame uint32, inputs []*lspb.SlotInput)) {
	busy := m.Busy
	for f := from; f < from+n; f++ {
		off := f - m.FirstFrame
		for len(busy) > 0 && busy[0].Offset < off {
			busy = busy[1:]
		}
		var inputs []*lspb.SlotInput
		if len(busy) > 0 && busy[0].Offset == off {
			inputs = busy[0].Inputs
		}
		fn(f, inputs)
	}
}

// validBatch checks what the replay relies on: at least one frame, and
// the busy frames in increasing offset order, each within the batch.
func validBatch(m *lspb.FrameBatch) bool {
	if m.Count == 0 || m.FirstFrame == 0 {
		return false
	}
	for i, fi := range m.Busy {
		if fi.Offset >= m.Count || (i > 0 && fi.Offset <= m.Busy[i-1].Offset) || len(fi.Inputs) == 0 {
			return false
		}
	}
	return true
}
