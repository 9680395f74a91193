package mmo

import (
	"errors"
	"fmt"
	"time"
)

// Handler handles an application's own message from a player, on the
// tick of the player's scene, in order with the player's moves and chats:
// it may read and move players and send to them through s (an action
// broadcast to the players in view, say, Zinx's Tp 3). data is the
// message's payload; the handler may keep it.
type Handler func(s *Scene, p *Player, data []byte)

// LeaveReason says why a player left a scene.
type LeaveReason uint8

const (
	// LeftWorld: the player's connection closed.
	LeftWorld LeaveReason = iota + 1
	// ChangedScene: the player moved to another scene (ChangeScene).
	ChangedScene
	// WorldShutdown: the server is shutting down.
	WorldShutdown
)

func (r LeaveReason) String() string {
	switch r {
	case LeftWorld:
		return "left"
	case ChangedScene:
		return "changed_scene"
	case WorldShutdown:
		return "shutdown"
	}
	return fmt.Sprintf("LeaveReason(%d)", r)
}

// hookSet is the world's hooks. It is replaced whole when a hook is added,
// so the ticks read it without a lock.
type hookSet struct {
	enter    []func(s *Scene, p *Player)
	leave    []func(s *Scene, p *Player, why LeaveReason)
	tick     []func(s *Scene, frame uint64, now time.Time)
	handlers map[uint32]Handler
}

// change copies the hooks, lets fn change the copy and publishes it.
func (w *World) change(fn func(h *hookSet)) {
	w.hookMu.Lock()
	defer w.hookMu.Unlock()
	old := w.hooks.Load()
	h := &hookSet{
		enter:    append([]func(*Scene, *Player){}, old.enter...),
		leave:    append([]func(*Scene, *Player, LeaveReason){}, old.leave...),
		tick:     append([]func(*Scene, uint64, time.Time){}, old.tick...),
		handlers: make(map[uint32]Handler, len(old.handlers)+1),
	}
	for id, f := range old.handlers {
		h.handlers[id] = f
	}
	fn(h)
	w.hooks.Store(h)
}

// OnEnter adds a hook called on a scene's tick when a player has entered
// it (connected, or come from another scene): it is placed, and it and
// the players around it have been told. Hooks add up and run in the order
// added. Safe for concurrent use; a hook added while players enter sees
// the ones after it.
func (w *World) OnEnter(fn func(s *Scene, p *Player)) {
	w.change(func(h *hookSet) { h.enter = append(h.enter, fn) })
}

// OnLeave adds a hook called on a scene's tick when a player has left it:
// it is off the map, and the players who saw it have been told (201).
// Hooks add up and run in the order added. Safe for concurrent use.
func (w *World) OnLeave(fn func(s *Scene, p *Player, why LeaveReason)) {
	w.change(func(h *hookSet) { h.leave = append(h.leave, fn) })
}

// OnTick adds a hook called on every tick of every scene, after the
// tick's requests were applied and before its writes leave (what it sends
// leaves with them). Keep it short: every player of the scene waits for
// it. Safe for concurrent use.
func (w *World) OnTick(fn func(s *Scene, frame uint64, now time.Time)) {
	w.change(func(h *hookSet) { h.tick = append(h.tick, fn) })
}

// Handle routes the application's message msgID (not moved by MsgIDBase)
// to h, on the tick of the sender's scene. Call it before Mount, which
// registers the routes; an ID the world uses itself is refused.
func (w *World) Handle(msgID uint32, h Handler) error {
	if w.mounted.Load() {
		return errors.New("game: MMO Handle after Mount: the routes are registered")
	}
	for _, own := range []uint32{w.id(1), w.id(2), w.id(3), w.id(10), w.id(11), w.id(12), w.id(13), w.id(14), w.id(15), w.id(16),
		w.id(200), w.id(201), w.id(202), restoreMsgID} {
		if msgID == own {
			return fmt.Errorf("game: MMO Handle(%d): the world uses that ID", msgID)
		}
	}
	if h == nil {
		return errors.New("game: MMO Handle: nil handler")
	}
	w.change(func(hs *hookSet) { hs.handlers[msgID] = h })
	return nil
}
