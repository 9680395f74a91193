package lockstep

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/game/room"
	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// TestCatchUpTenMinutes: a player reconnecting to a 10-minute match (18,000
// frames at 30 Hz, 10 inputs a second from each of 4 players) gets every
// frame, in order, over a real loopback connection. The time it takes is
// logged (the target is under a second).
func TestCatchUpTenMinutes(t *testing.T) {
	l := benchService(t)
	r, _ := runningRoom(t, l)
	now := time.Now()
	const frames = 18000
	for i := range frames {
		for slot, c := range r.conns {
			if (i+slot)%3 == 0 {
				_ = l.rooms.Input(r.ids[slot], c, l.id(lspb.MsgInput), marshal(&lspb.Input{Data: benchInput, Seq: uint32(i)}))
			}
		}
		l.rooms.Step(now)
	}
	if r.m.sentUpTo != frames+1 { // the start tick assembled no frame; the first Step of the loop did
		t.Logf("room at frame %d", r.m.sentUpTo)
	}

	// A real connection for the returning player.
	conns := make(chan ziface.IConnection, 1)
	ts := znettest.NewServer(t, zconf.Default(), func(srv *znet.Server) {
		srv.SetOnConnStart(func(c ziface.IConnection) { conns <- c })
	})
	cc := zconf.Default()
	cc.WorkerPoolSize = zconf.Off
	cl, err := znet.NewClient(cc, znet.WithLogger(discardLog()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	done := make(chan error, 1)
	// Written by the client's reader until done is sent, read by the test
	// after it is received.
	var next uint32 = 1
	var messages, inputs int
	finished := false
	cl.AddRouterFunc(lspb.MsgCatchUp, func(req ziface.IRequest) {
		if finished {
			return // the hand-over's last batches, after the 10 minutes
		}
		var b lspb.FrameBatch
		if err := proto.Unmarshal(req.GetData(), &b); err != nil || b.FirstFrame != next {
			finished = true
			done <- fmt.Errorf("batch from frame %d, want %d: %v", b.FirstFrame, next, err)
			return
		}
		messages++
		for _, f := range b.Busy {
			inputs += len(f.Inputs)
		}
		next += b.Count
		if next > frames {
			finished = true
			done <- nil
		}
	})
	if _, err := cl.Dial(context.Background(), ts.Addr); err != nil {
		t.Fatal(err)
	}
	server := <-conns
	start := time.Now()
	// Player 1 comes back on the real connection and asks for everything.
	if err := l.rooms.Rejoin(room.Join{Player: room.Player{ID: r.ids[1]}, Conn: server,
		Meta: &joinMeta{reconnect: true}}, nil); err != nil {
		t.Fatal(err)
	}
	// The room ticks on (no inputs), so the stream hands over to live frames.
	deadline := time.After(20 * time.Second)
	for caught := false; !caught; {
		l.rooms.Step(time.Now())
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("catch-up stopped at frame %d: %v", next, err)
			}
			caught = true
		case <-deadline:
			t.Fatalf("catch-up stuck at frame %d", next)
		case <-time.After(time.Millisecond):
		}
	}
	d := time.Since(start)
	if want := frames * 4 / 3; inputs < want-4 || inputs > want+4 {
		t.Fatalf("%d inputs caught up, want about %d", inputs, want)
	}
	t.Logf("caught up %d frames (%d inputs) in %d messages in %v", frames, inputs, messages, d)
}
