package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/zinxgame/zinxgame/client"
	"github.com/zinxgame/zinxgame/examples/lockstep/demo"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/znet"
)

// The bot's side of the client: its Game (the demo simulation, with the
// bot's checks on every frame) and its callbacks. They run on the client's
// event goroutine; the bot's state is under b.mu because run reads it too.

// headLen is the frame head every message carries (Zinx framing).
const headLen = 8

// recvCounter maps a message ID to its receive counter.
func recvCounter(id, noticeID uint32) int {
	switch id {
	case lspb.MsgLoginAck:
		return cRecvLoginAck
	case lspb.MsgRoomState:
		return cRecvRoomState
	case lspb.MsgRoomListAck:
		return cRecvRoomListAck
	case lspb.MsgPlayerEvent:
		return cRecvPlayerEvent
	case lspb.MsgMatchStart:
		return cRecvMatchStart
	case lspb.MsgFrames:
		return cRecvFrames
	case lspb.MsgCatchUp:
		return cRecvCatchUp
	case lspb.MsgDesync:
		return cRecvDesync
	case lspb.MsgMatchEnd:
		return cRecvMatchEnd
	case lspb.MsgError:
		return cRecvError
	case noticeID:
		return cRecvNotice
	}
	return cRecvUnknownID
}

func (b *bot) handler() client.Handler {
	r := b.r
	return client.Handler{
		Game: (*botGame)(b),
		OnMessage: func(id uint32, size int) {
			if id == r.pingID {
				return // the client's keep-alive, not the game's traffic
			}
			r.add(recvCounter(id, r.noticeID), 1)
			n := uint64(size + headLen)
			b.bytes.Add(n)
			if b.matchAt.Load() != 0 && !r.stopped.Load() {
				b.matchBytes.Add(n)
			}
		},
		OnRoomState:   b.onRoomState,
		OnPlayerEvent: b.onPlayerEvent,
		OnMatchStart: func(m *lspb.MatchStart, resumed bool) {
			if !resumed {
				return // Start did the work
			}
			b.mu.Lock()
			if m.MatchId != b.matchID || m.Seed != b.seed || m.YourSlot != b.slot {
				r.add(cMatchMismatch, 1)
			}
			b.catchingUp, b.reconnectAt = true, r.now()
			b.mu.Unlock()
			notify(b.resumed)
		},
		OnDesync:   b.onDesync,
		OnMatchEnd: b.onMatchEnd,
		OnError:    b.onError,
		OnNotice: func(n znet.Notice) {
			r.note(&r.onceNotice, "server notice (first of possibly more): %s: %s", n.Code, n.Reason)
		},
		OnState: func(s client.State, err error) {
			if s != client.StateReconnecting {
				return
			}
			b.mu.Lock()
			ours, ended := b.redialing, b.ended
			if !ours {
				b.gen++ // inputs sent before the drop are on an old connection
			}
			b.mu.Unlock()
			if !ours && !ended && !r.ending.Load() {
				r.add(cLostConns, 1)
			}
		},
	}
}

func (b *bot) onRoomState(m *lspb.RoomState) {
	b.mu.Lock()
	if m.Room == nil || m.Room.RoomId == 0 {
		b.r.add(cMalformed, 1)
	} else {
		if b.started && (m.Room.RoomId != b.roomID || m.YourSlot != b.slot) {
			b.r.add(cMatchMismatch, 1) // a reconnection put us elsewhere
		}
		b.roomID, b.slot = m.Room.RoomId, m.YourSlot
		b.maxSeat = uint32(b.r.cfg.Players)
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
	notify(b.wake)
}

func (b *bot) onPlayerEvent(m *lspb.PlayerEvent) {
	b.mu.Lock()
	if m.Player != nil && m.Player.PlayerId != 0 {
		switch m.Kind {
		case lspb.PlayerEventKind_PLAYER_JOINED:
			b.seated[m.Player.PlayerId] = true
		case lspb.PlayerEventKind_PLAYER_LEFT:
			delete(b.seated, m.Player.PlayerId)
		}
	}
	b.mu.Unlock()
	notify(b.wake)
}

// botGame is the bot as the client's Game.
type botGame bot

// Start is the bot's first MatchStart: the simulation begins.
func (g *botGame) Start(m *lspb.MatchStart) {
	b := (*bot)(g)
	r := b.r
	b.mu.Lock()
	defer b.mu.Unlock()
	defer notify(b.wake)
	if b.started {
		r.add(cMatchMismatch, 1) // a second match for one bot
		return
	}
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
	b.started, b.matchID, b.seed, b.slot = true, m.MatchId, m.Seed, m.YourSlot
	b.sim = demo.New(m.Seed, seats, m.StartFrame-1)
	b.lastFrame.Store(m.StartFrame - 1)
	if !b.everStarted { // a bot's later matches (SurviveRestarts) count once
		b.everStarted = true
		b.matchAt.Store(r.now())
		r.inMatch.Add(1)
	}
	r.tickRate.CompareAndSwap(0, m.TickRate)
}

// Step applies one frame, checks the bot's own inputs in it, compares the
// state hash with the room's other bots' and votes the result at the
// room's end frame.
func (g *botGame) Step(f client.Frame) {
	b := (*bot)(g)
	r := b.r
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sim == nil {
		return
	}
	at := int64(f.At.Sub(r.base))
	if f.CatchUp && !b.catchingUp {
		r.add(cCatchUpUnasked, 1)
	}
	for _, in := range f.Inputs {
		if !b.sim.Input(in.Slot, in.Data) {
			r.add(cBadInput, 1)
		}
		if in.Slot == b.slot {
			b.ownInput(in.Seq, f.CatchUp, at)
		}
	}
	b.sim.Step()
	h := b.sim.Hash()
	b.ring.put(f.Number, h)
	if f.HashDue {
		r.add(cHashesSent, 1) // the client reports it
		if !b.rm.checkHash(f.Number, h) {
			r.add(cLocalMismatch, 1)
		}
	}
	if end := b.rm.endFrame.Load(); end != 0 && !b.voted && f.Number >= end {
		b.voteResult(end)
	}
	r.add(cFramesApplied, 1)
	b.lastFrame.Store(f.Number)
	if !f.CatchUp && b.catchingUp {
		b.catchingUp = false
		r.catchUp.Record(time.Duration(at - b.reconnectAt))
	}
}

// Hash is the state hash after the last frame.
func (g *botGame) Hash() uint64 {
	b := (*bot)(g)
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sim.Hash()
}

// ownInput matches one of the bot's own inputs, relayed in a frame, to its
// send; b.mu held. Only live frames on the connection it was sent on are
// timed: catch-up adds the reconnection to the wait.
func (b *bot) ownInput(seq uint32, catchUp bool, at int64) {
	r := b.r
	p, lostNow, lostOld, ok := b.fly.match(seq, b.gen)
	r.add(cInputsLost, uint64(lostNow))
	r.add(cInputsLostDrop, uint64(lostOld))
	if !ok {
		r.add(cInputsUnmatched, 1)
		return
	}
	r.add(cInputsEchoed, 1)
	if !catchUp && p.gen == b.gen {
		r.lat.Record(time.Duration(at - p.at))
	} else {
		r.add(cInputsCaughtUp, 1)
	}
}

// voteResult sends MatchResult: the frame and the state hash after it, the
// same 12 bytes from every bot of the room; b.mu held.
func (b *bot) voteResult(frame uint32) {
	b.voted = true
	h, ok := b.ring.get(frame)
	if !ok || b.c.Stats().Gaps > 0 {
		b.r.add(cResultMissed, 1)
		return
	}
	b.vote = binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint32(nil, frame), h)
	if b.c.Vote(b.vote) == nil {
		b.r.add(cResultsSent, 1)
	} else {
		b.r.add(cSendErr, 1)
	}
}

func (b *bot) onDesync(m *lspb.Desync) {
	r := b.r
	r.mu.Lock()
	if len(r.desyncs) < 5 {
		r.desyncs = append(r.desyncs, fmt.Sprintf("room %d frame %d slots %v", b.rm.idx, m.Frame, m.Slots))
	}
	r.mu.Unlock()
}

func (b *bot) onMatchEnd(m *lspb.MatchEnd) {
	r := b.r
	b.mu.Lock()
	if !b.ended {
		b.ended = true
		close(b.endCh)
		live := !r.stopped.Load()
		if live && r.cfg.SurviveRestarts && m.Reason == lspb.MatchEndReason_MATCH_END_SHUTDOWN {
			live = false // ridden out: the room comes back (restart.go)
			if b.rm.matchEnded(m.Reason, false) {
				r.add(cShutdownEnds, 1)
				r.ackMatch(m)
			}
		} else if b.rm.matchEnded(m.Reason, live) {
			r.ackMatch(m)
		}
		if m.Reason == lspb.MatchEndReason_MATCH_END_RESULT && b.vote != nil && !bytes.Equal(m.Result, b.vote) {
			r.add(cResultMismatch, 1)
		}
	}
	b.mu.Unlock()
}

func (b *bot) onError(m *commonpb.Error) {
	r := b.r
	b.mu.Lock()
	started, ended := b.started, b.ended
	b.mu.Unlock()
	if m.RequestId == lspb.MsgReady && started {
		r.add(cReadyLate, 1) // Ready crossed MatchStart: harmless
		return
	}
	// An input sent as the server ended the match (a shutdown closes the
	// room, so it is not in one any more) crossed the MatchEnd: input()
	// sends none once the bot has it, so this one left before.
	if m.RequestId == lspb.MsgInput && ended {
		r.add(cInputLate, 1)
		return
	}
	r.mu.Lock()
	r.errCodes[m.Code]++
	r.mu.Unlock()
	r.note(&r.onceErr, "server error (first of possibly more): %s answering %d: %s", m.Code, m.RequestId, m.Message)
}
