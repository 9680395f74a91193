package lockstep

import (
	"errors"
	"slices"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/game/room"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/lspb"
)

// Input applies a player's request to the match, in arrival order.
func (m *match) Input(_ *room.Room, p room.Player, msgID uint32, data []byte) {
	slot, s := m.seatOf(p.ID)
	if s == nil || s.conn == nil {
		return
	}
	switch msgID {
	case m.l.id(lspb.MsgInput):
		m.input(slot, s, data)
	case m.l.id(lspb.MsgReady):
		var r lspb.Ready
		if m.decode(s, msgID, data, &r) {
			m.ready(slot, s, r.Ready, msgID)
		}
	case m.l.id(lspb.MsgHashReport):
		var h lspb.HashReport
		if m.decode(s, msgID, data, &h) && m.state == stateRunning {
			m.reportHash(slot, h.Frame, h.Hash)
		}
	case m.l.id(lspb.MsgMatchResult):
		var r lspb.MatchResult
		if !m.decode(s, msgID, data, &r) {
			return
		}
		if m.state != stateRunning {
			m.l.sendError(s.conn, msgID, commonpb.ErrorCode_ERROR_MATCH_NOT_RUNNING, "no match is running")
			return
		}
		m.votes[slot] = r.Result
		m.checkResult()
	}
}

func (m *match) decode(s *seat, msgID uint32, data []byte, msg proto.Message) bool {
	if err := proto.Unmarshal(data, msg); err != nil {
		m.l.sendError(s.conn, msgID, commonpb.ErrorCode_ERROR_BAD_REQUEST, "malformed message")
		return false
	}
	return true
}

func (m *match) ready(slot uint32, s *seat, ready bool, msgID uint32) {
	if m.state != stateOpen {
		m.l.sendError(s.conn, msgID, commonpb.ErrorCode_ERROR_ROOM_CLOSED, "the match has started")
		return
	}
	if s.ready != ready {
		if ready {
			m.readyN++
		} else {
			m.readyN--
		}
	}
	s.ready = ready
	kind := lspb.PlayerEventKind_PLAYER_NOT_READY
	if ready {
		kind = lspb.PlayerEventKind_PLAYER_READY
	}
	m.event(kind, slot, s, nil)
}

func (m *match) input(slot uint32, s *seat, payload []byte) {
	data, seq, err := parseInput(payload)
	switch {
	case err != nil:
		m.l.sendError(s.conn, m.l.id(lspb.MsgInput), commonpb.ErrorCode_ERROR_BAD_REQUEST, "malformed message")
	case m.state != stateRunning:
		m.l.met.inputsDropped.WithLabelValues("not_running").Inc()
		m.l.sendInputError(s.conn, seq, commonpb.ErrorCode_ERROR_MATCH_NOT_RUNNING, "no match is running")
	case len(m.cur)+len(data)+inputOverhead > m.budget:
		m.l.met.inputsDropped.WithLabelValues("frame_full").Inc()
		m.l.sendInputError(s.conn, seq, commonpb.ErrorCode_ERROR_BUSY, "this frame is full: input dropped")
	default:
		m.cur = appendSlotInput(m.cur, slot, data, seq)
	}
}

var errMalformed = errors.New("malformed Input")

// parseInput reads an Input message (data = 1, frame_hint = 2, seq = 3)
// without allocating: data aliases the payload.
func parseInput(b []byte) (data []byte, seq uint32, err error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, 0, errMalformed
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.BytesType:
			data, n = protowire.ConsumeBytes(b)
		case num == 3 && typ == protowire.VarintType:
			var v uint64
			v, n = protowire.ConsumeVarint(b)
			seq = uint32(v)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return nil, 0, errMalformed
		}
		b = b[n:]
	}
	return data, seq, nil
}

// step assembles the next frame from the inputs that arrived since the
// last one, stores it, and sends the packet when it is complete.
func (m *match) step(now time.Time) {
	if m.l.framesDur != nil && m.held(now) {
		m.checkDuration(now)
		return
	}
	m.frame++
	if len(m.cur) > 0 {
		m.hist.append(m.frame, m.cur)
		if err := m.l.frames.AppendFrame(m.matchID, m.frame, m.cur); err != nil {
			// A store that is down fails every tick: log the first failure
			// and then one in a thousand; the metric counts them all.
			m.storeErrs++
			m.l.met.storeErrors.Inc()
			if m.storeErrs == 1 || m.storeErrs%1000 == 0 {
				m.l.log.Error("game: storing a frame failed (the room keeps its recent frames for catch-up)",
					"room", m.r.ID(), "match", m.matchID, "frame", m.frame, "failures", m.storeErrs, "err", err)
			}
		}
		off := len(m.pendBuf)
		m.pendBuf = append(m.pendBuf, m.cur...)
		m.pend = append(m.pend, pendFrame{m.frame, off, len(m.pendBuf)})
		m.cur = m.cur[:0]
	}
	if m.frame-m.sentUpTo >= m.opts.FramesPerPacket {
		m.flush()
	}
	m.expireHashes()
	m.checkDuration(now)
}

func (m *match) checkDuration(now time.Time) {
	if now.Sub(m.startedAt) >= time.Duration(m.opts.MaxDurationS)*time.Second {
		m.r.End(endReason(lspb.MatchEndReason_MATCH_END_MAX_DURATION))
	}
}

// flush sends the assembled frames not yet sent, encoded once for all the
// seats that are live (connected and not catching up). With Sync frames,
// the packet waits in the outbox for the store instead (durable.go).
func (m *match) flush() {
	if m.frame == m.sentUpTo {
		return
	}
	if m.l.framesDur != nil {
		upTo := m.frame
		b := m.assemble()
		m.out.push(&release{upTo: upTo, frames: b, conns: m.liveConns()}, m.l.durables(false))
		return
	}
	m.bw.begin(m.sentUpTo+1, m.frame-m.sentUpTo)
	for _, f := range m.pend {
		m.bw.busy(f.frame, m.pendBuf[f.off:f.end])
	}
	sent := 0
	for _, s := range m.seats {
		if s != nil && s.conn != nil && s.catching == 0 {
			_ = room.SendNow(s.conn, m.l.id(lspb.MsgFrames), m.bw.b)
			sent++
		}
	}
	met := m.l.met
	met.framesSent.Add(float64(m.frame - m.sentUpTo))
	met.bytesSent.Add(float64(sent * (len(m.bw.b) + 8)))
	m.sentUpTo = m.frame
	m.pend = m.pend[:0]
	m.pendBuf = m.pendBuf[:0]
}

// assemble encodes the frames not yet sent into a packet of their own
// (a copy: it waits in the outbox) and marks them sent; nil when there
// are none. The bytes are counted when the outbox sends them.
func (m *match) assemble() []byte {
	if m.frame == m.sentUpTo {
		return nil
	}
	m.bw.begin(m.sentUpTo+1, m.frame-m.sentUpTo)
	for _, f := range m.pend {
		m.bw.busy(f.frame, m.pendBuf[f.off:f.end])
	}
	m.l.met.framesSent.Add(float64(m.frame - m.sentUpTo))
	m.sentUpTo = m.frame
	m.pend = m.pend[:0]
	m.pendBuf = m.pendBuf[:0]
	return slices.Clone(m.bw.b)
}

// reportHash records a state hash; a round is judged when every connected
// seat has reported, or two intervals later with what came.
func (m *match) reportHash(slot, frame uint32, hash uint64) {
	iv := m.opts.HashInterval
	if frame == 0 || frame%iv != 0 || frame > m.frame || frame+8*iv < m.frame {
		return // not a hash frame, from the future, or too old to judge
	}
	h := m.hashes[frame]
	if h == nil {
		h = &hashRound{}
		m.hashes[frame] = h
	}
	h.vals[slot] = hash
	h.have |= 1 << slot
	var want uint16
	for i, s := range m.seats {
		if s != nil && s.conn != nil {
			want |= 1 << i
		}
	}
	if h.have&want == want {
		m.judge(frame, h)
		delete(m.hashes, frame)
	}
}

func (m *match) expireHashes() {
	for frame, h := range m.hashes {
		if frame+2*m.opts.HashInterval < m.frame {
			m.judge(frame, h)
			delete(m.hashes, frame)
		}
	}
}

// judge hands a round's hashes to the desync rule and tells every seat
// whom it blames, or that it could not decide.
func (m *match) judge(frame uint32, h *hashRound) {
	var round [16]SlotHash
	n := 0
	for i := range 16 {
		if h.have&(1<<i) != 0 {
			round[n] = SlotHash{Slot: uint32(i), Hash: h.vals[i]}
			n++
		}
	}
	blamed, undecided := m.l.rules.Desync(round[:n])
	if len(blamed) == 0 && !undecided {
		return
	}
	m.l.met.desyncs.Inc()
	m.l.log.Warn("game: desync", "room", m.r.ID(), "match", m.matchID, "frame", frame, "slots", blamed, "undecided", undecided)
	b := marshal(&lspb.Desync{Frame: frame, Slots: blamed, Undecided: undecided})
	for _, s := range m.seats {
		if s != nil && s.conn != nil {
			_ = s.conn.SendMsg(m.l.id(lspb.MsgDesync), b)
		}
	}
}

// checkResult asks the result rule whether the votes end the match.
func (m *match) checkResult() {
	result, ok := m.l.rules.Result(Votes{Seated: m.seated, StartedWith: len(m.played), BySlot: m.votes})
	if !ok {
		return
	}
	m.result = result
	m.r.End(endReason(lspb.MatchEndReason_MATCH_END_RESULT))
}

// sendInputError answers a refused Input, naming its sequence number.
func (l *Service) sendInputError(c interface {
	SendMsg(uint32, []byte) error
}, seq uint32, code commonpb.ErrorCode, msg string) {
	b := marshal(&commonpb.Error{Code: code, Message: msg, RequestId: l.id(lspb.MsgInput), Seq: seq})
	_ = c.SendMsg(l.id(lspb.MsgError), b)
}
