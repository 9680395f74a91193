package znettest

import (
	"sync/atomic"

	"github.com/zinxgame/zinxgame/ziface"
)

// Request is an ziface.IRequest for calling a handler directly: a message
// as if it had arrived on conn. Abort is recorded, and znet.RouterHandler
// honours it as it does the server's requests, so a PreHandle that aborts
// can be tested. Safe for concurrent use.
type Request struct {
	conn    ziface.IConnection
	msgID   uint32
	data    []byte
	aborted atomic.Bool
}

var _ ziface.IRequest = (*Request)(nil)

// NewRequest returns a request for message msgID with payload data on
// conn, usually a Recorder.
func NewRequest(conn ziface.IConnection, msgID uint32, data []byte) *Request {
	return &Request{conn: conn, msgID: msgID, data: data}
}

func (r *Request) GetConnection() ziface.IConnection { return r.conn }
func (r *Request) GetMsgID() uint32                  { return r.msgID }
func (r *Request) GetData() []byte                   { return r.data }

// Abort stops a router's chain; see ziface.IRequest.
func (r *Request) Abort() { r.aborted.Store(true) }

// Aborted reports whether Abort was called.
func (r *Request) Aborted() bool { return r.aborted.Load() }
