package znet

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/zinxgame/zinxgame/zconf"
)

// serveTCPToo serves TCP on a second loopback listener of ts's server, so
// one server (one MaxConn) has both ports; it returns the TCP address.
func serveTCPToo(t *testing.T, ts *testServer) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- ts.Serve(l) }()
	// Runs before startServing's cleanup: begin the shutdown, so this loop
	// ends with it.
	t.Cleanup(func() {
		ts.Stop()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("TCP serving returned %v", err)
		}
	})
	return l.Addr().String()
}

// dialIdle opens a TCP connection to addr that sends nothing.
func dialIdle(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// httpStatus sends a plain HTTP request on a fresh connection and returns
// the response's status code.
func httpStatus(t *testing.T, addr, req string) int {
	t.Helper()
	nc := dialIdle(t, addr)
	if _, err := io.WriteString(nc, req); err != nil {
		t.Fatal(err)
	}
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// expectNoticeWS dials url and expects to be upgraded, told code, then
// closed.
func expectNoticeWS(t *testing.T, url string, cfg zconf.Config, header http.Header, code string) {
	t.Helper()
	ws := dialWS(t, url, header)
	frames := readWS(t, ws, NewDataPack(cfg.Framing, cfg.MaxPackageSize))
	if n, err := ParseNotice([]byte(frames[0][1].(string))); frames[0][0].(uint32) != cfg.NoticeMsgID || err != nil || n.Code != code {
		t.Fatalf("got %v (%v); want a %s notice", frames, err, code)
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := ws.ReadMessage(); err == nil {
		t.Fatal("refused WebSocket connection still open")
	}
}

// echoWS dials url and checks the connection echoes.
func echoWS(t *testing.T, url string, cfg zconf.Config, header http.Header) *websocket.Conn {
	t.Helper()
	ws := dialWS(t, url, header)
	pack := NewDataPack(cfg.Framing, cfg.MaxPackageSize)
	msg, _ := pack.AppendPack(nil, 1, []byte("hi"))
	if err := ws.WriteMessage(websocket.BinaryMessage, msg); err != nil {
		t.Fatal(err)
	}
	if f := readWS(t, ws, pack); f[0][0].(uint32) != 1 || f[0][1] != "hi" {
		t.Fatalf("got %v, want the echo", f)
	}
	return ws
}

// TestWebSocketIdleHTTPCountsTowardMaxConn: HTTP connections that never
// upgrade hold MaxConn slots, so past MaxConn the surplus is refused, on
// both ports, and a WebSocket client is told server_full as a TCP one is.
func TestWebSocketIdleHTTPCountsTowardMaxConn(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConn = 3
	ts, url := startWS(t, cfg, func(s *Server) { s.AddRouterFunc(1, echo) })
	tcpAddr := serveTCPToo(t, ts)
	for range cfg.MaxConn {
		dialIdle(t, ts.addr)
	}
	waitFor(t, func() bool { return ts.mgr.reserved.Load() == int64(cfg.MaxConn) }, "the idle connections to hold every slot")

	expectNoticeWS(t, url, cfg, nil, NoticeServerFull)
	if code := httpStatus(t, ts.addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); code != http.StatusServiceUnavailable {
		t.Fatalf("plain HTTP over MaxConn got %d, want 503", code)
	}
	c := dialRaw(t, tcpAddr, cfg)
	c.expectNotice(NoticeServerFull)
	c.expectClosed()
	if st := ts.Stats(); st.ConnsRefused != 3 || st.ConnsAccepted != 0 {
		t.Fatalf("refused %d, accepted %d; want 3 and 0", st.ConnsRefused, st.ConnsAccepted)
	}
}

// TestWebSocketHTTPSlotReleasedOnClose: an HTTP connection's slot comes
// back when it closes without upgrading.
func TestWebSocketHTTPSlotReleasedOnClose(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConn = 1
	ts, url := startWS(t, cfg, func(s *Server) { s.AddRouterFunc(1, echo) })
	idle := dialIdle(t, ts.addr)
	waitFor(t, func() bool { return ts.mgr.reserved.Load() == 1 }, "the idle connection's slot")
	expectNoticeWS(t, url, cfg, nil, NoticeServerFull)

	idle.Close()
	waitFor(t, func() bool { return ts.mgr.reserved.Load() == 0 }, "the slot to be released")
	echoWS(t, url, cfg, nil)
}

// TestWebSocketMaxConnCountsUpgradedOnce: MaxConn N admits exactly N
// WebSocket players: the slot taken at accept is the session's, not a
// second one.
func TestWebSocketMaxConnCountsUpgradedOnce(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConn = 3
	ts, url := startWS(t, cfg, func(s *Server) { s.AddRouterFunc(1, echo) })
	for round := range 2 {
		var players []*websocket.Conn
		for range cfg.MaxConn {
			players = append(players, echoWS(t, url, cfg, nil))
		}
		if n := ts.mgr.reserved.Load(); n != int64(cfg.MaxConn) {
			t.Fatalf("round %d: %d slots taken by %d players", round, n, cfg.MaxConn)
		}
		expectNoticeWS(t, url, cfg, nil, NoticeServerFull)
		for _, ws := range players {
			ws.Close()
		}
		waitFor(t, func() bool { return ts.mgr.reserved.Load() == 0 }, "every slot back")
	}
}

// TestWebSocketPerIPLimitAtAccept: HTTP connections pass ConnRatePerIP
// when accepted, upgraded or not.
func TestWebSocketPerIPLimitAtAccept(t *testing.T) {
	cfg := testConfig()
	cfg.ConnRatePerIP, cfg.ConnRateExempt = 2, []string{} // limit loopback too (nil means exempt it)
	ts, url := startWS(t, cfg, nil)
	dialIdle(t, ts.addr)
	dialIdle(t, ts.addr)
	waitFor(t, func() bool { return ts.mgr.reserved.Load() == 2 }, "both idle connections admitted")
	expectNoticeWS(t, url, cfg, nil, NoticeRateLimited)
	if code := httpStatus(t, ts.addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); code != http.StatusTooManyRequests {
		t.Fatalf("plain HTTP over ConnRatePerIP got %d, want 429", code)
	}
	if st := ts.Stats(); st.ConnsRefusedIP != 2 {
		t.Fatalf("refused by IP %d, want 2", st.ConnsRefusedIP)
	}
}

// expectServerClose reads nc until the server closes it; a read deadline
// passing first means the server left it open.
func expectServerClose(t *testing.T, nc net.Conn) string {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(nc)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after 5s; read %q", b)
	}
	return string(b)
}

// trickle writes s a byte at a time, every 20ms, until the connection
// fails or s runs out; the returned func waits for it to stop.
func trickle(nc net.Conn, s string) (wait func()) {
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range len(s) {
			if _, err := nc.Write([]byte{s[i]}); err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	return wg.Wait
}

// TestWebSocketHTTPDeadlines: HTTP that does not upgrade is closed: at
// once after its answer, or by HandshakeTimeout while it dawdles.
func TestWebSocketHTTPDeadlines(t *testing.T) {
	cfg := testConfig()
	cfg.HandshakeTimeout = 300 * time.Millisecond
	ts, _ := startWS(t, cfg, nil)
	long := strings.Repeat("x", 5000) // 100s at 20ms a byte

	t.Run("idle keep-alive", func(t *testing.T) {
		nc := dialIdle(t, ts.addr)
		_, _ = io.WriteString(nc, "GET /other HTTP/1.1\r\nHost: x\r\n\r\n")
		got := expectServerClose(t, nc)
		if !strings.HasPrefix(got, "HTTP/1.1 426") || !strings.Contains(got, "Connection: close") {
			t.Fatalf("response %q; want 426 with Connection: close", got)
		}
	})
	t.Run("trickling POST body", func(t *testing.T) {
		nc := dialIdle(t, ts.addr)
		_, _ = io.WriteString(nc, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n")
		wait := trickle(nc, long)
		expectServerClose(t, nc)
		nc.Close()
		wait()
	})
	t.Run("trickling upgrade", func(t *testing.T) {
		nc := dialIdle(t, ts.addr)
		_, _ = io.WriteString(nc, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Slow: ")
		wait := trickle(nc, long)
		if got := expectServerClose(t, nc); got != "" && !strings.HasPrefix(got, "HTTP/1.1 408") {
			t.Fatalf("response %q; want none or 408", got)
		}
		nc.Close()
		wait()
	})
	t.Run("silent", func(t *testing.T) {
		expectServerClose(t, dialIdle(t, ts.addr))
	})
	waitFor(t, func() bool { return ts.mgr.reserved.Load() == 0 }, "every slot back")
}
