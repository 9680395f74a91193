package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

// Dialer makes players' connections. It holds one network client, so its
// routes and framing are set up once for any number of connections (a bot
// swarm of thousands shares one). Its methods are safe for concurrent use.
type Dialer struct {
	cfg Config
	cl  *znet.Client

	mu     sync.Mutex
	closed bool

	// early holds what a connection received before its link was set: a
	// server that refuses at accept (an IP ban, server_full) sends its
	// notice at once, and the reader routes it before connect has set
	// the link. attach hands it over in order.
	earlyMu sync.Mutex
	early   map[*znet.Connection][]earlyMsg
}

type earlyMsg struct {
	id   uint32
	data []byte
}

// maxEarly bounds the messages kept for one connection before its link
// is set: a server says at most a notice or two before the login.
const maxEarly = 16

// propLink is the connection property naming the link a connection
// belongs to.
const propLink = "zinxgame.client"

// ErrClosed is returned by a client, or its Dialer, used after Close.
var ErrClosed = errors.New("client: closed")

// NewDialer checks cfg and returns a Dialer using it.
func NewDialer(cfg Config) (*Dialer, error) {
	cfg = cfg.withDefaults()
	cl, err := znet.NewClient(*cfg.Net, znet.WithLogger(cfg.Logger))
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	d := &Dialer{cfg: cfg, cl: cl}
	d.routes()
	return d, nil
}

// Close closes every connection the Dialer made and stops it. Clients made
// with it stop too (their Err is ErrClosed).
func (d *Dialer) Close() error {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	return d.cl.Close()
}

// NetStats are the network client's counters (bytes, messages, framing
// errors) over every connection the Dialer made. Safe for concurrent use.
func (d *Dialer) NetStats() znet.Stats { return d.cl.Stats() }

// routes sends every message to the link of its connection. They run on
// the connection's reader (WorkerPoolSize Off), one at a time, so a link
// sees its messages in order.
func (d *Dialer) routes() {
	ids := []uint32{lspb.MsgLoginAck, lspb.MsgRoomListAck, lspb.MsgRoomState, lspb.MsgPlayerEvent,
		lspb.MsgMatchStart, lspb.MsgFrames, lspb.MsgDesync, lspb.MsgCatchUp, lspb.MsgMatchEnd,
		lspb.MsgError, lspb.MsgLogoutAck, d.cfg.Net.NoticeMsgID}
	if d.cfg.Net.PingMsgID != zconf.MsgIDOff {
		ids = append(ids, d.cfg.Net.PingMsgID)
	}
	for _, id := range ids {
		d.cl.AddRouterFunc(id, d.route)
	}
	d.cl.SetNotFound(d.route)
	d.cl.SetOnConnStop(func(c ziface.IConnection) {
		if l := linkOf(c); l != nil {
			l.lost()
		}
	})
}

// route hands a message to its connection's link, or keeps it until
// attach sets the link.
func (d *Dialer) route(req ziface.IRequest) {
	c := req.GetConnection()
	if l := linkOf(c); l != nil {
		l.receive(req.GetMsgID(), req.GetData())
		return
	}
	zc, ok := c.(*znet.Connection)
	if !ok {
		return
	}
	d.earlyMu.Lock()
	l := linkOf(c) // attach may have set it meanwhile
	if l == nil {
		if len(d.early[zc]) < maxEarly {
			if d.early == nil {
				d.early = make(map[*znet.Connection][]earlyMsg)
			}
			d.early[zc] = append(d.early[zc], earlyMsg{req.GetMsgID(), append([]byte(nil), req.GetData()...)})
		}
		d.earlyMu.Unlock()
		return
	}
	d.earlyMu.Unlock()
	l.receive(req.GetMsgID(), req.GetData())
}

// attach makes l conn's link, first handing it what conn received
// before, in order: the reader waits on earlyMu meanwhile, and finds the
// link set after.
func (d *Dialer) attach(conn *znet.Connection, l *link) {
	d.earlyMu.Lock()
	defer d.earlyMu.Unlock()
	for _, m := range d.early[conn] {
		l.receive(m.id, m.data)
	}
	delete(d.early, conn)
	conn.SetProperty(propLink, l)
}

func linkOf(c ziface.IConnection) *link {
	v, _ := c.GetProperty(propLink)
	l, _ := v.(*link)
	return l
}

// dial connects to addr: host:port (TCP), tls://host:port, kcp://host:port
// (KCP, reliable UDP), ws:// or wss:// URLs.
func (d *Dialer) dial(ctx context.Context, addr string) (*znet.Connection, error) {
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.DialTimeout)
	defer cancel()
	switch {
	case strings.HasPrefix(addr, "ws://"):
		return d.cl.DialWebSocket(ctx, addr)
	case strings.HasPrefix(addr, "wss://"):
		return d.cl.DialWebSocketTLS(ctx, addr, d.tlsConfig())
	case strings.HasPrefix(addr, "kcp://"):
		return d.cl.DialKCP(ctx, strings.TrimPrefix(addr, "kcp://"))
	case strings.HasPrefix(addr, "tls://"):
		return d.cl.DialTLS(ctx, strings.TrimPrefix(addr, "tls://"), d.tlsConfig())
	default:
		return d.cl.Dial(ctx, strings.TrimPrefix(addr, "tcp://"))
	}
}

func (d *Dialer) tlsConfig() *tls.Config {
	if d.cfg.TLS != nil {
		return d.cfg.TLS
	}
	return &tls.Config{MinVersion: tls.VersionTLS12}
}
