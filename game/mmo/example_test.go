package mmo_test

import (
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/game/mmo"
	"github.com/zinxgame/zinxgame/protocol/mmopb"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
)

// An application adds its own message to the world: an action (Zinx's
// BroadCast Tp 3) that the players in view see, sent on the sender's
// scene's tick with the rest of that tick's messages. Enter and leave
// hooks see every player, and a second scene is one a player can move to
// with ChangeScene (15).
func ExampleWorld_Handle() {
	cfg := mmo.DefaultConfig()
	cfg.Scenes = []string{"dungeon"}
	w, err := mmo.NewWorld(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Println(err)
		return
	}
	const msgAction = 4 // client -> server: BroadCast carrying ActionData
	err = w.Handle(msgAction, func(s *mmo.Scene, p *mmo.Player, data []byte) {
		var act mmopb.BroadCast
		if proto.Unmarshal(data, &act) != nil {
			return
		}
		out, _ := proto.Marshal(&mmopb.BroadCast{PID: p.PID, Tp: mmopb.TpAction,
			Data: &mmopb.BroadCast_ActionData{ActionData: act.GetActionData()}})
		s.SendView(p, mmopb.MsgBroadCast, out, true)
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	w.OnEnter(func(s *mmo.Scene, p *mmo.Player) { slog.Debug("entered", "pid", p.PID, "scene", s.Name()) })
	w.OnLeave(func(s *mmo.Scene, p *mmo.Player, why mmo.LeaveReason) {
		slog.Debug("left", "pid", p.PID, "scene", s.Name(), "why", why)
	})
	w.OnTick(func(s *mmo.Scene, frame uint64, now time.Time) {
		// A scene's own simulation (NPCs, timers) runs here, on its tick.
	})

	srv, err := znet.NewServer(zconf.Default())
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := srv.Mount("mmo", w); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(w.Scene("dungeon").Name(), w.Len())
	_ = w.Close()
	// Output: dungeon 0
}
