package room

import (
	"slices"
	"sort"
)

// The listing index: for each (type, label, open) it keeps the IDs of the
// rooms that match, sorted, so a page of a listing is a binary search and
// a copy of the page, whatever the number of rooms. An empty type or label
// in a key means "any". A room is open in the index when its logic says so
// and it has a free seat. Room IDs grow, so a new room is an append.

type indexKey struct {
	typ, label string
	open       bool
}

type index struct {
	sets map[indexKey][]uint64
}

func newIndex() index { return index{sets: make(map[indexKey][]uint64)} }

// keys is every index key r is listed under now.
func (r *Room) indexKeys(buf []indexKey) []indexKey {
	open := r.open && r.taken < r.capacity
	for _, o := range []bool{false, true} {
		if o && !open {
			continue
		}
		buf = append(buf, indexKey{"", "", o}, indexKey{r.typ, "", o})
		if r.label != "" {
			buf = append(buf, indexKey{r.typ, r.label, o}, indexKey{"", r.label, o})
		}
	}
	return buf
}

// add lists r under its current keys; call with the manager's mutex held.
func (ix *index) add(r *Room) {
	if !r.indexed {
		return
	}
	r.keys = r.indexKeys(r.keys[:0])
	for _, k := range r.keys {
		ids := ix.sets[k]
		if n := len(ids); n == 0 || ids[n-1] < r.id {
			ix.sets[k] = append(ids, r.id)
			continue
		}
		i, found := slices.BinarySearch(ids, r.id)
		if !found {
			ix.sets[k] = slices.Insert(ids, i, r.id)
		}
	}
}

// remove unlists r; call with the manager's mutex held.
func (ix *index) remove(r *Room) {
	for _, k := range r.keys {
		ids := ix.sets[k]
		if i, found := slices.BinarySearch(ids, r.id); found {
			ids = slices.Delete(ids, i, i+1)
			if len(ids) == 0 {
				delete(ix.sets, k)
			} else {
				ix.sets[k] = ids
			}
		}
	}
	r.keys = r.keys[:0]
}

// Query selects rooms for List.
type Query struct {
	// Type selects rooms of one type; empty lists every type.
	Type string
	// Label selects rooms with this exact label; empty means any label.
	Label string
	// OpenOnly selects rooms that take players and have a free seat.
	OpenOnly bool
	// After is the cursor: rooms with IDs above it (0 from the start).
	After uint64
	// Limit bounds the page; 0 or above Config.MaxListed means MaxListed.
	Limit int
}

// Info is a room as listed.
type Info struct {
	ID       uint64
	Type     string
	Label    string
	Owner    uint64
	Members  int // members, and joins reserved and not yet applied
	Capacity int
	Open     bool
	// Metadata is what the room's logic set with SetMetadata; it is the
	// room's own slice: do not change it.
	Metadata []byte
}

// List returns a page of the rooms q selects, in ID order, and the cursor
// of the next page (0 when this page is the last). Its cost is the page's
// size, not the number of rooms.
func (m *Manager) List(q Query) (rooms []Info, next uint64) {
	limit := q.Limit
	if limit <= 0 || limit > m.cfg.MaxListed {
		limit = m.cfg.MaxListed
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	ids := m.index.sets[indexKey{q.Type, q.Label, q.OpenOnly}]
	i := sort.Search(len(ids), func(i int) bool { return ids[i] > q.After })
	end := min(i+limit, len(ids))
	rooms = make([]Info, 0, end-i)
	for _, id := range ids[i:end] {
		r := m.rooms[id]
		rooms = append(rooms, Info{ID: id, Type: r.typ, Label: r.label, Owner: r.owner, Members: r.taken,
			Capacity: r.capacity, Open: r.open && r.taken < r.capacity, Metadata: r.metadata})
	}
	if end < len(ids) {
		next = ids[end-1]
	}
	return rooms, next
}

// Count is the number of rooms of type typ, or of every type for "". Safe
// for concurrent use.
func (m *Manager) Count(typ string) int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.index.sets[indexKey{typ, "", false}])
}

// firstOpen is the oldest open room of typ and label with a free seat, or
// nil; call with the manager's mutex held.
func (m *Manager) firstOpen(typ, label string) *Room {
	ids := m.index.sets[indexKey{typ, label, true}]
	if len(ids) == 0 {
		return nil
	}
	return m.rooms[ids[0]]
}
