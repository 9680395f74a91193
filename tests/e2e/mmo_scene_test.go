package e2e

import (
	"log/slog"
	"testing"

	"github.com/zinxgame/zinxgame/game/mmo"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/mmopb"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// TestMMOSceneChangeAndRestore, over a real server: a logged-in player
// moves to a second scene (15), gets SceneChanged (16) and the scene's
// players, walks there and leaves; logging in again with its token brings
// it back into that scene where it stood. A Zinx client in the first scene
// sees it leave and hears nothing of the second scene.
func TestMMOSceneChangeAndRestore(t *testing.T) {
	wc := mmo.DefaultConfig()
	wc.SpawnRange = 0
	wc.ChatRate = mmo.Disabled // the steps end with chat barriers
	wc.Scenes = []string{"dungeon"}
	world, err := mmo.NewWorld(wc, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ts := znettest.NewServer(t, zconf.Default(), func(srv *znet.Server) {
		if err := srv.Mount("mmo", world); err != nil {
			t.Fatal(err)
		}
	})
	zinx := joinMMO(t, ts.Dial) // never logs in, stays in the first scene
	a := joinMMO(t, ts.Dial)
	a.send(mmopb.MsgMmoLogin, &commonpb.Login{Name: "ann"})
	var ack commonpb.LoginAck
	a.p.ExpectSkipProto(mmopb.MsgMmoLoginAck, &ack)
	znettest.Eventually(t, func() bool { return world.Attached(ack.PlayerId) }, "the login to apply")

	a.send(mmopb.MsgChangeScene, &mmopb.ChangeScene{Scene: "dungeon"})
	var sc mmopb.SceneChanged
	a.p.ExpectSkipProto(mmopb.MsgSceneChanged, &sc)
	if sc.Scene != "dungeon" {
		t.Fatalf("SceneChanged %v, want the dungeon", &sc)
	}
	var around mmopb.SyncPlayers
	a.p.ExpectSkipProto(mmopb.MsgSyncPlayers, &around)
	if len(around.Ps) != 0 {
		t.Fatalf("the dungeon lists %v, want nobody", around.Ps)
	}
	var gone mmopb.SyncPID
	zinx.p.ExpectSkipProto(mmopb.MsgLeave, &gone)
	if gone.PID != a.pid {
		t.Fatalf("the first scene's player saw %d leave, want %d", gone.PID, a.pid)
	}
	a.move(200, 300)
	a.send(mmopb.MsgTalk, &mmopb.Talk{Content: "in the dungeon"})
	a.until("in the dungeon")
	a.send(mmopb.MsgChangeScene, &mmopb.ChangeScene{Scene: "atlantis"})
	var e commonpb.Error
	a.p.ExpectSkipProto(mmopb.MsgMmoError, &e)
	if e.Code != commonpb.ErrorCode_ERROR_ROOM_NOT_FOUND || e.RequestId != mmopb.MsgChangeScene {
		t.Fatalf("an unknown scene: %v, want ERROR_ROOM_NOT_FOUND for 15", &e)
	}
	a.p.Close()
	znettest.Eventually(t, func() bool { return world.Len() == 1 }, "ann to leave")

	b := joinMMO(t, ts.Dial) // enters the first scene, as everyone does
	b.send(mmopb.MsgMmoLogin, &commonpb.Login{Name: "ann", Token: ack.Token})
	b.p.ExpectSkipProto(mmopb.MsgMmoLoginAck, &ack)
	b.p.ExpectSkipProto(mmopb.MsgSceneChanged, &sc)
	if sc.Scene != "dungeon" || sc.GetP().GetX() != 200 || sc.GetP().GetZ() != 300 {
		t.Fatalf("restored as %v, want the dungeon at (200, 300)", &sc)
	}
	if pi, ok := world.Player(b.pid); !ok || pi.Account() != ack.PlayerId {
		t.Fatal("the restored player is not attached to its account")
	}
}
