package e2e

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/protocol"
	"github.com/zinxgame/zinxgame/protocol/pb"
)

// nextID returns the next message with ID id, skipping others.
func (m *mmoClient) nextID(id uint32, msg proto.Message) {
	m.t.Helper()
	for {
		got, data := m.next()
		if got == id {
			if err := proto.Unmarshal(data, msg); err != nil {
				m.t.Fatal(err)
			}
			return
		}
	}
}

// TestMMOLoginRestoresPosition: a player who logs in (message 10) gets an
// account and a token; next visit, logging in with the token brings it back
// where it left. A bad token is refused (12) and closed. Players who never
// log in play as in Zinx.
func TestMMOLoginRestoresPosition(t *testing.T) {
	world, dial := startMMO(t, false)
	cl, inbox := mmoClients(t, 4)

	a := joinMMO(t, cl, dial, inbox)
	a.send(protocol.MsgMmoLogin, &pb.Login{Name: "ann"})
	var ack pb.LoginAck
	a.nextID(protocol.MsgMmoLoginAck, &ack)
	if ack.PlayerId == 0 || ack.Token == "" {
		t.Fatalf("LoginAck %v", &ack)
	}
	a.move(300, 350)
	a.send(protocol.MsgTalk, &pb.Talk{Content: "moved"})
	a.until("moved")
	a.conn.Stop()
	<-a.conn.Done()
	waitFor := time.Now().Add(10 * time.Second)
	for world.Len() != 0 && time.Now().Before(waitFor) {
		time.Sleep(5 * time.Millisecond)
	}

	b := joinMMO(t, cl, dial, inbox) // spawns at (160, 134) like anyone
	b.send(protocol.MsgMmoLogin, &pb.Login{Name: "ann", Token: ack.Token})
	var ack2 pb.LoginAck
	b.nextID(protocol.MsgMmoLoginAck, &ack2)
	if ack2.PlayerId != ack.PlayerId {
		t.Fatalf("second login is account %d, want %d", ack2.PlayerId, ack.PlayerId)
	}
	for {
		var bc pb.BroadCast
		b.nextID(protocol.MsgBroadCast, &bc)
		if bc.PID == b.pid && bc.Tp == protocol.TpAppear && bc.GetP().GetX() == 300 {
			if bc.GetP().GetZ() != 350 {
				t.Fatalf("restored at %v, want (300, 350)", bc.GetP())
			}
			break
		}
	}

	c := joinMMO(t, cl, dial, inbox)
	c.send(protocol.MsgMmoLogin, &pb.Login{Token: "forged"})
	var e pb.Error
	c.nextID(protocol.MsgMmoError, &e)
	if e.Code != pb.ErrorCode_ERROR_BAD_TOKEN {
		t.Fatalf("bad token: %v", &e)
	}
	select {
	case <-c.conn.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a refused login was not closed")
	}
}
