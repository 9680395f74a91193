package lockstep

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/ziface"
)

type evKind uint8

const (
	evJoin evKind = iota
	evLeave
	evReady
	evInput
	evHash
	evResult
	evDisconnect
	evReconnect
	evShutdown
)

// roomEvent is a request queued for a room's next tick.
type roomEvent struct {
	kind evKind
	p    *lsPlayer
	conn ziface.IConnection
	data []byte
	u32  uint32 // input seq, hash frame, reconnect last frame
	u64  uint64 // hash
	flag bool   // ready
	req  uint32 // the request's message ID, for error replies
}

type roomState int32

const (
	stateOpen    = roomState(lspb.RoomStatus_ROOM_STATUS_OPEN)
	stateRunning = roomState(lspb.RoomStatus_ROOM_STATUS_RUNNING)
	stateEnded   = roomState(lspb.RoomStatus_ROOM_STATUS_ENDED)
)

// seat is one player's place in a room.
type seat struct {
	p      *lsPlayer
	conn   ziface.IConnection // nil while disconnected
	ready  bool
	goneAt time.Time // when it disconnected
}

// Room is a lobby and then a lockstep match. Everything below the queue is
// owned by the room's tick on its scheduler shard.
type Room struct {
	l       *Service
	id      uint64
	opts    *lspb.RoomOptions
	created time.Time
	st      schedState

	events chan roomEvent
	ctlMu  sync.Mutex
	ctl    []roomEvent // events that must not be dropped (joins on create, disconnects, shutdown)

	status  atomic.Int32 // roomState, for listing
	players atomic.Int32 // seats taken, for listing

	// Owned by the tick.
	state     roomState
	seats     []*seat
	matchID   uint64 // numbered when the room is created, so the tick never waits for the generator
	seed      uint64
	frame     uint32 // the last frame assembled
	sentUpTo  uint32 // the last frame sent live
	cur       []byte // inputs of the frame being assembled, wire-encoded
	budget    int    // the most bytes cur may hold (Config.frameBudget)
	pendBuf   []byte // inputs of assembled frames not yet sent
	pend      []pendFrame
	bw        batchWriter
	startedAt time.Time
	log       store.FrameLog // this match's busy frames, for catch-up without a store round trip
	storeErrs int            // frames the store refused
	hashes    map[uint32]*hashRound
	votes     map[uint32][]byte
}

type pendFrame struct {
	frame    uint32
	off, end int
}

type hashRound struct {
	vals [16]uint64
	have uint16
}

func newRoom(l *Service, id, matchID uint64, opts *lspb.RoomOptions) *Room {
	cfg := l.cfg
	cfg.FramesPerPacket = int(opts.FramesPerPacket)
	r := &Room{
		l: l, id: id, matchID: matchID, opts: opts, created: time.Now(), state: stateOpen,
		budget: cfg.frameBudget(),
		events: make(chan roomEvent, l.cfg.RoomQueueLen),
		seats:  make([]*seat, opts.MaxPlayers),
		hashes: make(map[uint32]*hashRound),
		votes:  make(map[uint32][]byte),
	}
	r.status.Store(int32(stateOpen))
	return r
}

func (r *Room) sched() *schedState { return &r.st }

// enqueue queues ev for the next tick. With mayDrop, a full queue refuses
// it (false); without, it is kept on a side list that is never full.
func (r *Room) enqueue(ev roomEvent, mayDrop bool) bool {
	if !mayDrop {
		r.ctlMu.Lock()
		r.ctl = append(r.ctl, ev)
		r.ctlMu.Unlock()
		return true
	}
	select {
	case r.events <- ev:
		return true
	default:
		return false
	}
}

// enqueueOrBusy queues a request or answers ERROR_BUSY.
func (r *Room) enqueueOrBusy(req ziface.IRequest, ev roomEvent) {
	ev.req = req.GetMsgID()
	if !r.enqueue(ev, true) {
		r.l.sendError(req.GetConnection(), req.GetMsgID(), commonpb.ErrorCode_ERROR_BUSY, "room busy, try again")
	}
}

func (r *Room) shutdown() { r.enqueue(roomEvent{kind: evShutdown}, false) }

// info is the room as listed.
func (r *Room) info() *lspb.RoomInfo {
	return &lspb.RoomInfo{RoomId: r.id, Status: lspb.RoomStatus(r.status.Load()), Players: uint32(r.players.Load()), Options: r.opts}
}

// tick applies the queued requests, then starts the match, or assembles
// (and sends) a frame. The clock never waits for anyone.
func (r *Room) tick(due time.Time) bool {
	start := time.Now()
	m := r.l.met
	// A tick run early within the scheduler's slack is on time.
	m.tickLateness.Observe(max(start.Sub(due), 0).Seconds())
	r.drain(start)
	switch r.state {
	case stateOpen:
		r.maybeStart(start)
	case stateRunning:
		r.step(start)
	}
	m.tickDuration.Observe(time.Since(start).Seconds())
	if r.state == stateEnded {
		r.l.removeRoom(r)
		// Requests that raced with the end get their answer now; a join
		// queued after this sees the ended status itself (handleJoin).
		r.drain(start)
		return false
	}
	return true
}

func (r *Room) drain(now time.Time) {
	r.ctlMu.Lock()
	ctl := r.ctl
	r.ctl = nil
	r.ctlMu.Unlock()
	for _, ev := range ctl {
		r.apply(ev, now)
	}
	for n := len(r.events); n > 0; n-- {
		r.apply(<-r.events, now)
	}
}

func (r *Room) seatOf(p *lsPlayer) (uint32, *seat) {
	for i, s := range r.seats {
		if s != nil && s.p == p {
			return uint32(i), s
		}
	}
	return 0, nil
}

func (r *Room) apply(ev roomEvent, now time.Time) {
	if r.state == stateEnded {
		// Late hashes and result votes are normal (the vote that ended the
		// match raced with the others); anything else gets an answer.
		if ev.conn != nil && ev.kind != evDisconnect && ev.kind != evHash && ev.kind != evResult {
			r.l.sendError(ev.conn, ev.req, commonpb.ErrorCode_ERROR_ROOM_CLOSED, "the match has ended")
		}
		r.release(ev.p)
		return
	}
	switch ev.kind {
	case evJoin:
		r.join(ev)
	case evLeave:
		r.leave(ev.p)
	case evReady:
		if slot, s := r.seatOf(ev.p); s != nil && r.state == stateOpen {
			s.ready = ev.flag
			kind := lspb.PlayerEventKind_PLAYER_NOT_READY
			if ev.flag {
				kind = lspb.PlayerEventKind_PLAYER_READY
			}
			r.event(kind, slot, s, nil)
		} else if s != nil {
			r.l.sendError(ev.conn, ev.req, commonpb.ErrorCode_ERROR_ROOM_CLOSED, "the match has started")
		}
	case evInput:
		slot, s := r.seatOf(ev.p)
		if s == nil || r.state != stateRunning {
			r.l.met.inputsDropped.WithLabelValues("not_running").Inc()
			r.l.sendError(ev.conn, r.l.id(lspb.MsgInput), commonpb.ErrorCode_ERROR_MATCH_NOT_RUNNING, "no match is running")
			return
		}
		if len(r.cur)+len(ev.data)+inputOverhead > r.budget {
			r.l.met.inputsDropped.WithLabelValues("frame_full").Inc()
			r.l.sendError(ev.conn, r.l.id(lspb.MsgInput), commonpb.ErrorCode_ERROR_BUSY, "this frame is full: input dropped")
			return
		}
		r.cur = appendSlotInput(r.cur, slot, ev.data, ev.u32)
	case evHash:
		if slot, s := r.seatOf(ev.p); s != nil && r.state == stateRunning {
			r.reportHash(slot, ev.u32, ev.u64)
		}
	case evResult:
		if slot, s := r.seatOf(ev.p); s != nil && r.state == stateRunning {
			r.votes[slot] = ev.data
			r.checkResult()
		} else {
			r.l.sendError(ev.conn, ev.req, commonpb.ErrorCode_ERROR_MATCH_NOT_RUNNING, "no match is running")
		}
	case evDisconnect:
		r.disconnect(ev.p, ev.conn, now)
	case evReconnect:
		r.reconnect(ev, now)
	case evShutdown:
		r.end(lspb.MatchEndReason_MATCH_END_SHUTDOWN, nil)
	}
}

// release clears p's room if it is this one.
func (r *Room) release(p *lsPlayer) {
	if p == nil {
		return
	}
	p.mu.Lock()
	if p.room == r {
		p.room = nil
	}
	p.mu.Unlock()
}

func (r *Room) join(ev roomEvent) {
	if slot, s := r.seatOf(ev.p); s != nil { // already seated
		r.sendState(ev.conn, slot)
		return
	}
	if r.state != stateOpen {
		r.release(ev.p)
		r.l.sendError(ev.conn, ev.req, commonpb.ErrorCode_ERROR_ROOM_CLOSED, "the match has started")
		return
	}
	for i, s := range r.seats {
		if s == nil {
			s = &seat{p: ev.p, conn: ev.conn}
			r.seats[i] = s
			r.players.Add(1)
			r.l.track(ev.p, r.id, 0)
			r.sendState(ev.conn, uint32(i))
			r.event(lspb.PlayerEventKind_PLAYER_JOINED, uint32(i), s, ev.conn)
			return
		}
	}
	r.release(ev.p)
	r.l.sendError(ev.conn, ev.req, commonpb.ErrorCode_ERROR_ROOM_FULL, "the room is full")
}

func (r *Room) leave(p *lsPlayer) {
	slot, s := r.seatOf(p)
	if s == nil {
		return
	}
	// Free the seat before telling anyone: whoever hears of it may act
	// on it at once (the leaver creating a room of its own, say).
	r.vacate(slot)
	r.event(lspb.PlayerEventKind_PLAYER_LEFT, slot, s, nil)
	send(s.conn, r.l.id(lspb.MsgPlayerEvent), &lspb.PlayerEvent{Kind: lspb.PlayerEventKind_PLAYER_LEFT, Player: slotPlayer(slot, s)})
}

// vacate frees a seat for good.
func (r *Room) vacate(slot uint32) {
	s := r.seats[slot]
	r.seats[slot] = nil
	r.players.Add(-1)
	delete(r.votes, slot)
	r.release(s.p)
	r.l.track(s.p, 0, 0)
}

func (r *Room) disconnect(p *lsPlayer, conn ziface.IConnection, now time.Time) {
	slot, s := r.seatOf(p)
	if s == nil || s.conn != conn {
		return // an older connection of a player who came back
	}
	if r.state == stateOpen {
		r.vacate(slot)
		r.event(lspb.PlayerEventKind_PLAYER_LEFT, slot, s, conn)
		return
	}
	s.conn, s.goneAt = nil, now
	r.event(lspb.PlayerEventKind_PLAYER_DISCONNECTED, slot, s, nil)
	// The last frame sent: where a reconnection to any node would resume.
	r.l.track(p, r.id, r.sentUpTo)
}

func (r *Room) reconnect(ev roomEvent, now time.Time) {
	slot, s := r.seatOf(ev.p)
	if s == nil {
		r.release(ev.p)
		r.l.sendError(ev.conn, ev.req, commonpb.ErrorCode_ERROR_NO_SEAT, "no seat is held for you")
		return
	}
	s.conn, s.goneAt = ev.conn, time.Time{}
	r.sendState(ev.conn, slot)
	if r.state != stateRunning {
		return
	}
	send(ev.conn, r.l.id(lspb.MsgMatchStart), r.matchStart(slot))
	r.catchUp(ev.conn, ev.u32+1, r.sentUpTo)
	r.event(lspb.PlayerEventKind_PLAYER_RECONNECTED, slot, s, ev.conn)
	r.l.met.reconnections.Inc()
	r.l.met.catchUp.Observe(time.Since(now).Seconds())
}

// catchUp sends frames [from, to] from the room's own log in batches of at
// most MaxBatchBytes; the live frames after to follow with no gap.
func (r *Room) catchUp(conn ziface.IConnection, from, to uint32) {
	if from > to {
		return
	}
	n, _ := sendBatches(conn, r.l.id(lspb.MsgCatchUp), r.l.cfg.MaxBatchBytes, from, to, func(fn func(uint32, []byte) bool) error {
		r.log.Read(from, to, fn)
		return nil
	})
	r.l.met.bytesSent.Add(float64(n))
}

// sendBatches sends frames [from, to], read with read, as catch-up batches
// of at most maxBytes each; it returns the bytes sent.
func sendBatches(conn ziface.IConnection, msgID uint32, maxBytes int, from, to uint32, read func(func(uint32, []byte) bool) error) (int, error) {
	type busy struct {
		frame    uint32
		off, end int
	}
	var buf []byte
	var list []busy
	err := read(func(frame uint32, inputs []byte) bool {
		list = append(list, busy{frame, len(buf), len(buf) + len(inputs)})
		buf = append(buf, inputs...)
		return true
	})
	if err != nil {
		return 0, err
	}
	sent := 0
	var w batchWriter
	limit := maxBytes - 16 // head of the batch
	first, i := from, 0
	for first <= to {
		// Take busy frames while they fit; the batch ends just before the
		// first that does not (or at to).
		j, size := i, 0
		for j < len(list) && size+list[j].end-list[j].off+8 <= limit {
			size += list[j].end - list[j].off + 8
			j++
		}
		last := to
		if j < len(list) {
			last = list[j].frame - 1
			if j == i { // a frame alone over the limit: frames are bounded below it, but never loop
				last = list[j].frame
				j++
			}
		}
		w.begin(first, last-first+1)
		for _, b := range list[i:j] {
			w.busy(b.frame, buf[b.off:b.end])
		}
		if err := conn.SendMsg(msgID, w.b); err != nil {
			return sent, err
		}
		sent += len(w.b) + 8
		first, i = last+1, j
	}
	return sent, nil
}

func (r *Room) sendState(conn ziface.IConnection, slot uint32) {
	st := &lspb.RoomState{Room: r.info(), YourSlot: slot}
	st.Room.Status = lspb.RoomStatus(r.state)
	for i, s := range r.seats {
		if s != nil {
			st.Slots = append(st.Slots, slotPlayer(uint32(i), s))
		}
	}
	send(conn, r.l.id(lspb.MsgRoomState), st)
}

func slotPlayer(slot uint32, s *seat) *lspb.SlotPlayer {
	return &lspb.SlotPlayer{Slot: slot, PlayerId: s.p.id, Name: s.p.name, Ready: s.ready, Connected: s.conn != nil}
}

// event tells every connected seat but skip what happened to slot.
func (r *Room) event(kind lspb.PlayerEventKind, slot uint32, s *seat, skip ziface.IConnection) {
	b := marshal(&lspb.PlayerEvent{Kind: kind, Player: slotPlayer(slot, s)})
	for _, o := range r.seats {
		if o != nil && o.conn != nil && o.conn != skip {
			_ = o.conn.SendMsg(r.l.id(lspb.MsgPlayerEvent), b)
		}
	}
}

func (r *Room) maybeStart(now time.Time) {
	n, ready := 0, 0
	for _, s := range r.seats {
		if s != nil {
			n++
			if s.ready {
				ready++
			}
		}
	}
	timeout := time.Duration(r.opts.ReadyTimeoutMs) * time.Millisecond
	switch {
	case n == 0:
		r.state = stateEnded // everyone left before the start
		r.status.Store(int32(stateEnded))
	case n == len(r.seats), ready == n, timeout > 0 && now.Sub(r.created) >= timeout:
		r.start(now)
	}
}

func (r *Room) start(now time.Time) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	r.seed = binary.LittleEndian.Uint64(b[:])
	r.state, r.startedAt = stateRunning, now
	r.status.Store(int32(stateRunning))
	r.saveMeta(lspb.MatchEndReason_MATCH_END_UNSPECIFIED, nil)
	for i, s := range r.seats {
		if s != nil && s.conn != nil {
			send(s.conn, r.l.id(lspb.MsgMatchStart), r.matchStart(uint32(i)))
		}
	}
	r.l.met.matchesStarted.Inc()
}

func (r *Room) matchStart(slot uint32) *lspb.MatchStart {
	m := &lspb.MatchStart{MatchId: r.matchID, Seed: r.seed, TickRate: r.opts.TickRate, StartFrame: 1,
		YourSlot: slot, HashInterval: r.opts.HashInterval, FramesPerPacket: r.opts.FramesPerPacket}
	for i, s := range r.seats {
		if s != nil {
			m.Slots = append(m.Slots, slotPlayer(uint32(i), s))
		}
	}
	return m
}

// step assembles the next frame from the inputs that arrived since the
// last one, stores it, and sends the packet when it is complete.
func (r *Room) step(now time.Time) {
	r.frame++
	if len(r.cur) > 0 {
		if err := r.log.Append(r.frame, r.cur); err != nil {
			r.l.log.Error("game: logging a frame failed", "room", r.id, "match", r.matchID, "frame", r.frame, "err", err)
		}
		if err := r.l.store.AppendFrame(r.matchID, r.frame, r.cur); err != nil {
			// A store that is down fails every tick: log the first failure
			// and then one in a thousand; the metric counts them all.
			r.storeErrs++
			r.l.met.storeErrors.Inc()
			if r.storeErrs == 1 || r.storeErrs%1000 == 0 {
				r.l.log.Error("game: storing a frame failed (the room keeps its own log for catch-up)",
					"room", r.id, "match", r.matchID, "frame", r.frame, "failures", r.storeErrs, "err", err)
			}
		}
		off := len(r.pendBuf)
		r.pendBuf = append(r.pendBuf, r.cur...)
		r.pend = append(r.pend, pendFrame{r.frame, off, len(r.pendBuf)})
		r.cur = r.cur[:0]
	}
	if r.frame-r.sentUpTo >= r.opts.FramesPerPacket {
		r.flush()
	}
	grace := r.l.cfg.ReconnectGrace
	occupied := 0
	for i, s := range r.seats {
		if s == nil {
			continue
		}
		if s.conn == nil && now.Sub(s.goneAt) > grace {
			r.vacate(uint32(i))
			r.event(lspb.PlayerEventKind_PLAYER_LEFT, uint32(i), s, nil)
			continue
		}
		occupied++
	}
	r.expireHashes()
	switch {
	case occupied == 0:
		r.end(lspb.MatchEndReason_MATCH_END_EMPTY, nil)
	case now.Sub(r.startedAt) >= time.Duration(r.opts.MaxDurationS)*time.Second:
		r.end(lspb.MatchEndReason_MATCH_END_MAX_DURATION, nil)
	}
}

// flush sends the assembled frames not yet sent, encoded once for all.
func (r *Room) flush() {
	if r.frame == r.sentUpTo {
		return
	}
	r.bw.begin(r.sentUpTo+1, r.frame-r.sentUpTo)
	for _, f := range r.pend {
		r.bw.busy(f.frame, r.pendBuf[f.off:f.end])
	}
	sent := 0
	for _, s := range r.seats {
		if s != nil && s.conn != nil {
			sendNow(s.conn, r.l.id(lspb.MsgFrames), r.bw.b)
			sent++
		}
	}
	m := r.l.met
	m.framesSent.Add(float64(r.frame - r.sentUpTo))
	m.bytesSent.Add(float64(sent * (len(r.bw.b) + 8)))
	r.sentUpTo = r.frame
	r.pend = r.pend[:0]
	r.pendBuf = r.pendBuf[:0]
}

// saveMeta records the match's metadata: at the start (reason
// UNSPECIFIED) and at the end.
func (r *Room) saveMeta(reason lspb.MatchEndReason, result []byte) {
	m := store.MatchMeta{MatchID: r.matchID, RoomID: r.id, Seed: r.seed, TickRate: r.opts.TickRate, StartedAt: r.startedAt}
	for i, s := range r.seats {
		if s != nil {
			m.Players = append(m.Players, store.MatchPlayer{Slot: uint32(i), PlayerID: s.p.id, Name: s.p.name})
		}
	}
	if reason != lspb.MatchEndReason_MATCH_END_UNSPECIFIED {
		m.EndedAt, m.LastFrame, m.EndReason, m.Result = time.Now(), r.frame, reason.String(), result
	}
	if err := r.l.matches.SaveMatch(context.Background(), m); err != nil {
		r.l.log.Error("game: saving match metadata failed", "match", r.matchID, "err", err)
	}
}

// nowSender is a connection that can write on the caller's goroutine
// (*znet.Connection): a tick sends one frame to each seat, and starting a
// writer goroutine per frame would cost more than the write.
type nowSender interface {
	SendMsgNow(msgID uint32, data []byte) error
}

func sendNow(c ziface.IConnection, msgID uint32, data []byte) {
	if n, ok := c.(nowSender); ok {
		_ = n.SendMsgNow(msgID, data)
		return
	}
	_ = c.SendMsg(msgID, data)
}

// end finishes the match (or an open room) and tells everyone still there.
func (r *Room) end(reason lspb.MatchEndReason, result []byte) {
	if r.state == stateRunning {
		r.flush()
		if err := r.l.store.EndMatch(r.matchID, r.frame); err != nil {
			r.l.log.Error("game: ending a match in the store failed", "match", r.matchID, "err", err)
		}
		r.saveMeta(reason, result)
		b := marshal(&lspb.MatchEnd{MatchId: r.matchID, LastFrame: r.frame, Reason: reason, Result: result})
		for _, s := range r.seats {
			if s != nil && s.conn != nil {
				_ = s.conn.SendMsg(r.l.id(lspb.MsgMatchEnd), b)
			}
		}
		r.l.met.matchesEnded.WithLabelValues(reason.String()).Inc()
	}
	for i, s := range r.seats {
		if s != nil {
			r.vacate(uint32(i))
		}
	}
	r.state = stateEnded
	r.status.Store(int32(stateEnded))
}

// reportHash records a state hash; a round is judged when every connected
// seat has reported, or two intervals later with what came.
func (r *Room) reportHash(slot, frame uint32, hash uint64) {
	iv := r.opts.HashInterval
	if frame == 0 || frame%iv != 0 || frame > r.frame || frame+8*iv < r.frame {
		return // not a hash frame, from the future, or too old to judge
	}
	h := r.hashes[frame]
	if h == nil {
		h = &hashRound{}
		r.hashes[frame] = h
	}
	h.vals[slot] = hash
	h.have |= 1 << slot
	var want uint16
	for i, s := range r.seats {
		if s != nil && s.conn != nil {
			want |= 1 << i
		}
	}
	if h.have&want == want {
		r.judge(frame, h)
		delete(r.hashes, frame)
	}
}

func (r *Room) expireHashes() {
	for frame, h := range r.hashes {
		if frame+2*r.opts.HashInterval < r.frame {
			r.judge(frame, h)
			delete(r.hashes, frame)
		}
	}
}

// judge compares a round's hashes: the most common value is right (ties
// go to the value of the lowest slot), and every other slot diverged.
func (r *Room) judge(frame uint32, h *hashRound) {
	var best uint64
	bestN := 0
	for i := range 16 {
		if h.have&(1<<i) == 0 {
			continue
		}
		n := 0
		for j := range 16 {
			if h.have&(1<<j) != 0 && h.vals[j] == h.vals[i] {
				n++
			}
		}
		if n > bestN {
			best, bestN = h.vals[i], n
		}
	}
	var slots []uint32
	for i := range 16 {
		if h.have&(1<<i) != 0 && h.vals[i] != best {
			slots = append(slots, uint32(i))
		}
	}
	if len(slots) == 0 {
		return
	}
	r.l.met.desyncs.Inc()
	r.l.log.Warn("game: desync", "room", r.id, "match", r.matchID, "frame", frame, "slots", slots)
	b := marshal(&lspb.Desync{Frame: frame, Slots: slots})
	for _, s := range r.seats {
		if s != nil && s.conn != nil {
			_ = s.conn.SendMsg(r.l.id(lspb.MsgDesync), b)
		}
	}
}

// checkResult ends the match when more than half of the connected seats
// reported the same result.
func (r *Room) checkResult() {
	connected := 0
	for _, s := range r.seats {
		if s != nil && s.conn != nil {
			connected++
		}
	}
	for _, v := range r.votes {
		n := 0
		for _, w := range r.votes {
			if string(w) == string(v) {
				n++
			}
		}
		if 2*n > connected {
			r.end(lspb.MatchEndReason_MATCH_END_RESULT, v)
			return
		}
	}
}
