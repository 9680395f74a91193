package znet

import (
	"errors"
	"net"
	"time"

	"github.com/gorilla/websocket"
)

// WebSocket control frames cost like messages. gorilla answers a ping with
// a pong by itself, below any limit of ours: one client could have 145,000
// pongs a second written for it with MsgRateLimit at 60. So every ping and
// pong takes a token from the connection's message bucket (MsgRateLimit,
// the same bucket as its messages), and over the limit MsgRatePolicy
// applies: "drop" answers no pong, "disconnect" closes with the notice.
//
// gorilla calls these handlers from NextReader and the message reader's
// Read, that is from wsConn.Read, which only the connection's reader
// goroutine calls (readLoop, then linger in its teardown). Connection's
// limiter and rateNoticed are the reader's, so no lock is needed.

// controlWriteWait bounds writing a pong, as gorilla's own handler does.
const controlWriteWait = time.Second

// bindTransport lets the transport see the connection it carries, before
// the connection starts.
func bindTransport(c *Connection, nc net.Conn) {
	if w, ok := nc.(*wsConn); ok {
		w.owner = c
	}
}

// onPing answers a ping within the message rate limit.
func (c *wsConn) onPing(data string) error {
	owner := c.owner
	if owner == nil {
		return nil // a refused client, being told why: no pongs
	}
	if owner.lim != nil && owner.limited() {
		return nil // dropped; with "disconnect", limited has stopped c
	}
	err := c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(controlWriteWait))
	var ne net.Error
	if errors.Is(err, websocket.ErrCloseSent) || errors.As(err, &ne) && ne.Timeout() {
		return nil // closing, or a peer that does not read: the writer will see it
	}
	return err
}

// onPong takes a token for a pong: the server sends no WebSocket pings
// (keep-alive is ServerPingMsgID), so a pong is unsolicited traffic.
func (c *wsConn) onPong(string) error {
	if owner := c.owner; owner != nil && owner.lim != nil {
		owner.limited()
	}
	return nil
}
