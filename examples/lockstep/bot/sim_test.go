package main

import (
	"github.com/zinxgame/zinxgame/examples/lockstep/demo"
	"math/rand/v2"
	"testing"

	"github.com/zinxgame/zinxgame/protocol/lspb"
)

// frames makes n frames of random inputs from seats players, about half of
// them empty, as a server would relay them.
func frames(seed uint64, seats, n int) [][]*lspb.SlotInput {
	rng := rand.New(rand.NewPCG(seed, 0))
	out := make([][]*lspb.SlotInput, n)
	seq := make([]uint32, seats)
	for f := range out {
		for rng.IntN(2) == 0 {
			slot := rng.IntN(seats)
			seq[slot]++
			out[f] = append(out[f], &lspb.SlotInput{Slot: uint32(slot), Seq: seq[slot],
				Data: demo.EncodeInput(int8(rng.IntN(3)-1), int8(rng.IntN(3)-1))})
		}
	}
	return out
}

// batches packs frames (frame 1 first) into FrameBatches of up to per frames.
func batches(fr [][]*lspb.SlotInput, per int) (out []*lspb.FrameBatch) {
	for first := 0; first < len(fr); first += per {
		b := &lspb.FrameBatch{FirstFrame: uint32(first + 1), Count: uint32(min(per, len(fr)-first))}
		for i := range int(b.Count) {
			if in := fr[first+i]; len(in) > 0 {
				b.Busy = append(b.Busy, &lspb.FrameInputs{Offset: uint32(i), Inputs: in})
			}
		}
		out = append(out, b)
	}
	return out
}

// play applies batches as a bot does (frameSeq, then eachFrame) and returns
// the state hash after every frame.
func play(t *testing.T, seed uint64, seats int, bs []*lspb.FrameBatch) []uint64 {
	t.Helper()
	s := demo.New(seed, seats, 0)
	var q frameSeq
	q.start(1)
	var hashes []uint64
	for _, b := range bs {
		if !validBatch(b) {
			t.Fatalf("invalid batch %v", b)
		}
		from, n, skipped, _ := q.accept(b.FirstFrame, b.Count)
		if skipped > 0 {
			t.Fatalf("gap before frame %d", b.FirstFrame)
		}
		eachFrame(b, from, n, func(f uint32, inputs []*lspb.SlotInput) {
			for _, in := range inputs {
				if !s.Input(in.Slot, in.Data) {
					t.Fatalf("frame %d: input %v refused", f, in)
				}
			}
			s.Step()
			if s.Frame != f {
				t.Fatalf("sim at frame %d, applying %d", s.Frame, f)
			}
			hashes = append(hashes, s.Hash())
		})
	}
	return hashes
}

func TestSimDeterministic(t *testing.T) {
	const seats, n, seed = 4, 600, 42
	fr := frames(1, seats, n)
	want := play(t, seed, seats, batches(fr, 1))
	if len(want) != n {
		t.Fatalf("%d hashes, want %d", len(want), n)
	}
	// The same frames in other batch sizes, as catch-up sends them, and with
	// repeated frames (a duplicate is dropped by frameSeq): the same hashes.
	for _, per := range []int{2, 3, 10} {
		if got := play(t, seed, seats, batches(fr, per)); !equal(got, want) {
			t.Errorf("batches of %d frames: hashes differ from batches of 1", per)
		}
	}
	// Batches 1-5, 6-10, 11-15, then 8-19 (8-15 repeated), then 16-20
	// (16-19 repeated), ...
	dup := batches(fr, 5)
	over := batches(fr[7:19], 12)[0]
	over.FirstFrame = 8
	dup = append(dup[:3:3], append([]*lspb.FrameBatch{over}, dup[3:]...)...)
	if got := play(t, seed, seats, dup); !equal(got, want) {
		t.Errorf("with repeated frames: hashes differ")
	}

	// Everything feeds the hash: the seed, one input, the order of inputs.
	if got := play(t, seed+1, seats, batches(fr, 1)); got[n-1] == want[n-1] {
		t.Errorf("another seed: same final hash")
	}
	changed := frames(1, seats, n) // the same frames, new values
	for f := range changed {
		if len(changed[f]) > 0 {
			in := changed[f][0]
			dx := int8(1)
			if int8(in.Data[0]) == 1 {
				dx = -1
			}
			in.Data = demo.EncodeInput(dx, int8(in.Data[1]))
			break
		}
	}
	if got := play(t, seed, seats, batches(changed, 1)); got[n-1] == want[n-1] {
		t.Errorf("one input changed: same final hash")
	}
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSimRejectsBadInput(t *testing.T) {
	s := demo.New(1, 2, 0)
	h := s.Hash()
	for _, c := range []struct {
		slot uint32
		data []byte
	}{{2, demo.EncodeInput(1, 1)}, {0, []byte{1}}, {0, []byte{1, 1, 1}}, {0, nil}} {
		if s.Input(c.slot, c.data) {
			t.Errorf("input(%d, %v) accepted", c.slot, c.data)
		}
	}
	if s.Hash() != h {
		t.Error("a refused input changed the state")
	}
	// Out-of-range values are clamped to -1..1, as any int8 may arrive.
	a, b := demo.New(1, 1, 0), demo.New(1, 1, 0)
	a.Input(0, []byte{100, 0x80})
	b.Input(0, demo.EncodeInput(1, -1))
	if a.Hash() != b.Hash() {
		t.Error("input (100, -128) is not (1, -1)")
	}
}

func TestSimWrapsAround(t *testing.T) {
	s := demo.New(7, 1, 0)
	s.Units[0] = demo.Unit{X: 1, Y: demo.WorldSize - 2, VX: -demo.MaxSpeed, VY: demo.MaxSpeed}
	for range 1000 {
		s.Step()
		if u := s.Units[0]; u.X < 0 || u.X >= demo.WorldSize || u.Y < 0 || u.Y >= demo.WorldSize {
			t.Fatalf("frame %d: unit at (%d, %d)", s.Frame, u.X, u.Y)
		}
		if u := s.Units[0]; u.VX < -demo.MaxSpeed || u.VX > demo.MaxSpeed {
			t.Fatalf("frame %d: velocity %d", s.Frame, u.VX)
		}
	}
}
