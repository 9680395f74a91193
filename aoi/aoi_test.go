package aoi

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// zinxMap is the Zinx MMO demo's map.
var zinxMap = Config{MinX: 85, MaxX: 410, CntX: 10, MinZ: 75, MaxZ: 400, CntZ: 20}

func mustNew(t testing.TB, cfg Config) *Manager {
	t.Helper()
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestConfigValidate(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	for _, c := range []Config{
		{MinX: 0, MaxX: 0, CntX: 1, MinZ: 0, MaxZ: 1, CntZ: 1},
		{MinX: 1, MaxX: 0, CntX: 1, MinZ: 0, MaxZ: 1, CntZ: 1},
		{MinX: nan, MaxX: 1, CntX: 1, MinZ: 0, MaxZ: 1, CntZ: 1},
		{MinX: 0, MaxX: inf, CntX: 1, MinZ: 0, MaxZ: 1, CntZ: 1},
		{MinX: 0, MaxX: 1, CntX: 0, MinZ: 0, MaxZ: 1, CntZ: 1},
		{MinX: 0, MaxX: 1, CntX: 1, MinZ: 0, MaxZ: 1, CntZ: 10_001},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
	if err := zinxMap.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestGridIDAndBounds(t *testing.T) {
	m := mustNew(t, zinxMap)
	if m.GridCount() != 200 {
		t.Fatalf("GridCount = %d", m.GridCount())
	}
	for _, c := range []struct {
		x, z float32
		want int
	}{
		{85, 75, 0},
		{117.4, 75, 0},  // just inside the first column (width 32.5)
		{117.5, 75, 1},  // second column starts exactly here
		{409.99, 75, 9}, // last column
		{410, 75, 9},    // on the far edge: clamps to the border grid
		{1e9, 1e9, 199}, // far beyond: last grid
		{-1e9, -1e9, 0}, // far before: first grid
		{85, 400, 190},  // far Z edge, first column
		{410, 400, 199}, // far corner
		{160, 134, 32},  // the demo's spawn corner: column (160-85)/32.5 = 2, row (134-75)/16.25 = 3
	} {
		if got := m.GridID(c.x, c.z); got != c.want {
			t.Errorf("GridID(%v, %v) = %d, want %d", c.x, c.z, got, c.want)
		}
	}
	if got := m.GridID(float32(math.NaN()), 200); got != m.GridID(85, 200) {
		t.Errorf("NaN x went to grid %d", got)
	}
	g, n := m.Grid(32)
	if g.ID != 32 || n != 0 || g.MinX != 85+2*32.5 || g.MaxX != 85+3*32.5 || g.MinZ != 75+3*16.25 || g.MaxZ != 75+4*16.25 {
		t.Errorf("Grid(32) = %+v, %d", g, n)
	}
}

func TestSurrounding(t *testing.T) {
	m := mustNew(t, Config{MinX: 0, MaxX: 3, CntX: 3, MinZ: 0, MaxZ: 3, CntZ: 3})
	for _, c := range []struct {
		gid  int
		want []int
	}{
		{4, []int{0, 1, 2, 3, 4, 5, 6, 7, 8}}, // centre
		{0, []int{0, 1, 3, 4}},                // corner
		{8, []int{4, 5, 7, 8}},                // far corner
		{1, []int{0, 1, 2, 3, 4, 5}},          // edge
		{3, []int{0, 1, 3, 4, 6, 7}},          // edge
	} {
		if got := m.Surrounding(c.gid, nil); !slices.Equal(got, c.want) {
			t.Errorf("Surrounding(%d) = %v, want %v", c.gid, got, c.want)
		}
	}
	one := mustNew(t, Config{MinX: 0, MaxX: 1, CntX: 1, MinZ: 0, MaxZ: 5, CntZ: 5})
	if got := one.Surrounding(0, nil); !slices.Equal(got, []int{0, 1}) {
		t.Errorf("single column, top: %v", got)
	}
}

func TestAddRemoveQuery(t *testing.T) {
	m := mustNew(t, Config{MinX: 0, MaxX: 30, CntX: 3, MinZ: 0, MaxZ: 30, CntZ: 3})
	for i, p := range [][2]float32{{5, 5}, {15, 15}, {25, 25}, {5, 25}, {29, 1}} {
		if err := m.Add(ID(i+1), p[0], p[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Add(1, 0, 0); !errors.Is(err, ErrDuplicateEntity) {
		t.Errorf("duplicate Add: %v", err)
	}
	if err := m.Add(9, float32(math.Inf(-1)), 0); !errors.Is(err, ErrBadPosition) {
		t.Errorf("Add at -Inf: %v", err)
	}
	if err := m.AddToGrid(9, 9); err == nil {
		t.Error("AddToGrid out of range accepted")
	}
	if got := sorted(m.IDsInGrid(0, nil)); !slices.Equal(got, []ID{1}) {
		t.Errorf("grid 0 = %v", got)
	}
	// From the corner grid 0 one sees grids 0, 1, 3, 4: entities 1 and 2.
	if got := sorted(m.Around(1, 1, nil)); !slices.Equal(got, []ID{1, 2}) {
		t.Errorf("Around(1,1) = %v", got)
	}
	if got, _ := m.AroundEntity(2, nil); !slices.Equal(sorted(got), []ID{1, 3, 4, 5}) {
		t.Errorf("AroundEntity(2) = %v (self excluded)", got)
	}
	if err := m.Remove(2); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(2); !errors.Is(err, ErrUnknownEntity) {
		t.Errorf("second Remove: %v", err)
	}
	if got, _ := m.AroundEntity(1, nil); len(got) != 0 {
		t.Errorf("after removing 2, entity 1 sees %v", got)
	}
	if _, ok := m.GridOf(2); ok || m.Len() != 4 {
		t.Errorf("GridOf(2) still found or Len = %d", m.Len())
	}
	if _, _, _, err := m.Move(2, 1, 1, nil, nil); !errors.Is(err, ErrUnknownEntity) {
		t.Errorf("Move of a removed entity: %v", err)
	}
	if _, _, _, err := m.Move(1, float32(math.NaN()), 1, nil, nil); !errors.Is(err, ErrBadPosition) {
		t.Errorf("Move to NaN: %v", err)
	}
}

func TestMoveEnteredLeft(t *testing.T) {
	// A 5x1 strip: grids 0..4 left to right, 10 wide each.
	m := mustNew(t, Config{MinX: 0, MaxX: 50, CntX: 5, MinZ: 0, MaxZ: 10, CntZ: 1})
	for gid := range 5 {
		if err := m.AddToGrid(ID(100+gid), gid); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Add(1, 5, 5); err != nil { // in grid 0: sees 100, 101
		t.Fatal(err)
	}
	entered, left, crossed, err := m.Move(1, 9, 5, nil, nil)
	if err != nil || crossed || len(entered)+len(left) != 0 {
		t.Fatalf("move within grid 0: %v %v %v %v", entered, left, crossed, err)
	}
	entered, left, crossed, _ = m.Move(1, 15, 5, nil, nil) // to grid 1: now sees 102 too
	if !crossed || !slices.Equal(sorted(entered), []ID{102}) || len(left) != 0 {
		t.Fatalf("0->1: entered %v left %v", entered, left)
	}
	entered, left, _, _ = m.Move(1, 25, 5, entered[:0], left[:0]) // to 2: sees 103, loses 100
	if !slices.Equal(sorted(entered), []ID{103}) || !slices.Equal(sorted(left), []ID{100}) {
		t.Fatalf("1->2: entered %v left %v", entered, left)
	}
	entered, left, _, _ = m.Move(1, 1e6, 5, nil, nil) // clamps into grid 4: sees 104, loses 101 and 102
	if !slices.Equal(sorted(entered), []ID{104}) || !slices.Equal(sorted(left), []ID{101, 102}) {
		t.Fatalf("2->4: entered %v left %v", entered, left)
	}
	entered, left, _, _ = m.Move(1, 0, 5, nil, nil) // teleport back to 0
	if !slices.Equal(sorted(entered), []ID{100, 101}) || !slices.Equal(sorted(left), []ID{103, 104}) {
		t.Fatalf("4->0: entered %v left %v", entered, left)
	}
}

func sorted(ids []ID) []ID {
	s := slices.Clone(ids)
	slices.Sort(s)
	return s
}

// checkInvariants: every entity is in exactly one grid, where it is recorded.
func checkInvariants(t *testing.T, m *Manager) {
	t.Helper()
	m.mu.RLock()
	defer m.mu.RUnlock()
	seen := map[ID]int{}
	for gid, g := range m.grids {
		for i, id := range g.ids {
			if prev, dup := seen[id]; dup {
				t.Fatalf("entity %d in grids %d and %d", id, prev, gid)
			}
			seen[id] = gid
			if s := m.where[id]; int(s.grid) != gid || int(s.idx) != i {
				t.Fatalf("entity %d recorded at %+v, found in grid %d index %d", id, s, gid, i)
			}
		}
	}
	if len(seen) != len(m.where) {
		t.Fatalf("%d entities in grids, %d recorded", len(seen), len(m.where))
	}
}

func setOf(ids []ID, skip ID) map[ID]bool {
	s := map[ID]bool{}
	for _, id := range ids {
		if id != skip {
			s[id] = true
		}
	}
	return s
}

func minus(a, b map[ID]bool) []ID {
	var out []ID
	for id := range a {
		if !b[id] {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// TestMoveProperty: after any sequence of moves, adds and removes, every
// entity is in exactly one grid and entered/left equal the difference of the
// views before and after.
func TestMoveProperty(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		cfg := Config{MinX: -50, MaxX: 50, CntX: 1 + rng.IntN(8), MinZ: 0, MaxZ: 80, CntZ: 1 + rng.IntN(8)}
		m := mustNew(t, cfg)
		pos := func() (float32, float32) {
			// Mostly inside, sometimes on or beyond the edges.
			x := float32(rng.Float64()*140 - 70)
			z := float32(rng.Float64()*120 - 20)
			switch rng.IntN(10) {
			case 0:
				x = cfg.MaxX
			case 1:
				z = cfg.MinZ
			}
			return x, z
		}
		live := map[ID]bool{}
		var entered, left []ID
		for step := range 2000 {
			id := ID(rng.IntN(40))
			x, z := pos()
			switch {
			case !live[id]:
				if err := m.Add(id, x, z); err != nil {
					t.Fatal(err)
				}
				live[id] = true
			case rng.IntN(20) == 0:
				if err := m.Remove(id); err != nil {
					t.Fatal(err)
				}
				delete(live, id)
			default:
				from, _ := m.GridOf(id)
				before := setOf(m.AroundGrid(from, nil), id)
				var crossed bool
				var err error
				entered, left, crossed, err = m.Move(id, x, z, entered[:0], left[:0])
				if err != nil {
					t.Fatal(err)
				}
				to, _ := m.GridOf(id)
				if to != m.GridID(x, z) || crossed != (from != to) {
					t.Fatalf("seed %d step %d: moved to grid %d, want %d (crossed %v)", seed, step, to, m.GridID(x, z), crossed)
				}
				after := setOf(m.AroundGrid(to, nil), id)
				if want := minus(after, before); !slices.Equal(sorted(entered), want) {
					t.Fatalf("seed %d step %d: entered %v, want %v", seed, step, sorted(entered), want)
				}
				if want := minus(before, after); !slices.Equal(sorted(left), want) {
					t.Fatalf("seed %d step %d: left %v, want %v", seed, step, sorted(left), want)
				}
			}
			checkInvariants(t, m)
		}
	}
}

// TestConcurrentUse backs the claim that a Manager is safe for concurrent use
// (run with -race): goroutines move their own entities and query at once.
func TestConcurrentUse(t *testing.T) {
	m := mustNew(t, Config{MinX: 0, MaxX: 100, CntX: 10, MinZ: 0, MaxZ: 100, CntZ: 10})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			var entered, left, around []ID
			for i := range 50 {
				if err := m.Add(ID(g*100+i), rng.Float32()*100, rng.Float32()*100); err != nil {
					t.Error(err)
					return
				}
			}
			for range 2000 {
				id := ID(g*100 + rng.IntN(50))
				var err error
				entered, left, _, err = m.Move(id, rng.Float32()*100, rng.Float32()*100, entered[:0], left[:0])
				if err != nil {
					t.Error(err)
					return
				}
				around, _ = m.AroundEntity(id, around[:0])
			}
		}()
	}
	wg.Wait()
	checkInvariants(t, m)
	if m.Len() != 400 {
		t.Fatalf("Len = %d", m.Len())
	}
}

// TestSteadyStateAllocatesNothing: moves and view queries reuse the caller's
// slices and the manager's storage.
func TestSteadyStateAllocatesNothing(t *testing.T) {
	m, ids := populated(t, 1000, 20)
	rng := rand.New(rand.NewPCG(1, 2))
	entered := make([]ID, 0, 256)
	left := make([]ID, 0, 256)
	around := make([]ID, 0, 256)
	step := func() {
		id := ids[rng.IntN(len(ids))]
		entered, left, _, _ = m.Move(id, rng.Float32()*m.cfg.MaxX, rng.Float32()*m.cfg.MaxZ, entered[:0], left[:0])
		around, _ = m.AroundEntity(id, around[:0])
	}
	for range 10_000 { // let grids reach their steady capacity
		step()
	}
	if a := testing.AllocsPerRun(1000, step); a != 0 {
		t.Fatalf("%.2f allocations per move and query", a)
	}
}

// populated returns a manager on a cnt x cnt map of 10-unit grids with n
// entities at random positions.
func populated(t testing.TB, n, cnt int) (*Manager, []ID) {
	size := float32(cnt * 10)
	m := mustNew(t, Config{MinX: 0, MaxX: size, CntX: cnt, MinZ: 0, MaxZ: size, CntZ: cnt})
	rng := rand.New(rand.NewPCG(3, 4))
	ids := make([]ID, n)
	for i := range ids {
		ids[i] = ID(i + 1)
		if err := m.Add(ids[i], rng.Float32()*size, rng.Float32()*size); err != nil {
			t.Fatal(err)
		}
	}
	return m, ids
}
