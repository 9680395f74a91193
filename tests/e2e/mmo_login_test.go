package e2e

import (
	"testing"

	"github.com/zinxgame/zinxgame/protocol"
	"github.com/zinxgame/zinxgame/protocol/pb"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// TestMMOLoginRestoresPosition: a player who logs in (message 10) gets an
// account and a token; next visit, logging in with the token brings it back
// where it left. A bad token is refused (12) and closed. Players who never
// log in play as in Zinx.
func TestMMOLoginRestoresPosition(t *testing.T) {
	world, dial := startMMO(t, false)

	a := joinMMO(t, dial)
	a.send(protocol.MsgMmoLogin, &pb.Login{Name: "ann"})
	var ack pb.LoginAck
	a.p.ExpectSkipProto(protocol.MsgMmoLoginAck, &ack)
	if ack.PlayerId == 0 || ack.Token == "" {
		t.Fatalf("LoginAck %v", &ack)
	}
	a.move(300, 350)
	a.send(protocol.MsgTalk, &pb.Talk{Content: "moved"})
	a.until("moved")
	a.p.Close()
	znettest.Eventually(t, func() bool { return world.Len() == 0 }, "the world to notice ann leaving")

	b := joinMMO(t, dial) // spawns at (160, 134) like anyone
	b.send(protocol.MsgMmoLogin, &pb.Login{Name: "ann", Token: ack.Token})
	var ack2 pb.LoginAck
	b.p.ExpectSkipProto(protocol.MsgMmoLoginAck, &ack2)
	if ack2.PlayerId != ack.PlayerId {
		t.Fatalf("second login is account %d, want %d", ack2.PlayerId, ack.PlayerId)
	}
	for {
		var bc pb.BroadCast
		b.p.ExpectSkipProto(protocol.MsgBroadCast, &bc)
		if bc.PID == b.pid && bc.Tp == protocol.TpAppear && bc.GetP().GetX() == 300 {
			if bc.GetP().GetZ() != 350 {
				t.Fatalf("restored at %v, want (300, 350)", bc.GetP())
			}
			break
		}
	}

	c := joinMMO(t, dial)
	c.send(protocol.MsgMmoLogin, &pb.Login{Token: "forged"})
	var e pb.Error
	c.p.ExpectSkipProto(protocol.MsgMmoError, &e)
	if e.Code != pb.ErrorCode_ERROR_BAD_TOKEN {
		t.Fatalf("bad token: %v", &e)
	}
	c.p.ExpectClosed() // a refused login is closed
}
