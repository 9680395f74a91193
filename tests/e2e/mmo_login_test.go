package e2e

import (
	"testing"

	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/mmopb"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// TestMMOLoginRestoresPosition: a player who logs in (message 10) gets an
// account and a token; next visit, logging in with the token brings it back
// where it left. A bad token is refused (12) and closed. Players who never
// log in play as in Zinx.
func TestMMOLoginRestoresPosition(t *testing.T) {
	world, dial := startMMO(t, "tcp")

	a := joinMMO(t, dial)
	a.send(mmopb.MsgMmoLogin, &commonpb.Login{Name: "ann"})
	var ack commonpb.LoginAck
	a.p.ExpectSkipProto(mmopb.MsgMmoLoginAck, &ack)
	if ack.PlayerId == 0 || ack.Token == "" {
		t.Fatalf("LoginAck %v", &ack)
	}
	a.move(300, 350)
	a.send(mmopb.MsgTalk, &mmopb.Talk{Content: "moved"})
	a.until("moved")
	a.p.Close()
	znettest.Eventually(t, func() bool { return world.Len() == 0 }, "the world to notice ann leaving")

	b := joinMMO(t, dial) // spawns at (160, 134) like anyone
	b.send(mmopb.MsgMmoLogin, &commonpb.Login{Name: "ann", Token: ack.Token})
	var ack2 commonpb.LoginAck
	b.p.ExpectSkipProto(mmopb.MsgMmoLoginAck, &ack2)
	if ack2.PlayerId != ack.PlayerId {
		t.Fatalf("second login is account %d, want %d", ack2.PlayerId, ack.PlayerId)
	}
	for {
		var bc mmopb.BroadCast
		b.p.ExpectSkipProto(mmopb.MsgBroadCast, &bc)
		if bc.PID == b.pid && bc.Tp == mmopb.TpAppear && bc.GetP().GetX() == 300 {
			if bc.GetP().GetZ() != 350 {
				t.Fatalf("restored at %v, want (300, 350)", bc.GetP())
			}
			break
		}
	}

	c := joinMMO(t, dial)
	c.send(mmopb.MsgMmoLogin, &commonpb.Login{Token: "forged"})
	var e commonpb.Error
	c.p.ExpectSkipProto(mmopb.MsgMmoError, &e)
	if e.Code != commonpb.ErrorCode_ERROR_BAD_TOKEN {
		t.Fatalf("bad token: %v", &e)
	}
	c.p.ExpectClosed() // a refused login is closed
}
