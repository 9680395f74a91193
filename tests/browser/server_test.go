package browser

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
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
	admin   http.Handler // the admin endpoints, with adminToken
}

// adminToken turns the operator endpoints on (AdminToken).
const adminToken = "browser-operator-token-0123456789"

func startServer(t *testing.T, log *slog.Logger) *testServer {
	t.Helper()
	cfg := zconf.Default()
	cfg.Host, cfg.Mode, cfg.LogLevel = "127.0.0.1", zconf.ModeBoth, "warn"
	cfg.AdminToken = adminToken
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
		pageURL: "http://" + pageL.Addr().String() + "/", ls: ls, admin: srv.AdminHandler()}
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
	clock    inputClock
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
	g.clock.start(m.YourSlot)
}

func (g *botGame) Step(f client.Frame) {
	g.clock.arrived(f)
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

// play sends random inputs, as the bots of examples/lockstep/bot do, every
// 80 to 120 ms at random, as the page's auto mode does. A fixed 100 ms
// would be exactly three ticks at 30 Hz: each bot's inputs would then meet
// the tick at one phase all match long, and its input→frame times would be
// one value, not the spread over a tick the page's baseline needs.
func (b *bot) play(ctx context.Context, rng *rand.Rand) {
	wait := time.NewTimer(0)
	defer wait.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.c.Done():
			return
		case <-wait.C:
		}
		wait.Reset(80*time.Millisecond + time.Duration(rng.Int64N(int64(40*time.Millisecond))))
		if b.c.Match() == nil {
			continue
		}
		// An input refused (the connection between reconnections) is a
		// lost input, as a network would lose it; the hashes still agree.
		b.game.clock.send(func() (uint32, error) {
			return b.c.Input(demo.EncodeInput(int8(rng.IntN(3)-1), int8(rng.IntN(3)-1)))
		})
	}
}

// inputClock times a bot's inputs as the page times its own: from the send
// to the arrival of the live frame that carries it. The page's figure is
// judged against these, measured in the same room over the same seconds,
// so a stall of the shared machine (the server's ticks or the network
// late for every player) is told apart from what the page adds.
type inputClock struct {
	mu    sync.Mutex
	slot  uint32
	sent  map[uint32]time.Time // seq -> when sent, at most maxPending; nil before the match
	ms    []float64            // input→frame, the latest maxLatencies
	total int                  // input→frame times taken, ms's and those dropped
}

const (
	maxPending   = 256
	maxLatencies = 4096
)

func (c *inputClock) start(slot uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slot, c.sent = slot, map[uint32]time.Time{}
}

// send calls input, which sends one input and returns its sequence
// number, and notes when it was sent. The lock is held across the call so
// the frame that carries the input cannot be applied before its send time
// is noted.
func (c *inputClock) send(input func() (uint32, error)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	at := time.Now()
	seq, err := input()
	if err != nil || c.sent == nil {
		return
	}
	if len(c.sent) >= maxPending { // inputs the server dropped
		clear(c.sent)
	}
	c.sent[seq] = at
}

// arrived takes the bot's own input out of a live frame.
func (c *inputClock) arrived(f client.Frame) {
	at := f.At
	if at.IsZero() {
		at = time.Now()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, in := range f.Inputs {
		if in.Slot != c.slot {
			continue
		}
		sent, ok := c.sent[in.Seq]
		if !ok {
			continue
		}
		delete(c.sent, in.Seq)
		if f.CatchUp {
			continue
		}
		if len(c.ms) >= maxLatencies {
			c.ms = c.ms[1:]
		}
		c.ms = append(c.ms, float64(at.Sub(sent))/float64(time.Millisecond))
		c.total++
	}
}

// timed is how many input→frame times have been taken so far.
func (c *inputClock) timed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// since is a copy of the input→frame times taken after the first n, in
// milliseconds (of those still kept).
func (c *inputClock) since(n int) []float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	dropped := c.total - len(c.ms)
	return slices.Clone(c.ms[min(len(c.ms), max(0, n-dropped)):])
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
