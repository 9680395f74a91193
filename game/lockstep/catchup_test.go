package lockstep

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

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
	l, err := New(DefaultConfig(), discardLog())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r, _ := runningRoom(t, l)
	now := time.Now()
	input := []byte{1, 0xff}
	const frames = 18000
	for i := range frames {
		for slot, s := range r.seats {
			if (i+slot)%3 == 0 {
				r.events <- roomEvent{kind: evInput, p: s.p, data: input, u32: uint32(i)}
			}
		}
		r.tick(now)
	}
	if r.sentUpTo != frames {
		t.Fatalf("room at frame %d, want %d", r.sentUpTo, frames)
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
	var next uint32 = 1
	var messages, inputs int
	cl.AddRouterFunc(lspb.MsgCatchUp, func(req ziface.IRequest) {
		var b lspb.FrameBatch
		if err := proto.Unmarshal(req.GetData(), &b); err != nil || b.FirstFrame != next {
			done <- err
			return
		}
		messages++
		for _, f := range b.Busy {
			inputs += len(f.Inputs)
		}
		next += b.Count
		if next == frames+1 {
			done <- nil
		}
	})
	if _, err := cl.Dial(context.Background(), ts.Addr); err != nil {
		t.Fatal(err)
	}
	server := <-conns
	seat := r.seats[1]
	start := time.Now()
	r.reconnect(roomEvent{kind: evReconnect, p: seat.p, conn: server, u32: 0}, start)
	select {
	case err := <-done:
		if err != nil || next != frames+1 {
			t.Fatalf("catch-up stopped at frame %d: %v", next, err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("catch-up stuck at frame %d", next)
	}
	d := time.Since(start)
	if want := frames * 4 / 3; inputs < want-4 || inputs > want+4 {
		t.Fatalf("%d inputs caught up, want about %d", inputs, want)
	}
	t.Logf("caught up %d frames (%d inputs) in %d messages in %v", frames, inputs, messages, d)
}
