package lockstep

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/zinxgame/zinxgame/game/room"
	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/lspb"
)

// TestSyncFramesWaitForTheStore: with Sync frames, no frame reaches a
// seat before the store has made it durable; once released, the frames
// arrive in order, each once. The tick never waits: the room assembles
// and stores frames while the store holds them. With Async frames the
// store is never asked.
func TestSyncFramesWaitForTheStore(t *testing.T) {
	d := newDurableStore(store.KindFrames)
	sr := newSyncRoom(t, d, nil)
	sr.tick(t, 5)
	if n := d.pending(); n != 5 {
		t.Fatalf("%d releases waiting for the store after 5 ticks, want 5", n)
	}
	if fs, _, _ := sr.rc[0].frames(t); len(fs) != 0 {
		t.Fatalf("frames %v sent before the store made them durable", frameNumbers(fs))
	}
	if got, _, _ := d.LastFrame(context.Background(), sr.m.matchID); got != 5 {
		t.Fatalf("the store holds frames up to %d, want 5: the tick must not wait", got)
	}
	d.release(2, nil)
	for _, c := range sr.rc {
		if fs, _, _ := c.frames(t); !slices.Equal(frameNumbers(fs), seqTo(1, 2)) {
			t.Fatalf("after two releases, frames %v, want 1-2", frameNumbers(fs))
		}
	}
	sr.tick(t, 3)
	d.release(-1, nil)
	for _, c := range sr.rc {
		fs, _, _ := c.frames(t)
		if !slices.Equal(frameNumbers(fs), seqTo(1, 8)) {
			t.Fatalf("after every release, frames %v, want 1-8 once each in order", frameNumbers(fs))
		}
		for _, f := range fs {
			if len(f.inputs) != 1 || f.inputs[0].Seq != f.n {
				t.Fatalf("frame %d carries %v, want seat 0's input %d", f.n, f.inputs, f.n)
			}
		}
	}
	// A store with everything durable answers at once: frames go out on
	// the tick that made them.
	d.setAuto(true)
	sr.tick(t, 2)
	if fs, _, _ := sr.rc[1].frames(t); !slices.Equal(frameNumbers(fs), seqTo(1, 10)) {
		t.Fatalf("with an inline answer, frames %v, want 1-10", frameNumbers(fs))
	}

	// Async frames: sent on the tick, the store never asked.
	a := newDurableStore()
	ar := newSyncRoom(t, a, nil)
	ar.tick(t, 3)
	if fs, _, _ := ar.rc[0].frames(t); !slices.Equal(frameNumbers(fs), seqTo(1, 3)) || a.calls.Load() != 0 {
		t.Fatalf("Async: frames %v and %d AfterDurable calls, want 1-3 and none", frameNumbers(fs), a.calls.Load())
	}
}

// TestSyncFramesDroppedWhenNotDurable: a release the store says will
// never be durable is dropped, never broadcast, and counted; the releases
// after it still go.
func TestSyncFramesDroppedWhenNotDurable(t *testing.T) {
	d := newDurableStore(store.KindFrames)
	sr := newSyncRoom(t, d, nil)
	sr.tick(t, 3)
	d.release(1, nil)
	d.release(1, errStoreClosed)
	d.release(1, nil)
	fs, _, _ := sr.rc[0].frames(t)
	if !slices.Equal(frameNumbers(fs), []uint32{1, 3}) {
		t.Fatalf("frames %v, want 1 and 3 (2 was never durable)", frameNumbers(fs))
	}
	if n := testutil.ToFloat64(sr.l.met.releasesDropped); n != 1 {
		t.Fatalf("releases dropped: %v, want 1", n)
	}
}

// TestSyncFramesPauseWhenTheStoreIsAway: past two seconds of ticks
// waiting for the store, the room assembles no frame (an input into the
// full frame is refused with ERROR_BUSY), counts the paused ticks and logs
// the pause once; it resumes once half has drained, with every frame in
// order.
func TestSyncFramesPauseWhenTheStoreIsAway(t *testing.T) {
	d := newDurableStore(store.KindFrames)
	logs := &countingHandler{}
	sr := newSyncRoom(t, d, slog.New(logs))
	bound := int(sr.m.maxWaiting) // 2 s at 30 Hz
	if bound != 60 {
		t.Fatalf("bound %d frames, want 60", bound)
	}
	sr.tick(t, bound+1)
	frame := sr.m.frame
	if frame != uint32(bound+1) {
		t.Fatalf("frame %d after %d ticks", frame, bound+1)
	}
	// Paused: ticks assemble nothing, and inputs pile up in the frame
	// being assembled until it is full.
	for range 50 {
		sr.l.rooms.Step(time.Now())
	}
	if sr.m.frame != frame || d.pending() != bound+1 {
		t.Fatalf("paused room at frame %d with %d releases waiting, want %d and %d", sr.m.frame, d.pending(), frame, bound+1)
	}
	if n := testutil.ToFloat64(sr.l.met.pausedTicks); n != 50 {
		t.Fatalf("paused ticks %v, want 50", n)
	}
	big := make([]byte, sr.l.cfg.MaxInputBytes)
	for i := range 200 {
		_ = sr.l.rooms.Input(sr.ids[1], sr.conns[1], sr.l.id(lspb.MsgInput), marshal(&lspb.Input{Data: big, Seq: uint32(i)}))
		if i%10 == 9 {
			sr.l.rooms.Step(time.Now())
		}
	}
	sr.l.rooms.Step(time.Now())
	if sr.rc[1].errorCount(t, commonpb.ErrorCode_ERROR_BUSY) == 0 {
		t.Fatal("no ERROR_BUSY for inputs into the paused room's full frame")
	}
	if n := logs.count("game: match paused"); n != 1 {
		t.Fatalf("the pause was logged %d times, want once", n)
	}
	// Not yet resumed with more than half still waiting.
	d.release(bound/2-2, nil)
	sr.l.rooms.Step(time.Now())
	if sr.m.frame != frame {
		t.Fatalf("resumed at frame %d with %d waiting, more than half the bound", sr.m.frame, d.pending())
	}
	d.release(-1, nil)
	sr.tick(t, 3)
	if sr.m.frame != frame+3 {
		t.Fatalf("frame %d after the store caught up and 3 ticks, want %d", sr.m.frame, frame+3)
	}
	d.release(-1, nil)
	fs, _, _ := sr.rc[0].frames(t)
	if !slices.Equal(frameNumbers(fs), seqTo(1, frame+3)) {
		t.Fatalf("frames %v, want 1-%d once each in order", frameNumbers(fs), frame+3)
	}
	if n := logs.count("game: match resumed"); n != 1 {
		t.Fatalf("the resume was logged %d times, want once", n)
	}
}

// TestSyncFramesHandOverWhileReleasesWait: a seat coming back while
// releases wait for the store gets every frame once, in order, catch-up
// then live, none before it is durable, while the store answers on its
// own goroutine as the room ticks.
func TestSyncFramesHandOverWhileReleasesWait(t *testing.T) {
	for round := range 8 {
		d := newDurableStore(store.KindFrames)
		sr := newSyncRoom(t, d, nil)
		sr.tick(t, 10)
		d.release(4, nil) // 1-4 released, 5-10 waiting
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		// Round 1 resynchronises on the seat's own connection (a client
		// that saw a gap), which the releases waiting already name.
		same := round == 1
		if round > 1 {
			// The store answers on its goroutine while the room ticks.
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					d.release(round%3, nil)
					time.Sleep(time.Duration(round) * 100 * time.Microsecond)
				}
			}()
		}
		back := newRecConn(t, sr.l, checkDurable(t, d, &sr.match))
		var from uint32 = 3 // it had frames 1-2
		if same {
			back, from = sr.rc[1], 5 // it has frames 1-4
		}
		if err := sr.l.rooms.Rejoin(room.Join{Player: room.Player{ID: sr.ids[1]}, Conn: back,
			Meta: &joinMeta{reconnect: true, lastFrame: from - 1}}, nil); err != nil {
			t.Fatal(err)
		}
		sr.tick(t, 1) // the rejoin
		deadline := time.Now().Add(10 * time.Second)
		for sr.m.seats[1].catching != 0 || sr.m.seats[1].conn != back {
			if time.Now().After(deadline) {
				t.Fatal("the catch-up never handed over")
			}
			sr.tick(t, 1)
			time.Sleep(200 * time.Microsecond)
		}
		sr.tick(t, 5)
		cancel()
		wg.Wait()
		d.release(-1, nil)
		want := seqTo(from, sr.m.frame)
		if same {
			want = seqTo(1, sr.m.frame)
		}
		if fs, _, _ := back.frames(t); !slices.Equal(frameNumbers(fs), want) {
			t.Fatalf("round %d: the returning seat got frames %v, want %d-%d once each in order",
				round, frameNumbers(fs), want[0], sr.m.frame)
		}
		if fs, _, _ := sr.rc[0].frames(t); !slices.Equal(frameNumbers(fs), seqTo(1, sr.m.frame)) {
			t.Fatalf("round %d: a live seat got frames %v", round, frameNumbers(fs))
		}
	}
}

// TestSyncMatchEnd: with Sync matches, MatchEnd goes out only once the
// match's end (EndMatch and the final SaveMatch) is durable, after the
// last frames; with two stores, once both are.
func TestSyncMatchEnd(t *testing.T) {
	for _, tc := range []struct {
		name       string
		kinds      []store.Kind
		frameStore bool // a frame store of its own, Sync for frames
	}{
		{"frames and matches Sync, one store", []store.Kind{store.KindFrames, store.KindMatches}, false},
		{"matches Sync, frames Async", []store.Kind{store.KindMatches}, false},
		{"frames Sync, matches Async", []store.Kind{store.KindFrames}, false},
		{"frames and matches Sync, two stores", []store.Kind{store.KindMatches}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDurableStore(tc.kinds...)
			var opts []Option
			fd := d
			if tc.frameStore {
				fd = newDurableStore(store.KindFrames)
				opts = append(opts, WithFrameStore(fd))
			}
			sr := newSyncRoom(t, d, nil, opts...)
			l := sr.l
			sr.tick(t, 4)
			for i := range sr.rc {
				_ = l.rooms.Input(sr.ids[i], sr.conns[i], l.id(lspb.MsgMatchResult), marshal(&lspb.MatchResult{Result: []byte("draw")}))
			}
			l.rooms.Step(time.Now())
			if sr.m.state != stateEnded {
				t.Fatal("the votes did not end the match")
			}
			if _, end, _ := sr.rc[0].frames(t); end != nil && (d.modes[store.KindMatches] == store.Sync) {
				t.Fatal("MatchEnd sent before the store made the end durable")
			}
			if tc.frameStore {
				d.release(-1, nil)
				if _, end, _ := sr.rc[0].frames(t); end != nil {
					t.Fatal("MatchEnd sent with the frame store's answer still to come")
				}
				fd.release(-1, nil)
			} else {
				d.release(-1, nil)
			}
			for _, c := range sr.rc {
				fs, end, before := c.frames(t)
				if end == nil {
					t.Fatal("no MatchEnd once everything was durable")
				}
				if end.Reason != lspb.MatchEndReason_MATCH_END_RESULT || end.LastFrame != 4 {
					t.Fatalf("MatchEnd %v", end)
				}
				if !slices.Equal(frameNumbers(fs), seqTo(1, 4)) || before != len(fs) {
					t.Fatalf("frames %v, %d of them before MatchEnd: want 1-4, all before it", frameNumbers(fs), before)
				}
			}
		})
	}
}

// countingHandler counts log records by message.
type countingHandler struct {
	mu   sync.Mutex
	msgs map[string]int
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.msgs == nil {
		h.msgs = make(map[string]int)
	}
	h.msgs[r.Message]++
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

func (h *countingHandler) count(prefix string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for m, c := range h.msgs {
		if len(m) >= len(prefix) && m[:len(prefix)] == prefix {
			n += c
		}
	}
	return n
}

// BenchmarkRoomTickSync is BenchmarkRoomTick with Sync frames on a store
// with everything durable already (it answers AfterDurable at once, on
// the tick): the outbox's cost per packet (a release, the packet copied,
// the live connections listed, the answer). Async frames cost nothing of
// it (BenchmarkRoomTick).
func BenchmarkRoomTickSync(b *testing.B) {
	d := newDurableStore(store.KindFrames)
	d.setAuto(true)
	l := syncService(b, d, nil)
	r, conns := runningRoom(b, l)
	now := time.Now()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		tickWithInputs(r, i, now)
		i++
	}
	b.ReportMetric(float64(conns[0].bytes)/float64(i)*30, "B/s/player@30Hz")
}

// TestSyncLeaverGetsNoMoreFrames: a player who leaves gets no frame after
// its leave, though releases made before it named its connection.
func TestSyncLeaverGetsNoMoreFrames(t *testing.T) {
	d := newDurableStore(store.KindFrames)
	sr := newSyncRoom(t, d, nil)
	sr.tick(t, 3)
	if err := sr.l.rooms.Leave(sr.ids[1], sr.conns[1]); err != nil {
		t.Fatal(err)
	}
	sr.tick(t, 1)
	d.release(-1, nil)
	if fs, _, _ := sr.rc[1].frames(t); len(fs) != 0 {
		t.Fatalf("the leaver got frames %v after its leave", frameNumbers(fs))
	}
	if fs, _, _ := sr.rc[0].frames(t); !slices.Equal(frameNumbers(fs), seqTo(1, 4)) {
		t.Fatalf("a seat got frames %v, want 1-4", frameNumbers(fs))
	}
}

// TestSyncMatchEndAtShutdown: with Sync matches, a server's shutdown waits
// for the MatchEnds to be durable, so the players still get them before
// their connections close.
func TestSyncMatchEndAtShutdown(t *testing.T) {
	d := newDurableStore(store.KindFrames, store.KindMatches)
	d.delay = 100 * time.Millisecond
	e := startLockstep(t, nil, WithFrameStore(d), WithMatchStore(d))
	a, b := e.dial(), e.dial()
	a.login("")
	b.login("")
	b.join(a.create(&lspb.RoomOptions{MaxPlayers: 2}).Room.RoomId)
	a.matchStart()
	a.frames(3)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.ts.Shutdown(ctx) }()
	for _, c := range []*lsClient{a, b} {
		var end lspb.MatchEnd
		c.expect(lspb.MsgMatchEnd, &end)
		if end.Reason != lspb.MatchEndReason_MATCH_END_SHUTDOWN {
			t.Fatalf("MatchEnd %v, want SHUTDOWN", &end)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}
