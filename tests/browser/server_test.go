package browser

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/client"
	"github.com/zinxgame/zinxgame/examples/lockstep/demo"
	"github.com/zinxgame/zinxgame/examples/lockstep/web"
	"github.com/zinxgame/zinxgame/game/account"
	"github.com/zinxgame/zinxgame/game/lockstep"
	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
)

// testServer is the lockstep server as examples/lockstep builds it, with
// TCP, WebSocket and the demo page each on a free loopback port.
type testServer struct {
	tcpAddr string // for the bots
	wsURL   string
	pageURL string // http://127.0.0.1:port/
	ls      lockstep.Config
}

func startServer(t *testing.T, log *slog.Logger) *testServer {
	t.Helper()
	cfg := zconf.Default()
	cfg.Host, cfg.Mode, cfg.LogLevel = "127.0.0.1", zconf.ModeBoth, "warn"
	ls := lockstep.DefaultConfig()
	ls.TickRate, ls.MaxPlayers = 30, 4
	// Every player comes from 127.0.0.1: new identities are not limited
	// per address here, as they are by default.
	svc, err := lockstep.New(ls, log, lockstep.WithIdentityConfig(account.Config{NewIdentityRate: account.Disabled}))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := znet.NewServer(cfg, znet.WithLogger(log))
	if err != nil {
		svc.Close()
		t.Fatal(err)
	}
	if err := srv.Mount("lockstep", svc); err != nil {
		svc.Close()
		t.Fatal(err)
	}
	listen := func() net.Listener {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	tcpL, wsL, pageL := listen(), listen(), listen()
	served := make(chan error, 2)
	go func() { served <- srv.Serve(tcpL) }()
	go func() { served <- srv.ServeWebSocket(wsL) }()
	ts := &testServer{tcpAddr: tcpL.Addr().String(), wsURL: "ws://" + wsL.Addr().String() + "/",
		pageURL: "http://" + pageL.Addr().String() + "/", ls: ls}
	wc := web.ConfigFor(cfg, ls)
	wc.WsURL, wc.Logger = ts.wsURL, log
	hs := &http.Server{Handler: web.Handler(wc), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(pageL) }()
	t.Cleanup(func() {
		_ = hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("server shutdown: %v", err)
		}
		for range 2 {
			if err := <-served; !errors.Is(err, znet.ErrServerClosed) {
				t.Errorf("serving: %v", err)
			}
		}
		svc.Close()
	})
	return ts
}

// botGame is the Go bots' game (demo.Sim), remembering the hash of every
// hash_interval-th frame so the page's can be compared with it.
type botGame struct {
	mu       sync.Mutex
	sim      *demo.Sim
	interval uint32
	hashes   map[uint32]uint64 // frame -> hash, the latest maxHashes
	oldest   uint32
	reported int // hashes the client asked for (and reported)
}

const maxHashes = 1024

func (g *botGame) Start(m *lspb.MatchStart) {
	g.mu.Lock()
	defer g.mu.Unlock()
	seats := 0
	for _, p := range m.Slots {
		seats = max(seats, int(p.Slot)+1)
	}
	g.sim = demo.New(m.Seed, seats, m.StartFrame-1)
	g.interval = m.HashInterval
	g.hashes = map[uint32]uint64{}
}

func (g *botGame) Step(f client.Frame) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, in := range f.Inputs {
		g.sim.Input(in.Slot, in.Data)
	}
	g.sim.Step()
	if g.interval > 0 && f.Number%g.interval == 0 {
		g.hashes[f.Number] = g.sim.Hash()
		for len(g.hashes) > maxHashes {
			delete(g.hashes, g.oldest)
			g.oldest++
		}
	}
}

func (g *botGame) Hash() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.reported++
	return g.sim.Hash()
}

// hashAt is the bot's hash after frame f, if it kept one.
func (g *botGame) hashAt(f uint32) (uint64, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	h, ok := g.hashes[f]
	return h, ok
}

func (g *botGame) hashesReported() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.reported
}

// bot is one Go player: the client package with the demo game, sending a
// random input about every 100 ms once its match runs.
type bot struct {
	c       *client.Lockstep
	game    *botGame
	mu      sync.Mutex
	nDesync int
}

func (b *bot) desyncCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.nDesync
}

// startBots creates a 4-seat room with the first of n bots and joins the
// others to it. They do not say they are ready (all present ready would
// start the match without the page): the match starts when the page
// fills the room.
func startBots(ctx context.Context, t *testing.T, addr string, n int) ([]*bot, uint64) {
	t.Helper()
	bots := make([]*bot, n)
	var roomID uint64
	for i := range bots {
		b := &bot{game: &botGame{}}
		h := client.Handler{Game: b.game, OnDesync: func(d *lspb.Desync) {
			b.mu.Lock()
			b.nDesync++
			b.mu.Unlock()
			t.Logf("bot %d: desync at frame %d (slots %v)", i, d.Frame, d.Slots)
		}}
		c, err := client.DialLockstep(ctx, addr, client.Player{Name: "bot" + string(rune('a'+i))}, h)
		if err != nil {
			t.Fatalf("bot %d: %v", i, err)
		}
		t.Cleanup(func() { _ = c.Close() })
		b.c = c
		if i == 0 {
			rs, err := c.Create(ctx, &lspb.RoomOptions{MaxPlayers: 4, TickRate: 30}, "browser-e2e")
			if err != nil {
				t.Fatalf("bot %d: creating the room: %v", i, err)
			}
			roomID = rs.GetRoom().GetRoomId()
		} else if _, err := c.Join(ctx, roomID); err != nil {
			t.Fatalf("bot %d: joining: %v", i, err)
		}
		bots[i] = b
		go b.play(ctx, rand.New(rand.NewPCG(uint64(i), 99)))
	}
	return bots, roomID
}

// play sends random inputs, as the bots of examples/lockstep/bot do.
func (b *bot) play(ctx context.Context, rng *rand.Rand) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.c.Done():
			return
		case <-tick.C:
		}
		if b.c.Match() == nil {
			continue
		}
		// An input refused (the connection between reconnections) is a
		// lost input, as a network would lose it; the hashes still agree.
		_, _ = b.c.Input(demo.EncodeInput(int8(rng.IntN(3)-1), int8(rng.IntN(3)-1)))
	}
}

// artifactDir is where the screenshot goes: $ZINX_ARTIFACTS, else
// tests/browser/artifacts (gitignored).
func artifactDir(t *testing.T) string {
	dir := os.Getenv("ZINX_ARTIFACTS")
	if dir == "" {
		dir = "artifacts"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
