package znet

import (
	"errors"

	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
)

// This file holds the Zinx-named wrappers, so a Zinx tutorial still works.
// Each maps onto one native call:
//
//	Zinx                         zinxgame
//	AddRouter(id, router)        Handle(id, RouterHandler(router))
//	AddRouterFunc(id, fn)        Handle(id, fn)
//	SetOnConnStart(fn)           one replaceable OnConnect slot
//	SetOnConnStop(fn)            one replaceable OnDisconnect slot
//	GetConnMgr()                 the connection manager
//	Start()                      ListenAndServe in the background
//	Serve()                      ListenAndServe (on ZinxServer)
//	Stop()                       Shutdown bounded by ShutdownTimeout, not waited for
//
// Zinx's AddRouter returns nothing, so a message ID registered twice is
// logged, and ListenAndServe, Serve and Run return the error before
// serving anything; the first registration stays.

// AddRouter registers a Zinx-style router for msgID; see the file comment
// for a conflict. Safe for concurrent use.
func (e *engine) AddRouter(msgID uint32, r ziface.IRouter) {
	e.routeErr(e.mux.handle(OwnerApp, msgID, RouterHandler(r)))
}

// AddRouterFunc registers a handler function for msgID, as AddRouter.
func (e *engine) AddRouterFunc(msgID uint32, h func(ziface.IRequest)) {
	e.routeErr(e.mux.handle(OwnerApp, msgID, h))
}

// SetOnConnStart sets the application's connect hook, as in Zinx: a second
// call replaces the first (nil removes it). It is one slot among the
// hooks that OnConnect and mounted modules add, which it never replaces;
// it runs in the place of its first registration. Safe for concurrent use.
func (e *engine) SetOnConnStart(hook func(ziface.IConnection)) {
	e.onStart.set(OwnerApp+" (SetOnConnStart)", hook)
}

// SetOnConnStop sets the application's disconnect hook, as SetOnConnStart.
func (e *engine) SetOnConnStop(hook func(ziface.IConnection)) {
	e.onStop.set(OwnerApp+" (SetOnConnStop)", hook)
}

// GetConnMgr returns the connection manager.
func (e *engine) GetConnMgr() ziface.IConnManager { return e.mgr }

// Start listens on the configured ports and serves in the background, as
// Zinx's Start does; it returns once the listeners are bound, so Addr is
// valid afterwards. Serving errors after that are logged.
func (s *Server) Start() error {
	serves, err := s.listenAll()
	if err != nil {
		return err
	}
	for _, serve := range serves {
		go func() {
			if err := serve(); err != nil && !errors.Is(err, ErrServerClosed) {
				s.log.Error("znet: serving stopped", "err", err)
			}
		}()
	}
	return nil
}

// Stop starts a graceful shutdown bounded by ShutdownTimeout and returns at
// once, as Zinx's Stop does. Unlike Shutdown it is safe to call from a
// handler or hook, whose own connection could not drain while it waits.
// The shutdown's errors are logged.
func (s *Server) Stop() {
	ctx, cancel := s.shutdownContext()
	go func() {
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			s.log.Error("znet: shutdown", "err", err)
		}
	}()
}

// ZinxServer is a Server with Zinx's IServer methods, for code written
// against Zinx: its Serve takes no listener. Everything else is the
// Server's.
type ZinxServer struct{ *Server }

var _ ziface.IServer = (*ZinxServer)(nil)

// NewZinxServer is NewServer for Zinx-style code.
func NewZinxServer(cfg zconf.Config, opts ...Option) (*ZinxServer, error) {
	s, err := NewServer(cfg, opts...)
	if err != nil {
		return nil, err
	}
	return &ZinxServer{s}, nil
}

// Serve is ListenAndServe, under Zinx's name.
func (z *ZinxServer) Serve() error { return z.ListenAndServe() }
