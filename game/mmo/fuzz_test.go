package mmo

import (
	"testing"

	"github.com/zinxgame/zinxgame/protocol/mmopb"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// FuzzSceneInput feeds arbitrary payloads to the world's routes (chat,
// move, scene change) and applies them on a tick: whatever a client sends,
// the routes refuse it or the scene applies it, no scene fails, and every
// player stays placed on the map.
func FuzzSceneInput(f *testing.F) {
	f.Add(uint8(0), []byte{0x0a, 0x02, 'h', 'i'})
	f.Add(uint8(1), []byte{0x0d, 0, 0, 0x20, 0x43, 0x1d, 0, 0, 0x06, 0x43})
	f.Add(uint8(1), []byte{0x0d, 0, 0, 0xc0, 0x7f}) // NaN X
	f.Add(uint8(2), []byte{0x0a, 0x07, 'd', 'u', 'n', 'g', 'e', 'o', 'n'})
	f.Add(uint8(2), []byte{0x0a, 0x03, 'm', 'm', 'o'})
	f.Add(uint8(3), []byte{0xff, 0xff})
	cfg := DefaultConfig()
	cfg.Scenes = []string{"dungeon"}
	cfg.ChatRate = Disabled
	w, step := manualWorld(f, cfg)
	conns := make([]*writeConn, 3)
	for i := range conns {
		conns[i] = newWriteConn()
		w.OnConnect(conns[i])
	}
	step()
	ids := []uint32{mmopb.MsgTalk, mmopb.MsgMove, mmopb.MsgChangeScene, 4}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		c := conns[int(which)%len(conns)]
		id := ids[int(which/3)%len(ids)]
		w.route(id)(znettest.NewRequest(c, id, data))
		step()
		step() // a scene change arrives on the next tick
		for _, c := range conns {
			c.Reset()
		}
		if n := w.Len(); n != len(conns) {
			t.Fatalf("%d players placed after %d bytes to %d, want %d", n, len(data), id, len(conns))
		}
		for _, s := range w.scenes {
			if w.Rooms().Room(s.id) == nil {
				t.Fatalf("scene %q ended", s.name)
			}
			for _, p := range s.players {
				pos := p.pos
				if !finite(pos.X) || !finite(pos.Z) || pos.X < s.m.MinX || pos.X > s.m.MaxX || pos.Z < s.m.MinZ || pos.Z > s.m.MaxZ {
					t.Fatalf("player %d at %+v, off the map", p.PID, pos)
				}
			}
		}
	})
}
