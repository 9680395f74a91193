package znet

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
)

// Client dials connections that use the same framing, routers, hooks and
// workers as the server side. One Client can hold many connections (a bot
// swarm shares its routes); each Dial returns one.
type Client struct {
	*engine
	dialer   net.Dialer
	mu       sync.Mutex
	closed   bool
	stopOnce sync.Once
	stopped  chan struct{}
}

// NewClient validates cfg and returns a client using it. Host, TcpPort and
// the TLS files are not used (DialTLS takes the client's own tls.Config);
// MaxConn bounds the connections it may hold at once.
func NewClient(cfg zconf.Config, opts ...Option) (*Client, error) {
	e, err := newEngine(cfg, opts)
	if err != nil {
		return nil, err
	}
	return &Client{engine: e, stopped: make(chan struct{})}, nil
}

// Dial connects to addr (host:port over TCP) and starts the connection.
func (cl *Client) Dial(ctx context.Context, addr string) (*Connection, error) {
	if err := cl.registrationErr(); err != nil {
		return nil, err
	}
	nc, err := cl.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("znet: dial %s: %w", addr, err)
	}
	return cl.start(nc, addr)
}

// start admits a dialled connection.
func (cl *Client) start(nc net.Conn, addr string) (*Connection, error) {
	// Hold the lock across open so Shutdown cannot miss this connection.
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.closed {
		_ = nc.Close()
		return nil, ErrServerClosed
	}
	c, ok := cl.open(nc)
	if !ok {
		_ = nc.Close()
		return nil, fmt.Errorf("znet: dial %s: client already holds MaxConn = %d connections", addr, cl.cfg.MaxConn)
	}
	return c, nil
}

// Shutdown closes every connection gracefully (queued messages handled,
// sends flushed) and stops the client's workers. When ctx ends first, the
// rest are closed hard and ctx's error is returned.
func (cl *Client) Shutdown(ctx context.Context) error {
	cl.mu.Lock()
	cl.closed = true
	cl.mu.Unlock()
	cl.stopOnce.Do(func() {
		go func() {
			cl.mgr.ClearConn()
			cl.conns.Wait()
			cl.stopWorkers(cl.cfg.ShutdownTimeout)
			close(cl.stopped)
		}()
	})
	select {
	case <-cl.stopped:
		return nil
	case <-ctx.Done():
		cl.mgr.Range(func(c ziface.IConnection) bool {
			c.(*Connection).hardClose()
			return true
		})
		return ctx.Err()
	}
}

// Close is Shutdown bounded by the configured ShutdownTimeout.
func (cl *Client) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), cl.cfg.ShutdownTimeout)
	defer cancel()
	return cl.Shutdown(ctx)
}
