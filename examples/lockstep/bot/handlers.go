package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"github.com/zinxgame/zinxgame/examples/lockstep/demo"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

// Handlers. With WorkerPoolSize Off a connection's handlers run on its reader
// goroutine, one at a time; the bot's shared state is under b.mu because a
// reconnection puts a second connection (another reader) on the same bot.

// headLen is the frame head every message carries (Zinx framing).
const headLen = 8

func (r *runner) routes(cl *znet.Client, noticeID uint32) {
	on := func(id uint32, recv int, h func(s *session, data []byte)) {
		cl.AddRouterFunc(id, func(req ziface.IRequest) {
			r.add(recv, 1)
			data := req.GetData()
			s := sessionOf(req.GetConnection())
			if s == nil { // before Login: a notice from a server refusing us
				return
			}
			s.b.received(len(data))
			if h != nil {
				h(s, data)
			}
		})
	}
	on(lspb.MsgLoginAck, cRecvLoginAck, func(s *session, data []byte) { r.forward(s, lspb.MsgLoginAck, data, &commonpb.LoginAck{}) })
	on(lspb.MsgRoomListAck, cRecvRoomListAck, func(s *session, data []byte) {
		r.forward(s, lspb.MsgRoomListAck, data, &lspb.RoomListAck{})
	})
	on(lspb.MsgRoomState, cRecvRoomState, r.onRoomState)
	on(lspb.MsgPlayerEvent, cRecvPlayerEvent, r.onPlayerEvent)
	on(lspb.MsgMatchStart, cRecvMatchStart, r.onMatchStart)
	on(lspb.MsgFrames, cRecvFrames, func(s *session, data []byte) { r.onFrames(s, lspb.MsgFrames, data) })
	on(lspb.MsgCatchUp, cRecvCatchUp, func(s *session, data []byte) { r.onFrames(s, lspb.MsgCatchUp, data) })
	on(lspb.MsgDesync, cRecvDesync, r.onDesync)
	on(lspb.MsgMatchEnd, cRecvMatchEnd, r.onMatchEnd)
	on(lspb.MsgError, cRecvError, r.onError)
	on(noticeID, cRecvNotice, r.onNotice)
	cl.SetNotFound(func(req ziface.IRequest) {
		r.add(cRecvUnknownID, 1)
		if s := sessionOf(req.GetConnection()); s != nil {
			s.b.received(len(req.GetData()))
		}
	})
	cl.SetOnConnStop(r.onDisconnect)
}

func sessionOf(c ziface.IConnection) *session {
	v, _ := c.GetProperty(propSession)
	s, _ := v.(*session)
	return s
}

// received counts a message's bytes, head included.
func (b *bot) received(n int) {
	n += headLen
	b.bytes.Add(uint64(n))
	if b.matchAt.Load() != 0 && !b.r.stopped.Load() {
		b.matchBytes.Add(uint64(n))
	}
}

func (r *runner) decode(data []byte, m proto.Message) bool {
	if err := proto.Unmarshal(data, m); err != nil {
		r.add(cUnmarshalErr, 1)
		return false
	}
	return true
}

// forward decodes m and passes it to the bot's goroutine.
func (r *runner) forward(s *session, id uint32, data []byte, m proto.Message) {
	if r.decode(data, m) {
		r.signal(s, id, m)
	}
}

func (r *runner) signal(s *session, id uint32, m proto.Message) {
	select {
	case s.b.ev <- event{s: s, id: id, msg: m}:
	default:
		if !r.stopped.Load() {
			r.add(cEvOverflow, 1)
		}
	}
}

// current reports whether s is the bot's connection in use; b.mu held.
func (r *runner) current(s *session) bool {
	if s != s.b.sess {
		r.add(cStale, 1)
		return false
	}
	return true
}

func (r *runner) onRoomState(s *session, data []byte) {
	m := &lspb.RoomState{}
	if !r.decode(data, m) {
		return
	}
	b := s.b
	b.mu.Lock()
	if !r.current(s) {
		b.mu.Unlock()
		return
	}
	if m.Room == nil || m.Room.RoomId == 0 {
		r.add(cMalformed, 1)
	} else {
		if b.started && (m.Room.RoomId != b.roomID || m.YourSlot != b.slot) {
			r.add(cMatchMismatch, 1) // a reconnection put us elsewhere
		}
		b.roomID, b.slot = m.Room.RoomId, m.YourSlot
		b.maxSeat = uint32(r.cfg.Players)
		if o := m.Room.Options; o != nil && o.MaxPlayers != 0 {
			b.maxSeat = o.MaxPlayers
		}
		clear(b.seated)
		for _, p := range m.Slots {
			if p.PlayerId != 0 {
				b.seated[p.PlayerId] = true
			}
		}
	}
	b.mu.Unlock()
	r.signal(s, lspb.MsgRoomState, m)
}

func (r *runner) onPlayerEvent(s *session, data []byte) {
	m := &lspb.PlayerEvent{}
	if !r.decode(data, m) {
		return
	}
	b := s.b
	b.mu.Lock()
	if r.current(s) && m.Player != nil && m.Player.PlayerId != 0 {
		switch m.Kind {
		case lspb.PlayerEventKind_PLAYER_JOINED:
			b.seated[m.Player.PlayerId] = true
		case lspb.PlayerEventKind_PLAYER_LEFT:
			delete(b.seated, m.Player.PlayerId)
		}
	}
	b.mu.Unlock()
	r.signal(s, lspb.MsgPlayerEvent, m)
}

func (r *runner) onMatchStart(s *session, data []byte) {
	m := &lspb.MatchStart{}
	if !r.decode(data, m) {
		return
	}
	b := s.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if !r.current(s) {
		return
	}
	if !b.started {
		seats := 0
		for _, p := range m.Slots {
			seats = max(seats, int(p.Slot)+1)
		}
		if seats == 0 || seats > 16 || m.StartFrame == 0 || m.YourSlot >= uint32(seats) {
			r.add(cMalformed, 1)
			return
		}
		if m.YourSlot != b.slot || !b.rm.matchStarted(m) {
			r.add(cMatchMismatch, 1)
		}
		b.started, b.matchID, b.seed, b.slot, b.hashInt = true, m.MatchId, m.Seed, m.YourSlot, m.HashInterval
		b.sim = demo.New(m.Seed, seats, m.StartFrame-1)
		b.fs.start(m.StartFrame)
		b.lastFrame.Store(m.StartFrame - 1)
		b.matchAt.Store(r.now())
		r.inMatch.Add(1)
		r.tickRate.CompareAndSwap(0, m.TickRate)
	} else if m.MatchId != b.matchID || m.Seed != b.seed || m.YourSlot != b.slot {
		r.add(cMatchMismatch, 1)
	}
	s.resumed = true
	r.signal(s, lspb.MsgMatchStart, m)
}

// onFrames applies a FrameBatch, live (1012) or catch-up (1016).
func (r *runner) onFrames(s *session, id uint32, data []byte) {
	m := &lspb.FrameBatch{}
	if !r.decode(data, m) {
		return
	}
	at := r.now()
	b := s.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if !r.current(s) {
		return
	}
	if !s.resumed {
		r.add(cFramesEarly, 1)
		return
	}
	if !validBatch(m) {
		r.add(cMalformed, 1)
		return
	}
	if id == lspb.MsgCatchUp && !b.catchingUp {
		r.add(cCatchUpUnasked, 1)
	}
	from, n, skipped, repeated := b.fs.accept(m.FirstFrame, m.Count)
	if skipped > 0 {
		r.add(cGaps, 1)
		r.add(cGapFrames, uint64(skipped))
		b.broken = true
		b.sim.Frame = from - 1
	}
	if repeated > 0 {
		r.add(cDups, 1)
		r.add(cDupFrames, uint64(repeated))
	}
	eachFrame(m, from, n, func(f uint32, inputs []*lspb.SlotInput) {
		for _, in := range inputs {
			if !b.sim.Input(in.Slot, in.Data) {
				r.add(cBadInput, 1)
			}
			if in.Slot == b.slot {
				b.ownInput(in.Seq, id, at)
			}
		}
		b.sim.Step()
		h := b.sim.Hash()
		b.ring.put(f, h)
		if b.hashInt > 0 && f%b.hashInt == 0 && !b.broken {
			if b.send(s, lspb.MsgHashReport, &lspb.HashReport{Frame: f, Hash: h}) == nil {
				r.add(cHashesSent, 1)
			}
			if !b.rm.checkHash(f, h) {
				r.add(cLocalMismatch, 1)
			}
		}
		if end := b.rm.endFrame.Load(); end != 0 && !b.voted && f >= end {
			b.voteResult(s, end)
		}
	})
	r.add(cFramesApplied, uint64(n))
	b.lastFrame.Store(b.fs.last())
	if id == lspb.MsgFrames && b.catchingUp {
		b.catchingUp = false
		r.catchUp.Record(time.Duration(at - b.reconnectAt))
	}
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

// validBatch checks what the bots rely on: at least one frame, and the
// busy frames in increasing offset order, each within the batch.
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

// ownInput matches one of the bot's own inputs, relayed in a frame, to its
// send; b.mu held. Only live frames on the connection it was sent on are
// timed: catch-up adds the reconnection to the wait.
func (b *bot) ownInput(seq, id uint32, at int64) {
	r := b.r
	p, lostNow, lostOld, ok := b.fly.match(seq, b.sess.gen)
	r.add(cInputsLost, uint64(lostNow))
	r.add(cInputsLostDrop, uint64(lostOld))
	if !ok {
		r.add(cInputsUnmatched, 1)
		return
	}
	r.add(cInputsEchoed, 1)
	if id == lspb.MsgFrames && p.gen == b.sess.gen {
		r.lat.Record(time.Duration(at - p.at))
	} else {
		r.add(cInputsCaughtUp, 1)
	}
}

// voteResult sends MatchResult: the frame and the state hash after it, the
// same 12 bytes from every bot of the room; b.mu held.
func (b *bot) voteResult(s *session, frame uint32) {
	b.voted = true
	h, ok := b.ring.get(frame)
	if !ok || b.broken {
		b.r.add(cResultMissed, 1)
		return
	}
	b.vote = binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint32(nil, frame), h)
	if b.send(s, lspb.MsgMatchResult, &lspb.MatchResult{Result: b.vote}) == nil {
		b.r.add(cResultsSent, 1)
	}
}

func (r *runner) onDesync(s *session, data []byte) {
	m := &lspb.Desync{}
	if !r.decode(data, m) {
		return
	}
	r.mu.Lock()
	if len(r.desyncs) < 5 {
		r.desyncs = append(r.desyncs, fmt.Sprintf("room %d frame %d slots %v", s.b.rm.idx, m.Frame, m.Slots))
	}
	r.mu.Unlock()
}

func (r *runner) onMatchEnd(s *session, data []byte) {
	m := &lspb.MatchEnd{}
	if !r.decode(data, m) {
		return
	}
	b := s.b
	b.mu.Lock()
	if r.current(s) && !b.ended {
		b.ended = true
		close(b.endCh)
		b.rm.matchEnded(m.Reason, !r.stopped.Load())
		if m.Reason == lspb.MatchEndReason_MATCH_END_RESULT && b.vote != nil && !bytes.Equal(m.Result, b.vote) {
			r.add(cResultMismatch, 1)
		}
	}
	b.mu.Unlock()
	r.signal(s, lspb.MsgMatchEnd, m)
}

func (r *runner) onError(s *session, data []byte) {
	m := &commonpb.Error{}
	if !r.decode(data, m) {
		return
	}
	b := s.b
	b.mu.Lock()
	started := b.started
	b.mu.Unlock()
	if m.RequestId == lspb.MsgReady && started {
		r.add(cReadyLate, 1) // Ready crossed MatchStart: harmless
		return
	}
	r.mu.Lock()
	r.errCodes[m.Code]++
	r.mu.Unlock()
	r.note(&r.onceErr, "server error (first of possibly more): %s answering %d: %s", m.Code, m.RequestId, m.Message)
	r.signal(s, lspb.MsgError, m)
}

func (r *runner) onNotice(s *session, data []byte) {
	n, err := znet.ParseNotice(data)
	if err != nil {
		r.add(cUnmarshalErr, 1)
		return
	}
	r.note(&r.onceNotice, "server notice (first of possibly more): %s: %s", n.Code, n.Reason)
}

func (r *runner) onDisconnect(c ziface.IConnection) {
	s := sessionOf(c)
	if s == nil {
		return
	}
	b := s.b
	b.mu.Lock()
	lost := s == b.sess && !b.ended
	b.mu.Unlock()
	if lost && !r.ending.Load() {
		r.add(cLostConns, 1)
	}
}
