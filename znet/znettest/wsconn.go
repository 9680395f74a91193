package znettest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// wsChunk bounds one read of a WebSocket message: a message of any size
// is handed on in chunks, so a peer's memory stays bounded whatever the
// server batches into one message.
const wsChunk = 32 << 10

// wsConn is the client side of a WebSocket connection as a byte stream:
// each Write is one binary message, and Read returns the received
// messages' bytes in order, boundaries dropped, as the server frames
// them. gorilla's connection cannot be read again after a read deadline
// expires, so one goroutine reads and Read waits for it with a timer of
// its own: a Read that times out leaves the connection usable, which
// ExpectSilence needs.
type wsConn struct {
	ws     *websocket.Conn
	chunks chan []byte // closed when reading ends, after err is set
	err    error       // why reading ended
	quit   chan struct{}
	done   chan struct{} // the reader has returned
	cur    []byte        // the rest of the chunk being read

	mu       sync.Mutex
	deadline time.Time
	wmu      sync.Mutex
	once     sync.Once
}

var _ net.Conn = (*wsConn)(nil)

func dialWS(url string, timeout time.Duration) (*wsConn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	d := websocket.Dialer{HandshakeTimeout: timeout}
	ws, _, err := d.DialContext(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	c := &wsConn{ws: ws, chunks: make(chan []byte, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go c.read()
	return c, nil
}

func (c *wsConn) read() {
	defer close(c.done)
	buf := make([]byte, wsChunk)
	for {
		typ, r, err := c.ws.NextReader()
		if err != nil {
			c.end(err)
			return
		}
		if typ != websocket.BinaryMessage {
			c.end(errors.New("znettest: the server sent a text WebSocket message; packets travel in binary messages"))
			return
		}
		for {
			n, err := r.Read(buf)
			if n > 0 {
				select {
				case c.chunks <- bytes.Clone(buf[:n]):
				case <-c.quit:
					return
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				c.end(err)
				return
			}
		}
	}
}

// end records why reading ended; a normal close is the end of the stream.
func (c *wsConn) end(err error) {
	var ce *websocket.CloseError
	if errors.As(err, &ce) && (ce.Code == websocket.CloseNormalClosure || ce.Code == websocket.CloseGoingAway ||
		ce.Code == websocket.CloseNoStatusReceived) {
		err = io.EOF
	}
	c.err = err
	close(c.chunks)
}

func (c *wsConn) Read(p []byte) (int, error) {
	if len(c.cur) == 0 {
		chunk, err := c.next()
		if err != nil {
			return 0, err
		}
		c.cur = chunk
	}
	n := copy(p, c.cur)
	c.cur = c.cur[n:]
	return n, nil
}

// next waits for the next chunk until the read deadline.
func (c *wsConn) next() ([]byte, error) {
	c.mu.Lock()
	deadline := c.deadline
	c.mu.Unlock()
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		d := time.Until(deadline)
		if d <= 0 {
			return nil, os.ErrDeadlineExceeded
		}
		timer := time.NewTimer(d)
		defer timer.Stop()
		timeout = timer.C
	}
	select {
	case chunk, ok := <-c.chunks:
		if !ok {
			return nil, c.err
		}
		return chunk, nil
	case <-timeout:
		return nil, os.ErrDeadlineExceeded
	case <-c.quit:
		return nil, net.ErrClosed
	}
}

func (c *wsConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.ws.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close closes the connection and waits for the reader to return.
func (c *wsConn) Close() error {
	var err error
	c.once.Do(func() {
		close(c.quit)
		err = c.ws.Close()
		<-c.done
	})
	return err
}

func (c *wsConn) LocalAddr() net.Addr  { return c.ws.LocalAddr() }
func (c *wsConn) RemoteAddr() net.Addr { return c.ws.RemoteAddr() }

func (c *wsConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	return nil
}

func (c *wsConn) SetWriteDeadline(t time.Time) error { return c.ws.SetWriteDeadline(t) }

func (c *wsConn) SetDeadline(t time.Time) error {
	_ = c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}
