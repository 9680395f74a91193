package znet

import (
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/zinxgame/zinxgame/ziface"
)

// Connection hooks add up: every module and the application register their
// own, in order, and none replaces another's. A list is copied on change
// and read without a lock, so the connect and close paths pay one atomic
// load.

// hook is one registered connection hook.
type hook struct {
	id    uint64
	owner string
	fn    func(ziface.IConnection)
}

// hookList is an ordered, copy-on-write list of hooks.
type hookList struct {
	mu   sync.Mutex
	next uint64
	list atomic.Pointer[[]hook]
}

// add appends fn and returns the function that removes it again.
// Removing twice does nothing.
func (l *hookList) add(owner string, fn func(ziface.IConnection)) (remove func()) {
	if fn == nil {
		return func() {}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.next++
	id := l.next
	l.store(append(l.snapshot(), hook{id: id, owner: owner, fn: fn}))
	return func() { l.remove(id) }
}

// set replaces the hook registered with owner, keeping its place in the
// order, or appends it; a nil fn removes it. It is Zinx's SetOnConnStart:
// one slot for the application, beside the modules' hooks.
func (l *hookList) set(owner string, fn func(ziface.IConnection)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	hs := l.snapshot()
	for i := range hs {
		if hs[i].owner == owner && hs[i].id == 0 {
			if fn == nil {
				hs = append(hs[:i], hs[i+1:]...)
			} else {
				hs[i].fn = fn
			}
			l.store(hs)
			return
		}
	}
	if fn != nil {
		l.store(append(hs, hook{owner: owner, fn: fn})) // id 0 marks the slot
	}
}

func (l *hookList) remove(id uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	hs := l.snapshot()
	for i := range hs {
		if hs[i].id == id {
			l.store(append(hs[:i], hs[i+1:]...))
			return
		}
	}
}

// snapshot returns a copy of the list, for a change under mu.
func (l *hookList) snapshot() []hook {
	if p := l.list.Load(); p != nil {
		return append([]hook(nil), (*p)...)
	}
	return nil
}

func (l *hookList) store(hs []hook) { l.list.Store(&hs) }

// run calls every hook with c, first registered first, or last first when
// reverse is set. A hook that panics is logged and counted, and the others
// still run.
func (l *hookList) run(e *engine, c *Connection, name string, reverse bool) {
	p := l.list.Load()
	if p == nil {
		return
	}
	hs := *p
	for i := range hs {
		h := hs[i]
		if reverse {
			h = hs[len(hs)-1-i]
		}
		e.callHook(c, h, name)
	}
}

func (e *engine) callHook(c *Connection, h hook, name string) {
	defer func() {
		if r := recover(); r != nil {
			e.stats.panics.Add(1)
			c.log.Error("znet: "+name+" hook panicked", "owner", h.owner, "panic", r, "stack", string(debug.Stack()))
		}
	}()
	h.fn(c)
}
