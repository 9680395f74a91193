package game

import (
	"log/slog"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/protocol"
	"github.com/zinxgame/zinxgame/protocol/pb"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
)

// fakeConn records what a player is sent; the world only needs SendMsg and
// properties from a connection.
type fakeConn struct {
	znet.Connection // unused methods; calling one would panic
	props           map[string]any
	sent            []sentMsg
	max             int
}

type sentMsg struct {
	id   uint32
	data []byte
}

func (c *fakeConn) SetProperty(k string, v any) { c.props[k] = v }
func (c *fakeConn) GetProperty(k string) (any, bool) {
	v, ok := c.props[k]
	return v, ok
}
func (c *fakeConn) SendMsg(id uint32, data []byte) error {
	if len(data) > c.max {
		return znet.ErrPacketTooLarge
	}
	c.sent = append(c.sent, sentMsg{id, data})
	return nil
}

// TestCrowdedLoginListIsSplit: with more players around than fit in one
// packet, the login list comes in several 202 messages that together name
// every one of them, each within MaxPackageSize.
func TestCrowdedLoginListIsSplit(t *testing.T) {
	cfg := DefaultWorldConfig()
	cfg.SpawnRange = 0 // everyone in one spot, all in view of each other
	w, err := NewWorld(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	max := zconf.Default().MaxPackageSize
	const crowd = 450
	for range crowd {
		w.OnConnect(&fakeConn{props: map[string]any{}, max: max})
	}
	last := &fakeConn{props: map[string]any{}, max: max}
	w.OnConnect(last)
	seen := map[int32]bool{}
	lists := 0
	for _, m := range last.sent {
		if m.id != protocol.MsgSyncPlayers {
			continue
		}
		lists++
		var s pb.SyncPlayers
		if err := proto.Unmarshal(m.data, &s); err != nil {
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
