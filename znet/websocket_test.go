package znet

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
)

// startWS serves WebSocket on a loopback port and returns its ws:// URL.
func startWS(t *testing.T, cfg zconf.Config, setup func(*Server)) (*testServer, string) {
	t.Helper()
	ts := startServing(t, cfg, setup, (*Server).ServeWebSocket)
	return ts, "ws://" + ts.addr + cfg.WsPath
}

// dialWS is a raw WebSocket client, to send exactly the messages a test wants.
func dialWS(t *testing.T, url string, header http.Header) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(url, header)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

func readWS(t *testing.T, ws *websocket.Conn, pack *DataPack) [][2]any {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	typ, msg, err := ws.ReadMessage()
	if err != nil || typ != websocket.BinaryMessage {
		t.Fatalf("read: type %d err %v", typ, err)
	}
	var out [][2]any
	for len(msg) > 0 {
		id, data, n, err := pack.Decode(msg)
		if err != nil || n == 0 {
			t.Fatalf("bad frame in message: %v", err)
		}
		out = append(out, [2]any{id, string(data)})
		msg = msg[n:]
	}
	return out
}

func TestWebSocketEchoSeveralPacketsPerMessage(t *testing.T) {
	cfg := testConfig()
	cfg.WsPath = "/game"
	_, url := startWS(t, cfg, func(s *Server) { s.AddRouterFunc(1, echo) })
	pack := NewDataPack(cfg.Framing, cfg.MaxPackageSize)
	ws := dialWS(t, url, nil)
	var msg []byte
	for _, s := range []string{"a", "bb", "ccc"} {
		msg, _ = pack.AppendPack(msg, 1, []byte(s))
	}
	// One message with three packets, then one packet split over two messages.
	split, _ := pack.AppendPack(nil, 1, []byte("split"))
	for _, m := range [][]byte{msg, split[:5], split[5:]} {
		if err := ws.WriteMessage(websocket.BinaryMessage, m); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for len(got) < 4 {
		for _, f := range readWS(t, ws, pack) {
			got = append(got, f[1].(string))
		}
	}
	if want := []string{"a", "bb", "ccc", "split"}; len(got) != 4 || got[0] != want[0] || got[3] != want[3] {
		t.Fatalf("echoes %q, want %q", got, want)
	}
}

func TestWebSocketClientAndLimits(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConn = 2
	cfg.MaxPackageSize = 64
	ts, url := startWS(t, cfg, func(s *Server) { s.AddRouterFunc(1, echo) })
	cl := newTestClient(t, cfg)
	got := make(chan string, 4)
	cl.AddRouterFunc(1, func(req ziface.IRequest) { got <- string(req.GetData()) })
	c, err := cl.DialWebSocket(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendMsg(1, []byte("over ws")); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "over ws" {
		t.Fatalf("got %q", s)
	}

	// An oversized frame closes that connection only.
	pack := NewDataPack(cfg.Framing, 1<<20)
	bad := dialWS(t, url, nil)
	big, _ := pack.AppendPack(nil, 1, make([]byte, 65))
	_ = bad.WriteMessage(websocket.BinaryMessage, big)
	_ = bad.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := bad.ReadMessage(); err == nil {
		t.Fatal("connection with an oversized frame still open")
	}
	ts.logs.waitLog(t, "frame over MaxPackageSize")

	// Over MaxConn, a WebSocket client gets the notice, then a close. The
	// slot is taken at accept, so first wait for the bad connection's.
	waitFor(t, func() bool { return ts.mgr.reserved.Load() == 1 }, "the closed connection's slot")
	dialWS(t, url, nil)
	waitFor(t, func() bool { return ts.GetConnMgr().Len() == 2 }, "2 connections")
	over := dialWS(t, url, nil)
	frames := readWS(t, over, NewDataPack(cfg.Framing, cfg.MaxPackageSize))
	if n, err := ParseNotice([]byte(frames[0][1].(string))); err != nil || n.Code != NoticeServerFull {
		t.Fatalf("refusal = %v (%v)", frames, err)
	}
	if _, _, err := over.ReadMessage(); err == nil {
		t.Fatal("refused connection still open")
	}
	if err := c.SendMsg(1, []byte("still")); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "still" {
		t.Fatalf("got %q", s)
	}
}

func TestWebSocketOrigins(t *testing.T) {
	cfg := testConfig()
	cfg.WsAllowedOrigins = []string{"https://*.example.com"}
	_, url := startWS(t, cfg, nil)
	if _, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {"https://evil.test"}}); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign origin: err %v", err)
	}
	dialWS(t, url, http.Header{"Origin": {"https://play.example.com"}})
}

// TestModeBoth: Start binds TCP and WebSocket; both serve the same routes.
func TestModeBoth(t *testing.T) {
	cfg := testConfig()
	cfg.Mode = zconf.ModeBoth
	cfg.WsPort = zconf.FreePort
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
	if srv.Addr() == nil || srv.WebSocketAddr() == nil {
		t.Fatalf("addresses: tcp %v ws %v", srv.Addr(), srv.WebSocketAddr())
	}
	c := dialRaw(t, srv.Addr().String(), cfg)
	c.send(1, []byte("tcp"))
	if _, data := c.recv(); string(data) != "tcp" {
		t.Fatalf("tcp echo %q", data)
	}
	ws := dialWS(t, "ws://"+srv.WebSocketAddr().String()+"/", nil)
	frame, _ := srv.DataPack().AppendPack(nil, 1, []byte("ws"))
	_ = ws.WriteMessage(websocket.BinaryMessage, frame)
	if f := readWS(t, ws, srv.DataPack()); f[0][1] != "ws" {
		t.Fatalf("ws echo %v", f)
	}
}

// TestWebSocketShutdownNotice: a WebSocket client gets the shutdown notice
// and a clean close, and the server does not log the stop as a read error.
func TestWebSocketShutdownNotice(t *testing.T) {
	cfg := testConfig()
	ts, url := startWS(t, cfg, func(s *Server) { s.AddRouterFunc(1, echo) })
	pack := NewDataPack(cfg.Framing, cfg.MaxPackageSize)
	ws := dialWS(t, url, nil)
	msg, _ := pack.AppendPack(nil, 1, []byte("hi"))
	if err := ws.WriteMessage(websocket.BinaryMessage, msg); err != nil {
		t.Fatal(err)
	}
	readWS(t, ws, pack)
	done := make(chan error, 1)
	go func() { done <- ts.Shutdown(context.Background()) }()
	frames := readWS(t, ws, pack)
	n, err := ParseNotice([]byte(frames[0][1].(string)))
	if frames[0][0].(uint32) != cfg.NoticeMsgID || err != nil || n.Code != NoticeShutdown {
		t.Fatalf("got %v (%v); want a shutdown notice", frames, err)
	}
	ws.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Contains(ts.logs.String(), "read failed") {
		t.Fatalf("the stop was logged as a read error:\n%s", ts.logs)
	}
}
