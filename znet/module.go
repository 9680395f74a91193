package znet

import (
	"context"
	"errors"
	"fmt"

	"github.com/zinxgame/zinxgame/ziface"
)

// Module is a piece of a server that mounts in one call: the MMO world,
// lockstep rooms, an application's own feature. Mount registers its
// routes, hooks and shutdown work through m; if it returns an error,
// everything it registered is taken back, so a module is on the server
// whole or not at all.
type Module interface {
	Mount(m *Mount) error
}

// ModuleFunc adapts a function to a Module.
type ModuleFunc func(m *Mount) error

// Mount calls f(m).
func (f ModuleFunc) Mount(m *Mount) error { return f(m) }

// Mount is what a module registers through. Its routes carry the module's
// name, so a collision names both owners. It is used from the module's
// Mount method only, on one goroutine.
type Mount struct {
	srv  *Server
	name string
	undo []func()
}

// Name is the name the module was mounted under.
func (m *Mount) Name() string { return m.name }

// Server is the server the module is mounted on.
func (m *Mount) Server() *Server { return m.srv }

// Handle registers h for msgID, as Server.Handle; a conflict names this
// module and the route's owner.
func (m *Mount) Handle(msgID uint32, h HandlerFunc) error {
	if err := m.srv.mux.handle(m.name, msgID, h); err != nil {
		return err
	}
	m.undo = append(m.undo, func() { m.srv.mux.remove(m.name, msgID) })
	return nil
}

// AddRouter registers a Zinx-style router for msgID, as Handle.
func (m *Mount) AddRouter(msgID uint32, r ziface.IRouter) error {
	return m.Handle(msgID, RouterHandler(r))
}

// OnConnect adds a connect hook; see Server.OnConnect.
func (m *Mount) OnConnect(hook func(ziface.IConnection)) {
	m.undo = append(m.undo, m.srv.onStart.add(m.name, hook))
}

// OnDisconnect adds a disconnect hook; see Server.OnDisconnect.
func (m *Mount) OnDisconnect(hook func(ziface.IConnection)) {
	m.undo = append(m.undo, m.srv.onStop.add(m.name, hook))
}

// OnShutdown adds work run when a shutdown begins, before the connections
// drain; see Server.RegisterOnShutdown.
func (m *Mount) OnShutdown(work func(ctx context.Context) error) {
	m.undo = append(m.undo, m.srv.shutdownWork.add(m.name, work))
}

// OnDrained adds work run once every connection has closed; see
// Server.RegisterOnDrained.
func (m *Mount) OnDrained(work func(ctx context.Context) error) {
	m.undo = append(m.undo, m.srv.drainedWork.add(m.name, work))
}

// Mount mounts mod under name: its routes, hooks and shutdown work. A
// route collision, or any other error of mod's, takes back everything mod
// registered and is returned. Mounting after the shutdown began is
// ErrServerClosed. Safe for concurrent use, though modules are usually
// mounted before serving.
func (s *Server) Mount(name string, mod Module) error {
	if name == "" {
		return errors.New("znet: Mount: empty module name")
	}
	if s.shutting.Load() {
		return ErrServerClosed
	}
	m := &Mount{srv: s, name: name}
	if err := mod.Mount(m); err != nil {
		for i := len(m.undo) - 1; i >= 0; i-- {
			m.undo[i]()
		}
		return fmt.Errorf("znet: mounting %s: %w", name, err)
	}
	s.log.Debug("znet: module mounted", "module", name)
	return nil
}
