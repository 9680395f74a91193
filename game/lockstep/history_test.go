package lockstep

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/protocol/lspb"
)

func TestFrameLogReadRanges(t *testing.T) {
	s := store.NewMemoryFrameStore(1)
	// Busy frames 3, 6, 9, ... 3000: many index marks to seek over.
	for f := uint32(3); f <= 3000; f += 3 {
		in := appendSlotInput(nil, f%4, []byte{byte(f)}, f)
		if err := s.AppendFrame(1, f, in); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AppendFrame(1, 3000, nil); err == nil {
		t.Fatal("a frame appended twice was accepted")
	}
	for _, r := range [][2]uint32{{1, 2}, {1, 3}, {500, 700}, {2999, 5000}, {1000, 1000}} {
		var got []uint32
		err := s.ReadFrames(1, r[0], r[1], func(f uint32, in []byte) bool {
			var fi lspb.FrameInputs
			if err := proto.Unmarshal(in, &fi); err != nil || len(fi.Inputs) != 1 || fi.Inputs[0].Seq != f {
				t.Fatalf("frame %d inputs %x (%v)", f, in, err)
			}
			got = append(got, f)
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		var want []uint32
		for f := r[0]; f <= r[1] && f <= 3000; f++ {
			if f%3 == 0 {
				want = append(want, f)
			}
		}
		if len(got) != len(want) || (len(got) > 0 && (got[0] != want[0] || got[len(got)-1] != want[len(want)-1])) {
			t.Fatalf("range %v: got %d frames %v..., want %d", r, len(got), got[:min(3, len(got))], len(want))
		}
	}
	// Ended matches beyond the kept count are dropped.
	_ = s.EndMatch(1, 3000)
	_ = s.EndMatch(2, 10)
	if err := s.ReadFrames(1, 1, 10, func(uint32, []byte) bool { return true }); err == nil {
		t.Fatal("match 1 kept beyond KeptMatches")
	}
}

func TestBatchWriterDecodes(t *testing.T) {
	var w batchWriter
	w.begin(100, 5)
	w.busy(100, appendSlotInput(nil, 0, []byte("a"), 1))
	w.busy(103, appendSlotInput(appendSlotInput(nil, 2, []byte("b"), 7), 1, nil, 0))
	var b lspb.FrameBatch
	if err := proto.Unmarshal(w.b, &b); err != nil {
		t.Fatal(err)
	}
	if b.FirstFrame != 100 || b.Count != 5 || len(b.Busy) != 2 || b.Busy[0].Offset != 0 || b.Busy[1].Offset != 3 ||
		string(b.Busy[0].Inputs[0].Data) != "a" || b.Busy[1].Inputs[0].Slot != 2 || b.Busy[1].Inputs[0].Seq != 7 ||
		b.Busy[1].Inputs[1].Slot != 1 {
		t.Fatalf("decoded %v", &b)
	}
	w.begin(7, 1)
	if len(w.b) > 4 {
		t.Fatalf("an empty one-frame batch takes %d bytes", len(w.b))
	}
}
