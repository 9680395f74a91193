package room_test

import (
	"encoding/binary"
	"sync/atomic"
	"testing"

	"github.com/zinxgame/zinxgame/game/room"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// Over a real server: a member whose connection closes leaves its room as
// dropped, through the hook the mounted manager registers, and the
// server's shutdown ends the room while its members are still connected.
func TestMountedManagerSeesDropsAndShutdown(t *testing.T) {
	l := newRec()
	m, err := room.NewManager(room.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Register("test", func() room.Logic { return l }, room.TypeOptions{}); err != nil {
		t.Fatal(err)
	}
	var roomID atomic.Uint64
	ts := znettest.NewServer(t, znettest.Config(), func(s *znet.Server) {
		if err := s.Mount("rooms", m); err != nil {
			t.Fatal(err)
		}
		// 1: create (the connection ID is the player ID); 2: join room in the payload.
		_ = s.Handle(1, func(req ziface.IRequest) {
			c := req.GetConnection()
			r, err := m.Create("test", "", nil, room.Join{Player: room.Player{ID: c.GetConnID()}, Conn: c}, nil)
			if err != nil {
				t.Error(err)
				return
			}
			roomID.Store(r.ID())
			_ = c.SendMsg(1, nil)
		})
		_ = s.Handle(2, func(req ziface.IRequest) {
			c := req.GetConnection()
			if err := m.Join(binary.LittleEndian.Uint64(req.GetData()), room.Join{Player: room.Player{ID: c.GetConnID()}, Conn: c}, nil); err != nil {
				t.Error(err)
			}
		})
	})
	a, b := ts.Dial(), ts.Dial()
	a.Send(1, nil)
	a.Expect(1)
	expectCall(t, l, "init <nil>")
	first := <-l.calls
	b.Send(2, binary.LittleEndian.AppendUint64(nil, roomID.Load()))
	second := <-l.calls
	if first[:4] != "join" || second[:4] != "join" {
		t.Fatalf("calls %q, %q; want two joins", first, second)
	}
	b.Close()
	got := <-l.calls
	if got[:5] != "leave" || got[len(got)-7:] != "dropped" {
		t.Fatalf("after a client closed: %q, want a leave as dropped", got)
	}
	ts.Close()
	expectCall(t, l, "end shutdown")
}
