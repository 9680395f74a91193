package mmo

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/zinxgame/zinxgame/aoi"
	"github.com/zinxgame/zinxgame/game/room"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/mmopb"
)

// Scene is one map of the world, run as a room of the room runtime. Its
// methods are for its own tick: call them from the world's hooks and
// handlers (OnEnter, OnLeave, OnTick, Handle), or through World.Do. Name
// and ID are safe anywhere.
type Scene struct {
	w    *World
	name string
	m    Map
	id   uint64 // its room's ID, set before any player joins

	// Owned by the tick.
	r       *room.Room
	grid    *aoi.Manager
	players map[int32]*Player
	// slots index the players by their AOI key, a small number reused
	// after a player leaves: the fan-out finds a player in view by index,
	// not by a map lookup per receiver.
	slots []*Player
	free  []int32
	mark  uint64    // stamps the players a move just appeared to
	dirty []*Player // players with frames to write this tick
	rng   *rand.Rand
	enc   encoder
	// scratch slices: no allocation per move
	around, entered, left []aoi.ID
	list                  []*Player
}

func newScene(w *World, name string, m Map) (*Scene, error) {
	grid, err := aoi.New(m.aoi())
	if err != nil {
		return nil, err
	}
	return &Scene{w: w, name: name, m: m, grid: grid, players: make(map[int32]*Player),
		rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}, nil
}

// Name is the scene's name.
func (s *Scene) Name() string { return s.name }

// ID is the ID of the scene's room in World.Rooms.
func (s *Scene) ID() uint64 { return s.id }

// Len is the number of players in the scene.
func (s *Scene) Len() int { return len(s.players) }

// Frame is the number of the scene's current tick.
func (s *Scene) Frame() uint64 { return s.r.Frame() }

// Player is the scene's player pid, or nil.
func (s *Scene) Player(pid int32) *Player { return s.players[pid] }

// Each calls fn for every player of the scene, in no set order.
func (s *Scene) Each(fn func(p *Player)) {
	for _, p := range s.players {
		fn(p)
	}
}

// InView appends to dst the players who see p (those in the grids around
// its own), p not included, and returns it.
func (s *Scene) InView(p *Player, dst []*Player) []*Player {
	s.around, _ = s.grid.AroundEntity(aoi.ID(p.slot), s.around[:0])
	for _, id := range s.around {
		if o := s.slots[id]; o != nil {
			dst = append(dst, o)
		}
	}
	return dst
}

// Send queues a message for p; it leaves with the rest of p's messages of
// this tick, in one write, when the tick ends.
func (s *Scene) Send(p *Player, msgID uint32, data []byte) {
	s.sendFrame(p, s.enc.frame(s.w.pack.Load(), msgID, data))
}

// SendView queues one message, packed once, for every player who sees p,
// and for p too when self is set. It returns how many it was queued for.
func (s *Scene) SendView(p *Player, msgID uint32, data []byte, self bool) int {
	frame := s.enc.frame(s.w.pack.Load(), msgID, data)
	s.around, _ = s.grid.AroundEntity(aoi.ID(p.slot), s.around[:0])
	n := 0
	for _, id := range s.around {
		if o := s.slots[id]; o != nil {
			s.sendFrame(o, frame)
			n++
		}
	}
	if self {
		s.sendFrame(p, frame)
		n++
	}
	return n
}

// SendAll queues one message, packed once, for every player of the scene.
func (s *Scene) SendAll(msgID uint32, data []byte) {
	frame := s.enc.frame(s.w.pack.Load(), msgID, data)
	for _, o := range s.players {
		s.sendFrame(o, frame)
	}
}

// Move moves p to pos (clamped onto the map), with the messages a move
// causes: those in view get it (200, Tp 4), and players who newly see or
// no longer see each other exchange 200 Tp 2 and 201. p itself is not
// told; a teleport the client did not ask for should follow with Send of
// its new position.
func (s *Scene) Move(p *Player, pos Position) { s.move(p, pos) }

// sceneLogic is a scene's room.Logic: the runtime calls it on the scene's
// tick.
type sceneLogic struct {
	room.BaseLogic
	s *Scene
}

func (l *sceneLogic) Init(r *room.Room, opts any) error {
	s, ok := opts.(*Scene)
	if !ok {
		return errors.New("game: an MMO scene is created by its World")
	}
	l.s, s.r, s.enc.log = s, r, r.Logger()
	return nil
}

func (l *sceneLogic) Join(_ *room.Room, j room.Join) {
	if a, ok := j.Meta.(*arrival); ok {
		l.s.arrive(a)
	}
}

func (l *sceneLogic) Leave(_ *room.Room, rp room.Player, why room.LeaveReason) {
	s := l.s
	p := s.players[int32(uint32(rp.ID))]
	if p == nil {
		return
	}
	if why == room.LeaveMoved {
		s.handOver(p)
		return
	}
	s.depart(p, LeftWorld)
	s.w.forget(p)
}

func (l *sceneLogic) Input(_ *room.Room, rp room.Player, msgID uint32, data []byte) {
	s := l.s
	p := s.players[int32(uint32(rp.ID))]
	if p == nil {
		return
	}
	if rq := p.restore.Swap(nil); rq != nil {
		s.applyRestore(p, rq)
		if s.players[p.PID] != p {
			return // the record put it in another scene, whose tick has it now
		}
	}
	w := s.w
	switch msgID {
	case restoreMsgID:
	case w.id(mmopb.MsgMove):
		if pos, ok := decodeMove(data); ok {
			s.move(p, pos)
			w.saveMoved(p)
		}
	case w.id(mmopb.MsgTalk):
		s.SendAll(w.id(mmopb.MsgBroadCast), data) // encoded by handleTalk
	case w.id(mmopb.MsgChangeScene):
		s.changeTo(p, w.scenes[string(data)], nil, msgID)
	default:
		if h := w.hooks.Load().handlers[msgID]; h != nil {
			h(s, p, data)
		}
	}
}

func (l *sceneLogic) Tick(_ *room.Room, frame uint64, now time.Time) {
	s := l.s
	for _, fn := range s.w.hooks.Load().tick {
		fn(s, frame, now)
	}
	s.flush()
}

// End is the world's shutdown: every player is saved where it stands.
func (l *sceneLogic) End(_ *room.Room, _ room.EndReason) {
	s := l.s
	hooks := s.w.hooks.Load().leave
	for _, p := range s.players {
		for _, fn := range hooks {
			fn(s, p, WorldShutdown)
		}
		s.w.forget(p)
	}
	s.flush()
}

// Signal runs a World.Do call on the tick.
func (l *sceneLogic) Signal(_ *room.Room, data any) (any, error) {
	fn, ok := data.(func(*Scene) error)
	if !ok {
		return nil, errors.New("game: unknown MMO scene signal")
	}
	return nil, fn(l.s)
}

// arrive places a joining player and tells it and those around it.
func (s *Scene) arrive(a *arrival) {
	p, w := a.p, s.w
	if a.pos != nil {
		p.pos = s.clamp(*a.pos)
	} else {
		p.pos = Position{
			X: s.m.SpawnX + s.rng.Float32()*s.m.SpawnRange,
			Z: s.m.SpawnZ + s.rng.Float32()*s.m.SpawnRange,
		}
		p.pos = s.clamp(p.pos)
	}
	p.scene = s
	s.players[p.PID] = p
	if n := len(s.free); n > 0 {
		p.slot, s.free = s.free[n-1], s.free[:n-1]
	} else {
		p.slot = int32(len(s.slots))
		s.slots = append(s.slots, nil)
	}
	s.slots[p.slot] = p
	if err := s.grid.Add(aoi.ID(p.slot), p.pos.X, p.pos.Z); err != nil {
		s.r.Logger().Error("game: adding a player to the AOI", "pid", p.PID, "err", err)
	}
	w.placed(p)
	if a.changed {
		s.Send(p, w.id(mmopb.MsgSceneChanged), marshal(&mmopb.SceneChanged{Scene: s.name, P: p.pos.proto()}))
	} else {
		s.Send(p, w.id(mmopb.MsgSyncPID), s.enc.syncPID(p.PID))
	}
	appear := s.enc.broadcastPos(p.PID, mmopb.TpAppear, p.pos)
	s.Send(p, w.id(mmopb.MsgBroadCast), appear)
	s.SendView(p, w.id(mmopb.MsgBroadCast), appear, false)
	s.sendAround(p)
	for _, fn := range w.hooks.Load().enter {
		fn(s, p)
	}
}

// sendAround tells p who is around it (202), in messages of at most
// playersPerSync players; an empty list when nobody is.
func (s *Scene) sendAround(p *Player) {
	s.list = s.InView(p, s.list[:0])
	id := s.w.id(mmopb.MsgSyncPlayers)
	for i := 0; i < len(s.list) || i == 0; i += playersPerSync {
		s.Send(p, id, s.enc.syncPlayers(s.list[i:min(i+playersPerSync, len(s.list))]))
	}
	clear(s.list)
}

// playersPerSync bounds the players in one 202 message, so a crowded spot
// never makes a packet over MaxPackageSize: a player takes at most 29 bytes
// (PID and four floats with their tags), so 100 take under 3 KiB, within
// Zinx's default 4 KiB. A client adds each 202's players to the ones it has.
const playersPerSync = 100

// depart takes p off the map and tells those who saw it (201).
func (s *Scene) depart(p *Player, why LeaveReason) {
	gone := s.enc.syncPID(p.PID)
	s.SendView(p, s.w.id(mmopb.MsgLeave), gone, false)
	_ = s.grid.Remove(aoi.ID(p.slot))
	s.slots[p.slot] = nil
	s.free = append(s.free, p.slot)
	delete(s.players, p.PID)
	for _, fn := range s.w.hooks.Load().leave {
		fn(s, p, why)
	}
}

func (s *Scene) clamp(pos Position) Position {
	pos.X = min(max(pos.X, s.m.MinX), s.m.MaxX)
	pos.Z = min(max(pos.Z, s.m.MinZ), s.m.MaxZ)
	return pos
}

// move moves p (see Move).
func (s *Scene) move(p *Player, pos Position) {
	w := s.w
	p.pos = s.clamp(pos)
	var err error
	s.entered, s.left, _, err = s.grid.Move(aoi.ID(p.slot), p.pos.X, p.pos.Z, s.entered[:0], s.left[:0])
	if err != nil {
		s.r.Logger().Error("game: moving a player in the AOI", "pid", p.PID, "err", err)
		return
	}
	bcID := w.id(mmopb.MsgBroadCast)
	if len(s.entered) > 0 {
		appear := s.enc.frame(w.pack.Load(), bcID, s.enc.broadcastPos(p.PID, mmopb.TpAppear, p.pos))
		s.mark++
		for _, id := range s.entered {
			if o := s.slots[id]; o != nil {
				o.mark = s.mark
				s.sendFrame(o, appear)
			}
		}
		for _, id := range s.entered {
			if o := s.slots[id]; o != nil {
				s.Send(p, bcID, s.enc.broadcastPos(o.PID, mmopb.TpAppear, o.pos))
			}
		}
	}
	if len(s.left) > 0 {
		leaveID := w.id(mmopb.MsgLeave)
		gone := s.enc.frame(w.pack.Load(), leaveID, s.enc.syncPID(p.PID))
		for _, id := range s.left {
			if o := s.slots[id]; o != nil {
				s.sendFrame(o, gone)
			}
		}
		for _, id := range s.left {
			if o := s.slots[id]; o != nil {
				s.Send(p, leaveID, s.enc.syncPID(o.PID))
			}
		}
	}
	moved := s.enc.frame(w.pack.Load(), bcID, s.enc.broadcastPos(p.PID, mmopb.TpMoved, p.pos))
	s.around, _ = s.grid.AroundEntity(aoi.ID(p.slot), s.around[:0])
	entered := len(s.entered) > 0
	for _, id := range s.around {
		if o := s.slots[id]; o != nil && (!entered || o.mark != s.mark) { // the ones who just saw it appear know
			s.sendFrame(o, moved)
		}
	}
}

// changeTo moves p from s to scene to, at pos (nil: to's spawn area), on
// a ChangeScene request (reqID) or a login whose record names another
// scene (reqID 0). The room runtime reserves p's place in to first, so a
// refusal (a full scene) leaves p where it is, told why; otherwise p
// leaves s now (Leave with LeaveMoved hands it over) and enters to on
// to's next tick.
func (s *Scene) changeTo(p *Player, to *Scene, pos *Position, reqID uint32) {
	w := s.w
	switch {
	case to == nil:
		s.Send(p, w.id(mmopb.MsgMmoError), errorPayload(commonpb.ErrorCode_ERROR_ROOM_NOT_FOUND, reqID, "game: no such scene"))
		return
	case to == s && pos != nil:
		s.teleport(p, *pos)
		return
	case to == s:
		s.Send(p, w.id(mmopb.MsgMmoError), errorPayload(commonpb.ErrorCode_ERROR_BAD_REQUEST, reqID, "game: already in that scene"))
		return
	}
	err := s.r.MoveTo(memberID(p.PID), to.id, &arrival{p: p, pos: pos, changed: true}, func(err error) {
		if err != nil { // closed before to's tick
			w.forget(p)
		}
	})
	if err == nil {
		return
	}
	w.met.refused.WithLabelValues("scene_change_failed").Inc()
	if s.players[p.PID] == p { // refused before it left: it plays on here
		s.Send(p, w.id(mmopb.MsgMmoError), errorPayload(codeOf(err), reqID, "game: the scene did not take the player: "+err.Error()))
		return
	}
	w.forget(p) // the other scene ended as it moved (shutdown)
}

// handOver is p leaving s for another scene (Leave with LeaveMoved): off
// the map, told of nothing more here, and out of the world's index until
// the other scene places it.
func (s *Scene) handOver(p *Player) {
	s.depart(p, ChangedScene)
	s.flushNow(p) // what it was told here leaves before the other scene writes to it
	s.w.mu.Lock()
	delete(s.w.players, p.PID)
	s.w.mu.Unlock()
}

// teleport moves p to pos within the scene and tells p where it is now.
func (s *Scene) teleport(p *Player, pos Position) {
	s.move(p, pos)
	s.Send(p, s.w.id(mmopb.MsgBroadCast), s.enc.broadcastPos(p.PID, mmopb.TpAppear, p.pos))
}

func (pos Position) proto() *mmopb.Position {
	return &mmopb.Position{X: pos.X, Y: pos.Y, Z: pos.Z, V: pos.V}
}
