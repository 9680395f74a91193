package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xtaci/kcp-go/v5"
	"github.com/zinxgame/zinxgame/znet"

	"github.com/zinxgame/zinxgame/zconf"
)

// Transports.
const (
	transportTCP  = "tcp"
	transportWS   = "ws"
	transportKCP  = "kcp"
	transportBoth = "both" // tcp,ws: what -transport both always meant
)

// parseTransports reads -transport: one transport, "both", or a
// comma-separated list such as "tcp,kcp", in the order given (the order
// the measurements of a round alternate in), without repeats.
func parseTransports(s string) ([]string, error) {
	var ts []string
	add := func(t string) {
		if !slices.Contains(ts, t) {
			ts = append(ts, t)
		}
	}
	for _, part := range strings.Split(s, ",") {
		switch t := strings.TrimSpace(part); t {
		case transportTCP, transportWS, transportKCP:
			add(t)
		case transportBoth:
			add(transportTCP)
			add(transportWS)
		default:
			return nil, fmt.Errorf("-transport %q: must be tcp, ws, kcp, both (tcp,ws) or a comma-separated list such as tcp,kcp", s)
		}
	}
	return ts, nil
}

// maxSources is the largest -sources: 127.0.0.1 to 127.0.0.254.
const maxSources = 254

// dialer opens the load client's connections to one server, over TCP,
// WebSocket or KCP, connection i from source address 127.0.0.(1 + i mod
// sources).
type dialer struct {
	transport string
	addr      string // host:port of TCP
	url       string // ws://host:port/path of WebSocket
	kcpAddr   string // host:port of KCP (UDP)
	sources   int
	kcpCfg    zconf.Config // the client side of a KCP session (its Kcp* keys)
}

// target is the address the dialer connects to, for the report.
func (d *dialer) target() string {
	switch d.transport {
	case transportWS:
		return d.url
	case transportKCP:
		return d.kcpAddr
	}
	return d.addr
}

// sourceAddr is connection i's local address, or nil for the system's
// choice (one source).
func (d *dialer) sourceAddr(i int) *net.TCPAddr {
	if d.sources <= 1 {
		return nil
	}
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%d.sources))}
}

// netDialer returns the dialer of connection i. With a source address it
// sets IP_BIND_ADDRESS_NO_PORT, so the port is picked at connect time for
// the whole 4-tuple, not at bind time: loopback TIME_WAIT ports can then be
// reused (tcp_tw_reuse) and each source address has the whole ephemeral
// range.
func (d *dialer) netDialer(i int) *net.Dialer {
	nd := &net.Dialer{Timeout: dialTimeout}
	if la := d.sourceAddr(i); la != nil {
		nd.LocalAddr = la
		nd.Control = sourceControl() // sys_*.go: nil where it does not apply
	}
	return nd
}

// dial opens connection i.
func (d *dialer) dial(ctx context.Context, i int) (net.Conn, error) {
	if d.transport == transportKCP {
		return d.dialKCP(ctx, i)
	}
	nd := d.netDialer(i)
	if d.transport != transportWS {
		return nd.DialContext(ctx, "tcp", d.addr)
	}
	wd := websocket.Dialer{NetDialContext: nd.DialContext, HandshakeTimeout: dialTimeout}
	ws, resp, err := wd.DialContext(ctx, d.url, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, err
	}
	return &wsStream{Conn: ws}, nil
}

// kcpSocketBuffer is a client session's UDP socket buffers, as
// znet.Client.DialKCP sets them.
const kcpSocketBuffer = 256 << 10

// dialKCP opens connection i as a KCP session of its own UDP socket, as
// znet.Client.DialKCP does, with the client settings applied the same way
// (znet's applyKCP is unexported). KCP has no handshake: the dial cannot
// fail for a missing server, which shows as a pong that never comes.
func (d *dialer) dialKCP(ctx context.Context, i int) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	raddr, err := net.ResolveUDPAddr("udp", d.kcpAddr)
	if err != nil {
		return nil, fmt.Errorf("KCP address %q: %w", d.kcpAddr, err)
	}
	var laddr *net.UDPAddr
	if la := d.sourceAddr(i); la != nil {
		laddr = &net.UDPAddr{IP: la.IP}
	}
	network := "udp4"
	if raddr.IP.To4() == nil {
		network = "udp"
	}
	pc, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, fmt.Errorf("KCP client socket: %w", err)
	}
	var conv [4]byte
	if _, err := rand.Read(conv[:]); err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("KCP conversation ID: %w", err)
	}
	// ownConn true: closing the session closes its socket.
	s, err := kcp.NewConn4(binary.LittleEndian.Uint32(conv[:]), raddr, nil, d.kcpCfg.KCP().DataShards, d.kcpCfg.KCP().ParityShards, true, pc)
	if err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("KCP session: %w", err)
	}
	znet.ConfigureKCP(s, d.kcpCfg)
	_ = s.SetReadBuffer(kcpSocketBuffer)
	_ = s.SetWriteBuffer(kcpSocketBuffer)
	return s, nil
}

// wsStream is the client side of the packet stream over WebSocket, as the
// server carries it: each Write is one binary message, and Read returns
// the bytes of the messages in turn, so the load client's code is the same
// for both transports.
type wsStream struct {
	*websocket.Conn
	r io.Reader // the message being read
}

var _ net.Conn = (*wsStream)(nil)

func (s *wsStream) Read(p []byte) (int, error) {
	for {
		if s.r == nil {
			typ, r, err := s.NextReader()
			if err != nil {
				if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived) {
					return 0, io.EOF
				}
				return 0, err
			}
			if typ != websocket.BinaryMessage {
				return 0, fmt.Errorf("WebSocket message of type %d, want binary", typ)
			}
			s.r = r
		}
		n, err := s.r.Read(p)
		if err == io.EOF {
			s.r = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

func (s *wsStream) Write(p []byte) (int, error) {
	if err := s.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (s *wsStream) SetDeadline(t time.Time) error {
	return errors.Join(s.SetReadDeadline(t), s.SetWriteDeadline(t))
}

// checkLoopback refuses any address but a loopback IP literal: the tool
// sends traffic to this machine only.
func checkLoopback(hostport string) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("address %q: %w", hostport, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("address %q: the load tool only sends to loopback IP addresses (127.0.0.0/8, ::1)", hostport)
	}
	return nil
}

// checkLoopbackURL checks a ws:// URL the same way.
func checkLoopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("WebSocket URL %q: %w", raw, err)
	}
	if u.Scheme != "ws" {
		return fmt.Errorf("WebSocket URL %q: the scheme must be ws", raw)
	}
	return checkLoopback(u.Host)
}

// portRange reads Linux's ephemeral port range; ok is false elsewhere.
func portRange() (lo, hi int, ok bool) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, 0, false
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, 0, false
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	return lo, hi, err1 == nil && err2 == nil && hi >= lo
}

// checkPorts refuses a run that needs more ephemeral ports per source
// address than the system has.
func checkPorts(conns, sources int) error {
	lo, hi, ok := portRange()
	if !ok {
		return nil
	}
	per := hi - lo + 1
	if need := (conns + sources - 1) / sources; need > per {
		return fmt.Errorf("%d connections need %d ports per source address, but the ephemeral range %d-%d has %d: use -sources %d or more",
			conns, need, lo, hi, per, (conns+per-1)/per)
	}
	return nil
}

// fdMargin is the descriptors a process needs besides its connections.
const fdMargin = 256
