// Package aoi is a grid area-of-interest manager for MMO scenes: the map is a
// rectangle on the (X, Z) plane cut into equal grids, and an entity sees the
// entities in its grid and the (up to) eight around it. It knows nothing about
// the network; a scene calls it and sends the appear/disappear messages.
//
// Queries append into caller-supplied slices, so steady-state moves and
// queries allocate nothing. A Manager is safe for concurrent use: queries
// share a read lock, changes take the write lock.
package aoi

import (
	"errors"
	"fmt"
	"math"
	"sync"
)

// ID identifies an entity (a player, an NPC).
type ID = int64

// ErrBadPosition is returned for NaN or infinite coordinates.
var ErrBadPosition = errors.New("aoi: position is NaN or infinite")

// ErrUnknownEntity is returned when moving or removing an entity that is not
// in the manager.
var ErrUnknownEntity = errors.New("aoi: unknown entity")

// ErrDuplicateEntity is returned when adding an entity that is already in.
var ErrDuplicateEntity = errors.New("aoi: entity already added")

// Config describes the map: its bounds and how many grids each axis has.
type Config struct {
	MinX, MaxX float32
	CntX       int
	MinZ, MaxZ float32
	CntZ       int
}

// Validate reports bounds that are not finite or not increasing, and grid
// counts under 1 or over 10,000 per axis.
func (c Config) Validate() error {
	var errs []error
	for _, v := range []struct {
		name     string
		min, max float32
		cnt      int
	}{{"X", c.MinX, c.MaxX, c.CntX}, {"Z", c.MinZ, c.MaxZ, c.CntZ}} {
		if !finite(v.min) || !finite(v.max) || !(v.max > v.min) {
			errs = append(errs, fmt.Errorf("aoi: %s bounds [%v, %v]: must be finite with min < max", v.name, v.min, v.max))
		}
		if v.cnt < 1 || v.cnt > 10_000 {
			errs = append(errs, fmt.Errorf("aoi: Cnt%s = %d: must be between 1 and 10000", v.name, v.cnt))
		}
	}
	return errors.Join(errs...)
}

func finite(f float32) bool {
	return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0)
}

// Grid is one cell of the map.
type Grid struct {
	ID                     int
	MinX, MaxX, MinZ, MaxZ float32
	ids                    []ID
}

// slot is where an entity lives: its grid and its index in that grid.
type slot struct {
	grid int32
	idx  int32
}

// Manager places entities in grids and answers who sees whom.
type Manager struct {
	cfg    Config
	width  float32 // grid width along X
	length float32 // grid length along Z

	mu    sync.RWMutex
	grids []Grid
	where map[ID]slot
}

// New returns an empty manager for cfg.
func New(cfg Config) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Manager{
		cfg:    cfg,
		width:  (cfg.MaxX - cfg.MinX) / float32(cfg.CntX),
		length: (cfg.MaxZ - cfg.MinZ) / float32(cfg.CntZ),
		grids:  make([]Grid, cfg.CntX*cfg.CntZ),
		where:  make(map[ID]slot),
	}
	for z := range cfg.CntZ {
		for x := range cfg.CntX {
			id := z*cfg.CntX + x
			m.grids[id] = Grid{
				ID:   id,
				MinX: cfg.MinX + float32(x)*m.width,
				MaxX: cfg.MinX + float32(x+1)*m.width,
				MinZ: cfg.MinZ + float32(z)*m.length,
				MaxZ: cfg.MinZ + float32(z+1)*m.length,
			}
		}
	}
	return m, nil
}

// Config returns the map description.
func (m *Manager) Config() Config { return m.cfg }

// GridCount is the number of grids.
func (m *Manager) GridCount() int { return len(m.grids) }

// Grid returns grid gid's bounds and its number of entities.
func (m *Manager) Grid(gid int) (g Grid, entities int) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	g = m.grids[gid]
	n := len(g.ids)
	g.ids = nil
	return g, n
}

// GridID returns the grid holding (x, z). Positions on or beyond the map's
// edges fall in the border grids, so every finite position has a grid; NaN
// counts as the lowest edge (Add and Move refuse it).
func (m *Manager) GridID(x, z float32) int {
	return m.cell(z, m.cfg.MinZ, m.length, m.cfg.CntZ)*m.cfg.CntX + m.cell(x, m.cfg.MinX, m.width, m.cfg.CntX)
}

func (m *Manager) cell(v, min, size float32, cnt int) int {
	f := (v - min) / size
	if !(f > 0) { // also NaN
		return 0
	}
	if f >= float32(cnt) {
		return cnt - 1
	}
	return int(f)
}

// Surrounding appends the IDs of gid and of the grids around it (9 inside
// the map, 6 on an edge, 4 in a corner) to dst.
func (m *Manager) Surrounding(gid int, dst []int) []int {
	x0, x1, z0, z1 := m.view(gid)
	for z := z0; z <= z1; z++ {
		for x := x0; x <= x1; x++ {
			dst = append(dst, z*m.cfg.CntX+x)
		}
	}
	return dst
}

// view returns the column and row ranges of the grids gid sees.
func (m *Manager) view(gid int) (x0, x1, z0, z1 int) {
	cx, cz := gid%m.cfg.CntX, gid/m.cfg.CntX
	return max(cx-1, 0), min(cx+1, m.cfg.CntX-1), max(cz-1, 0), min(cz+1, m.cfg.CntZ-1)
}

// near reports whether grids a and b are the same or adjacent (so each is in
// the other's view).
func (m *Manager) near(a, b int) bool {
	ax, az := a%m.cfg.CntX, a/m.cfg.CntX
	bx, bz := b%m.cfg.CntX, b/m.cfg.CntX
	return ax-bx <= 1 && bx-ax <= 1 && az-bz <= 1 && bz-az <= 1
}

// AddToGrid puts id in grid gid.
func (m *Manager) AddToGrid(id ID, gid int) error {
	if gid < 0 || gid >= len(m.grids) {
		return fmt.Errorf("aoi: grid %d out of range [0, %d)", gid, len(m.grids))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, dup := m.where[id]; dup {
		return fmt.Errorf("%w: %d", ErrDuplicateEntity, id)
	}
	m.insert(id, gid)
	return nil
}

// Add puts id in the grid holding (x, z).
func (m *Manager) Add(id ID, x, z float32) error {
	if !finite(x) || !finite(z) {
		return ErrBadPosition
	}
	return m.AddToGrid(id, m.GridID(x, z))
}

// Remove takes id out of the manager.
func (m *Manager) Remove(id ID) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.where[id]
	if !ok {
		return fmt.Errorf("%w: %d", ErrUnknownEntity, id)
	}
	m.remove(id, s)
	delete(m.where, id)
	return nil
}

// GridOf returns the grid id is in.
func (m *Manager) GridOf(id ID) (gid int, ok bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	s, ok := m.where[id]
	return int(s.grid), ok
}

// Len is the number of entities.
func (m *Manager) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.where)
}

func (m *Manager) insert(id ID, gid int) {
	g := &m.grids[gid]
	m.where[id] = slot{grid: int32(gid), idx: int32(len(g.ids))}
	g.ids = append(g.ids, id)
}

// remove takes id out of its grid's list (swap with the last); the caller
// updates or deletes where[id].
func (m *Manager) remove(id ID, s slot) {
	g := &m.grids[s.grid]
	last := len(g.ids) - 1
	if int(s.idx) != last {
		moved := g.ids[last]
		g.ids[s.idx] = moved
		m.where[moved] = slot{grid: s.grid, idx: s.idx}
	}
	g.ids = g.ids[:last]
}

// IDsInGrid appends the entities in grid gid to dst.
func (m *Manager) IDsInGrid(gid int, dst []ID) []ID {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return append(dst, m.grids[gid].ids...)
}

// AroundGrid appends the entities in grid gid and the grids around it.
func (m *Manager) AroundGrid(gid int, dst []ID) []ID {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.aroundLocked(gid, dst)
}

// Around appends the entities that a viewer at (x, z) sees: those in its
// grid and the grids around it (the viewer itself included, if it is there).
func (m *Manager) Around(x, z float32, dst []ID) []ID {
	return m.AroundGrid(m.GridID(x, z), dst)
}

// AroundEntity appends the entities that id sees, itself excluded.
func (m *Manager) AroundEntity(id ID, dst []ID) ([]ID, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	s, ok := m.where[id]
	if !ok {
		return dst, fmt.Errorf("%w: %d", ErrUnknownEntity, id)
	}
	n := len(dst)
	dst = m.aroundLocked(int(s.grid), dst)
	for i := n; i < len(dst); i++ {
		if dst[i] == id {
			dst[i] = dst[len(dst)-1]
			dst = dst[:len(dst)-1]
			break
		}
	}
	return dst, nil
}

func (m *Manager) aroundLocked(gid int, dst []ID) []ID {
	x0, x1, z0, z1 := m.view(gid)
	for z := z0; z <= z1; z++ {
		for x := x0; x <= x1; x++ {
			dst = append(dst, m.grids[z*m.cfg.CntX+x].ids...)
		}
	}
	return dst
}

// Move puts id in the grid holding (x, z). When that is another grid, it
// appends to entered the entities that id now sees and did not before, and
// to left those it saw and no longer does (id itself in neither); the view
// is symmetric, so these are also the entities that now see, or stop
// seeing, id. crossed reports whether the grid changed.
func (m *Manager) Move(id ID, x, z float32, entered, left []ID) (enteredOut, leftOut []ID, crossed bool, err error) {
	if !finite(x) || !finite(z) {
		return entered, left, false, ErrBadPosition
	}
	to := m.GridID(x, z)
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.where[id]
	if !ok {
		return entered, left, false, fmt.Errorf("%w: %d", ErrUnknownEntity, id)
	}
	from := int(s.grid)
	if from == to {
		return entered, left, false, nil
	}
	m.remove(id, s)
	m.insert(id, to)
	entered = m.viewDiff(to, from, id, entered)
	left = m.viewDiff(from, to, id, left)
	return entered, left, true, nil
}

// viewDiff appends the entities in the view of grid a that are not in the
// view of grid b, skipping self.
func (m *Manager) viewDiff(a, b int, self ID, dst []ID) []ID {
	x0, x1, z0, z1 := m.view(a)
	for z := z0; z <= z1; z++ {
		for x := x0; x <= x1; x++ {
			g := z*m.cfg.CntX + x
			if m.near(g, b) {
				continue
			}
			for _, id := range m.grids[g].ids {
				if id != self {
					dst = append(dst, id)
				}
			}
		}
	}
	return dst
}
