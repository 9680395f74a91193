package mmo

import (
	"sync/atomic"

	"golang.org/x/time/rate"

	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/ziface"
)

// Position is a point on a scene's map (Y is height, V the heading).
type Position struct {
	X, Y, Z, V float32
}

// Player is one player in the world. PID and Conn never change; Account
// and Name are safe to read anywhere; Pos belongs to the tick of the
// player's scene.
type Player struct {
	PID  int32
	Conn ziface.IConnection

	account atomic.Uint64
	name    atomic.Pointer[string]
	// restore is a login's saved record waiting for the player's scene to
	// apply it, in order with the player's moves.
	restore atomic.Pointer[restoreReq]

	at atomic.Pointer[Scene] // the scene it is placed in, for World.Do

	// The connection's worker's (the routes).
	chat, replies *rate.Limiter

	// Owned by the tick of the player's scene.
	pos    Position
	scene  *Scene
	out    []byte // this tick's frames for the player, packed
	frames int
	sent   int    // frames written this tick, for the metrics
	slot   int32  // its AOI key in its scene
	mark   uint64 // Scene.mark when a move last appeared to it
	queued bool   // in scene.dirty
	gone   bool   // left the world, saved
}

// Account is the identity the player is logged in as, its saved position
// loaded (0 for an anonymous player): its moves are saved to it.
func (p *Player) Account() uint64 { return p.account.Load() }

// Name is the logged-in player's name ("" for an anonymous player).
func (p *Player) Name() string {
	if n := p.name.Load(); n != nil {
		return *n
	}
	return ""
}

// Pos is where the player stands. Read it on the tick of its scene (in a
// hook or handler), or through World.Do.
func (p *Player) Pos() Position { return p.pos }

// restoreReq is a login's outcome for the scene: the identity and, when
// one was found, its saved record.
type restoreReq struct {
	account uint64
	name    string
	rec     store.PlayerRecord
	found   bool
}

// arrival is a join's Meta: the player and where it appears.
type arrival struct {
	p       *Player
	pos     *Position // nil: the scene's spawn area
	changed bool      // from another scene: SceneChanged, not SyncPID
}

func (p *Player) sceneName() string {
	if s := p.at.Load(); s != nil {
		return s.name
	}
	return ""
}
