package znet

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// connIDOf is the server's ID of the connection whose client end is rc.
func connIDOf(t *testing.T, srv *Server, rc *rawConn) uint64 {
	t.Helper()
	var id uint64
	waitFor(t, func() bool {
		srv.mgr.rangeConns(func(c *Connection) {
			if c.RemoteAddr().String() == rc.nc.LocalAddr().String() {
				id = c.GetConnID()
			}
		})
		return id != 0
	}, "the server to register the connection")
	return id
}

func TestAdminKick(t *testing.T) {
	cfg := opsConfig()
	ts := startServer(t, cfg, func(s *Server) { s.AddRouterFunc(1, echo) })
	base := serveAdmin(t, ts.Server)
	rc := dialRaw(t, ts.addr, cfg)
	id := connIDOf(t, ts.Server, rc)
	code, _, body := opsCall(t, "POST", base+"/admin/kick", opsToken, map[string]any{"conn": id, "reason": "cheating"})
	if code != 200 {
		t.Fatalf("kick = %d %v", code, body)
	}
	if n := rc.expectNotice(NoticeKicked); n.Reason != "cheating" {
		t.Fatalf("kicked notice reason %q, want cheating", n.Reason)
	}
	rc.expectClosed()
	if code, _, _ := opsCall(t, "POST", base+"/admin/kick", opsToken, map[string]any{"conn": id}); code != http.StatusNotFound {
		t.Fatalf("kicking a closed connection = %d, want 404", code)
	}
}

// TestAdminIPBan: a ban closes the address's connection with a banned
// notice, refuses its new ones at accept (TCP and WebSocket) with the
// reason and the time left, counts them, and lets them back when it
// expires.
func TestAdminIPBan(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := opsConfig()
	logs := &logBuffer{}
	srv, err := NewServer(cfg, WithMetrics(reg), WithLogger(newTestLogger(logs)))
	if err != nil {
		t.Fatal(err)
	}
	srv.AddRouterFunc(1, echo)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	go func() { _ = srv.ServeWebSocket(wl) }()
	defer func() {
		if err := srv.Shutdown(t.Context()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	}()
	addr, wsURL := l.Addr().String(), "ws://"+wl.Addr().String()+cfg.WsPath
	base := serveAdmin(t, srv)

	old := dialRaw(t, addr, cfg)
	connIDOf(t, srv, old)
	code, _, body := opsCall(t, "POST", base+"/admin/bans/ip", opsToken,
		map[string]any{"ip": "127.0.0.1", "duration": "1500ms", "reason": "flooding"})
	if code != 200 || body["closed"] != 1.0 {
		t.Fatalf("ban = %d %v, want 200 with 1 connection closed", code, body)
	}
	if n := old.expectNotice(NoticeBanned); !strings.Contains(n.Reason, "flooding") || n.RetryAfterMs <= 0 || n.RetryAfterMs > 1500 {
		t.Fatalf("the existing connection's notice = %+v; want the reason and the time left", n)
	}
	old.expectClosed()

	fresh := dialRaw(t, addr, cfg)
	if n := fresh.expectNotice(NoticeBanned); !strings.Contains(n.Reason, "flooding") || n.RetryAfterMs <= 0 {
		t.Fatalf("a new connection's notice = %+v", n)
	}
	fresh.expectClosed()
	expectNoticeWS(t, wsURL, cfg, nil, NoticeBanned)

	code, _, body = opsCall(t, "GET", base+"/admin/bans/ip", opsToken, nil)
	if bans, _ := body["bans"].([]any); code != 200 || len(bans) != 1 || bans[0].(map[string]any)["ip"] != "127.0.0.1/32" {
		t.Fatalf("list = %d %v", code, body)
	}
	_, m := httpGet(t, base+"/metrics")
	if v := metricValue(t, m, `zinxgame_connections_refused_total{reason="banned",server="zinxgame"}`); v != 2 {
		t.Fatalf("refused{banned} = %v, want 2 (TCP and WebSocket)", v)
	}
	if v := metricValue(t, m, `zinxgame_admin_actions_total{action="ip_ban",server="zinxgame"}`); v != 1 {
		t.Fatalf("actions{ip_ban} = %v, want 1", v)
	}
	logs.waitLog(t, "operator action", "action=ip_ban", "target=127.0.0.1/32", "who=127.0.0.1:")

	// The ban expires: the address is served again.
	waitFor(t, func() bool { return len(srv.IPBans()) == 0 }, "the ban to expire")
	back := dialRaw(t, addr, cfg)
	back.send(1, []byte("hi"))
	if id, data := back.recv(); id != 1 || string(data) != "hi" {
		t.Fatalf("after the ban expired: %d %q, want the echo", id, data)
	}
}

func TestAdminIPBanNetworkAndUnban(t *testing.T) {
	cfg := opsConfig()
	ts := startServer(t, cfg, func(s *Server) { s.AddRouterFunc(1, echo) })
	base := serveAdmin(t, ts.Server)
	if code, _, body := opsCall(t, "POST", base+"/admin/bans/ip", opsToken, map[string]any{"ip": "127.0.0.0/8"}); code != 200 {
		t.Fatalf("ban 127.0.0.0/8 = %d %v", code, body)
	}
	rc := dialRaw(t, ts.addr, cfg)
	if n := rc.expectNotice(NoticeBanned); n.RetryAfterMs != 0 {
		t.Fatalf("an open-ended ban's notice = %+v; want no retry_after_ms", n)
	}
	// An address in the network is not the network's ban.
	if code, _, _ := opsCall(t, "DELETE", base+"/admin/bans/ip?ip=127.0.0.1", opsToken, nil); code != http.StatusNotFound {
		t.Fatalf("unban 127.0.0.1 = %d, want 404", code)
	}
	if code, _, body := opsCall(t, "DELETE", base+"/admin/bans/ip?ip=127.0.0.0/8", opsToken, nil); code != 200 {
		t.Fatalf("unban 127.0.0.0/8 = %d %v", code, body)
	}
	back := dialRaw(t, ts.addr, cfg)
	back.send(1, []byte("hi"))
	if id, _ := back.recv(); id != 1 {
		t.Fatalf("after the unban: message %d, want the echo", id)
	}
	for _, bad := range []map[string]any{{"ip": "localhost"}, {"ip": "10.0.0.1", "duration": "-1h"}, {"ip": "10.0.0.1", "duration": "soon"},
		{"ip": "10.0.0.1", "reason": strings.Repeat("r", maxAdminReason+1)}} {
		if code, _, _ := opsCall(t, "POST", base+"/admin/bans/ip", opsToken, bad); code != http.StatusBadRequest {
			t.Errorf("ban %v = %d, want 400", bad, code)
		}
	}
}

// TestAdminIPBansBounded: past MaxIPBans a new ban is refused 507, and an
// expired one makes room.
func TestAdminIPBansBounded(t *testing.T) {
	srv, err := NewServer(opsConfig(), WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	base := serveAdmin(t, srv)
	now := time.Now()
	for i := range MaxIPBans - 1 {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		if err := srv.ops.bans.add(IPBan{Prefix: netip.PrefixFrom(ip, 32)}, now); err != nil {
			t.Fatal(err)
		}
	}
	network := netip.MustParsePrefix("192.0.2.0/24")
	if err := srv.ops.bans.add(IPBan{Prefix: network, Until: now.Add(time.Hour)}, now); err != nil {
		t.Fatal(err)
	}
	code, _, body := opsCall(t, "POST", base+"/admin/bans/ip", opsToken, map[string]any{"ip": "198.51.100.1"})
	if code != http.StatusInsufficientStorage || !strings.Contains(fmt.Sprint(body["error"]), "MaxIPBans") {
		t.Fatalf("ban %d+1 = %d %v, want 507 naming MaxIPBans", MaxIPBans, code, body)
	}
	// The network's ban expires (made so in place: a replacement needs no
	// room, and a real expiry timed against the 10,000 adds above was
	// passed already when they ran slowly).
	if err := srv.ops.bans.add(IPBan{Prefix: network, Until: time.Now().Add(-time.Second)}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if code, _, body := opsCall(t, "POST", base+"/admin/bans/ip", opsToken, map[string]any{"ip": "198.51.100.1"}); code != 200 {
		t.Fatalf("after one expired: %d %v", code, body)
	}
}

func TestAdminMaintenance(t *testing.T) {
	cfg := opsConfig()
	ts := startServer(t, cfg, nil)
	base := serveAdmin(t, ts.Server)
	if on, _ := ts.Maintenance(); on {
		t.Fatal("a new server is in maintenance")
	}
	code, _, body := opsCall(t, "POST", base+"/admin/maintenance", opsToken, map[string]any{"on": true, "reason": "back at 14:00"})
	if code != 200 || body["on"] != true || body["reason"] != "back at 14:00" {
		t.Fatalf("maintenance on = %d %v", code, body)
	}
	if on, reason := ts.Maintenance(); !on || reason != "back at 14:00" {
		t.Fatalf("Maintenance() = %v %q", on, reason)
	}
	// Readiness stays: maintenance refuses logins, not the pod.
	if code, _ := httpGet(t, base+"/readyz"); code != 200 {
		t.Fatalf("/readyz in maintenance = %d, want 200", code)
	}
	if code, _, _ := opsCall(t, "POST", base+"/admin/maintenance", opsToken, map[string]any{"reason": "x"}); code != http.StatusBadRequest {
		t.Fatalf("no \"on\" = %d, want 400", code)
	}
	if code, _, body := opsCall(t, "POST", base+"/admin/maintenance", opsToken, map[string]any{"on": false}); code != 200 || body["on"] != false {
		t.Fatalf("maintenance off = %d %v", code, body)
	}
	if on, _ := ts.Maintenance(); on {
		t.Fatal("still in maintenance")
	}
}

// TestAdminBroadcast: every client gets the announcement, and one that
// never reads does not hold the call: its full queue cuts it instead.
func TestAdminBroadcast(t *testing.T) {
	cfg := opsConfig()
	cfg.MaxMsgChanLen = 8
	cfg.MaxSendQueueBytes = 16 << 10
	ts := startServer(t, cfg, nil)
	base := serveAdmin(t, ts.Server)
	const readers = 5
	var rcs []*rawConn
	for range readers {
		rc := dialRaw(t, ts.addr, cfg)
		connIDOf(t, ts.Server, rc)
		rcs = append(rcs, rc)
	}
	stuck := dialRaw(t, ts.addr, cfg) // never reads
	connIDOf(t, ts.Server, stuck)
	code, _, body := opsCall(t, "POST", base+"/admin/broadcast", opsToken, map[string]any{"message": "server restarts at 14:00"})
	if code != 200 || body["delivered"] != float64(readers+1) {
		t.Fatalf("broadcast = %d %v, want %d delivered", code, body, readers+1)
	}
	for _, rc := range rcs {
		if n := rc.expectNotice(NoticeAnnouncement); n.Reason != "server restarts at 14:00" {
			t.Fatalf("announcement %+v", n)
		}
	}
	// Keep the readers draining, and broadcast until the stuck client's
	// queue is full: each call returns, and the stuck client is cut.
	var wg sync.WaitGroup
	for _, rc := range rcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = io.Copy(io.Discard, rc.nc)
		}()
	}
	msg := strings.Repeat("m", MaxBroadcastBytes)
	deadline := time.Now().Add(60 * time.Second)
	for ts.Stats().SendQueueFull == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stuck client was never cut")
		}
		if code, _, body := opsCall(t, "POST", base+"/admin/broadcast", opsToken, map[string]any{"message": msg, "code": "news_1"}); code != 200 {
			t.Fatalf("broadcast = %d %v", code, body)
		}
	}
	waitFor(t, func() bool { return ts.Online() == readers }, "the stuck client to be closed")
	if code, _, body := opsCall(t, "POST", base+"/admin/broadcast", opsToken, map[string]any{"message": "x", "code": "Bad Code"}); code != http.StatusBadRequest {
		t.Fatalf("a bad code = %d %v, want 400", code, body)
	}
	for _, rc := range rcs {
		_ = rc.nc.Close()
	}
	wg.Wait()
}
