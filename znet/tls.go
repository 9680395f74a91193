package znet

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/zinxgame/zinxgame/zconf"
)

// TLS rides the one connection pipeline: Start and Serve wrap the listeners
// they open with tls.NewListener when the config names a certificate, and a
// *tls.Conn is just another net.Conn to the reader, executor and writer. It
// is not a *net.TCPConn, so the batch flush never makes raw socket writes
// under TLS's records; its frames go through the writer's ordinary
// conn.Write.
//
// tls.NewListener's Accept does not handshake, so a slow or silent client
// cannot hold the accept loop: the handshake runs on the connection's own
// reader goroutine (Connection.handshake), before OnConnStart.

// A TLS handshake on the TCP listener is bounded by HandshakeTimeout, as
// the WSS one is by the WebSocket port's deadline. FirstMessageTimeout,
// counted from accept, may end it sooner, since the keep-alive sweeper
// stops the connection.

// serverTLS loads the configured certificate and returns the TLS configs of
// the TCP listener and of the WebSocket one; both nil when TLS is off.
func serverTLS(cfg zconf.Config) (tcp, ws *tls.Config, err error) {
	tcp, err = cfg.NewTLSConfig()
	if tcp == nil || err != nil {
		return nil, nil, err
	}
	ws = tcp.Clone()
	// gorilla/websocket upgrades HTTP/1.1 requests only (it hijacks the
	// connection), so ALPN must never settle on h2.
	ws.NextProtos = []string{"http/1.1"}
	return tcp, ws, nil
}

// logTLS says once that TLS is on, and for how long the certificate lasts:
// an expired certificate otherwise shows only as every handshake failing.
func (s *Server) logTLS() {
	if s.tlsTCP == nil {
		return
	}
	attrs := []any{"cert", s.cfg.TLSCertFile, "min_version", s.cfg.TLSMinVersion}
	leaf := s.tlsTCP.Certificates[0].Leaf
	if leaf == nil {
		s.log.Info("znet: TLS on", attrs...)
		return
	}
	attrs = append(attrs, "not_after", leaf.NotAfter)
	if time.Now().After(leaf.NotAfter) {
		s.log.Warn("znet: TLS on, but the certificate has expired", attrs...)
		return
	}
	s.log.Info("znet: TLS on", attrs...)
}

// handshaker is a connection with a TLS handshake to complete (*tls.Conn).
type handshaker interface {
	HandshakeContext(ctx context.Context) error
}

// handshake completes a TLS handshake, if the transport has one, on the
// reader goroutine. It is bounded by HandshakeTimeout and ends early
// when the connection is stopped (shutdown, the keep-alive sweeper): the
// connection's context is the parent, and tls closes the socket when it
// ends. A client dialled with DialTLS has finished its handshake already;
// WSS handshakes are net/http's, before the upgrade.
func (c *Connection) handshake() error {
	hs, ok := c.conn.(handshaker)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.eng.cfg.HandshakeTimeout)
	defer cancel()
	return hs.HandshakeContext(ctx)
}

// handshakeFailed logs and counts a failed handshake. The connection then
// closes without its hooks: it never became a session.
func (c *Connection) handshakeFailed(err error) {
	c.peerDone = true // nothing was sent that a linger could save
	switch {
	case c.stopping.Load():
		c.log.Debug("znet: connection stopped during the TLS handshake")
	case errors.Is(err, io.EOF):
		// Load balancers' TCP health checks and port scanners connect
		// and hang up; as over plain TCP, that is not worth a log line.
		c.log.Debug("znet: client closed the connection during the TLS handshake")
	case errors.Is(err, context.DeadlineExceeded):
		c.eng.stats.tlsHandshakeErrors.Add(1)
		c.eng.logs.Log(c.log, "tls_timeout", slog.LevelInfo, "znet: TLS handshake timed out; closing", "timeout", c.eng.cfg.HandshakeTimeout)
	default:
		c.eng.stats.tlsHandshakeErrors.Add(1)
		c.eng.logs.Log(c.log, "tls_failed", slog.LevelInfo, "znet: TLS handshake failed; closing", "err", err)
	}
}

// DialTLS connects to addr (host:port) over TLS with config and starts the
// connection once the handshake has completed, so a bad certificate is
// DialTLS's error. A nil config uses the system's roots and addr's host as
// the server name, as tls.Dialer does.
func (cl *Client) DialTLS(ctx context.Context, addr string, config *tls.Config) (*Connection, error) {
	d := tls.Dialer{NetDialer: &cl.dialer, Config: config}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("znet: dial %s: %w", addr, err)
	}
	return cl.start(nc, addr)
}

// DialWebSocketTLS connects to a server's WSS endpoint
// (wss://host:port/path) with config, and starts the connection. A nil
// config uses the system's roots and the URL's host as the server name.
func (cl *Client) DialWebSocketTLS(ctx context.Context, url string, config *tls.Config) (*Connection, error) {
	// A ws:// URL would ignore config and dial in the clear: refuse it.
	if !strings.HasPrefix(strings.ToLower(url), "wss://") {
		return nil, fmt.Errorf("znet: dial %s: DialWebSocketTLS needs a wss:// URL", url)
	}
	return cl.dialWebSocket(ctx, url, config)
}

var _ handshaker = (*tls.Conn)(nil)
