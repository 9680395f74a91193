package main

import (
	"encoding/binary"

	"github.com/zinxgame/zinxgame/game/lockstep"
)

// The bots' game: one unit per seat on a square world that wraps around.
// Only frames drive it: an input changes its slot's velocity, and every
// frame moves every unit by its velocity plus a wind that the match's seed
// picks every windEvery frames; every frame the seeded RNG also nudges one
// unit. All integer arithmetic, so every bot of a room that applies the
// same frames holds the same state, and the same hash.
const (
	worldSize = 1 << 16 // positions are in [0, worldSize)
	maxSpeed  = 8       // |velocity| per axis, per frame
	windEvery = 30      // frames between wind changes
	inputLen  = 2       // an input is (dx, dy), each an int8 in -1..1
)

type unit struct {
	X, Y, VX, VY int32
}

type sim struct {
	frame uint32 // the last frame applied
	wind  [2]int32
	units []unit // by slot
	rng   lockstep.Rand
}

// newSim starts the match of seed with seats slots; frame is the frame
// before the first one (start_frame - 1).
func newSim(seed uint64, seats int, frame uint32) *sim {
	s := &sim{frame: frame, units: make([]unit, seats)}
	s.rng.Seed(seed)
	for i := range s.units {
		s.units[i] = unit{X: int32(s.rng.IntN(worldSize)), Y: int32(s.rng.IntN(worldSize))}
	}
	return s
}

// encodeInput is the wire form of an input (dx, dy).
func encodeInput(dx, dy int8) []byte { return []byte{byte(dx), byte(dy)} }

// input applies one player's input to the frame being built. It reports
// false for an input no bot sends (a slot out of range, a bad length):
// the caller counts it, and the state is left alone.
func (s *sim) input(slot uint32, data []byte) bool {
	if slot >= uint32(len(s.units)) || len(data) != inputLen {
		return false
	}
	u := &s.units[slot]
	u.VX = clamp(u.VX+clamp(int32(int8(data[0])), -1, 1), -maxSpeed, maxSpeed)
	u.VY = clamp(u.VY+clamp(int32(int8(data[1])), -1, 1), -maxSpeed, maxSpeed)
	return true
}

// step ends the frame: it moves every unit.
func (s *sim) step() {
	s.frame++
	if s.frame%windEvery == 0 {
		s.wind = [2]int32{int32(s.rng.IntN(3)) - 1, int32(s.rng.IntN(3)) - 1}
	}
	if n := len(s.units); n > 0 {
		u := &s.units[int(s.frame%uint32(n))]
		u.VX = clamp(u.VX+int32(s.rng.IntN(3))-1, -maxSpeed, maxSpeed)
	}
	for i := range s.units {
		u := &s.units[i]
		u.X = wrap(u.X + u.VX + s.wind[0])
		u.Y = wrap(u.Y + u.VY + s.wind[1])
	}
}

// hash is FNV-1a 64 over the frame number, the wind and every unit, each
// as little-endian 32-bit words.
func (s *sim) hash() uint64 {
	h := fnvOffset
	var w [4]byte
	word := func(v uint32) {
		binary.LittleEndian.PutUint32(w[:], v)
		for _, c := range w {
			h = (h ^ uint64(c)) * fnvPrime
		}
	}
	word(s.frame)
	word(uint32(s.wind[0]))
	word(uint32(s.wind[1]))
	for _, u := range s.units {
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

func wrap(v int32) int32 { return v & (worldSize - 1) }
