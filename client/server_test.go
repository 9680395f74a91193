package client

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/game/account"
	"github.com/zinxgame/zinxgame/game/account/auth"
	"github.com/zinxgame/zinxgame/game/lockstep"
	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
)

// lsServer is a real lockstep server on loopback, built as
// examples/lockstep builds it, with its stores and token secret kept
// outside so that a restart on the same addresses keeps the identities.
type lsServer struct {
	t       *testing.T
	mutate  func(*lockstep.Config, *zconf.Config)
	mem     *store.MemoryStore
	frames  *store.MemoryFrameStore
	crashed atomic.Bool // the stores take no more writes: the process is as good as dead
	addr    string      // TCP
	wsAddr  string
	kcpAddr string // with withKCP: KCP, host:port (UDP)
	srv     *znet.Server
	ls      *lockstep.Service
	stopped chan struct{}
}

const testSecret = "a test secret of at least thirty-two bytes, not for production"

func startServer(t *testing.T, mutate func(*lockstep.Config, *zconf.Config)) *lsServer {
	t.Helper()
	s := &lsServer{t: t, mutate: mutate, mem: store.NewMemoryStore(), frames: store.NewMemoryFrameStore(16),
		addr: "127.0.0.1:0", wsAddr: "127.0.0.1:0"}
	s.start()
	t.Cleanup(s.stop)
	return s
}

// startKCPServer is startServer serving KCP as well (Mode "tcp,kcp").
func startKCPServer(t *testing.T, mutate func(*lockstep.Config, *zconf.Config)) *lsServer {
	t.Helper()
	s := &lsServer{t: t, mutate: mutate, mem: store.NewMemoryStore(), frames: store.NewMemoryFrameStore(16),
		addr: "127.0.0.1:0", wsAddr: "127.0.0.1:0", kcpAddr: "127.0.0.1:0"}
	s.start()
	t.Cleanup(s.stop)
	return s
}

// kcpURL is the KCP address as the client takes it.
func (s *lsServer) kcpURL() string { return "kcp://" + s.kcpAddr }

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// start serves on s.addr and s.wsAddr (their ports fixed after the first
// start, so a restart comes back where the clients expect it).
func (s *lsServer) start() {
	t := s.t
	t.Helper()
	ls := lockstep.DefaultConfig()
	ls.Shards = 2
	ls.ReadyTimeout = time.Hour // matches start when every seat is ready
	zc := zconf.Default()
	zc.WorkerPoolSize = 4
	zc.ReconnectAfter = 200 * time.Millisecond
	if s.mutate != nil {
		s.mutate(&ls, &zc)
	}
	log := discard()
	st := &crashable{MemoryStore: s.mem, MemoryFrameStore: s.frames, crashed: &s.crashed}
	accounts, ids, err := account.SetupAccounts(auth.Config{Secret: testSecret}, 1, st, log)
	if err != nil {
		t.Fatal(err)
	}
	identity, err := account.New(account.DefaultConfig(), accounts, log)
	if err != nil {
		t.Fatal(err)
	}
	l, err := lockstep.New(ls, log, lockstep.WithIdentity(identity), lockstep.WithIDs(ids),
		lockstep.WithMatchStore(st), lockstep.WithFrameStore(st))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := znet.NewServer(zc, znet.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Mount("lockstep", l); err != nil {
		t.Fatal(err)
	}
	tl := s.listen(s.addr)
	wl := s.listen(s.wsAddr)
	s.addr, s.wsAddr = tl.Addr().String(), wl.Addr().String()
	s.srv, s.ls, s.stopped = srv, l, make(chan struct{})
	done := make(chan error, 3)
	go func() { done <- srv.Serve(tl) }()
	go func() { done <- srv.ServeWebSocket(wl) }()
	loops := 2
	if s.kcpAddr != "" {
		kl, err := znet.ListenKCP(s.kcpAddr, zc)
		if err != nil {
			t.Fatal(err)
		}
		s.kcpAddr = kl.Addr().String()
		loops++
		go func() { done <- srv.Serve(kl) }()
	}
	go func() {
		for range loops {
			if err := <-done; err != nil && err != znet.ErrServerClosed && err != http.ErrServerClosed {
				t.Errorf("serve: %v", err)
			}
		}
		l.Close()
		close(s.stopped)
	}()
}

// listen takes addr, retrying briefly while a restart waits for the old
// listener's port.
func (s *lsServer) listen(addr string) net.Listener {
	s.t.Helper()
	var err error
	for range 100 {
		var l net.Listener
		if l, err = net.Listen("tcp", addr); err == nil {
			return l
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("listen %s: %v", addr, err)
	return nil
}

func (s *lsServer) url() string { return "ws://" + s.wsAddr + "/" }

// stop shuts the server down gracefully (matches end, clients get the
// shutdown notice) and waits.
func (s *lsServer) stop() {
	if s.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		s.t.Errorf("shutdown: %v", err)
	}
	<-s.stopped
	s.srv = nil
}

// crash makes the server as good as dead to its stores (it writes
// nothing more), stops it and starts a new one on the same ports over
// what the stores held.
func (s *lsServer) crash() {
	s.crashed.Store(true)
	s.stop()
	s.crashed.Store(false)
	s.start()
}

// crashable is the server's stores, which drop every write once crashed
// is set (a process that died writes nothing).
type crashable struct {
	*store.MemoryStore
	*store.MemoryFrameStore
	crashed *atomic.Bool
}

func (c *crashable) AppendFrame(matchID uint64, frame uint32, inputs []byte) error {
	if c.crashed.Load() {
		return nil
	}
	return c.MemoryFrameStore.AppendFrame(matchID, frame, inputs)
}

func (c *crashable) EndMatch(matchID uint64, lastFrame uint32) error {
	if c.crashed.Load() {
		return nil
	}
	return c.MemoryFrameStore.EndMatch(matchID, lastFrame)
}

func (c *crashable) SaveMatch(ctx context.Context, m store.MatchMeta) error {
	if c.crashed.Load() {
		return nil
	}
	return c.MemoryStore.SaveMatch(ctx, m)
}

func (c *crashable) PutSession(ctx context.Context, se store.Session) error {
	if c.crashed.Load() {
		return nil
	}
	return c.MemoryStore.PutSession(ctx, se)
}

func (c *crashable) RevokeSession(ctx context.Context, id string) error {
	if c.crashed.Load() {
		return nil
	}
	return c.MemoryStore.RevokeSession(ctx, id)
}

// restart stops the server, waits for down, and starts it again on the
// same ports.
func (s *lsServer) restart(down time.Duration) {
	s.stop()
	time.Sleep(down)
	s.start()
}
