package aoi

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkMoveAndView: 10,000 entities on a 100x100 grid; each op moves a
// random entity by up to one grid along each axis and queries what it sees.
func BenchmarkMoveAndView(b *testing.B) {
	m, ids := populated(b, 10_000, 100)
	xs, zs := positions(m, ids)
	rng := rand.New(rand.NewPCG(5, 6))
	entered := make([]ID, 0, 256)
	left := make([]ID, 0, 256)
	around := make([]ID, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		i := rng.IntN(len(ids))
		xs[i] = clamp(xs[i]+(rng.Float32()*2-1)*m.width, m.cfg.MinX, m.cfg.MaxX)
		zs[i] = clamp(zs[i]+(rng.Float32()*2-1)*m.length, m.cfg.MinZ, m.cfg.MaxZ)
		entered, left, _, _ = m.Move(ids[i], xs[i], zs[i], entered[:0], left[:0])
		around, _ = m.AroundEntity(ids[i], around[:0])
	}
}

// BenchmarkBruteForceView is the baseline: the same moves, and the view found
// by scanning every entity, as a scene without an AOI index would.
func BenchmarkBruteForceView(b *testing.B) {
	m, ids := populated(b, 10_000, 100)
	xs, zs := positions(m, ids)
	rng := rand.New(rand.NewPCG(5, 6))
	around := make([]ID, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		i := rng.IntN(len(ids))
		xs[i] = clamp(xs[i]+(rng.Float32()*2-1)*m.width, m.cfg.MinX, m.cfg.MaxX)
		zs[i] = clamp(zs[i]+(rng.Float32()*2-1)*m.length, m.cfg.MinZ, m.cfg.MaxZ)
		me := m.GridID(xs[i], zs[i])
		around = around[:0]
		for j := range ids {
			if j != i && m.near(me, m.GridID(xs[j], zs[j])) {
				around = append(around, ids[j])
			}
		}
	}
}

func positions(m *Manager, ids []ID) (xs, zs []float32) {
	// Recover each entity's position as its grid's centre: close enough
	// for moves of up to one grid.
	xs, zs = make([]float32, len(ids)), make([]float32, len(ids))
	for i, id := range ids {
		gid, _ := m.GridOf(id)
		g, _ := m.Grid(gid)
		xs[i], zs[i] = (g.MinX+g.MaxX)/2, (g.MinZ+g.MaxZ)/2
		if _, _, _, err := m.Move(id, xs[i], zs[i], nil, nil); err != nil {
			panic(err)
		}
	}
	return xs, zs
}

func clamp(v, lo, hi float32) float32 { return min(max(v, lo), hi) }
