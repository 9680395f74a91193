package mmo_test

import (
	"log/slog"
	"testing"

	"github.com/zinxgame/zinxgame/game/mmo"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/mmopb"
	"github.com/zinxgame/zinxgame/znet"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// TestMMOSecondLoginKicksTheFirst: the MMO logs in through the account
// service: an identity that logs in on a second connection kicks the
// first, and the second starts where the first stood (saved on the
// replaced logout, before the new login loads it). Logout (13) is
// answered with LogoutAck (14), the connection closes, and the token is
// refused after.
func TestMMOSecondLoginKicksTheFirst(t *testing.T) {
	w, err := mmo.NewWorld(mmo.DefaultConfig(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ts := znettest.NewServer(t, znettest.Config(), func(s *znet.Server) {
		if err := s.Mount("mmo", w); err != nil {
			t.Fatal(err)
		}
	})
	a := ts.Dial()
	a.SendProto(mmopb.MsgMmoLogin, &commonpb.Login{Name: "ann"})
	var ack commonpb.LoginAck
	a.ExpectSkipProto(mmopb.MsgMmoLoginAck, &ack)
	// The identity is attached once its saved record has loaded (off the
	// worker); a move before that is not the identity's to save.
	znettest.Eventually(t, func() bool { return w.Attached(ack.PlayerId) }, "the login's record to load")
	a.SendProto(mmopb.MsgMove, &mmopb.Position{X: 300, Z: 350})
	a.SendProto(mmopb.MsgTalk, &mmopb.Talk{Content: "moved"})
	for {
		var bc mmopb.BroadCast
		a.ExpectSkipProto(mmopb.MsgBroadCast, &bc)
		if bc.GetContent() == "moved" {
			break
		}
	}

	b := ts.Dial()
	var sync mmopb.SyncPID
	b.ExpectProto(mmopb.MsgSyncPID, &sync)
	b.SendProto(mmopb.MsgMmoLogin, &commonpb.Login{Name: "ann", Token: ack.Token})
	var ack2 commonpb.LoginAck
	b.ExpectSkipProto(mmopb.MsgMmoLoginAck, &ack2)
	if ack2.PlayerId != ack.PlayerId {
		t.Fatalf("resumed as %d, want %d", ack2.PlayerId, ack.PlayerId)
	}
	a.ExpectNotice(znet.NoticeKicked)
	a.ExpectClosed()
	for {
		var bc mmopb.BroadCast
		b.ExpectSkipProto(mmopb.MsgBroadCast, &bc)
		if bc.PID == sync.PID && bc.Tp == mmopb.TpAppear && bc.GetP().GetX() == 300 && bc.GetP().GetZ() == 350 {
			break // restored where the first connection stood
		}
	}
	if n := w.AccountService().Online(); n != 1 {
		t.Fatalf("%d online, want 1", n)
	}

	b.SendProto(mmopb.MsgMmoLogout, &commonpb.Logout{})
	b.ExpectSkip(mmopb.MsgMmoLogoutAck)
	b.ExpectClosed()
	c := ts.Dial()
	c.SendProto(mmopb.MsgMmoLogin, &commonpb.Login{Token: ack.Token})
	var e commonpb.Error
	c.ExpectSkipProto(mmopb.MsgMmoError, &e)
	if e.Code != commonpb.ErrorCode_ERROR_BAD_TOKEN {
		t.Fatalf("login after logout: %v, want ERROR_BAD_TOKEN", &e)
	}
}
