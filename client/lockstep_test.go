package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zinxgame/zinxgame/examples/lockstep/demo"
	"github.com/zinxgame/zinxgame/game/lockstep"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

func TestMain(m *testing.M) {
	// ants starts a default pool in its init; ignore what exists before the tests.
	// kcp-go starts process-wide goroutines at its first session and keeps them.
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent(),
		goleak.IgnoreAnyFunction("github.com/xtaci/kcp-go/v5.postProcessWorker"))
}

// simGame is the demo game as a client's Game, recording what it saw.
type simGame struct {
	mu      sync.Mutex
	sim     *demo.Sim
	starts  int
	frames  []uint32          // every frame stepped, in order
	hashes  map[uint32]uint64 // the hash after each frame
	ownSeqs []uint32          // this player's inputs seen in frames
	slot    uint32
}

func newGame() *simGame { return &simGame{hashes: map[uint32]uint64{}} }

func (g *simGame) Start(m *lspb.MatchStart) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.starts++
	g.sim = demo.New(m.Seed, len(m.Slots), m.StartFrame-1)
	g.slot = m.YourSlot
	g.frames, g.ownSeqs = nil, nil
	clear(g.hashes)
}

func (g *simGame) Step(f Frame) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, in := range f.Inputs {
		g.sim.Input(in.Slot, in.Data)
		if in.Slot == g.slot {
			g.ownSeqs = append(g.ownSeqs, in.Seq)
		}
	}
	g.sim.Step()
	g.frames = append(g.frames, f.Number)
	g.hashes[f.Number] = g.sim.Hash()
}

func (g *simGame) Hash() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sim.Hash()
}

// last is the last frame stepped.
func (g *simGame) last() uint32 {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.frames) == 0 {
		return 0
	}
	return g.frames[len(g.frames)-1]
}

// checkFrames fails unless the game stepped every frame from 1 to its
// last once, in order.
func (g *simGame) checkFrames(t *testing.T, who string) {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, f := range g.frames {
		if f != uint32(i+1) {
			t.Fatalf("%s: frame %d stepped at position %d: frames lost or repeated", who, f, i)
		}
	}
}

// player is one test client with its game and what its handler heard.
type player struct {
	c       *Lockstep
	g       *simGame
	mu      sync.Mutex
	states  []State
	errs    []error
	notices []znet.Notice
	desyncs int
	ends    []*lspb.MatchEnd
	started chan struct{}
}

func (p *player) handler() Handler {
	return Handler{
		Game: p.g,
		OnMatchStart: func(*lspb.MatchStart, bool) {
			select {
			case p.started <- struct{}{}:
			default:
			}
		},
		OnDesync: func(*lspb.Desync) { p.mu.Lock(); p.desyncs++; p.mu.Unlock() },
		OnMatchEnd: func(m *lspb.MatchEnd) {
			p.mu.Lock()
			p.ends = append(p.ends, m)
			p.mu.Unlock()
		},
		OnNotice: func(n znet.Notice) { p.mu.Lock(); p.notices = append(p.notices, n); p.mu.Unlock() },
		OnState: func(s State, err error) {
			p.mu.Lock()
			p.states, p.errs = append(p.states, s), append(p.errs, err)
			p.mu.Unlock()
		},
	}
}

func (p *player) sawState(s State) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, x := range p.states {
		if x == s {
			return true
		}
	}
	return false
}

func dialPlayer(t *testing.T, d *Dialer, addr, name, token string) *player {
	t.Helper()
	p := &player{g: newGame(), started: make(chan struct{}, 4)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := d.DialLockstep(ctx, addr, Player{Name: name, Token: token}, p.handler())
	if err != nil {
		t.Fatalf("dial %s as %s: %v", addr, name, err)
	}
	p.c = c
	t.Cleanup(func() { _ = c.Close(); <-c.Done() })
	return p
}

func testDialer(t testing.TB, cfg Config) *Dialer {
	t.Helper()
	d, err := NewDialer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func eventually(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// seat puts every player in one room by label and readies them; it waits
// for every MatchStart.
func seat(t *testing.T, label string, ps ...*player) {
	t.Helper()
	opts := &lspb.RoomOptions{MaxPlayers: uint32(len(ps)), TickRate: 30, HashInterval: 10}
	var room uint64
	for i, p := range ps {
		st, err := p.c.JoinOrCreate(ctxT(t), label, opts)
		if err != nil {
			t.Fatalf("player %d: JoinOrCreate: %v", i, err)
		}
		if i == 0 {
			room = st.Room.RoomId
		} else if st.Room.RoomId != room {
			t.Fatalf("player %d seated in room %d, want %d: JoinOrCreate did not meet", i, st.Room.RoomId, room)
		}
	}
	for _, p := range ps {
		if err := p.c.Ready(true); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range ps {
		select {
		case <-p.started:
		case <-time.After(10 * time.Second):
			t.Fatalf("player %d: no MatchStart", i)
		}
	}
}

// play sends random inputs from every player until every game has passed
// frame until.
func play(t *testing.T, until uint32, ps ...*player) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	deadline := time.Now().Add(30 * time.Second)
	for {
		done := true
		for _, p := range ps {
			if p.g.last() < until {
				done = false
			}
			if rng.IntN(3) == 0 {
				_, _ = p.c.Input(demo.EncodeInput(int8(rng.IntN(3)-1), int8(rng.IntN(3)-1)))
			}
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("frame %d not reached in time", until)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// agree fails unless every player computed the same hash at every frame
// they all stepped, and none heard of a desync.
func agree(t *testing.T, ps ...*player) {
	t.Helper()
	ref := ps[0].g
	ref.mu.Lock()
	defer ref.mu.Unlock()
	for i, p := range ps[1:] {
		p.g.mu.Lock()
		n := 0
		for f, h := range p.g.hashes {
			if rh, ok := ref.hashes[f]; ok {
				n++
				if rh != h {
					p.g.mu.Unlock()
					t.Fatalf("player %d: hash at frame %d differs", i+1, f)
				}
			}
		}
		p.g.mu.Unlock()
		if n == 0 {
			t.Fatalf("player %d shares no frame with player 0", i+1)
		}
	}
	for i, p := range ps {
		p.mu.Lock()
		d := p.desyncs
		p.mu.Unlock()
		if d != 0 {
			t.Fatalf("player %d heard %d desyncs", i, d)
		}
		if s := p.c.Stats(); s.Gaps != 0 || s.Dups != 0 {
			t.Fatalf("player %d: %d gaps, %d duplicate batches", i, s.Gaps, s.Dups)
		}
	}
}

func TestPlayOverTCPAndWebSocket(t *testing.T) {
	s := startServer(t, nil)
	d := testDialer(t, Config{})
	a := dialPlayer(t, d, s.addr, "ann", "")
	b := dialPlayer(t, d, s.url(), "bob", "")
	c := dialPlayer(t, d, s.addr, "cy", "")
	seat(t, "tcp-and-ws", a, b, c)
	play(t, 90, a, b, c)
	for i, p := range []*player{a, b, c} {
		p.g.checkFrames(t, fmt.Sprint("player ", i))
		if len(p.g.ownSeqs) == 0 {
			t.Fatalf("player %d saw none of its inputs in the frames", i)
		}
	}
	agree(t, a, b, c)
	if a.c.PlayerID() == 0 || a.c.Token() == "" || a.c.Limits() == nil {
		t.Fatalf("login not kept: player %d, token %q, limits %v", a.c.PlayerID(), a.c.Token(), a.c.Limits())
	}
}

func TestJoinOrCreateMeetsInOneRoom(t *testing.T) {
	s := startServer(t, nil)
	d := testDialer(t, Config{})
	const n = 4
	ps := make([]*player, n)
	for i := range ps {
		ps[i] = dialPlayer(t, d, s.addr, fmt.Sprint("p", i), "")
	}
	rooms := make(chan uint64, n)
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Go(func() {
			st, err := p.c.JoinOrCreate(ctxT(t), "race", &lspb.RoomOptions{MaxPlayers: n})
			if err != nil {
				t.Error(err)
				return
			}
			rooms <- st.Room.RoomId
		})
	}
	wg.Wait()
	close(rooms)
	var first uint64
	for id := range rooms {
		if first == 0 {
			first = id
		} else if id != first {
			t.Fatalf("players looking at once sat in rooms %d and %d", first, id)
		}
	}
	// A full room is not joined: a fifth player gets a room of its own.
	e := dialPlayer(t, d, s.addr, "late", "")
	st, err := e.c.JoinOrCreate(ctxT(t), "race", &lspb.RoomOptions{MaxPlayers: n})
	if err != nil {
		t.Fatal(err)
	}
	if st.Room.RoomId == first {
		t.Fatal("a fifth player joined a full room")
	}
}

func TestDropReconnectsAndCatchesUp(t *testing.T) {
	s := startServer(t, nil)
	d := testDialer(t, Config{Backoff: Backoff{Min: 20 * time.Millisecond, Max: 100 * time.Millisecond}})
	a := dialPlayer(t, d, s.addr, "ann", "")
	b := dialPlayer(t, d, s.addr, "bob", "")
	seat(t, "drop", a, b)
	play(t, 30, a, b)
	for range 3 {
		b.c.Drop()
		eventually(t, "b to reconnect", 10*time.Second, func() bool { return b.sawState(StateResumed) })
		b.mu.Lock()
		b.states = nil
		b.mu.Unlock()
		play(t, a.g.last()+30, a, b)
	}
	a.g.checkFrames(t, "a")
	b.g.checkFrames(t, "b")
	agree(t, a, b)
	if st := b.c.Stats(); st.Reconnects != 3 {
		t.Fatalf("Reconnects = %d, want 3", st.Reconnects)
	}
	if b.g.starts != 1 {
		t.Fatalf("Game.Start called %d times, want once: a reconnection resumes the match", b.g.starts)
	}
}

func TestRedialAfterOffline(t *testing.T) {
	s := startServer(t, nil)
	d := testDialer(t, Config{})
	a := dialPlayer(t, d, s.addr, "ann", "")
	b := dialPlayer(t, d, s.url(), "bob", "")
	seat(t, "redial", a, b)
	play(t, 20, a, b)
	if err := b.c.Redial(ctxT(t), 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	play(t, a.g.last()+20, a, b)
	b.g.checkFrames(t, "b")
	agree(t, a, b)
}

func TestStoredTokenResumesTheSeat(t *testing.T) {
	s := startServer(t, nil)
	d := testDialer(t, Config{})
	a := dialPlayer(t, d, s.addr, "ann", "")
	b := dialPlayer(t, d, s.addr, "bob", "")
	seat(t, "reload", a, b)
	play(t, 40, a, b)
	// A page reload: the old client is gone, a new one has only the token.
	token, id := b.c.Token(), b.c.PlayerID()
	slot := b.c.Match().YourSlot
	_ = b.c.Close()
	<-b.c.Done()
	b2 := dialPlayer(t, d, s.url(), "bob", token)
	if b2.c.PlayerID() != id {
		t.Fatalf("the token logged in as %d, want %d", b2.c.PlayerID(), id)
	}
	eventually(t, "the resumed match", 10*time.Second, func() bool { return b2.c.Match() != nil })
	if got := b2.c.Match().YourSlot; got != slot {
		t.Fatalf("resumed in slot %d, want %d", got, slot)
	}
	play(t, a.g.last()+30, a, b2)
	b2.g.checkFrames(t, "b2") // from frame 1: caught up from the start
	agree(t, a, b2)
	if b2.g.starts != 1 {
		t.Fatalf("Game.Start called %d times, want 1", b2.g.starts)
	}
}

func TestServerRestart(t *testing.T) {
	s := startServer(t, nil)
	d := testDialer(t, Config{Backoff: Backoff{Min: 50 * time.Millisecond, Max: 200 * time.Millisecond}})
	a := dialPlayer(t, d, s.addr, "ann", "")
	b := dialPlayer(t, d, s.url(), "bob", "")
	seat(t, "restart", a, b)
	play(t, 20, a, b)
	ida := a.c.PlayerID()
	s.restart(300 * time.Millisecond)
	for _, p := range []*player{a, b} {
		eventually(t, "a reconnection to the restarted server", 15*time.Second, func() bool { return p.sawState(StateResumed) })
		p.mu.Lock()
		var shutdown bool
		for _, n := range p.notices {
			shutdown = shutdown || (n.Code == znet.NoticeShutdown && n.RetryAfterMs == 200)
		}
		ended := len(p.ends) == 1 && p.ends[0].Reason == lspb.MatchEndReason_MATCH_END_SHUTDOWN
		p.mu.Unlock()
		if !shutdown || !ended {
			t.Fatalf("shutdown notice with its hint: %v; MatchEnd(SHUTDOWN): %v", shutdown, ended)
		}
	}
	if a.c.PlayerID() != ida {
		t.Fatalf("after the restart the token logged in as %d, want %d", a.c.PlayerID(), ida)
	}
	// The same clients play a new match on the new server.
	seat(t, "after-restart", a, b)
	play(t, 20, a, b)
	a.g.checkFrames(t, "a")
	agree(t, a, b)
}

func TestSeatGoneIsToldOnResume(t *testing.T) {
	s := startServer(t, func(c *lockstep.Config, _ *zconf.Config) { c.ReconnectGrace = 50 * time.Millisecond })
	d := testDialer(t, Config{Backoff: Backoff{Min: 300 * time.Millisecond, Max: 300 * time.Millisecond, Jitter: -1}})
	a := dialPlayer(t, d, s.addr, "ann", "")
	b := dialPlayer(t, d, s.addr, "bob", "")
	c := dialPlayer(t, d, s.addr, "cy", "")
	seat(t, "grace", a, b, c)
	play(t, 10, a, b, c)
	c.c.Drop() // back after 300 ms; the seat is held for 50
	eventually(t, "the resumed login", 10*time.Second, func() bool { return c.sawState(StateResumed) })
	c.mu.Lock()
	last := c.errs[len(c.errs)-1]
	c.mu.Unlock()
	if !errors.Is(last, ErrNoSeat) {
		t.Fatalf("StateResumed with %v, want ErrNoSeat", last)
	}
	if _, err := c.c.Input([]byte{0, 0}); err != nil {
		t.Fatalf("still logged in after losing the seat: %v", err)
	}
}

func TestKickedDoesNotReconnect(t *testing.T) {
	s := startServer(t, nil)
	d := testDialer(t, Config{Backoff: Backoff{Min: 10 * time.Millisecond}})
	a := dialPlayer(t, d, s.addr, "ann", "")
	eventually(t, "the server to see the connection", 5*time.Second, func() bool { return s.srv.Online() == 1 })
	s.srv.GetConnMgr().Range(func(c ziface.IConnection) bool {
		_ = s.srv.Kick(c.GetConnID(), "cheating")
		return true
	})
	select {
	case <-a.c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a kicked client did not close")
	}
	if !errors.Is(a.c.Err(), ErrKicked) {
		t.Fatalf("Err = %v, want ErrKicked", a.c.Err())
	}
	if a.sawState(StateReconnecting) {
		t.Fatal("a kicked client tried to reconnect")
	}
}

func TestGivesUpAfterBackoffAttempts(t *testing.T) {
	s := startServer(t, nil)
	d := testDialer(t, Config{Backoff: Backoff{Attempts: 3, Min: 10 * time.Millisecond, Max: 20 * time.Millisecond}})
	a := dialPlayer(t, d, s.addr, "ann", "")
	s.stop()
	select {
	case <-a.c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the client never gave up")
	}
	if err := a.c.Err(); err == nil || errors.Is(err, ErrClosed) {
		t.Fatalf("Err = %v, want the last reconnection's error", err)
	}
	if st := a.c.Stats(); st.ReconnectsFailed != 3 {
		t.Fatalf("ReconnectsFailed = %d, want 3", st.ReconnectsFailed)
	}
	if !a.sawState(StateClosed) {
		t.Fatal("no StateClosed")
	}
}

func TestKeepAliveHoldsAnIdleConnection(t *testing.T) {
	s := startServer(t, func(_ *lockstep.Config, z *zconf.Config) { z.HeartbeatTimeout = 300 * time.Millisecond })
	d := testDialer(t, Config{KeepAlive: 50 * time.Millisecond})
	a := dialPlayer(t, d, s.addr, "ann", "")
	time.Sleep(time.Second) // idle for three heartbeat timeouts
	if a.sawState(StateReconnecting) {
		t.Fatal("the idle connection was dropped")
	}
	if a.c.RTT() <= 0 {
		t.Fatalf("RTT = %v after the pings", a.c.RTT())
	}
	// Without pings, the same server drops it.
	quiet := testDialer(t, Config{KeepAlive: -1, Backoff: Backoff{Attempts: -1}})
	q := dialPlayer(t, quiet, s.addr, "quiet", "")
	select {
	case <-q.c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a silent connection outlived HeartbeatTimeout: the test proves nothing")
	}
}

func TestServerErrorsCarryTheirCode(t *testing.T) {
	s := startServer(t, nil)
	a := dialPlayer(t, testDialer(t, Config{}), s.addr, "ann", "")
	_, err := a.c.Join(ctxT(t), 424242)
	if Code(err) != commonpb.ErrorCode_ERROR_ROOM_NOT_FOUND ||
		!errors.Is(err, &ServerError{Code: commonpb.ErrorCode_ERROR_ROOM_NOT_FOUND}) {
		t.Fatalf("Join of no room: %v", err)
	}
	if _, err := a.c.Create(ctxT(t), &lspb.RoomOptions{MaxPlayers: 99}, ""); Code(err) != commonpb.ErrorCode_ERROR_BAD_OPTIONS {
		t.Fatalf("Create with 99 seats: %v", err)
	}
	if err := a.c.Leave(ctxT(t)); Code(err) != commonpb.ErrorCode_ERROR_NOT_IN_ROOM {
		t.Fatalf("Leave outside a room: %v", err)
	}
}

// TestResumeAfterServerCrash: a player whose server dies mid-match (it
// writes nothing more, and ends no match) comes back to the next server
// process: its resume meets MatchEnd with MATCH_END_INTERRUPTED, which
// OnMatchEnd tells; the login resumes with no error (the seat was not
// lost: the match is over), and the client does not reconnect again.
func TestResumeAfterServerCrash(t *testing.T) {
	s := startServer(t, nil)
	// a comes back well after the new process is up.
	d := testDialer(t, Config{Backoff: Backoff{Min: time.Second, Max: time.Second, Jitter: -1}})
	a := dialPlayer(t, d, s.addr, "ann", "")
	b := dialPlayer(t, testDialer(t, Config{}), s.addr, "bob", "")
	seat(t, "crash", a, b)
	play(t, 20, a, b)
	match := a.c.Match().MatchId
	a.c.Drop()
	s.crash()
	eventually(t, "the resumed login", 15*time.Second, func() bool { return a.sawState(StateResumed) })
	time.Sleep(300 * time.Millisecond) // room for a wrong reconnection to show
	a.mu.Lock()
	ends, states, errs := a.ends, a.states, a.errs
	a.mu.Unlock()
	if len(ends) != 1 || ends[0].Reason != lspb.MatchEndReason_MATCH_END_INTERRUPTED || ends[0].MatchId != match {
		t.Fatalf("OnMatchEnd got %v, want one MatchEnd of match %d, interrupted", ends, match)
	}
	i := slices.Index(states, StateResumed)
	if errs[i] != nil {
		t.Fatalf("StateResumed with %v, want no error: the match ended, no seat was lost", errs[i])
	}
	if rest := states[i+1:]; len(rest) != 0 {
		t.Fatalf("states after resuming: %v, want none (no more reconnecting)", rest)
	}
	if err := a.c.Err(); err != nil {
		t.Fatalf("client closed after the interrupted match: %v", err)
	}
	if _, err := a.c.Input([]byte{0, 0}); err != nil {
		t.Fatalf("not logged in after the interrupted match: %v", err)
	}
}
