package mmo

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/game/room"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/mmopb"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// writeConn is a Recorder that takes packed frames in one write, as
// *znet.Connection does, and counts those writes.
type writeConn struct {
	*znettest.Recorder
	pack   *znet.DataPack
	writes atomic.Int32
}

func newWriteConn() *writeConn {
	def := zconf.Default()
	return &writeConn{Recorder: znettest.NewRecorder(), pack: znet.NewDataPack(def.Framing, def.MaxPackageSize)}
}

func (c *writeConn) SendFramesNow(frames []byte, n int) error {
	c.writes.Add(1)
	for len(frames) > 0 {
		id, data, k, err := c.pack.Decode(frames)
		if err != nil {
			return err
		}
		if err := c.SendMsg(id, append([]byte(nil), data...)); err != nil {
			return err
		}
		frames = frames[k:]
		n--
	}
	if n != 0 {
		panic("frame count does not match the frames")
	}
	return nil
}

// manualWorld is a world whose scenes tick only when step is called.
func manualWorld(t testing.TB, cfg Config, opts ...Option) (*World, func()) {
	t.Helper()
	w, err := NewWorld(cfg, discardLog(), append([]Option{WithRoomConfig(room.Config{Manual: true})}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	now := time.Now()
	return w, func() {
		now = now.Add(time.Second / time.Duration(w.cfg.TickRate))
		w.Rooms().Step(now)
	}
}

// input queues a message from a player's connection as its route would.
func input(t *testing.T, w *World, c *writeConn, msgID uint32, m proto.Message) {
	t.Helper()
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	w.route(msgID)(znettest.NewRequest(c, msgID, data))
}

func pidOf(t *testing.T, c *writeConn) int32 {
	t.Helper()
	v, ok := c.GetProperty(PropertyPID)
	if !ok {
		t.Fatal("no PID")
	}
	return v.(int32)
}

// TestOneWritePerPlayerPerTick: however many moves a tick applies, each
// player hears of them in one write.
func TestOneWritePerPlayerPerTick(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SpawnRange = 0 // all in view of each other
	w, step := manualWorld(t, cfg)
	conns := make([]*writeConn, 20)
	for i := range conns {
		conns[i] = newWriteConn()
		w.OnConnect(conns[i])
	}
	step()
	for _, c := range conns {
		c.writes.Store(0)
		c.Reset()
	}
	for i, c := range conns[:10] {
		for k := range 3 {
			input(t, w, c, mmopb.MsgMove, &mmopb.Position{X: 160 + float32(i), Z: 134 + float32(k)})
		}
	}
	step()
	for i, c := range conns {
		msgs, _ := c.Count()
		want := 30 // every other mover's three moves
		if i < 10 {
			want = 27
		}
		if got := c.writes.Load(); got != 1 || msgs != want {
			t.Fatalf("player %d: %d writes carrying %d messages in one tick; want 1 carrying %d", i, got, msgs, want)
		}
	}
}

// TestEarlyCloseCostsNothing: a connection that closes before its scene's
// tick is never placed, and the crowd hears nothing of it.
func TestEarlyCloseCostsNothing(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SpawnRange = 0
	w, step := manualWorld(t, cfg)
	crowd := make([]*writeConn, 50)
	for i := range crowd {
		crowd[i] = newWriteConn()
		w.OnConnect(crowd[i])
	}
	step()
	for _, c := range crowd {
		c.Reset()
	}
	for range 500 {
		c := newWriteConn()
		w.OnConnect(c)
		c.Stop() // gone before the tick
	}
	step()
	if n := w.Len(); n != len(crowd) {
		t.Fatalf("%d players after the churn, want the crowd of %d", n, len(crowd))
	}
	for i, c := range crowd {
		if msgs, _ := c.Count(); msgs != 0 {
			t.Fatalf("crowd player %d heard %d messages of connections that closed before their tick", i, msgs)
		}
	}
}

// TestChatFloodIsRateLimited: one player's chat flood reaches the others
// only up to its burst, and the flooder is told why.
func TestChatFloodIsRateLimited(t *testing.T) {
	w, step := manualWorld(t, DefaultConfig())
	flooder, reader := newWriteConn(), newWriteConn()
	w.OnConnect(flooder)
	w.OnConnect(reader)
	step()
	for i := range 200 {
		input(t, w, flooder, mmopb.MsgTalk, &mmopb.Talk{Content: "spam " + string(rune('a'+i%26))})
	}
	step()
	chats := 0
	for _, data := range reader.SentTo(mmopb.MsgBroadCast) {
		var bc mmopb.BroadCast
		if err := proto.Unmarshal(data, &bc); err != nil {
			t.Fatal(err)
		}
		if bc.Tp == mmopb.TpChat {
			chats++
		}
	}
	if burst := w.cfg.ChatBurst; chats < 1 || chats > burst+1 {
		t.Fatalf("the reader got %d of 200 flooded chats; want the burst, %d", chats, burst)
	}
	errs := flooder.SentTo(mmopb.MsgMmoError)
	if len(errs) == 0 || len(errs) > replyBurst+1 {
		t.Fatalf("the flooder got %d Error replies; want some, at most %d", len(errs), replyBurst)
	}
	var e commonpb.Error
	if err := proto.Unmarshal(errs[0], &e); err != nil || e.Code != commonpb.ErrorCode_ERROR_RATE_LIMITED || e.RequestId != mmopb.MsgTalk {
		t.Fatalf("refusal %v (%v); want ERROR_RATE_LIMITED for request 2", &e, err)
	}
	if n := testutil.ToFloat64(w.met.refused.WithLabelValues("chat_rate_limited")); n != float64(200-chats) {
		t.Fatalf("refusals counted: %v, want %d", n, 200-chats)
	}
}

// TestSceneChange: a player moves to another scene: the old scene's
// players see it leave, the new scene's see it appear, and it hears
// SceneChanged, its position and who is around. An unknown scene is
// refused.
func TestSceneChange(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SpawnRange = 0
	cfg.Scenes = []string{"dungeon"}
	w, step := manualWorld(t, cfg)
	a, b, mover := newWriteConn(), newWriteConn(), newWriteConn()
	for _, c := range []*writeConn{a, mover} {
		w.OnConnect(c)
	}
	step()
	// b goes to the dungeon first, to be there when the mover arrives.
	w.OnConnect(b)
	step()
	input(t, w, b, mmopb.MsgChangeScene, &mmopb.ChangeScene{Scene: "dungeon"})
	step() // b leaves the first scene
	step() // and arrives in the dungeon
	if p, ok := w.Player(pidOf(t, b)); !ok || p.sceneName() != "dungeon" {
		t.Fatal("b is not in the dungeon")
	}
	for _, c := range []*writeConn{a, b, mover} {
		c.Reset()
	}
	input(t, w, mover, mmopb.MsgChangeScene, &mmopb.ChangeScene{Scene: "dungeon"})
	step()
	step()
	if left := a.SentTo(mmopb.MsgLeave); len(left) != 1 {
		t.Fatalf("the old scene's player got %d leaves, want 1", len(left))
	}
	var sc mmopb.SceneChanged
	if got := mover.SentTo(mmopb.MsgSceneChanged); len(got) != 1 || proto.Unmarshal(got[0], &sc) != nil || sc.Scene != "dungeon" {
		t.Fatalf("the mover got SceneChanged %d times (%v), want once for the dungeon", len(got), &sc)
	}
	var around mmopb.SyncPlayers
	if got := mover.SentTo(mmopb.MsgSyncPlayers); len(got) != 1 || proto.Unmarshal(got[0], &around) != nil ||
		len(around.Ps) != 1 || around.Ps[0].PID != pidOf(t, b) {
		t.Fatalf("the mover's list of players around: %v, want only b", &around)
	}
	appeared := false
	for _, data := range b.SentTo(mmopb.MsgBroadCast) {
		var bc mmopb.BroadCast
		if proto.Unmarshal(data, &bc) == nil && bc.Tp == mmopb.TpAppear && bc.PID == pidOf(t, mover) {
			appeared = true
		}
	}
	if !appeared {
		t.Fatal("the dungeon's player did not see the mover appear")
	}
	if w.Len() != 3 {
		t.Fatalf("%d players in the world, want 3", w.Len())
	}

	mover.Reset()
	input(t, w, mover, mmopb.MsgChangeScene, &mmopb.ChangeScene{Scene: "nowhere"})
	var e commonpb.Error
	if got := mover.SentTo(mmopb.MsgMmoError); len(got) != 1 || proto.Unmarshal(got[0], &e) != nil || e.Code != commonpb.ErrorCode_ERROR_ROOM_NOT_FOUND {
		t.Fatalf("an unknown scene: %v, want ERROR_ROOM_NOT_FOUND", &e)
	}
}

// TestHooksAndHandlers: an application's message (an action, Zinx's Tp 3)
// runs on the sender's scene and reaches the players in view; enter and
// leave hooks add up and see each player once.
func TestHooksAndHandlers(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SpawnRange = 0
	w, step := manualWorld(t, cfg)
	const msgAction = 4
	var mu sync.Mutex
	var log []string
	note := func(s string) { mu.Lock(); log = append(log, s); mu.Unlock() }
	w.OnEnter(func(s *Scene, p *Player) { note("enter1") })
	w.OnEnter(func(s *Scene, p *Player) { note("enter2") })
	w.OnLeave(func(s *Scene, p *Player, why LeaveReason) { note("leave:" + why.String()) })
	if err := w.Handle(msgAction, func(s *Scene, p *Player, data []byte) {
		var act mmopb.BroadCast
		if proto.Unmarshal(data, &act) != nil {
			return
		}
		s.SendView(p, mmopb.MsgBroadCast, marshal(&mmopb.BroadCast{PID: p.PID, Tp: mmopb.TpAction,
			Data: &mmopb.BroadCast_ActionData{ActionData: act.GetActionData()}}), true)
	}); err != nil {
		t.Fatal(err)
	}
	if err := w.Handle(mmopb.MsgMove, func(*Scene, *Player, []byte) {}); err == nil {
		t.Fatal("Handle took the world's own move ID")
	}
	a, b := newWriteConn(), newWriteConn()
	w.OnConnect(a)
	w.OnConnect(b)
	step()
	b.Reset()
	input(t, w, a, msgAction, &mmopb.BroadCast{Data: &mmopb.BroadCast_ActionData{ActionData: 7}})
	step()
	var bc mmopb.BroadCast
	if got := b.SentTo(mmopb.MsgBroadCast); len(got) != 1 || proto.Unmarshal(got[0], &bc) != nil ||
		bc.Tp != mmopb.TpAction || bc.GetActionData() != 7 || bc.PID != pidOf(t, a) {
		t.Fatalf("the player in view got %v, want the action 7 from a", &bc)
	}
	a.Stop()
	w.rooms.Drop(memberID(pidOf(t, a)), a) // the server's disconnect hook
	step()
	mu.Lock()
	defer mu.Unlock()
	want := []string{"enter1", "enter2", "enter1", "enter2", "leave:left"}
	if len(log) != len(want) {
		t.Fatalf("hooks ran %v, want %v", log, want)
	}
	for i := range want {
		if log[i] != want[i] {
			t.Fatalf("hooks ran %v, want %v", log, want)
		}
	}
}

// TestPublicAPI: application code finds a player, lists who it sees and
// sends to it, from outside the scenes' ticks.
func TestPublicAPI(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SpawnRange = 0
	w, step := manualWorld(t, cfg)
	a, b, far := newWriteConn(), newWriteConn(), newWriteConn()
	for _, c := range []*writeConn{a, b, far} {
		w.OnConnect(c)
	}
	step()
	input(t, w, far, mmopb.MsgMove, &mmopb.Position{X: 400, Z: 395})
	step()
	p, ok := w.Player(pidOf(t, a))
	if !ok || p.Conn != a {
		t.Fatal("Player did not find a")
	}
	if _, ok := w.Player(12345); ok {
		t.Fatal("Player found a player who is not there")
	}
	// Do, Where and InView run on the scene's tick: step while they wait.
	stop := make(chan struct{})
	var stepping sync.WaitGroup
	stepping.Add(1)
	go func() {
		defer stepping.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
				step()
			}
		}
	}()
	defer func() { close(stop); stepping.Wait() }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pi, err := w.Where(ctx, pidOf(t, far))
	if err != nil || pi.Scene != DefaultScene || pi.Pos.X != 400 || pi.Pos.Z != 395 {
		t.Fatalf("Where(far) = %+v, %v; want (400, 395) in %q", pi, err, DefaultScene)
	}
	view, err := w.InView(ctx, pidOf(t, a))
	if err != nil || len(view) != 1 || view[0].PID != pidOf(t, b) {
		t.Fatalf("InView(a) = %+v, %v; want only b", view, err)
	}
	if _, err := w.Where(ctx, 12345); err != ErrNoPlayer {
		t.Fatalf("Where(unknown) = %v, want ErrNoPlayer", err)
	}
	if err := w.Send(pidOf(t, b), 77, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if got := b.SentTo(77); len(got) != 1 || string(got[0]) != "hi" {
		t.Fatalf("Send: b got %q", got)
	}
}

// TestRefusalsAnswered: a chat that MaxChatLen allows but no packet holds,
// and a scene change to the scene a player is in, are each answered with
// an Error instead of vanishing.
func TestRefusalsAnswered(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxChatLen = 65536 // more than MaxPackageSize (4096) bytes
	w, step := manualWorld(t, cfg)
	a, b := newWriteConn(), newWriteConn()
	w.OnConnect(a)
	w.OnConnect(b)
	step()
	b.Reset()
	long := make([]byte, 5000)
	for i := range long {
		long[i] = 'x'
	}
	input(t, w, a, mmopb.MsgTalk, &mmopb.Talk{Content: string(long)})
	input(t, w, a, mmopb.MsgChangeScene, &mmopb.ChangeScene{Scene: DefaultScene})
	step()
	var codes []commonpb.ErrorCode
	for _, data := range a.SentTo(mmopb.MsgMmoError) {
		var e commonpb.Error
		if err := proto.Unmarshal(data, &e); err != nil {
			t.Fatal(err)
		}
		codes = append(codes, e.Code)
	}
	if len(codes) != 2 || codes[0] != commonpb.ErrorCode_ERROR_BAD_REQUEST || codes[1] != commonpb.ErrorCode_ERROR_BAD_REQUEST {
		t.Fatalf("refusals answered with %v, want two ERROR_BAD_REQUEST", codes)
	}
	if got := b.SentTo(mmopb.MsgBroadCast); len(got) != 0 {
		t.Fatalf("the other player got %d broadcasts of the refused chat", len(got))
	}
}

// TestSceneChangeToAFullScene: a scene change the other scene has no room
// for leaves the player where it was, told ERROR_ROOM_FULL; it is not
// dropped from the world.
func TestSceneChangeToAFullScene(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Scenes = []string{"dungeon"}
	cfg.MaxPlayers = 1
	w, step := manualWorld(t, cfg)
	a, b := newWriteConn(), newWriteConn()
	w.OnConnect(a)
	step()
	input(t, w, a, mmopb.MsgChangeScene, &mmopb.ChangeScene{Scene: "dungeon"})
	step()
	step()
	w.OnConnect(b) // the first scene has room again
	step()
	b.Reset()
	input(t, w, b, mmopb.MsgChangeScene, &mmopb.ChangeScene{Scene: "dungeon"})
	step()
	step()
	var e commonpb.Error
	if got := b.SentTo(mmopb.MsgMmoError); len(got) != 1 || proto.Unmarshal(got[0], &e) != nil || e.Code != commonpb.ErrorCode_ERROR_ROOM_FULL {
		t.Fatalf("a change to a full scene: %v, want ERROR_ROOM_FULL", &e)
	}
	if p, ok := w.Player(pidOf(t, b)); !ok || p.sceneName() != DefaultScene || w.Len() != 2 {
		t.Fatalf("after the refused change: placed %v in %q, %d players; want b still in %q", ok, p.sceneName(), w.Len(), DefaultScene)
	}
	if b.Stopped() {
		t.Fatal("the refused player's connection was closed")
	}
}
