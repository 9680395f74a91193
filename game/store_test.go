package game_test

import (
	"testing"

	"github.com/zinxgame/zinxgame/game"
	"github.com/zinxgame/zinxgame/game/storetest"
)

func TestMemoryStores(t *testing.T) {
	m := game.NewMemoryStore()
	storetest.Run(t, storetest.Stores{Players: m, Matches: m, Sessions: m, Frames: game.NewMemoryFrameStore(10)})
}
