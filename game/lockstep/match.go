package lockstep

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/game/room"
	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/ziface"
)

type roomState int32

const (
	stateOpen    = roomState(lspb.RoomStatus_ROOM_STATUS_OPEN)
	stateRunning = roomState(lspb.RoomStatus_ROOM_STATUS_RUNNING)
	stateEnded   = roomState(lspb.RoomStatus_ROOM_STATUS_ENDED)
)

// createOpts is what a RoomCreate hands the new room's Init.
type createOpts struct {
	opts    *lspb.RoomOptions
	label   string
	matchID uint64 // numbered off the tick: the generator may wait out a clock step
}

// joinMeta is what a join or rejoin carries to the room.
type joinMeta struct {
	req       uint32         // the request's message ID, for error replies
	session   *store.Session // the player's session, when its accounts keep one
	reconnect bool           // a Reconnect: resume the match from lastFrame+1
	lastFrame uint32
}

// seat is one player's place in a match, owned by the room's tick.
type seat struct {
	p     room.Player
	conn  ziface.IConnection // nil while disconnected
	ready bool
	// session is the player's session as of its last join, so a drop
	// records where the player would resume even though it is offline.
	session *store.Session
	// catching is the generation of the catch-up stream the seat waits
	// on: while it is not 0 the seat gets no live frames; the stream hands
	// over to live frames with no gap (catchup.go).
	catching uint64
}

// match is lockstep's room Logic: a lobby, then a match. Every method runs
// on the room's tick.
type match struct {
	l       *Service
	r       *room.Room
	opts    *lspb.RoomOptions
	label   string
	matchID uint64
	seed    uint64
	state   roomState
	created time.Time

	seats  []*seat // by slot
	seated int
	// readyN and readyTimeout keep the lobby's state in the match itself:
	// an open room asks its start rule every tick, and thousands of open
	// rooms should not each walk their seats to do it.
	readyN       int
	readyTimeout time.Duration
	played       []store.MatchPlayer // every seat at the start, leavers included, for the replay

	frame     uint32 // the last frame assembled
	sentUpTo  uint32 // the last frame sent live
	cur       []byte // inputs of the frame being assembled, wire-encoded
	budget    int    // the most bytes cur may hold (Config.frameBudget)
	pendBuf   []byte // inputs of assembled frames not yet sent
	pend      []pendFrame
	bw        batchWriter
	startedAt time.Time
	hist      *history
	storeErrs int
	hashes    map[uint32]*hashRound
	votes     map[uint32][]byte
	result    []byte // the result the votes decided
	catchGen  uint64
	// ended is set by End for the catch-up streams still running, so they
	// can finish their players' frames and send MatchEnd themselves.
	ended atomic.Pointer[endInfo]
	// out holds the packets waiting for the store with Sync frames, and
	// MatchEnd with Sync matches (durable.go); nil when both are Async.
	out        *outbox
	maxWaiting uint32    // the most frames out may hold before the room pauses
	pausedAt   time.Time // when the room paused for the store; zero while it runs
}

type pendFrame struct {
	frame    uint32
	off, end int
}

type hashRound struct {
	vals [16]uint64
	have uint16
}

type endInfo struct {
	end *lspb.MatchEnd
}

func newMatch(l *Service) *match {
	return &match{l: l, hashes: make(map[uint32]*hashRound), votes: make(map[uint32][]byte)}
}

// Init takes the options of a RoomCreate.
func (m *match) Init(r *room.Room, o any) error {
	co := o.(*createOpts)
	m.r, m.opts, m.label, m.matchID = r, co.opts, co.label, co.matchID
	m.state, m.created = stateOpen, r.Now()
	cfg := m.l.cfg
	cfg.FramesPerPacket = int(m.opts.FramesPerPacket)
	m.budget = cfg.frameBudget()
	m.seats = make([]*seat, m.opts.MaxPlayers)
	m.readyTimeout = time.Duration(m.opts.ReadyTimeoutMs) * time.Millisecond
	m.hist = newHistory(m.l.cfg.MaxHistoryBytes)
	if m.l.framesDur != nil || m.l.matchesDur != nil {
		m.out = &outbox{l: m.l, match: m.matchID}
		m.maxWaiting = max(uint32(holdFor.Seconds())*m.opts.TickRate, 2*m.opts.FramesPerPacket)
	}
	if err := r.SetTickRate(int(m.opts.TickRate)); err != nil {
		return err
	}
	if err := r.SetCapacity(int(m.opts.MaxPlayers)); err != nil {
		return err
	}
	if err := r.SetLabel(co.label); err != nil {
		return err
	}
	m.l.met.roomsCreated.Inc()
	m.updateListing()
	return nil
}

// JoinAttempt takes players while the room is open and the room's state,
// with the joiner's name, still fits one packet.
func (m *match) JoinAttempt(_ *room.Room, j room.Join) error {
	if m.state != stateOpen {
		return &room.Refusal{Code: int32(commonpb.ErrorCode_ERROR_ROOM_CLOSED), Reason: "the match has started"}
	}
	if size := m.stateSize(j.Name); size > m.l.cfg.MaxBatchBytes {
		return &room.Refusal{Code: int32(commonpb.ErrorCode_ERROR_STATE_TOO_LARGE),
			Reason: "the room's state with your name would not fit in one packet"}
	}
	return nil
}

// stateSize bounds the bytes of the room's RoomState and MatchStart with
// one more player named name.
func (m *match) stateSize(name string) int {
	st := m.matchStart(0)
	st.Slots = append(st.Slots, &lspb.SlotPlayer{Slot: 15, PlayerId: ^uint64(0), Name: name, Ready: true, Connected: true})
	rs := &lspb.RoomState{Room: m.info(), YourSlot: 15, Slots: st.Slots}
	return max(proto.Size(st), proto.Size(rs)) + 16
}

// Join seats a new player, or gives a returning one its seat back.
func (m *match) Join(r *room.Room, j room.Join) {
	meta, _ := j.Meta.(*joinMeta)
	if j.Rejoin {
		m.rejoin(j, meta)
		return
	}
	for i, s := range m.seats {
		if s == nil {
			s = &seat{p: j.Player, conn: j.Conn}
			if meta != nil {
				s.session = meta.session
			}
			m.seats[i] = s
			m.seated++
			m.updateListing() // before anyone hears of the join, so a RoomList after it counts the player
			m.l.acc.UpdateSession(j.ID, r.ID(), m.matchID, 0)
			m.sendState(j.Conn, uint32(i))
			m.event(lspb.PlayerEventKind_PLAYER_JOINED, uint32(i), s, j.Conn)
			if h := m.l.hooks.OnJoin; h != nil {
				h(r.ID(), Seat{Slot: uint32(i), PlayerID: j.ID, Name: j.Name})
			}
			return
		}
	}
	// The manager reserves seats up to the capacity, so this never runs;
	// if it did, the player must not think it is seated.
	r.Kick(j.ID)
	m.l.sendError(j.Conn, reqOf(meta), commonpb.ErrorCode_ERROR_ROOM_FULL, "the room is full")
}

func reqOf(meta *joinMeta) uint32 {
	if meta == nil {
		return 0
	}
	return meta.req
}

// rejoin is a player back on its seat, with a new connection or the same:
// its state, and in a running match MatchStart and the frames it missed.
func (m *match) rejoin(j room.Join, meta *joinMeta) {
	slot, s := m.seatOf(j.ID)
	if s == nil {
		return
	}
	if s.catching != 0 && s.conn == j.Conn {
		// One catch-up per seat at a time: a Reconnect flood on one
		// connection is refused, not streamed again and again.
		m.l.sendError(j.Conn, reqOf(meta), commonpb.ErrorCode_ERROR_BUSY, "a catch-up is already streaming to you")
		return
	}
	wasGone := s.conn == nil
	s.conn = j.Conn
	if meta != nil && meta.session != nil {
		s.session = meta.session
	}
	m.sendState(j.Conn, slot)
	if m.state != stateRunning {
		return
	}
	from := uint32(1)
	switch {
	case meta != nil && meta.reconnect:
		from = meta.lastFrame + 1
	case !wasGone && s.catching == 0:
		return // a RoomJoin of one's own room: the state is the answer
	}
	send(j.Conn, m.l.id(lspb.MsgMatchStart), m.matchStart(slot))
	m.startCatchUp(slot, s, from)
	if wasGone {
		m.event(lspb.PlayerEventKind_PLAYER_RECONNECTED, slot, s, j.Conn)
	}
	m.l.met.reconnections.Inc()
}

// Leave frees a seat, or holds it for a player who dropped mid-match.
func (m *match) Leave(r *room.Room, p room.Player, why room.LeaveReason) {
	slot, s := m.seatOf(p.ID)
	if s == nil {
		return
	}
	if why == room.LeaveDropped && m.state == stateRunning {
		s.conn, s.catching = nil, 0
		r.Hold(p.ID, m.l.cfg.ReconnectGrace)
		m.event(lspb.PlayerEventKind_PLAYER_DISCONNECTED, slot, s, nil)
		// The last frame sent: where a reconnection to any node would resume.
		if s.session != nil {
			se := *s.session
			se.RoomID, se.MatchID, se.LastFrame = r.ID(), m.matchID, m.liveUpTo()
			m.l.acc.SaveSession(se)
		}
		m.updateListing()
		return
	}
	conn := s.conn
	// Free the seat before telling anyone: whoever hears of it may act on
	// it at once (the leaver creating a room of its own, say).
	m.vacate(slot)
	m.event(lspb.PlayerEventKind_PLAYER_LEFT, slot, s, nil)
	if conn != nil && why != room.LeaveDropped {
		send(conn, m.l.id(lspb.MsgPlayerEvent), &lspb.PlayerEvent{Kind: lspb.PlayerEventKind_PLAYER_LEFT, Player: slotPlayer(slot, s)})
	}
	if h := m.l.hooks.OnLeave; h != nil {
		h(r.ID(), Seat{Slot: slot, PlayerID: p.ID, Name: p.Name}, why)
	}
	if m.seated == 0 {
		r.End(endReason(lspb.MatchEndReason_MATCH_END_EMPTY))
	}
}

// vacate frees a seat for good.
func (m *match) vacate(slot uint32) {
	s := m.seats[slot]
	m.seats[slot] = nil
	m.seated--
	if s.ready {
		m.readyN--
	}
	delete(m.votes, slot)
	if m.l.framesDur != nil && s.conn != nil {
		m.out.forget(s.conn) // a leaver gets no frame after its leave, as with Async frames
	}
	m.l.acc.UpdateSession(s.p.ID, 0, 0, 0)
	m.updateListing()
}

func (m *match) seatOf(id uint64) (uint32, *seat) {
	for i, s := range m.seats {
		if s != nil && s.p.ID == id {
			return uint32(i), s
		}
	}
	return 0, nil
}

// Tick starts the match, or assembles (and sends) a frame. The clock never
// waits for anyone.
func (m *match) Tick(r *room.Room, _ uint64, now time.Time) {
	switch m.state {
	case stateOpen:
		m.maybeStart(now)
	case stateRunning:
		m.step(now)
	}
}

func (m *match) maybeStart(now time.Time) {
	lobby := Lobby{Seats: len(m.seats), Present: m.seated, Ready: m.readyN, OpenFor: now.Sub(m.created),
		ReadyTimeout: m.readyTimeout}
	if lobby.Present > 0 && m.l.rules.Start(lobby) {
		m.start(now)
	}
}

func (m *match) start(now time.Time) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	m.seed = binary.LittleEndian.Uint64(b[:])
	m.state, m.startedAt = stateRunning, now
	m.r.SetOpen(false)
	for i, s := range m.seats {
		if s != nil {
			m.played = append(m.played, store.MatchPlayer{Slot: uint32(i), PlayerID: s.p.ID, Name: s.p.Name})
		}
	}
	m.saveMeta(lspb.MatchEndReason_MATCH_END_UNSPECIFIED, nil)
	m.updateListing()
	for i, s := range m.seats {
		if s != nil && s.conn != nil {
			send(s.conn, m.l.id(lspb.MsgMatchStart), m.matchStart(uint32(i)))
		}
	}
	m.l.met.matchesStarted.Inc()
	m.l.running.Add(1)
	if h := m.l.hooks.OnMatchStart; h != nil {
		h(m.matchInfo())
	}
}

// End finishes the match (or an open room) and tells everyone still there.
func (m *match) End(r *room.Room, why room.EndReason) {
	reason := pbReason(why)
	if m.state == stateRunning {
		var last []byte // with Sync frames, the last packet: it leaves with MatchEnd
		if m.l.framesDur != nil {
			last = m.assemble()
		} else {
			m.flush()
		}
		if err := m.l.frames.EndMatch(m.matchID, m.frame); err != nil {
			m.l.log.Error("game: ending a match in the store failed", "match", m.matchID, "err", err)
		}
		result := m.result
		m.saveMeta(reason, result)
		end := &lspb.MatchEnd{MatchId: m.matchID, LastFrame: m.frame, Reason: reason, Result: result}
		m.ended.Store(&endInfo{end: end})
		b := marshal(end)
		if m.out != nil {
			// After every release before it, once EndMatch and the final
			// SaveMatch (with Sync matches) and the last frames (with Sync
			// frames) are durable.
			m.l.ends.Add(1) // Shutdown waits for it
			m.out.push(&release{upTo: m.frame, frames: last, end: b, conns: m.liveConns()}, m.l.durables(true))
		} else {
			for _, s := range m.seats {
				if s != nil && s.conn != nil && s.catching == 0 {
					_ = s.conn.SendMsg(m.l.id(lspb.MsgMatchEnd), b)
				}
			}
		}
		m.l.met.matchesEnded.WithLabelValues(reason.String()).Inc()
		m.l.running.Add(-1)
		if h := m.l.hooks.OnMatchEnd; h != nil {
			h(MatchResult{MatchInfo: m.matchInfo(), EndedAt: time.Now(), LastFrame: m.frame, Reason: reason, Result: result})
		}
	}
	for _, s := range m.seats {
		if s != nil {
			m.l.acc.UpdateSession(s.p.ID, 0, 0, 0)
		}
	}
	m.state = stateEnded
}

// endReason is the room runtime's reason for a lockstep end reason.
func endReason(r lspb.MatchEndReason) room.EndReason { return room.EndCustom + room.EndReason(r) }

// pbReason maps the runtime's reason back.
func pbReason(r room.EndReason) lspb.MatchEndReason {
	switch r {
	case room.EndEmpty:
		return lspb.MatchEndReason_MATCH_END_EMPTY
	case room.EndShutdown:
		return lspb.MatchEndReason_MATCH_END_SHUTDOWN
	case room.EndFailed:
		return lspb.MatchEndReason_MATCH_END_FAILED
	}
	if r >= room.EndCustom {
		return lspb.MatchEndReason(r - room.EndCustom)
	}
	return lspb.MatchEndReason_MATCH_END_UNSPECIFIED
}

// Signal is a catch-up stream handing over (catchup.go).
func (m *match) Signal(_ *room.Room, data any) (any, error) {
	if c, ok := data.(caughtUp); ok {
		return m.handOver(c), nil
	}
	return nil, nil
}

// saveMeta records the match's metadata: at the start (reason
// UNSPECIFIED) and at the end. The seats are those at the start, leavers
// included, so a replay shows everyone who played.
func (m *match) saveMeta(reason lspb.MatchEndReason, result []byte) {
	meta := store.MatchMeta{MatchID: m.matchID, RoomID: m.r.ID(), Node: m.l.node, Seed: m.seed, TickRate: m.opts.TickRate,
		StartedAt: m.startedAt, Players: m.played}
	if reason != lspb.MatchEndReason_MATCH_END_UNSPECIFIED {
		meta.EndedAt, meta.LastFrame, meta.EndReason, meta.Result = time.Now(), m.frame, reason.String(), result
	}
	if err := m.l.matches.SaveMatch(context.Background(), meta); err != nil {
		m.l.log.Error("game: saving match metadata failed", "match", m.matchID, "err", err)
	}
}

func (m *match) matchInfo() MatchInfo {
	mi := MatchInfo{RoomID: m.r.ID(), MatchID: m.matchID, Seed: m.seed, TickRate: m.opts.TickRate, StartedAt: m.startedAt}
	for _, p := range m.played {
		mi.Seats = append(mi.Seats, Seat{Slot: p.Slot, PlayerID: p.PlayerID, Name: p.Name})
	}
	return mi
}

// info is the room as listed.
func (m *match) info() *lspb.RoomInfo {
	return &lspb.RoomInfo{RoomId: m.r.ID(), Status: lspb.RoomStatus(m.state), Players: uint32(m.seated), Options: m.opts, Label: m.label}
}

// updateListing refreshes the room's listing: its RoomInfo, encoded once
// here so a RoomList copies bytes and encodes nothing.
func (m *match) updateListing() {
	if err := m.r.SetMetadata(marshal(m.info())); err != nil {
		m.l.log.Error("game: a room's listing does not fit its bound", "room", m.r.ID(), "err", err)
	}
}

func (m *match) sendState(conn ziface.IConnection, slot uint32) {
	st := &lspb.RoomState{Room: m.info(), YourSlot: slot}
	for i, s := range m.seats {
		if s != nil {
			st.Slots = append(st.Slots, slotPlayer(uint32(i), s))
		}
	}
	send(conn, m.l.id(lspb.MsgRoomState), st)
}

func slotPlayer(slot uint32, s *seat) *lspb.SlotPlayer {
	return &lspb.SlotPlayer{Slot: slot, PlayerId: s.p.ID, Name: s.p.Name, Ready: s.ready, Connected: s.conn != nil}
}

// event tells every connected seat but skip what happened to slot.
func (m *match) event(kind lspb.PlayerEventKind, slot uint32, s *seat, skip ziface.IConnection) {
	b := marshal(&lspb.PlayerEvent{Kind: kind, Player: slotPlayer(slot, s)})
	for _, o := range m.seats {
		if o != nil && o.conn != nil && o.conn != skip {
			_ = o.conn.SendMsg(m.l.id(lspb.MsgPlayerEvent), b)
		}
	}
}

func (m *match) matchStart(slot uint32) *lspb.MatchStart {
	ms := &lspb.MatchStart{MatchId: m.matchID, Seed: m.seed, TickRate: m.opts.TickRate, StartFrame: 1,
		YourSlot: slot, HashInterval: m.opts.HashInterval, FramesPerPacket: m.opts.FramesPerPacket}
	for i, s := range m.seats {
		if s != nil {
			ms.Slots = append(ms.Slots, slotPlayer(uint32(i), s))
		}
	}
	return ms
}
