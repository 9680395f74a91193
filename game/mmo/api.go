package mmo

import (
	"context"
	"errors"
	"fmt"
)

// ErrNoPlayer is the answer for a player ID that is not in the world (or
// is between two scenes).
var ErrNoPlayer = errors.New("game: no such player in the world")

// PlayerInfo is a player as seen at one tick of its scene.
type PlayerInfo struct {
	PID     int32
	Account uint64
	Name    string
	Scene   string
	Pos     Position
}

func (p *Player) info() PlayerInfo {
	pi := PlayerInfo{PID: p.PID, Account: p.Account(), Name: p.Name(), Pos: p.pos}
	if p.scene != nil {
		pi.Scene = p.scene.name
	}
	return pi
}

// Player finds a player of the world by ID. Its PID, Conn, Account and
// Name are safe to read here; for its position, use Where or Do.
func (w *World) Player(pid int32) (*Player, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	p, ok := w.players[pid]
	return p, ok
}

// Send sends one message to a player now, from any goroutine (a router,
// an admin call): it does not wait for the scene's tick, so it is not
// ordered with what the tick sends.
func (w *World) Send(pid int32, msgID uint32, data []byte) error {
	p, ok := w.Player(pid)
	if !ok {
		return ErrNoPlayer
	}
	return p.Conn.SendMsg(msgID, data)
}

// Do runs fn on the tick of the scene player pid is in, and returns its
// error, or ctx's if ctx ends first. fn may use every method of the scene
// and of its players. It goes through the scene's bounded queue, so it
// may be refused (room.ErrBusy).
func (w *World) Do(ctx context.Context, pid int32, fn func(s *Scene, p *Player) error) error {
	for {
		p, ok := w.Player(pid)
		if !ok {
			return ErrNoPlayer
		}
		var moved bool
		err := w.DoScene(ctx, p.sceneName(), func(s *Scene) error {
			if s.players[pid] != p {
				moved = true // changed scene meanwhile: ask its new one
				return nil
			}
			return fn(s, p)
		})
		if !moved {
			return err
		}
	}
}

// DoScene runs fn on the tick of the named scene.
func (w *World) DoScene(ctx context.Context, scene string, fn func(s *Scene) error) error {
	s := w.scenes[scene]
	if s == nil {
		return fmt.Errorf("game: no MMO scene %q", scene)
	}
	_, err := w.rooms.Signal(ctx, s.id, fn)
	return err
}

// Where is the player pid, as its scene sees it now.
func (w *World) Where(ctx context.Context, pid int32) (PlayerInfo, error) {
	var pi PlayerInfo
	err := w.Do(ctx, pid, func(_ *Scene, p *Player) error {
		pi = p.info()
		return nil
	})
	return pi, err
}

// InView lists the players who see player pid (in the grids around its
// own), as its scene sees them now.
func (w *World) InView(ctx context.Context, pid int32) ([]PlayerInfo, error) {
	var out []PlayerInfo
	err := w.Do(ctx, pid, func(s *Scene, p *Player) error {
		for _, o := range s.InView(p, nil) {
			out = append(out, o.info())
		}
		return nil
	})
	return out, err
}
