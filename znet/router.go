package znet

import (
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

// RouterHandler adapts a Zinx-style router to a HandlerFunc.
func RouterHandler(r ziface.IRouter) HandlerFunc {
	return func(req ziface.IRequest) {
		r.PreHandle(req)
		r.Handle(req)
		r.PostHandle(req)
	}
}

// mux maps message IDs to handler chains. Lookups are lock-free: every
// change publishes a new compiled table, so routes and middleware may be
// added while the server runs.
type mux struct {
	mu       sync.Mutex
	routes   map[uint32]HandlerFunc
	mws      []Middleware
	notFound HandlerFunc
	table    atomic.Pointer[table]
}

// table is one compiled routing table. IDs below denseIDs, which covers
// every ID the demos and most games use, index a slice; the rest use a map.
type table struct {
	dense    []HandlerFunc
	handlers map[uint32]HandlerFunc
	notFound HandlerFunc
}

const denseIDs = 4096

func (m *mux) handle(msgID uint32, h HandlerFunc) {
	if h == nil {
		panic("znet: nil handler")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, dup := m.routes[msgID]; dup {
		panic("znet: a handler for this message ID is already registered")
	}
	if m.routes == nil {
		m.routes = make(map[uint32]HandlerFunc)
	}
	m.routes[msgID] = h
	m.compile()
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
	for id, h := range m.routes {
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
