package e2e

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/game/lockstep"
	"github.com/zinxgame/zinxgame/game/mmo"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/protocol/mmopb"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

// TestModulesShareOneServer: an application serves the MMO world, lockstep
// rooms and its own routes on one server, with one Run(ctx). A module whose
// IDs collide is refused with both owners named, and mounts once its base
// is moved; at shutdown the lockstep match ends while its player is still
// connected, before the shutdown notice.
func TestModulesShareOneServer(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	cfg := zconf.Default()
	cfg.Host, cfg.TcpPort, cfg.Mode, cfg.LogLevel = "127.0.0.1", zconf.FreePort, zconf.ModeTCP, "warn"
	srv, err := znet.NewServer(cfg, znet.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	// The application's own route takes 1005, which lockstep's RoomList
	// uses by default.
	const appMsg = 1005
	if err := srv.Handle(appMsg, func(req ziface.IRequest) {
		_ = req.GetConnection().SendMsg(appMsg, append([]byte("app:"), req.GetData()...))
	}); err != nil {
		t.Fatal(err)
	}
	world, err := mmo.NewWorld(mmo.DefaultConfig(), log)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Mount("mmo", world); err != nil {
		t.Fatal(err)
	}
	clash, err := lockstep.New(lockstep.DefaultConfig(), log)
	if err != nil {
		t.Fatal(err)
	}
	err = srv.Mount("lockstep", clash)
	clash.Close()
	if !errors.Is(err, znet.ErrRouteConflict) || !strings.Contains(err.Error(), "lockstep") || !strings.Contains(err.Error(), znet.OwnerApp) {
		t.Fatalf("mounting lockstep over the application's route: %v, want a conflict naming both", err)
	}
	lc := lockstep.DefaultConfig()
	lc.MsgIDBase = 3000
	lc.MaxPlayers = 1
	ls, err := lockstep.New(lc, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Mount("lockstep", ls); err != nil {
		t.Fatalf("lockstep at 3000: %v", err)
	}
	lsID := func(id uint32) uint32 { return id - lspb.MsgLogin + 3000 }

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for srv.Addr() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the server did not start listening")
		}
		time.Sleep(5 * time.Millisecond)
	}

	cc := zconf.Default()
	cc.LogLevel = "warn"
	cl, err := znet.NewClient(cc, znet.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	type frame struct {
		id   uint32
		data []byte
	}
	in := make(chan frame, 1024)
	cl.SetNotFound(func(req ziface.IRequest) { in <- frame{req.GetMsgID(), slices.Clone(req.GetData())} })
	conn, err := cl.Dial(ctx, srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	expect := func(id uint32) []byte {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case f := <-in:
				if f.id == id {
					return f.data
				}
			case <-timeout:
				t.Fatalf("no message %d", id)
			}
		}
	}
	send := func(id uint32, m proto.Message) {
		t.Helper()
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := conn.SendMsg(id, b); err != nil {
			t.Fatal(err)
		}
	}

	expect(mmopb.MsgSyncPID) // the world's connect hook made this connection a player
	if err := conn.SendMsg(appMsg, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if got := string(expect(appMsg)); got != "app:hi" {
		t.Fatalf("the application's route answered %q", got)
	}
	send(mmopb.MsgTalk, &mmopb.Talk{Content: "hello world"})
	var bc mmopb.BroadCast
	if err := proto.Unmarshal(expect(mmopb.MsgBroadCast), &bc); err != nil {
		t.Fatal(err)
	}
	send(lsID(lspb.MsgLogin), &commonpb.Login{Name: "solo"})
	expect(lsID(lspb.MsgLoginAck))
	send(lsID(lspb.MsgRoomCreate), &lspb.RoomCreate{})
	var start lspb.MatchStart
	if err := proto.Unmarshal(expect(lsID(lspb.MsgMatchStart)), &start); err != nil {
		t.Fatal(err)
	}
	expect(lsID(lspb.MsgFrames))

	cancel() // SIGTERM, as the examples wire it
	var end lspb.MatchEnd
	if err := proto.Unmarshal(expect(lsID(lspb.MsgMatchEnd)), &end); err != nil {
		t.Fatal(err)
	}
	if end.Reason != lspb.MatchEndReason_MATCH_END_SHUTDOWN || end.MatchId != start.MatchId {
		t.Fatalf("MatchEnd %v, want match %d ended by the shutdown", &end, start.MatchId)
	}
	n, err := znet.ParseNotice(expect(cfg.NoticeMsgID))
	if err != nil || n.Code != znet.NoticeShutdown {
		t.Fatalf("after MatchEnd: notice %+v (%v), want the shutdown notice", n, err)
	}
	if err := <-ran; err != nil {
		t.Fatalf("Run = %v, want a clean shutdown", err)
	}
}
