package client

import (
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/znet"
)

// eventQueue bounds the messages waiting for the event goroutine; a full
// queue holds the reader back rather than lose a frame.
const eventQueue = 256

// event is one thing for the event goroutine: a message of link l, a
// notice, or a change of state.
type event struct {
	l        *link
	id       uint32
	msg      proto.Message
	at       time.Time
	answered bool // a request took it (an Error answered is not OnError's)
	notice   *znet.Notice
	state    State
	err      error
}

// matchState is the match as the event goroutine sees it.
type matchState struct {
	match     *lspb.MatchStart
	next      uint32 // the frame expected next
	ended     bool
	resyncing bool // a Reconnect on the same link is under way: frames wait for its MatchStart
}

// push queues ev, blocking while the queue is full, until the client
// closes.
func (c *Lockstep) push(ev event) {
	select {
	case c.events <- ev:
	case <-c.closing:
	}
}

// loop is the event goroutine: it owns the match state and calls the
// handlers, one event at a time. On close it runs what was queued, then
// OnState(StateClosed).
func (c *Lockstep) loop() {
	defer close(c.evDone)
	for {
		select {
		case ev := <-c.events:
			c.handle(ev)
		case <-c.closing:
			// What arrived before the close is still told (a kick's
			// notice comes just before its connection closes).
			for drained := false; !drained; {
				select {
				case ev := <-c.events:
					c.handle(ev)
				default:
					drained = true
				}
			}
			if f := c.h.OnState; f != nil {
				f(StateClosed, c.Err())
			}
			return
		}
	}
}

func (c *Lockstep) handle(ev event) {
	h := &c.h
	switch {
	case ev.state != 0:
		if f := h.OnState; f != nil {
			f(ev.state, ev.err)
		}
		return
	case ev.notice != nil:
		if f := h.OnNotice; f != nil {
			f(*ev.notice)
		}
		return
	}
	if ev.l.gen != c.gen.Load() {
		c.stats.stale.Add(1) // a late message of a connection replaced since
		return
	}
	switch m := ev.msg.(type) {
	case *lspb.RoomState:
		c.mu.Lock()
		c.room = m
		c.mu.Unlock()
		if f := h.OnRoomState; f != nil {
			f(m)
		}
	case *lspb.PlayerEvent:
		if f := h.OnPlayerEvent; f != nil {
			f(m)
		}
	case *lspb.MatchStart:
		c.matchStart(m)
	case *lspb.FrameBatch:
		c.batch(ev, m)
	case *lspb.Desync:
		c.stats.desyncs.Add(1)
		if f := h.OnDesync; f != nil {
			f(m)
		}
	case *lspb.MatchEnd:
		c.ms.ended = true
		c.mu.Lock()
		c.ended = true
		c.mu.Unlock()
		if f := h.OnMatchEnd; f != nil {
			f(m)
		}
	case *commonpb.Error:
		if ev.answered {
			return
		}
		if m.RequestId == lspb.MsgReconnect && c.ms.resyncing {
			// The resync was refused (a catch-up already streaming, say):
			// a new connection resumes from the last frame instead.
			ev.l.conn.Stop()
		}
		if f := h.OnError; f != nil {
			f(m)
		}
	}
}

func (c *Lockstep) matchStart(m *lspb.MatchStart) {
	resumed := c.ms.match != nil && c.ms.match.MatchId == m.MatchId && !c.ms.ended
	if resumed {
		c.ms.resyncing = false
	} else {
		if m.StartFrame == 0 {
			c.stats.malformed.Add(1)
			return
		}
		c.ms = matchState{match: m, next: m.StartFrame}
		c.last.Store(m.StartFrame - 1)
		c.received.Store(m.StartFrame - 1)
		if g := c.h.Game; g != nil {
			g.Start(m)
		}
	}
	c.mu.Lock()
	c.match, c.ended = m, false
	c.mu.Unlock()
	if f := c.h.OnMatchStart; f != nil {
		f(m, resumed)
	}
}

// batch applies a FrameBatch: the frames not seen yet, in order. A batch
// that starts past the next frame means frames went missing: the client
// asks the server to resend from the last one it has (Reconnect on the
// same connection) and ignores frames until that catch-up begins.
func (c *Lockstep) batch(ev event, m *lspb.FrameBatch) {
	ms := &c.ms
	if ms.match == nil || ms.ended || ms.resyncing {
		c.stats.stale.Add(1)
		return
	}
	if !validBatch(m) {
		c.stats.malformed.Add(1)
		c.log.Warn("client: a malformed frame batch", "first", m.FirstFrame, "count", m.Count)
		return
	}
	first, end := m.FirstFrame, m.FirstFrame+m.Count
	switch {
	case first > ms.next:
		c.stats.gaps.Add(1)
		c.stats.gapFrames.Add(uint64(first - ms.next))
		c.log.Warn("client: frames missing; asking for them again", "want", ms.next, "got", first)
		ms.resyncing = true
		if err := ev.l.send(lspb.MsgReconnect, &lspb.Reconnect{LastFrame: ms.next - 1}); err != nil {
			ev.l.conn.Stop()
		}
		return
	case end <= ms.next:
		c.stats.dups.Add(1)
		c.stats.dupFrames.Add(uint64(m.Count))
		return
	case first < ms.next:
		c.stats.dups.Add(1)
		c.stats.dupFrames.Add(uint64(ms.next - first))
	}
	busy := m.Busy
	catchUp := ev.id == lspb.MsgCatchUp
	hashEvery := ms.match.HashInterval
	for f := ms.next; f < end; f++ {
		off := f - first
		for len(busy) > 0 && busy[0].Offset < off {
			busy = busy[1:]
		}
		// Catch-up frames are not reported: the server judges only recent
		// rounds, and a reload's thousands of reports would trip its
		// message rate limit.
		fr := Frame{Number: f, CatchUp: catchUp, At: ev.at, HashDue: !catchUp && hashEvery > 0 && f%hashEvery == 0}
		if len(busy) > 0 && busy[0].Offset == off {
			ins := busy[0].Inputs
			fr.Inputs = make([]FrameInput, len(ins))
			for i, in := range ins {
				fr.Inputs[i] = FrameInput{Slot: in.Slot, Data: in.Data, Seq: in.Seq}
			}
		}
		ms.next = f + 1
		c.received.Store(f)
		c.stats.frames.Add(1)
		if !c.step(ev.l, fr) {
			return
		}
	}
}

// step hands one frame to the game (and reports its hash when due) or to
// Frames(). It reports false when the client closed first.
func (c *Lockstep) step(l *link, fr Frame) bool {
	if g := c.h.Game; g != nil {
		g.Step(fr)
		c.last.Store(fr.Number)
		if fr.HashDue {
			_ = l.send(lspb.MsgHashReport, &lspb.HashReport{Frame: fr.Number, Hash: g.Hash()})
		}
		return true
	}
	select {
	case c.frames <- fr:
		c.last.Store(fr.Number)
		return true
	case <-c.closing:
		return false
	}
}

// validBatch checks what sequencing relies on: at least one frame, and
// the busy frames in increasing offset order, each within the batch.
func validBatch(m *lspb.FrameBatch) bool {
	if m.Count == 0 || m.FirstFrame == 0 || m.FirstFrame+m.Count < m.FirstFrame {
		return false
	}
	for i, fi := range m.Busy {
		if fi.Offset >= m.Count || (i > 0 && fi.Offset <= m.Busy[i-1].Offset) {
			return false
		}
	}
	return true
}
