package znet

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Why gorilla/websocket: the connection pipeline stops a reader with a read
// deadline and then still flushes queued messages (a kick reason, a shutdown
// notice) before closing. gorilla's connection keeps writing after a read
// deadline fires; coder/websocket closes the whole connection on it, and
// gws's event-driven model does not fit a net.Conn reader. gorilla is widely
// used and maintained, and its message reader streams, so a large message is
// never buffered whole.

// wsConn carries the packet stream over WebSocket binary messages: a message
// holds one or more whole or partial packets, and each write (one batch of
// packets) is one message. It is a net.Conn, so WebSocket connections share
// the TCP pipeline unchanged.
type wsConn struct {
	ws  *websocket.Conn
	r   io.Reader // the message being read
	wmu sync.Mutex
	// remote is the client's address from X-Forwarded-For, set before
	// the connection starts; nil: the socket's.
	remote net.Addr
	// owner is the connection carried, whose message limiter the control
	// frames draw on (wscontrol.go); set before it starts, nil for a
	// refused client.
	owner *Connection
}

var _ net.Conn = (*wsConn)(nil)

func (c *wsConn) Read(p []byte) (int, error) {
	for {
		if c.r == nil {
			typ, r, err := c.ws.NextReader()
			if err != nil {
				if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived) {
					return 0, io.EOF
				}
				return 0, err
			}
			if typ != websocket.BinaryMessage {
				return 0, errors.New("znet: text WebSocket message; packets travel in binary messages")
			}
			c.r = r
		}
		n, err := c.r.Read(p)
		if err == io.EOF {
			c.r = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
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

// CloseWrite sends a close frame: the WebSocket form of a half-close, after
// which the peer answers with its own close frame and Read returns EOF.
func (c *wsConn) CloseWrite() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
}

func (c *wsConn) Close() error        { return c.ws.Close() }
func (c *wsConn) LocalAddr() net.Addr { return c.ws.LocalAddr() }
func (c *wsConn) RemoteAddr() net.Addr {
	if c.remote != nil {
		return c.remote
	}
	return c.ws.RemoteAddr()
}
func (c *wsConn) SetReadDeadline(t time.Time) error  { return c.ws.SetReadDeadline(t) }
func (c *wsConn) SetWriteDeadline(t time.Time) error { return c.ws.SetWriteDeadline(t) }
func (c *wsConn) SetDeadline(t time.Time) error {
	return errors.Join(c.ws.SetReadDeadline(t), c.ws.SetWriteDeadline(t))
}

// wsMessageLimit bounds one WebSocket message: a full read batch of the
// largest packets. Frames inside are still checked one by one.
func (e *engine) wsMessageLimit() int64 {
	return int64(maxReadBatch) * int64(e.cfg.MaxPackageSize+HeadLen)
}

func (e *engine) wrapWebSocket(ws *websocket.Conn) net.Conn {
	ws.SetReadLimit(e.wsMessageLimit())
	w := &wsConn{ws: ws}
	ws.SetPingHandler(w.onPing)
	ws.SetPongHandler(w.onPong)
	return w
}

// ServeWebSocket serves WebSocket clients on l at the configured WsPath
// until the server shuts down, then returns ErrServerClosed once the
// shutdown has completed.
//
// l is served as it is: to serve WSS, wrap it with tls.NewListener, with
// NextProtos left empty or set to "http/1.1" (WebSocket upgrades need
// HTTP/1.1, not h2). Start and Serve wrap the listeners they open
// themselves.
func (s *Server) ServeWebSocket(l net.Listener) error {
	if err := s.track(l, true); err != nil {
		return err
	}
	return s.serveWebSocket(l)
}

func (s *Server) serveWebSocket(l net.Listener) error {
	origins := s.cfg.WsAllowedOrigins
	up := websocket.Upgrader{
		ReadBufferSize:  s.cfg.IOReadBuffSize,
		WriteBufferSize: s.cfg.IOReadBuffSize,
		CheckOrigin: func(r *http.Request) bool {
			if len(origins) == 0 {
				return true
			}
			origin := r.Header.Get("Origin")
			for _, o := range origins {
				if ok, _ := path.Match(o, origin); ok {
					return true
				}
			}
			return false
		},
	}
	hs := &http.Server{
		// net/http's own errors ("TLS handshake error from ...", a client
		// that sent garbage) join the server's log instead of stderr.
		ErrorLog: slog.NewLogLogger(throttledHandler{s.log.Handler(), &s.logs, "net_http"}, slog.LevelInfo),
	}
	// The guard (httpguard.go) sets the handler, the timeouts and the
	// admission of each HTTP connection.
	s.guardWebSocket(hs, &up, http.NewServeMux())
	s.mu.Lock()
	s.httpServers = append(s.httpServers, hs)
	s.mu.Unlock()
	s.log.Info("znet: serving WebSocket", "addr", l.Addr().String(), "path", s.cfg.WsPath)
	err := hs.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		err = ErrServerClosed
	}
	return s.served(l, err)
}

// DialWebSocket connects to a server's WebSocket endpoint
// (ws://host:port/path, or wss:// trusting the system's roots) and starts
// the connection. DialWebSocketTLS takes a TLS config.
func (cl *Client) DialWebSocket(ctx context.Context, url string) (*Connection, error) {
	return cl.dialWebSocket(ctx, url, nil)
}

// dialWebSocket dials url; config is used for wss:// (nil: the defaults).
func (cl *Client) dialWebSocket(ctx context.Context, url string, config *tls.Config) (*Connection, error) {
	// The timeout covers the TLS handshake too.
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, TLSClientConfig: config}
	ws, _, err := d.DialContext(ctx, url, nil)
	if err != nil {
		return nil, fmt.Errorf("znet: dial %s: %w", url, err)
	}
	return cl.start(cl.wrapWebSocket(ws), url)
}
