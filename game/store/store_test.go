package store_test

import (
	"testing"

	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/game/store/storetest"
)

func TestMemoryStores(t *testing.T) {
	m := store.NewMemoryStore()
	storetest.Run(t, storetest.Stores{Players: m, Matches: m, Sessions: m, Frames: store.NewMemoryFrameStore(10)})
}
