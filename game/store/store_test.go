package store_test

import (
	"errors"
	"testing"

	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/game/store/storetest"
)

func TestMemoryStores(t *testing.T) {
	m := store.NewMemoryStore()
	storetest.Run(t, storetest.Stores{Players: m, Matches: m, Sessions: m, Frames: store.NewMemoryFrameStore(10)})
}

// A flood of frames into a bounded memory store: ended matches go first,
// then the running match that would pass the bound stops being recorded,
// and its reads are refused whole instead of answered with holes.
func TestMemoryFrameStoreBound(t *testing.T) {
	s := store.NewBoundedMemoryFrameStore(100, 256<<10)
	in := make([]byte, 1000)
	for f := uint32(1); f <= 100; f++ {
		if err := s.AppendFrame(1, f, in); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.EndMatch(1, 100); err != nil {
		t.Fatal(err)
	}
	var refused error
	for f := uint32(1); f <= 1000 && refused == nil; f++ {
		refused = s.AppendFrame(2, f, in)
	}
	if !errors.Is(refused, store.ErrStoreFull) {
		t.Fatalf("1 MB into a 256 KiB store: %v, want ErrStoreFull", refused)
	}
	if b := s.Bytes(); b > 256<<10 {
		t.Fatalf("the store holds %d bytes, over its 256 KiB bound", b)
	}
	if err := s.ReadFrames(1, 1, 100, func(uint32, []byte) bool { return true }); !errors.Is(err, store.ErrNoMatch) {
		t.Fatalf("the ended match was not dropped first: %v", err)
	}
	if err := s.ReadFrames(2, 1, 10, func(uint32, []byte) bool { return true }); !errors.Is(err, store.ErrFramesLost) {
		t.Fatalf("reading a match with refused frames: %v, want ErrFramesLost", err)
	}
}
