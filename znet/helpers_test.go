package znet

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
)

func TestMain(m *testing.M) {
	// ants starts a default pool in its init; ignore what exists before the
	// tests. kcp-go starts its packet workers, shared by every session of
	// the process, at the first session and keeps them.
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent(), goleak.IgnoreAnyFunction("github.com/xtaci/kcp-go/v5.postProcessWorker"))
}

// logBuffer collects log output safely across goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitLog waits until the log contains all of want.
func (b *logBuffer) waitLog(t *testing.T, want ...string) {
	t.Helper()
	waitFor(t, func() bool {
		s := b.String()
		for _, w := range want {
			if !strings.Contains(s, w) {
				return false
			}
		}
		return true
	}, "log to contain %q; log:\n%s", want, b)
}

func waitFor(t *testing.T, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for "+format, args...)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func testConfig() zconf.Config {
	cfg := zconf.Default()
	cfg.Host = "127.0.0.1"
	cfg.TcpPort = zconf.FreePort
	cfg.WorkerPoolSize = 4
	cfg.MaxConn = 256
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.LogLevel = "debug"
	return cfg
}

type testServer struct {
	*Server
	addr   string
	logs   *logBuffer
	served chan error
}

// startServer serves TCP on a loopback port and shuts down at the end of
// the test.
func startServer(t *testing.T, cfg zconf.Config, setup func(*Server)) *testServer {
	t.Helper()
	return startServing(t, cfg, setup, (*Server).Serve)
}

// startServing serves with serve (TCP or WebSocket) on a loopback port.
func startServing(t *testing.T, cfg zconf.Config, setup func(*Server), serve func(*Server, net.Listener) error) *testServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startServingOn(t, cfg, setup, l, serve)
}

// startServingOn serves l with serve and shuts down at the end of the test.
func startServingOn(t *testing.T, cfg zconf.Config, setup func(*Server), l net.Listener, serve func(*Server, net.Listener) error) *testServer {
	t.Helper()
	logs := &logBuffer{}
	srv, err := NewServer(cfg, WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		_ = l.Close()
		t.Fatal(err)
	}
	if setup != nil {
		setup(srv)
	}
	ts := &testServer{Server: srv, addr: l.Addr().String(), logs: logs, served: make(chan error, 1)}
	go func() { ts.served <- serve(srv, l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-ts.served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("serving returned %v, want ErrServerClosed", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs)
		}
	})
	return ts
}

func echo(req ziface.IRequest) {
	_ = req.GetConnection().SendMsg(req.GetMsgID(), req.GetData())
}

// rawConn is a hand-driven client, for sending exactly the bytes a test wants.
type rawConn struct {
	t    *testing.T
	nc   net.Conn
	pack *DataPack
	fr   *frameReader
}

func dialRaw(t *testing.T, addr string, cfg zconf.Config) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	pack := NewDataPack(cfg.Framing, cfg.MaxPackageSize)
	return &rawConn{t: t, nc: nc, pack: pack, fr: newFrameReader(pack, nc, 4096)}
}

func (r *rawConn) send(msgID uint32, data []byte) {
	r.t.Helper()
	frame, err := r.pack.AppendPack(nil, msgID, data)
	if err != nil {
		r.t.Fatal(err)
	}
	r.write(frame)
}

func (r *rawConn) write(b []byte) {
	r.t.Helper()
	if _, err := r.nc.Write(b); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// recv reads one frame or fails the test.
func (r *rawConn) recv() (uint32, []byte) {
	r.t.Helper()
	id, data, err := r.tryRecv()
	if err != nil {
		r.t.Fatalf("recv: %v", err)
	}
	return id, data
}

func (r *rawConn) tryRecv() (uint32, []byte, error) {
	_ = r.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	return r.fr.next()
}

// expectNotice reads frames until a notice arrives and checks its code.
func (r *rawConn) expectNotice(code string) Notice {
	r.t.Helper()
	for {
		id, data := r.recv()
		if id != zconf.Default().NoticeMsgID {
			continue
		}
		n, err := ParseNotice(data)
		if err != nil || n.Code != code {
			r.t.Fatalf("notice %q (%v); want code %q", data, err, code)
		}
		return n
	}
}

// expectClosed reads until the server closes the connection.
func (r *rawConn) expectClosed() {
	r.t.Helper()
	_ = r.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, r.nc)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		r.t.Fatal("connection still open; want it closed by the server")
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
