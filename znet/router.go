package znet

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/zinxgame/zinxgame/ziface"
)

// HandlerFunc handles one request. It is the unit that middleware wraps.
type HandlerFunc func(req ziface.IRequest)

// Middleware wraps a handler, for logging, auth checks, timing and the like.
type Middleware func(next HandlerFunc) HandlerFunc

// BaseRouter implements ziface.IRouter with empty methods; embed it and
// override what you need.
type BaseRouter struct{}

func (BaseRouter) PreHandle(ziface.IRequest)  {}
func (BaseRouter) Handle(ziface.IRequest)     {}
func (BaseRouter) PostHandle(ziface.IRequest) {}

// RouterHandler adapts a Zinx-style router to a HandlerFunc. As in Zinx, a
// PreHandle (or Handle) that calls the request's Abort stops the rest of
// the chain: Handle and PostHandle do not run.
func RouterHandler(r ziface.IRouter) HandlerFunc {
	return func(req ziface.IRequest) {
		r.PreHandle(req)
		if aborted(req) {
			return
		}
		r.Handle(req)
		if aborted(req) {
			return
		}
		r.PostHandle(req)
	}
}

// aborted reports whether a handler called req.Abort.
func aborted(req ziface.IRequest) bool {
	a, ok := req.(interface{ Aborted() bool })
	return ok && a.Aborted()
}

// ErrRouteConflict is returned when a message ID is registered twice; the
// error names the ID and both owners.
var ErrRouteConflict = errors.New("znet: message ID already routed")

// OwnerApp is the owner of routes registered on the server itself
// (Handle, AddRouter) rather than by a mounted module.
const OwnerApp = "application"

// mux maps message IDs to handler chains. Lookups are lock-free: every
// change publishes a new compiled table, so routes and middleware may be
// added while the server runs.
type mux struct {
	mu       sync.Mutex
	routes   map[uint32]route
	mws      []Middleware
	notFound HandlerFunc
	table    atomic.Pointer[table]
}

// route is one registered handler and who registered it, for the
// conflict error.
type route struct {
	h     HandlerFunc
	owner string
}

// table is one compiled routing table. IDs below denseIDs, which covers
// every ID the demos and most games use, index a slice; the rest use a map.
type table struct {
	dense    []HandlerFunc
	handlers map[uint32]HandlerFunc
	notFound HandlerFunc
}

const denseIDs = 4096

// handle registers h for msgID on behalf of owner. A second registration
// of an ID is an ErrRouteConflict naming both owners, and changes nothing.
func (m *mux) handle(owner string, msgID uint32, h HandlerFunc) error {
	if h == nil {
		return fmt.Errorf("znet: message ID %d (%s): nil handler", msgID, owner)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if prev, dup := m.routes[msgID]; dup {
		return fmt.Errorf("%w: message ID %d: %s registers it, but %s already has", ErrRouteConflict, msgID, owner, prev.owner)
	}
	if m.routes == nil {
		m.routes = make(map[uint32]route)
	}
	m.routes[msgID] = route{h: h, owner: owner}
	m.compile()
	return nil
}

// remove unregisters msgID if owner holds it (a module's mount rolled back).
func (m *mux) remove(owner string, msgID uint32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.routes[msgID]; ok && r.owner == owner {
		delete(m.routes, msgID)
		m.compile()
	}
}

func (m *mux) use(mws ...Middleware) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mws = append(m.mws, mws...)
	m.compile()
}

func (m *mux) setNotFound(h HandlerFunc) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.notFound = h
	m.compile()
}

func (m *mux) compile() {
	t := &table{handlers: make(map[uint32]HandlerFunc)}
	for id, r := range m.routes {
		h := r.h
		if id < denseIDs {
			if int(id) >= len(t.dense) {
				t.dense = append(t.dense, make([]HandlerFunc, int(id)+1-len(t.dense))...)
			}
			t.dense[id] = m.wrap(h)
		} else {
			t.handlers[id] = m.wrap(h)
		}
	}
	if m.notFound != nil {
		t.notFound = m.wrap(m.notFound)
	}
	m.table.Store(t)
}

// wrap applies middleware so that the first one registered runs outermost.
func (m *mux) wrap(h HandlerFunc) HandlerFunc {
	for i := len(m.mws) - 1; i >= 0; i-- {
		h = m.mws[i](h)
	}
	return h
}

// lookup returns the handler for msgID, else the not-found handler, else nil.
func (m *mux) lookup(msgID uint32) HandlerFunc {
	t := m.table.Load()
	if t == nil {
		return nil
	}
	if msgID < uint32(len(t.dense)) {
		if h := t.dense[msgID]; h != nil {
			return h
		}
	} else if h, ok := t.handlers[msgID]; ok {
		return h
	}
	return t.notFound
}
