package znet

import (
	"sync"

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

// request is the ziface.IRequest handed to handlers. Requests are pooled:
// the header fields are reused, the payload never is.
type request struct {
	conn  *Connection
	msgID uint32
	data  []byte
}

var requestPool = sync.Pool{New: func() any { return new(request) }}

func newRequest(c *Connection, msgID uint32, data []byte) *request {
	r := requestPool.Get().(*request)
	r.conn, r.msgID, r.data = c, msgID, data
	return r
}

func (r *request) free() {
	*r = request{}
	requestPool.Put(r)
}

func (r *request) GetConnection() ziface.IConnection { return r.conn }
func (r *request) GetMsgID() uint32                  { return r.msgID }
func (r *request) GetData() []byte                   { return r.data }
