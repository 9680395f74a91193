package znet

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	kcp "github.com/xtaci/kcp-go/v5"

	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
)

// startKCP serves KCP on a loopback port, as startServer does TCP.
func startKCP(t *testing.T, cfg zconf.Config, setup func(*Server)) *testServer {
	t.Helper()
	l, err := ListenKCP("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return startServingOn(t, cfg, setup, l, (*Server).Serve)
}

// dialRawKCP is dialRaw over KCP, with the client settings of cfg.
func dialRawKCP(t *testing.T, addr string, cfg zconf.Config) *rawConn {
	t.Helper()
	s, err := kcp.DialWithOptions(addr, nil, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	applyKCP(s, cfg.KCP())
	t.Cleanup(func() { s.Close() })
	pack := NewDataPack(cfg.Framing, cfg.MaxPackageSize)
	return &rawConn{t: t, nc: s, pack: pack, fr: newFrameReader(pack, s, 4096)}
}

func kcpConfig() zconf.Config {
	cfg := testConfig()
	cfg.Mode = zconf.ModeKCP
	cfg.KcpPort = zconf.FreePort
	return cfg
}

// TestKCPEchoInOrderAndHooks: routers, per-connection order and the hooks
// behave as over TCP. KCP has no close, so the server learns that a client
// went away from its silence (HeartbeatTimeout), and runs OnDisconnect once.
func TestKCPEchoInOrderAndHooks(t *testing.T) {
	cfg := kcpConfig()
	cfg.HeartbeatTimeout = 600 * time.Millisecond
	var starts, stops atomic.Int32
	ts := startKCP(t, cfg, func(s *Server) {
		s.AddRouterFunc(1, echo)
		s.SetOnConnStart(func(ziface.IConnection) { starts.Add(1) })
		s.SetOnConnStop(func(ziface.IConnection) { stops.Add(1) })
	})
	c := dialRawKCP(t, ts.addr, cfg)
	var b []byte
	const n = 2000
	for i := range n {
		b, _ = c.pack.AppendPack(b, 1, fmt.Appendf(nil, "m%d", i))
	}
	c.write(b) // one burst, many KCP segments
	for i := range n {
		if _, data := c.recv(); string(data) != fmt.Sprintf("m%d", i) {
			t.Fatalf("reply %d = %q", i, data)
		}
	}
	if starts.Load() != 1 || ts.Online() != 1 {
		t.Fatalf("OnConnStart ran %d times, Online %d", starts.Load(), ts.Online())
	}
	c.nc.Close() // no FIN: the server sees silence
	waitFor(t, func() bool { return stops.Load() == 1 && ts.Online() == 0 }, "OnConnStop after the client went silent")
	if s := ts.Stats(); s.HeartbeatTimeouts != 1 {
		t.Fatalf("HeartbeatTimeouts = %d, want 1", s.HeartbeatTimeouts)
	}
}

// TestKCPRefusalAndKickNotices: a refused or kicked KCP client gets its
// notice, although KCP drops what is unacknowledged at a close: the close
// lingers until it is delivered.
func TestKCPRefusalAndKickNotices(t *testing.T) {
	cfg := kcpConfig()
	cfg.MaxConn = 1
	got := make(chan ziface.IConnection, 2)
	ts := startKCP(t, cfg, func(s *Server) {
		s.AddRouterFunc(1, echo)
		s.SetOnConnStart(func(c ziface.IConnection) { got <- c })
	})
	a := dialRawKCP(t, ts.addr, cfg)
	a.send(1, []byte("hi")) // KCP sends nothing until the client does
	a.recv()
	conn := <-got
	over := dialRawKCP(t, ts.addr, cfg)
	over.send(1, []byte("me too"))
	n := over.expectNotice(NoticeServerFull)
	if n.Reason == "" {
		t.Fatal("server_full notice without a reason")
	}
	if s := ts.Stats(); s.ConnsRefused != 1 || s.ConnsActive != 1 {
		t.Fatalf("stats %+v", s)
	}
	if err := ts.Kick(conn.GetConnID(), "cheating"); err != nil {
		t.Fatal(err)
	}
	if n := a.expectNotice(NoticeKicked); n.Reason != "cheating" {
		t.Fatalf("kick reason %q", n.Reason)
	}
	waitFor(t, func() bool { return ts.Online() == 0 }, "the kicked session to close")
}

// TestKCPLimitsAndKeepAlive: an oversized frame closes the session as over
// TCP (counted as a decode error), and a client that never sends a whole
// message is closed with the timeout notice.
func TestKCPLimitsAndKeepAlive(t *testing.T) {
	cfg := kcpConfig()
	cfg.MaxPackageSize = 512
	cfg.FirstMessageTimeout = 300 * time.Millisecond
	ts := startKCP(t, cfg, func(s *Server) { s.AddRouterFunc(1, echo) })
	big := dialRawKCP(t, ts.addr, cfg)
	head := binary.LittleEndian.AppendUint32(nil, 100_000) // DataLen, then MsgID: Zinx's LE head
	head = binary.LittleEndian.AppendUint32(head, 1)
	big.write(head)
	waitFor(t, func() bool { return ts.Stats().DecodeErrors == 1 }, "the oversized frame to be refused")
	waitFor(t, func() bool { return ts.Online() == 0 }, "the session to close")

	slow := dialRawKCP(t, ts.addr, cfg)
	slow.write([]byte{1, 0, 0}) // half a head
	start := time.Now()
	slow.expectNotice(NoticeTimeout)
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("closed after %v, before FirstMessageTimeout", d)
	}
}

// TestKCPShutdownNotice: a graceful shutdown tells KCP clients, and Serve
// returns ErrServerClosed.
func TestKCPShutdownNotice(t *testing.T) {
	cfg := kcpConfig()
	srv, err := NewServer(cfg, WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	srv.AddRouterFunc(1, echo)
	l, err := ListenKCP("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	c := dialRawKCP(t, l.Addr().String(), cfg)
	c.send(1, []byte("x"))
	c.recv()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() { _ = srv.Shutdown(ctx) }()
	if n := c.expectNotice(NoticeShutdown); n.RetryAfterMs <= 0 {
		t.Fatalf("shutdown notice %+v without a retry hint", n)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve = %v", err)
	}
	select {
	case <-l.sock.closed: // the shared socket ends with the server
	default:
		t.Fatal("the KCP socket is still open after the shutdown")
	}
}

// TestModeTCPAndKCP: ListenAndServe serves both transports of Mode
// "tcp,kcp", and the client dials either.
func TestModeTCPAndKCP(t *testing.T) {
	cfg := kcpConfig()
	cfg.Mode = "tcp,kcp"
	srv, err := NewServer(cfg, WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	srv.AddRouterFunc(1, echo)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	if srv.Addr() == nil || srv.KCPAddr() == nil {
		t.Fatalf("addresses: tcp %v kcp %v", srv.Addr(), srv.KCPAddr())
	}
	cl, err := NewClient(cfg, WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	replies := make(chan string, 2)
	cl.AddRouterFunc(1, func(r ziface.IRequest) { replies <- string(r.GetData()) })
	ctx := context.Background()
	tc, err := cl.Dial(ctx, srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	kc, err := cl.DialKCP(ctx, srv.KCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Connection{tc, kc} {
		if err := c.SendMsg(1, []byte(c.RemoteAddr().Network())); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-replies:
			if got != c.RemoteAddr().Network() {
				t.Fatalf("reply %q over %s", got, c.RemoteAddr().Network())
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no reply over %s", c.RemoteAddr().Network())
		}
	}
}

// TestKCPSendsAreBatchedAcrossSessions: a broadcast to many KCP sessions
// leaves in fewer sendmmsg calls than packets (Linux; elsewhere x/net
// sends one message per call).
func TestKCPSendsAreBatchedAcrossSessions(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("sendmmsg is Linux's")
	}
	cfg := kcpConfig()
	reg := prometheus.NewRegistry()
	srv, err := NewServer(cfg, WithLogger(discardLogger()), WithMetrics(reg))
	if err != nil {
		t.Fatal(err)
	}
	srv.AddRouterFunc(1, echo)
	l, err := ListenKCP("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	defer srv.Shutdown(context.Background())
	const sessions = 64
	conns := make([]*rawConn, sessions)
	for i := range conns {
		conns[i] = dialRawKCP(t, l.Addr().String(), cfg)
		conns[i].send(1, []byte("hello"))
		conns[i].recv()
	}
	st := &l.sock.stats
	p0, s0 := st.packets.Load(), st.syscalls.Load()
	for range 20 {
		if _, err := srv.Broadcast(2, []byte("tick")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, c := range conns {
		for range 20 {
			if id, _ := c.recv(); id != 2 {
				t.Fatalf("got id %d", id)
			}
		}
	}
	packets, syscalls := st.packets.Load()-p0, st.syscalls.Load()-s0
	t.Logf("%d packets in %d sendmmsg calls", packets, syscalls)
	// KCP's stream mode may merge two broadcasts queued together into
	// one packet, so there can be fewer packets than messages.
	if packets < sessions*5 || syscalls > packets/2 {
		t.Fatalf("%d packets in %d syscalls: want at least %d packets, at least two a call", packets, syscalls, sessions*5)
	}
	// The metrics report the same counters (sessions keep sending, acks
	// and retransmissions, so read the socket's count before the scrape).
	sentBefore := st.packets.Load()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "zinxgame_kcp_") {
			got[mf.GetName()] = mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	if got["zinxgame_kcp_packets_sent_total"] < float64(sentBefore) || got["zinxgame_kcp_send_syscalls_total"] < 1 ||
		got["zinxgame_kcp_packets_received_total"] < sessions {
		t.Fatalf("KCP metrics %v; the socket had counted %d packets sent before the scrape", got, sentBefore)
	}
}

// TestKCPIdleClock: a session that goes quiet is moved to the slow clock
// at a keep-alive sweep, and back when it gets busy; it keeps being
// served either way.
func TestKCPIdleClock(t *testing.T) {
	cfg := kcpConfig()
	cfg.HeartbeatTimeout = 2 * time.Second // sweeps every 500 ms
	conns := make(chan ziface.IConnection, 1)
	ts := startKCP(t, cfg, func(s *Server) {
		s.AddRouterFunc(1, echo)
		s.SetOnConnStart(func(c ziface.IConnection) { conns <- c })
	})
	c := dialRawKCP(t, ts.addr, cfg)
	c.send(1, []byte("hi"))
	c.recv()
	k := (<-conns).(*Connection).kcpIdle
	if k == nil {
		t.Fatal("a served KCP session has no idle clock")
	}
	waitFor(t, k.idle.Load, "the quiet session to be on the idle clock")
	// Busy: more than kcpBusyMsgs a sweep, for a few sweeps.
	deadline := time.Now().Add(10 * time.Second)
	for k.idle.Load() {
		if time.Now().After(deadline) {
			t.Fatal("a busy session stayed on the idle clock")
		}
		for range 3 {
			c.send(1, []byte("busy"))
			c.recv()
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.send(1, []byte("still served"))
	if _, data := c.recv(); string(data) != "still served" {
		t.Fatalf("got %q", data)
	}
}

// TestKCPGhostSessionsExpire: any packet from a new address makes kcp-go a
// session (a flood of spoofed sources makes many). Each takes a MaxConn
// slot only until FirstMessageTimeout, as a silent TCP connection does.
func TestKCPGhostSessionsExpire(t *testing.T) {
	cfg := kcpConfig()
	cfg.FirstMessageTimeout = 300 * time.Millisecond
	ts := startKCP(t, cfg, func(s *Server) { s.AddRouterFunc(1, echo) })
	raddr, err := net.ResolveUDPAddr("udp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	const ghosts = 40
	for i := range ghosts {
		uc, err := net.DialUDP("udp", nil, raddr)
		if err != nil {
			t.Fatal(err)
		}
		// A bare KCP ACK segment (24-byte header, no data): conv, cmd 82.
		pkt := make([]byte, 24)
		binary.LittleEndian.PutUint32(pkt, uint32(1000+i))
		pkt[4] = 82
		if _, err := uc.Write(pkt); err != nil {
			t.Fatal(err)
		}
		defer uc.Close()
	}
	waitFor(t, func() bool { return ts.Online() > 0 }, "the ghost sessions to be accepted")
	waitFor(t, func() bool { return ts.Online() == 0 }, "the ghost sessions to expire")
	if s := ts.Stats(); s.HeartbeatTimeouts == 0 {
		t.Fatalf("stats %+v: no timeouts counted", s)
	}
	// A real client is still served.
	c := dialRawKCP(t, ts.addr, cfg)
	c.send(1, []byte("real"))
	if _, data := c.recv(); string(data) != "real" {
		t.Fatalf("got %q", data)
	}
}
