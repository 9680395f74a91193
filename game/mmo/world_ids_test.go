package mmo_test

import (
	"log/slog"
	"testing"

	"github.com/zinxgame/zinxgame/game/mmo"
	"github.com/zinxgame/zinxgame/protocol/mmopb"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// TestWorldMsgIDBase: a world mounted with MsgIDBase 5000 speaks every MMO
// message 5000 higher, both ways, and leaves Zinx's own IDs free.
func TestWorldMsgIDBase(t *testing.T) {
	const base = 5000
	wc := mmo.DefaultConfig()
	wc.MsgIDBase = base
	w, err := mmo.NewWorld(wc, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ts := znettest.NewServer(t, znettest.Config(), func(s *znet.Server) {
		if err := s.Mount("mmo", w); err != nil {
			t.Fatal(err)
		}
		// The IDs the world would take at base 0 are the application's.
		if err := s.Handle(mmopb.MsgTalk, func(req ziface.IRequest) {
			_ = req.GetConnection().SendMsg(mmopb.MsgTalk, []byte("app"))
		}); err != nil {
			t.Fatalf("Handle(%d) beside a world at %d: %v", mmopb.MsgTalk, base, err)
		}
	})
	p := ts.Dial()
	var sync mmopb.SyncPID
	p.ExpectProto(base+mmopb.MsgSyncPID, &sync)
	p.SendProto(base+mmopb.MsgTalk, &mmopb.Talk{Content: "hello"})
	var bc mmopb.BroadCast
	p.ExpectSkipProto(base+mmopb.MsgBroadCast, &bc)
	for bc.Tp != mmopb.TpChat {
		p.ExpectSkipProto(base+mmopb.MsgBroadCast, &bc)
	}
	if bc.PID != sync.PID || bc.GetContent() != "hello" {
		t.Fatalf("chat broadcast %v, want player %d saying hello", &bc, sync.PID)
	}
	p.Send(mmopb.MsgTalk, nil)
	if got := string(p.ExpectSkip(mmopb.MsgTalk)); got != "app" {
		t.Fatalf("ID %d answered %q, want the application's route", mmopb.MsgTalk, got)
	}
}
