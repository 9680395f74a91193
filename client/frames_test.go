package client

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// recGame records the frames it steps.
type recGame struct{ frames []uint32 }

func (g *recGame) Start(*lspb.MatchStart) { g.frames = nil }
func (g *recGame) Step(f Frame)           { g.frames = append(g.frames, f.Number) }
func (g *recGame) Hash() uint64           { return uint64(len(g.frames)) }

// sequencer is a client whose events are fed by hand, on a connection to
// a server that records what the client sends.
func sequencer(t testing.TB) (*Lockstep, *recGame, *link, chan *lspb.Reconnect) {
	c, g, l, got, _ := sequencerHashes(t)
	return c, g, l, got
}

// sequencerHashes is sequencer with the hash reports the server got too.
func sequencerHashes(t testing.TB) (*Lockstep, *recGame, *link, chan *lspb.Reconnect, chan *lspb.HashReport) {
	t.Helper()
	got := make(chan *lspb.Reconnect, 8)
	hashes := make(chan *lspb.HashReport, 64)
	ts := znettest.NewServer(t, znettest.Config(), func(srv *znet.Server) {
		srv.AddRouterFunc(lspb.MsgReconnect, func(req ziface.IRequest) {
			m := &lspb.Reconnect{}
			if proto.Unmarshal(req.GetData(), m) == nil {
				got <- m
			}
		})
		srv.AddRouterFunc(lspb.MsgHashReport, func(req ziface.IRequest) {
			m := &lspb.HashReport{}
			if proto.Unmarshal(req.GetData(), m) == nil {
				select {
				case hashes <- m:
				default:
				}
			}
		})
	})
	n := zconf.Default()
	d := testDialer(t, Config{Net: &n})
	conn, err := d.dial(ctxT(t), ts.Addr)
	if err != nil {
		t.Fatal(err)
	}
	g := &recGame{}
	c := d.newLockstep(ts.Addr, Player{}, Handler{Game: g}, false)
	l := &link{c: c, conn: conn, gen: c.gen.Add(1)}
	c.handle(event{l: l, id: lspb.MsgMatchStart, msg: &lspb.MatchStart{MatchId: 7, StartFrame: 1, HashInterval: 100}})
	return c, g, l, got, hashes
}

func TestOnlyLiveFramesAreHashReported(t *testing.T) {
	c, _, l, _, hashes := sequencerHashes(t)
	c.handle(event{l: l, id: lspb.MsgMatchStart, msg: &lspb.MatchStart{MatchId: 8, StartFrame: 1, HashInterval: 10}})
	c.handle(event{l: l, id: lspb.MsgCatchUp, msg: batchOf(1, 40)}) // a reload's catch-up: 4 rounds, all past judging
	c.handle(event{l: l, id: lspb.MsgFrames, msg: batchOf(41, 10)})
	select {
	case h := <-hashes:
		if h.Frame != 50 {
			t.Fatalf("first hash report for frame %d, want 50 (the first live round)", h.Frame)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no hash report for a live round")
	}
	select {
	case h := <-hashes:
		t.Fatalf("another report, for frame %d", h.Frame)
	case <-time.After(100 * time.Millisecond):
	}
}

func batchOf(first, count uint32, busy ...uint32) *lspb.FrameBatch {
	b := &lspb.FrameBatch{FirstFrame: first, Count: count}
	for _, off := range busy {
		b.Busy = append(b.Busy, &lspb.FrameInputs{Offset: off, Inputs: []*lspb.SlotInput{{Slot: 0, Data: []byte{1, 0}, Seq: off}}})
	}
	return b
}

func TestFramesRepeatedAreSkipped(t *testing.T) {
	c, g, l, _ := sequencer(t)
	feed := func(b *lspb.FrameBatch) { c.handle(event{l: l, id: lspb.MsgFrames, msg: b, at: time.Now()}) }
	feed(batchOf(1, 5, 0, 3))
	feed(batchOf(3, 5)) // 3..7: 3, 4 and 5 again
	feed(batchOf(2, 2)) // all old
	if want := []uint32{1, 2, 3, 4, 5, 6, 7}; !slices.Equal(g.frames, want) {
		t.Fatalf("stepped %v, want %v", g.frames, want)
	}
	if s := c.Stats(); s.Dups != 2 || s.DupFrames != 5 {
		t.Fatalf("Dups %d DupFrames %d, want 2 and 5", s.Dups, s.DupFrames)
	}
}

func TestFramesMissingAreAskedForAgain(t *testing.T) {
	c, g, l, got := sequencer(t)
	feed := func(id uint32, b *lspb.FrameBatch) { c.handle(event{l: l, id: id, msg: b, at: time.Now()}) }
	feed(lspb.MsgFrames, batchOf(1, 5))
	feed(lspb.MsgFrames, batchOf(8, 2)) // 6 and 7 never came
	select {
	case m := <-got:
		if m.LastFrame != 5 {
			t.Fatalf("Reconnect from %d, want 5", m.LastFrame)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no Reconnect after a gap")
	}
	feed(lspb.MsgFrames, batchOf(10, 1)) // live frames before the resync's MatchStart are not applied
	c.handle(event{l: l, id: lspb.MsgMatchStart, msg: &lspb.MatchStart{MatchId: 7, StartFrame: 1, HashInterval: 100}})
	feed(lspb.MsgCatchUp, batchOf(6, 5))
	if want := []uint32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}; !slices.Equal(g.frames, want) {
		t.Fatalf("stepped %v, want %v", g.frames, want)
	}
	if s := c.Stats(); s.Gaps != 1 || s.GapFrames != 2 {
		t.Fatalf("Gaps %d GapFrames %d, want 1 and 2", s.Gaps, s.GapFrames)
	}
}

func TestMalformedBatchesAreRefused(t *testing.T) {
	c, g, l, _ := sequencer(t)
	for _, b := range []*lspb.FrameBatch{
		{FirstFrame: 1, Count: 0},
		{FirstFrame: 0, Count: 3},
		{FirstFrame: 1, Count: 2, Busy: []*lspb.FrameInputs{{Offset: 2}}},
		{FirstFrame: 1, Count: 3, Busy: []*lspb.FrameInputs{{Offset: 1}, {Offset: 1}}},
		{FirstFrame: 1 << 31, Count: 1 << 31},
	} {
		c.handle(event{l: l, id: lspb.MsgFrames, msg: b})
	}
	if len(g.frames) != 0 || c.Stats().Malformed != 5 {
		t.Fatalf("stepped %v, Malformed %d; want none and 5", g.frames, c.Stats().Malformed)
	}
}

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second, Jitter: 0.5}
	for n := range 40 {
		want := min(b.Min<<min(n, 30), b.Max)
		for range 50 {
			d := b.Delay(n, nil)
			if d > want || d < want/2 {
				t.Fatalf("attempt %d: %v outside [%v, %v]", n, d, want/2, want)
			}
		}
	}
	if d := (Backoff{Jitter: -1}).Delay(0, nil); d != 100*time.Millisecond {
		t.Fatalf("no jitter, attempt 0: %v, want 100ms", d)
	}
	if d := (Backoff{Jitter: -1}).Delay(10, nil); d != 5*time.Second {
		t.Fatalf("no jitter, attempt 10: %v, want the 5s cap", d)
	}
}
