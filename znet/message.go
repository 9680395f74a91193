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
