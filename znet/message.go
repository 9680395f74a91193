package znet

import (
	"github.com/zinxgame/zinxgame/ziface"
)

// Message is a plain ziface.IMessage.
type Message struct {
	ID      uint32
	DataLen uint32
	Data    []byte
}

// NewMessage returns a message with the given ID and payload.
func NewMessage(id uint32, data []byte) *Message {
	return &Message{ID: id, DataLen: uint32(len(data)), Data: data}
}

func (m *Message) GetMsgID() uint32   { return m.ID }
func (m *Message) GetDataLen() uint32 { return m.DataLen }
func (m *Message) GetData() []byte    { return m.Data }

// request is the ziface.IRequest handed to handlers. It lives inside the
// task that carries it through the connection's queue, so it costs no
// allocation of its own; the slot is reused once its batch has run. The
// payload is never reused.
type request struct {
	conn  *Connection
	msgID uint32
	data  []byte
}

func (r *request) GetConnection() ziface.IConnection { return r.conn }
func (r *request) GetMsgID() uint32                  { return r.msgID }
func (r *request) GetData() []byte                   { return r.data }

// Abort stops the router chain after the current step; see ziface.IRequest.
// The flag lives on the connection, whose handlers run one at a time: the
// request itself sits in a queue slot the reader may be copying.
func (r *request) Abort() { r.conn.aborted = true }

// Aborted reports whether Abort was called during this request.
func (r *request) Aborted() bool { return r.conn.aborted }
