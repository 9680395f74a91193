package mmo

import (
	"log/slog"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/game/room"
	"github.com/zinxgame/zinxgame/protocol/mmopb"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// TestCrowdedLoginListIsSplit: with more players around than fit in one
// packet, the login list comes in several 202 messages that together name
// every one of them, each within MaxPackageSize.
func TestCrowdedLoginListIsSplit(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SpawnRange = 0 // everyone in one spot, all in view of each other
	w, err := NewWorld(cfg, slog.New(slog.DiscardHandler), WithRoomConfig(room.Config{Manual: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// Recorders refuse payloads over MaxPackageSize, as connections do: a
	// list too big for one packet is not recorded, and its players are
	// missed.
	const crowd = 450
	for range crowd {
		w.OnConnect(znettest.NewRecorder())
	}
	last := znettest.NewRecorder()
	w.OnConnect(last)
	w.Rooms().Step(time.Now()) // the scene's tick applies the joins
	seen := map[int32]bool{}
	lists := 0
	for _, data := range last.SentTo(mmopb.MsgSyncPlayers) {
		lists++
		var s mmopb.SyncPlayers
		if err := proto.Unmarshal(data, &s); err != nil {
			t.Fatal(err)
		}
		for _, p := range s.Ps {
			seen[p.PID] = true
		}
	}
	if len(seen) != crowd || lists < 2 {
		t.Fatalf("login lists: %d messages naming %d players, want all %d", lists, len(seen), crowd)
	}
}
