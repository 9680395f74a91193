// Package ziface holds the small interfaces that zinxgame users program
// against. The names follow Zinx (IServer, IConnection, IRequest, IRouter,
// ...) so its tutorials carry over; each interface is kept to the methods a
// handler actually needs. The implementations live in package znet.
package ziface

import (
	"context"
	"net"
)

// IMessage is one decoded packet: a message ID and its payload.
type IMessage interface {
	GetMsgID() uint32
	GetDataLen() uint32
	GetData() []byte
}

// IDataPack packs and unpacks frames. Unpack parses only the fixed-size head
// and returns a message whose payload is still to be read; it rejects heads
// that announce more than the configured maximum, before anything is
// allocated for the payload.
type IDataPack interface {
	GetHeadLen() uint32
	Pack(msg IMessage) ([]byte, error)
	Unpack(head []byte) (IMessage, error)
}

// IRequest is one received message together with the connection it came on.
//
// A request is only valid until the handler chain returns: the framework
// reuses it. The payload slice returned by GetData is never reused, so a
// handler may keep that.
type IRequest interface {
	GetConnection() IConnection
	GetMsgID() uint32
	GetData() []byte
	// Abort stops a router's chain, as in Zinx: called from PreHandle, it
	// keeps Handle and PostHandle from running; from Handle, PostHandle.
	// Middleware stops a chain by not calling next.
	Abort()
}

// IRouter handles one message ID. PreHandle, Handle and PostHandle run in that
// order on the connection's worker; embed znet.BaseRouter to implement only
// the ones you need.
type IRouter interface {
	PreHandle(req IRequest)
	Handle(req IRequest)
	PostHandle(req IRequest)
}

// IConnection is one client connection. All methods are safe for concurrent
// use.
type IConnection interface {
	// Start begins reading and writing. The server calls it; a second call
	// does nothing.
	Start()
	// Stop closes the connection gracefully: reading stops, messages
	// already received are still handled, queued sends are flushed, then the
	// socket closes and OnConnStop runs. It does not wait and may be called
	// any number of times from any goroutine, including the connection's
	// own handlers and hooks.
	Stop()
	// Context is cancelled when the connection starts closing.
	Context() context.Context
	// GetConnection returns the underlying network connection. Reading
	// from or writing to it directly corrupts the stream.
	GetConnection() net.Conn
	GetConnID() uint64
	RemoteAddr() net.Addr
	// SendMsg packs the message and queues it for the connection's writer.
	// It never blocks: it fails with znet.ErrConnClosed after the
	// connection has closed, and with znet.ErrSendQueueFull when the
	// client has stopped reading (the connection is then closed).
	SendMsg(msgID uint32, data []byte) error
	// Async runs work on the blocking-work pool, off the connection's
	// worker, then runs then on the connection's worker, ordered after
	// every message handled before Async was called and before later
	// Async results. work's context is the connection's.
	Async(work func(ctx context.Context), then func()) error

	SetProperty(key string, value any)
	GetProperty(key string) (any, bool)
	RemoveProperty(key string)
}

// IConnManager tracks the live connections of a server.
type IConnManager interface {
	Add(conn IConnection)
	Remove(conn IConnection)
	Get(connID uint64) (IConnection, bool)
	Len() int
	// Range calls f for each connection until f returns false. f may call
	// methods of the connection, including Stop, but not Add or Remove.
	Range(f func(IConnection) bool)
	// ClearConn stops every connection.
	ClearConn()
}

// IServer is Zinx's server interface, kept so code written against Zinx
// compiles: znet.ZinxServer implements it. New code uses *znet.Server,
// whose serving and shutdown follow net/http (Serve(l), ListenAndServe,
// Shutdown(ctx), Close) and whose hooks and modules add up.
type IServer interface {
	// Start listens on the configured address and serves in the
	// background; it returns once the listener is bound.
	Start() error
	// Serve listens on the configured address and blocks until the server
	// is shut down, then returns znet.ErrServerClosed.
	Serve() error
	// Stop starts a graceful shutdown, bounded by the configured
	// ShutdownTimeout, and returns at once. It is safe to call from a
	// handler or hook.
	Stop()

	AddRouter(msgID uint32, router IRouter)
	// SetOnConnStart and SetOnConnStop set the application's one hook of
	// each kind; they never replace the hooks modules register.
	SetOnConnStart(hook func(IConnection))
	SetOnConnStop(hook func(IConnection))
	GetConnMgr() IConnManager
}
