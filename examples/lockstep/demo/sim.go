// Package demo is the lockstep demo's game: one unit per seat on a square
// world that wraps around, driven only by frames. The Go bots and the
// browser page (examples/lockstep/web, sim.js) run the same integer-only
// simulation and state hash, so they agree on every hash in one room.
package demo

import (
	"encoding/binary"

	"github.com/zinxgame/zinxgame/game/lockstep"
)

// Only frames drive the game: an input changes its slot's velocity, and
// every frame moves every unit by its velocity plus a wind that the match's
// seed picks every windEvery frames; every frame the seeded RNG also nudges
// one unit. All integer arithmetic, so every player of a room that applies
// the same frames holds the same state, and the same hash.
const (
	WorldSize = 1 << 16 // positions are in [0, WorldSize)
	MaxSpeed  = 8       // |velocity| per axis, per frame
	windEvery = 30      // frames between wind changes
	InputLen  = 2       // an input is (dx, dy), each an int8 in -1..1
)

// Unit is one seat's unit: position and velocity.
type Unit struct {
	X, Y, VX, VY int32
}

// Sim is the state of one match. Not safe for concurrent use.
type Sim struct {
	Frame uint32 // the last frame applied
	Wind  [2]int32
	Units []Unit // by slot
	rng   lockstep.Rand
}

// New starts the match of seed with seats slots; frame is the frame
// before the first one (start_frame - 1).
func New(seed uint64, seats int, frame uint32) *Sim {
	s := &Sim{Frame: frame, Units: make([]Unit, seats)}
	s.rng.Seed(seed)
	for i := range s.Units {
		s.Units[i] = Unit{X: int32(s.rng.IntN(WorldSize)), Y: int32(s.rng.IntN(WorldSize))}
	}
	return s
}

// EncodeInput is the wire form of an input (dx, dy).
func EncodeInput(dx, dy int8) []byte { return []byte{byte(dx), byte(dy)} }

// Input applies one player's input to the frame being built. It reports
// false for an input no bot sends (a slot out of range, a bad length):
// the caller counts it, and the state is left alone.
func (s *Sim) Input(slot uint32, data []byte) bool {
	if slot >= uint32(len(s.Units)) || len(data) != InputLen {
		return false
	}
	u := &s.Units[slot]
	u.VX = clamp(u.VX+clamp(int32(int8(data[0])), -1, 1), -MaxSpeed, MaxSpeed)
	u.VY = clamp(u.VY+clamp(int32(int8(data[1])), -1, 1), -MaxSpeed, MaxSpeed)
	return true
}

// Step ends the frame: it moves every unit.
func (s *Sim) Step() {
	s.Frame++
	if s.Frame%windEvery == 0 {
		s.Wind = [2]int32{int32(s.rng.IntN(3)) - 1, int32(s.rng.IntN(3)) - 1}
	}
	if n := len(s.Units); n > 0 {
		u := &s.Units[int(s.Frame%uint32(n))]
		u.VX = clamp(u.VX+int32(s.rng.IntN(3))-1, -MaxSpeed, MaxSpeed)
	}
	for i := range s.Units {
		u := &s.Units[i]
		u.X = wrap(u.X + u.VX + s.Wind[0])
		u.Y = wrap(u.Y + u.VY + s.Wind[1])
	}
}

// Hash is FNV-1a 64 over the frame number, the wind and every unit, each
// as little-endian 32-bit words.
func (s *Sim) Hash() uint64 {
	h := fnvOffset
	var w [4]byte
	word := func(v uint32) {
		binary.LittleEndian.PutUint32(w[:], v)
		for _, c := range w {
			h = (h ^ uint64(c)) * fnvPrime
		}
	}
	word(s.Frame)
	word(uint32(s.Wind[0]))
	word(uint32(s.Wind[1]))
	for _, u := range s.Units {
		word(uint32(u.X))
		word(uint32(u.Y))
		word(uint32(u.VX))
		word(uint32(u.VY))
	}
	return h
}

const (
	fnvOffset uint64 = 14695981039346656037
	fnvPrime  uint64 = 1099511628211
)

func clamp(v, lo, hi int32) int32 { return min(max(v, lo), hi) }

func wrap(v int32) int32 { return v & (WorldSize - 1) }
