package main

import (
	"github.com/zinxgame/zinxgame/examples/lockstep/demo"
	"testing"

	"github.com/zinxgame/zinxgame/protocol/lspb"
)

func TestFrameSeq(t *testing.T) {
	type want struct{ from, n, skipped, repeated uint32 }
	var q frameSeq
	q.start(1)
	for i, c := range []struct {
		first, count uint32
		want
	}{
		{1, 1, want{1, 1, 0, 0}},   // 1
		{2, 3, want{2, 3, 0, 0}},   // 2-4
		{5, 1, want{5, 1, 0, 0}},   // 5
		{8, 2, want{8, 2, 2, 0}},   // 8-9: 6-7 missing
		{9, 1, want{10, 0, 0, 1}},  // 9 again
		{6, 3, want{10, 0, 0, 3}},  // 6-8: 8 seen, 6-7 too late
		{9, 4, want{10, 3, 0, 1}},  // 9-12: 9 again, 10-12 new
		{13, 1, want{13, 1, 0, 0}}, // 13
	} {
		from, n, skipped, repeated := q.accept(c.first, c.count)
		if got := (want{from, n, skipped, repeated}); got != c.want {
			t.Errorf("step %d: accept(%d, %d) = %+v, want %+v", i, c.first, c.count, got, c.want)
		}
	}
	if q.gaps != 1 || q.gapFrames != 2 || q.dups != 3 || q.dupFrames != 5 || q.last() != 13 {
		t.Errorf("gaps %d (%d frames), dups %d (%d frames), last %d; want 1 (2), 3 (5), 13",
			q.gaps, q.gapFrames, q.dups, q.dupFrames, q.last())
	}
}

// A reconnection: the bot had frame 41, catch-up brings 42..60 in batches,
// then live frames follow. Exactly right: nothing counted. One frame off
// either way: counted.
func TestFrameSeqCatchUp(t *testing.T) {
	for _, c := range []struct {
		name             string
		catchFrom        uint32
		liveFrom         uint32
		gapFrames, dupFr uint64
	}{
		{"exact", 42, 61, 0, 0},
		{"catch-up starts a frame late", 43, 61, 1, 0},
		{"catch-up repeats the last frame", 41, 61, 0, 1},
		{"live repeats the last catch-up frame", 42, 60, 0, 1},
		{"live skips a frame", 42, 62, 1, 0},
	} {
		var q frameSeq
		q.start(1)
		q.accept(1, 41)
		for f := c.catchFrom; f <= 60; f += 10 {
			q.accept(f, min(10, 61-f))
		}
		q.accept(c.liveFrom, 1)
		if q.gapFrames != c.gapFrames || q.dupFrames != c.dupFr {
			t.Errorf("%s: %d frames missing, %d repeated; want %d, %d", c.name, q.gapFrames, q.dupFrames, c.gapFrames, c.dupFr)
		}
	}
}

func TestInflight(t *testing.T) {
	var f inflight
	for seq := uint32(1); seq <= 6; seq++ {
		gen := uint32(1)
		if seq > 4 {
			gen = 2 // sent after a reconnection
		}
		if f.push(sent{seq: seq, at: int64(seq) * 100, gen: gen}) {
			t.Fatalf("push %d: expired", seq)
		}
	}
	s, lostNow, lostOld, ok := f.match(1, 1)
	if !ok || s.at != 100 || lostNow != 0 || lostOld != 0 {
		t.Errorf("match(1) = %+v, %d, %d, %v", s, lostNow, lostOld, ok)
	}
	if _, _, _, ok := f.match(1, 1); ok {
		t.Error("seq 1 matched twice")
	}
	// 2, 3 and 4 were sent on connection 1 and never relayed: lost with it.
	s, lostNow, lostOld, ok = f.match(5, 2)
	if !ok || s.at != 500 || s.gen != 2 || lostNow != 0 || lostOld != 3 {
		t.Errorf("match(5) = %+v, lost %d now, %d old, %v; want at 500, 0, 3", s, lostNow, lostOld, ok)
	}
	if _, _, _, ok := f.match(99, 2); ok {
		t.Error("seq 99, never sent, matched")
	}
	if f.n != 1 {
		t.Errorf("%d waiting, want 1 (seq 6)", f.n)
	}
	// Skipping a seq on the connection in use is a loss of the server's.
	f.push(sent{seq: 7, gen: 2})
	if _, lostNow, lostOld, ok := f.match(7, 2); !ok || lostNow != 1 || lostOld != 0 {
		t.Errorf("match(7): lost %d now, %d old, %v; want 1, 0", lostNow, lostOld, ok)
	}

	var g inflight
	expired := 0
	for seq := range uint32(inflightSize + 10) {
		if g.push(sent{seq: seq}) {
			expired++
		}
	}
	if expired != 10 || g.n != inflightSize {
		t.Errorf("%d expired, %d waiting; want 10, %d", expired, g.n, inflightSize)
	}
	if _, _, _, ok := g.match(5, 0); ok {
		t.Error("an expired seq matched")
	}
	if _, lost, _, ok := g.match(10, 0); !ok || lost != 0 {
		t.Errorf("the oldest kept seq: ok %v, lost %d", ok, lost)
	}
}

func TestHashRing(t *testing.T) {
	var r hashRing
	if _, ok := r.get(0); ok {
		t.Error("frame 0 found in an empty ring")
	}
	for f := uint32(1); f <= 300; f++ {
		r.put(f, uint64(f)*3)
	}
	if h, ok := r.get(300); !ok || h != 900 {
		t.Errorf("get(300) = %d, %v", h, ok)
	}
	if h, ok := r.get(300 - hashRingSize + 1); !ok || h != uint64(300-hashRingSize+1)*3 {
		t.Errorf("oldest kept: %d, %v", h, ok)
	}
	if _, ok := r.get(300 - hashRingSize); ok {
		t.Error("a frame pushed out is found")
	}
}

func TestValidBatch(t *testing.T) {
	in := []*lspb.SlotInput{{Slot: 1, Data: demo.EncodeInput(1, 0), Seq: 1}}
	busy := func(offsets ...uint32) (fi []*lspb.FrameInputs) {
		for _, o := range offsets {
			fi = append(fi, &lspb.FrameInputs{Offset: o, Inputs: in})
		}
		return fi
	}
	for _, c := range []struct {
		b  *lspb.FrameBatch
		ok bool
	}{
		{&lspb.FrameBatch{FirstFrame: 1, Count: 1}, true},
		{&lspb.FrameBatch{FirstFrame: 5, Count: 3, Busy: busy(0, 2)}, true},
		{&lspb.FrameBatch{FirstFrame: 5, Count: 0}, false},                                         // no frame
		{&lspb.FrameBatch{FirstFrame: 0, Count: 1}, false},                                         // frames start at 1
		{&lspb.FrameBatch{FirstFrame: 5, Count: 3, Busy: busy(3)}, false},                          // outside the batch
		{&lspb.FrameBatch{FirstFrame: 5, Count: 3, Busy: busy(2, 1)}, false},                       // out of order
		{&lspb.FrameBatch{FirstFrame: 5, Count: 3, Busy: busy(1, 1)}, false},                       // twice
		{&lspb.FrameBatch{FirstFrame: 5, Count: 3, Busy: []*lspb.FrameInputs{{Offset: 1}}}, false}, // busy, no input
	} {
		if validBatch(c.b) != c.ok {
			t.Errorf("validBatch(%v) = %v", c.b, !c.ok)
		}
	}
}
