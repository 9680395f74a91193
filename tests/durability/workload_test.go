package durability

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zinxgame/zinxgame/client"
	"github.com/zinxgame/zinxgame/protocol/lspb"
)

// The lockstep workload: pairs of new players, again and again, log in,
// meet in a two-seat room, send an input every tick and end the match by
// voting the same result after a random number of frames (or play on until
// the server goes away). Every acknowledgement they get is recorded.

// tickRate is the matches' frames per second; inputs go at the same rate.
const tickRate = 30

// workloadConfig shapes a workload.
type workloadConfig struct {
	pairs int // pair loops at once
	// Frames per match before the players vote, drawn in [minFrames,
	// maxFrames]; 0 never votes (the match runs until the server stops).
	minFrames, maxFrames int
	// longPairs of the pairs never vote, whatever minFrames says.
	longPairs int
	// inputSize pads every input to this many bytes (0: a few bytes).
	inputSize int
}

// workload runs the pair loops against one address.
type workload struct {
	cfg  workloadConfig
	addr string
	rec  *records
	d    *client.Dialer
	seq  atomic.Uint64 // player names

	stopping atomic.Bool // the server is being stopped: errors from now on are expected
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	mu       sync.Mutex
	errs     []error // errors before stopping: the run is not valid
}

// startWorkload starts cfg.pairs pair loops against addr.
func startWorkload(addr string, cfg workloadConfig, rec *records) (*workload, error) {
	// The clients never reconnect: after the kill they must not reach the
	// restarted server on their own (the checks log in by themselves).
	d, err := client.NewDialer(client.Config{Backoff: client.Backoff{Attempts: -1}, RequestTimeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &workload{cfg: cfg, addr: addr, rec: rec, d: d, cancel: cancel}
	for i := range cfg.pairs {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			rng := rand.New(rand.NewPCG(rand.Uint64(), uint64(i)))
			for ctx.Err() == nil {
				if err := w.playPair(ctx, rng, i < cfg.longPairs); err != nil {
					if !w.stopping.Load() && ctx.Err() == nil {
						w.fail(err)
					}
					return
				}
			}
		}()
	}
	return w, nil
}

func (w *workload) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.errs = append(w.errs, err)
}

// markStopping says the server is about to go: the clients' errors from
// now on are the test's doing.
func (w *workload) markStopping() { w.stopping.Store(true) }

// stop ends the pair loops, waits for them (bounded) and returns the
// errors seen before markStopping.
func (w *workload) stop() error {
	w.stopping.Store(true)
	w.cancel()
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		w.fail(errors.New("workload: the pair loops did not stop within 15s"))
	}
	_ = w.d.Close()
	w.mu.Lock()
	defer w.mu.Unlock()
	return errors.Join(w.errs...)
}

// player is one client of the workload and what its callbacks saw.
type player struct {
	w       *workload
	rec     *loginRec
	c       *client.Lockstep
	matchID atomic.Uint64
	started chan struct{} // closed at the first MatchStart
	ended   chan struct{} // closed at the first MatchEnd
	once    sync.Once
	endOnce sync.Once
}

// Start, Step and Hash make the player a client.Game: Step sees every
// frame once, in order; Hash is constant, so the players always agree.
func (p *player) Start(m *lspb.MatchStart) { p.matchID.Store(m.MatchId) }
func (p *player) Step(f client.Frame) {
	if len(f.Inputs) > 0 {
		p.w.rec.frame(p.matchID.Load(), f)
	}
}
func (p *player) Hash() uint64 { return 0 }

// dialPlayer logs a new identity in and records its LoginAck.
func (w *workload) dialPlayer(ctx context.Context) (*player, error) {
	name := fmt.Sprintf("kt%d", w.seq.Add(1))
	p := &player{w: w, started: make(chan struct{}), ended: make(chan struct{})}
	h := client.Handler{
		Game: p,
		OnMatchStart: func(m *lspb.MatchStart, resumed bool) {
			if !resumed {
				w.rec.matchStart(m.MatchId, p.rec, time.Now())
			}
			p.once.Do(func() { close(p.started) })
		},
		OnMatchEnd: func(e *lspb.MatchEnd) {
			w.rec.matchEnd(e, time.Now())
			p.endOnce.Do(func() { close(p.ended) })
		},
	}
	c, err := w.d.DialLockstep(ctx, w.addr, client.Player{Name: name}, h)
	if err != nil {
		return nil, fmt.Errorf("login of %s: %w", name, err)
	}
	p.c = c
	p.rec = &loginRec{name: name, player: c.PlayerID(), token: c.Token(), at: time.Now()}
	w.rec.login(p.rec)
	return p, nil
}

// playPair plays one match with two new players and closes them.
func (w *workload) playPair(ctx context.Context, rng *rand.Rand, long bool) error {
	a, err := w.dialPlayer(ctx)
	if err != nil {
		return err
	}
	defer a.c.Close()
	b, err := w.dialPlayer(ctx)
	if err != nil {
		return err
	}
	defer b.c.Close()
	opts := &lspb.RoomOptions{MaxPlayers: 2, TickRate: tickRate, FramesPerPacket: 1, HashInterval: 30}
	st, err := a.c.Create(ctx, opts, "durability")
	if err != nil {
		return fmt.Errorf("RoomCreate: %w", err)
	}
	// The room starts once both seats are taken (the default start rule).
	if _, err := b.c.Join(ctx, st.GetRoom().GetRoomId()); err != nil {
		return fmt.Errorf("RoomJoin: %w", err)
	}
	for _, p := range []*player{a, b} {
		select {
		case <-p.started:
		case <-ctx.Done():
			return nil
		case <-time.After(5 * time.Second):
			return fmt.Errorf("no MatchStart for %s within 5s of the room filling", p.rec.name)
		}
	}
	frames := 0
	if !long && w.cfg.maxFrames > 0 {
		frames = w.cfg.minFrames + rng.IntN(w.cfg.maxFrames-w.cfg.minFrames+1)
	}
	tick := time.NewTicker(time.Second / tickRate)
	defer tick.Stop()
	start := a.c.LastFrame()
	var n uint32
	for frames == 0 || a.c.LastFrame() < start+uint32(frames) {
		select {
		case <-ctx.Done():
			return nil
		case <-a.ended: // the server ended it (a shutdown)
			return nil
		case <-tick.C:
		}
		n++
		for i, p := range []*player{a, b} {
			data := fmt.Appendf(nil, "%s/%d/%d/", p.rec.name, i, n)
			for len(data) < w.cfg.inputSize {
				data = append(data, byte('a'+len(data)%26))
			}
			if _, err := p.c.Input(data); err != nil {
				return fmt.Errorf("input of %s: %w", p.rec.name, err)
			}
		}
	}
	w.rec.voted(a.matchID.Load())
	for _, p := range []*player{a, b} {
		if err := p.c.Vote([]byte("draw")); err != nil {
			return fmt.Errorf("vote of %s: %w", p.rec.name, err)
		}
	}
	for _, p := range []*player{a, b} {
		select {
		case <-p.ended:
		case <-ctx.Done():
			return nil
		case <-time.After(5 * time.Second):
			return fmt.Errorf("no MatchEnd for %s within 5s of the votes", p.rec.name)
		}
	}
	return nil
}
