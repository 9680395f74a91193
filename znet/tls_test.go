package znet

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/zinxgame/zinxgame/internal/testcert"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
)

// tlsServer is a server started the way an application starts one: Start
// with TLSCertFile and TLSKeyFile set, so it wraps its own listeners. It
// serves TCP and WebSocket on loopback ports and echoes message ID 1.
type tlsServer struct {
	*Server
	cert    testcert.Cert
	logs    *logBuffer
	addr    string // TLS over TCP
	wss     string // wss:// URL
	started atomic.Int32
	stopped atomic.Int32
}

func startTLS(t *testing.T, mutate func(*zconf.Config)) *tlsServer {
	t.Helper()
	ts := &tlsServer{cert: testcert.New(t), logs: &logBuffer{}}
	cfg := testConfig()
	cfg.Mode = zconf.ModeBoth
	cfg.WsPort = zconf.FreePort
	cfg.WsPath = "/game"
	cfg.TLSCertFile, cfg.TLSKeyFile = ts.cert.CertFile, ts.cert.KeyFile
	if mutate != nil {
		mutate(&cfg)
	}
	srv, err := NewServer(cfg, WithLogger(slog.New(slog.NewTextHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	ts.Server = srv
	srv.AddRouterFunc(1, echo)
	srv.SetOnConnStart(func(ziface.IConnection) { ts.started.Add(1) })
	srv.SetOnConnStop(func(ziface.IConnection) { ts.stopped.Add(1) })
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	ts.addr = srv.Addr().String()
	ts.wss = "wss://" + srv.WebSocketAddr().String() + cfg.WsPath
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", ts.logs)
		}
	})
	return ts
}

// echoClient is a client whose route 1 delivers what it receives on got.
func echoClient(t *testing.T) (*Client, chan string) {
	t.Helper()
	cl := newTestClient(t, testConfig())
	got := make(chan string, 16)
	cl.AddRouterFunc(1, func(req ziface.IRequest) { got <- string(req.GetData()) })
	return cl, got
}

// roundTrip sends s on message ID 1 and waits for its echo.
func roundTrip(t *testing.T, c *Connection, got <-chan string, s string) {
	t.Helper()
	if err := c.SendMsg(1, []byte(s)); err != nil {
		t.Fatal(err)
	}
	select {
	case g := <-got:
		if g != s {
			t.Fatalf("echo %q, want %q", g, s)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no echo of %q", s)
	}
}

// checkServing proves the server still serves: a fresh TLS client and a
// fresh WSS client each get an echo.
func (ts *tlsServer) checkServing(t *testing.T) {
	t.Helper()
	cl, got := echoClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := cl.DialTLS(ctx, ts.addr, ts.cert.ClientConfig())
	if err != nil {
		t.Fatalf("DialTLS: %v", err)
	}
	roundTrip(t, c, got, "tls")
	w, err := cl.DialWebSocketTLS(ctx, ts.wss, ts.cert.ClientConfig())
	if err != nil {
		t.Fatalf("DialWebSocketTLS: %v", err)
	}
	roundTrip(t, w, got, "wss")
}

// serverConn returns the server's only connection.
func serverConn(t *testing.T, s *Server) *Connection {
	t.Helper()
	var conns []*Connection
	s.mgr.rangeConns(func(c *Connection) { conns = append(conns, c) })
	if len(conns) != 1 {
		t.Fatalf("%d server connections, want 1", len(conns))
	}
	return conns[0]
}

func TestTLSEcho(t *testing.T) {
	ts := startTLS(t, nil)
	handshook := make(chan bool, 2)
	ts.SetOnConnStart(func(c ziface.IConnection) {
		// OnConnStart runs after the handshake: the state is complete.
		switch nc := c.GetConnection().(type) {
		case *tls.Conn:
			handshook <- nc.ConnectionState().HandshakeComplete
		case *wsConn:
			handshook <- nc.ws.NetConn().(*tls.Conn).ConnectionState().HandshakeComplete
		default:
			t.Errorf("server connection is a %T", nc)
			handshook <- false
		}
	})
	cl, got := echoClient(t)
	ctx := context.Background()

	c, err := cl.DialTLS(ctx, ts.addr, ts.cert.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"a", "bb", strings.Repeat("c", 4000)} {
		roundTrip(t, c, got, s)
	}
	if !<-handshook {
		t.Fatal("OnConnStart ran before the TLS handshake completed")
	}
	// TLS frames its own records: the server must write through tls.Conn,
	// never raw to the socket underneath.
	if sc := serverConn(t, ts.Server); sc.rw.raw != nil {
		t.Fatal("a TLS connection has a raw socket for non-blocking writes")
	}
	c.Stop()
	<-c.Done()
	waitFor(t, func() bool { return ts.Online() == 0 }, "the TLS connection to close")

	w, err := cl.DialWebSocketTLS(ctx, ts.wss, ts.cert.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, w, got, "over wss")
	if !<-handshook {
		t.Fatal("WSS connection without a completed TLS handshake")
	}
	w.Stop()
	<-w.Done()
	waitFor(t, func() bool { return ts.stopped.Load() == 2 }, "OnConnStop for both connections")
}

// TestWSSRefusesHTTP2: a browser offers h2 first, but a WebSocket upgrade
// needs HTTP/1.1, so the WSS listener must settle on http/1.1.
func TestWSSRefusesHTTP2(t *testing.T) {
	ts := startTLS(t, nil)
	cc := ts.cert.ClientConfig()
	cc.NextProtos = []string{"h2", "http/1.1"}
	c, err := tls.Dial("tcp", ts.WebSocketAddr().String(), cc)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if p := c.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
		t.Fatalf("ALPN chose %q, want http/1.1", p)
	}
}

// TestServeTLS: users who bring a listener wrap it themselves, with
// the configured certificate from Config.NewTLSConfig.
func TestServeTLS(t *testing.T) {
	cert := testcert.New(t)
	cfg := testConfig()
	cfg.TLSCertFile, cfg.TLSKeyFile = cert.CertFile, cert.KeyFile
	tc, err := cfg.NewTLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	ts := startServing(t, cfg, func(s *Server) { s.AddRouterFunc(1, echo) }, func(s *Server, l net.Listener) error {
		return s.Serve(tls.NewListener(l, tc))
	})
	cl, got := echoClient(t)
	c, err := cl.DialTLS(context.Background(), ts.addr, cert.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c, got, "own listener")
}

// TestTLSRejectsPlainAndGarbage: a client that does not speak TLS is closed
// cleanly with a log line, gets no hooks, and the server serves on.
func TestTLSRejectsPlainAndGarbage(t *testing.T) {
	ts := startTLS(t, nil)
	cfg := testConfig()
	tests := []struct {
		name string
		send []byte
		log  string
	}{
		{"plain zinx frame", nil, "first record does not look like a TLS handshake"},
		{"garbage", bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 64), "first record does not look like a TLS handshake"},
		// A handshake record head announcing 64 KiB: refused on the head,
		// nothing buffered.
		{"oversized handshake record", []byte{0x16, 0x03, 0x01, 0xff, 0xff, 1, 2, 3}, "oversized record"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, ts.addr, cfg)
			if tt.send == nil {
				c.send(1, []byte("hello in the clear"))
			} else {
				c.write(tt.send)
			}
			c.expectClosed()
			ts.logs.waitLog(t, "TLS handshake failed", tt.log)
			if n := ts.Stats().TLSHandshakeErrors; n != uint64(i+1) {
				t.Errorf("TLSHandshakeErrors = %d, want %d", n, i+1)
			}
		})
	}
	// A client that connects and hangs up (a health check) is not an error.
	c := dialRaw(t, ts.addr, cfg)
	_ = c.nc.Close()
	ts.logs.waitLog(t, "client closed the connection during the TLS handshake")

	// WSS: a ws:// client is told it spoke HTTP to HTTPS, garbage is closed.
	if _, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.wss, "wss"), nil); err == nil || resp == nil || resp.StatusCode != 400 {
		t.Fatalf("ws:// to the WSS port: err %v, response %v", err, resp)
	}
	g := dialRaw(t, strings.TrimSuffix(strings.TrimPrefix(ts.wss, "wss://"), "/game"), cfg)
	g.write(bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 64))
	g.expectClosed()
	ts.logs.waitLog(t, "TLS handshake error")

	waitFor(t, func() bool { return ts.Online() == 0 }, "every refused connection to close")
	if ts.started.Load() != 0 || ts.stopped.Load() != 0 {
		t.Fatalf("hooks ran for clients that never finished a handshake: start %d stop %d", ts.started.Load(), ts.stopped.Load())
	}
	ts.checkServing(t)
}

// TestTLSSlowHandshake: a client that stalls mid-handshake holds neither
// the accept loop nor, past FirstMessageTimeout, its connection.
func TestTLSSlowHandshake(t *testing.T) {
	ts := startTLS(t, func(c *zconf.Config) { c.FirstMessageTimeout = 300 * time.Millisecond })
	slow := dialRaw(t, ts.addr, testConfig())
	slow.write([]byte{0x16, 0x03, 0x01, 0x00, 0x80, 0x01}) // half a ClientHello
	start := time.Now()

	// Others connect and are served meanwhile.
	ts.checkServing(t)

	slow.expectClosed()
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("closed after %v, before FirstMessageTimeout", d)
	}
	ts.logs.waitLog(t, "no whole message within FirstMessageTimeout")
}

// TestTLSShutdownDuringHandshake: a shutdown does not wait out a stalled
// handshake.
func TestTLSShutdownDuringHandshake(t *testing.T) {
	ts := startTLS(t, nil) // FirstMessageTimeout 10s
	slow := dialRaw(t, ts.addr, testConfig())
	waitFor(t, func() bool { return ts.Online() == 1 }, "the silent client to be accepted")
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Shutdown took %v with a client in its handshake", d)
	}
	slow.expectClosed()
	ts.logs.waitLog(t, "stopped during the TLS handshake")
}

func TestTLSServerFull(t *testing.T) {
	ts := startTLS(t, func(c *zconf.Config) { c.MaxConn = 1 })
	cl, got := echoClient(t)
	ctx := context.Background()
	first, err := cl.DialTLS(ctx, ts.addr, ts.cert.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, first, got, "first")
	notices := make(chan Notice, 1)
	cl.AddRouterFunc(ts.Config().NoticeMsgID, func(req ziface.IRequest) {
		n, _ := ParseNotice(req.GetData())
		notices <- n
	})
	over, err := cl.DialTLS(ctx, ts.addr, ts.cert.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-notices:
		if n.Code != NoticeServerFull {
			t.Fatalf("notice %+v", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no server_full notice over TLS")
	}
	<-over.Done()
	roundTrip(t, first, got, "still served")
}

func TestDialTLSUntrusted(t *testing.T) {
	ts := startTLS(t, nil)
	cl, _ := echoClient(t)
	ctx := context.Background()
	untrusted := &tls.Config{RootCAs: x509.NewCertPool()}
	var unknown x509.UnknownAuthorityError
	if _, err := cl.DialTLS(ctx, ts.addr, untrusted); !errors.As(err, &unknown) {
		t.Fatalf("DialTLS with no trusted roots: %v", err)
	}
	ts.logs.waitLog(t, "TLS handshake failed", "bad certificate")
	if _, err := cl.DialWebSocketTLS(ctx, ts.wss, untrusted); !errors.As(err, &unknown) {
		t.Fatalf("DialWebSocketTLS with no trusted roots: %v", err)
	}
	if _, err := cl.DialWebSocketTLS(ctx, "ws"+strings.TrimPrefix(ts.wss, "wss"), ts.cert.ClientConfig()); err == nil || !strings.Contains(err.Error(), "wss://") {
		t.Fatalf("DialWebSocketTLS with a ws:// URL: %v", err)
	}
	ts.checkServing(t)
}

func TestNewServerTLSFiles(t *testing.T) {
	cert := testcert.New(t)
	missing := t.TempDir() + "/missing.pem"
	cfg := testConfig()
	cfg.TLSCertFile, cfg.TLSKeyFile = missing, cert.KeyFile
	_, err := NewServer(cfg, WithLogger(discardLogger()))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("NewServer with a missing certificate: %v", err)
	}
	cfg.TLSCertFile, cfg.TLSKeyFile = cert.CertFile, ""
	if _, err := NewServer(cfg, WithLogger(discardLogger())); err == nil || !strings.Contains(err.Error(), "TLSKeyFile") {
		t.Fatalf("NewServer with a certificate and no key: %v", err)
	}
	cfg.TLSCertFile, cfg.TLSKeyFile = cert.KeyFile, cert.CertFile // swapped
	if _, err := NewServer(cfg, WithLogger(discardLogger())); err == nil || !strings.Contains(err.Error(), cert.KeyFile) {
		t.Fatalf("NewServer with the files swapped: %v", err)
	}
}

// TestTLSHandshakeTimeout: HandshakeTimeout bounds a stalled TLS handshake
// on the TCP port, with FirstMessageTimeout off.
func TestTLSHandshakeTimeout(t *testing.T) {
	ts := startTLS(t, func(c *zconf.Config) {
		c.FirstMessageTimeout, c.HandshakeTimeout = 0, 300*time.Millisecond
	})
	slow := dialRaw(t, ts.addr, testConfig())
	slow.write([]byte{0x16, 0x03, 0x01, 0x00, 0x80, 0x01}) // half a ClientHello
	expectServerClose(t, slow.nc)
	ts.logs.waitLog(t, "TLS handshake timed out", "timeout=300ms")
}
