package lockstep

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

func TestMain(m *testing.M) {
	// ants starts a default pool in its init; ignore what exists before the tests.
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}

// lsEnv is a lockstep server on loopback and a client to dial it with.
type lsEnv struct {
	t    *testing.T
	ls   *Service
	srv  *znet.Server
	ts   *znettest.Server
	cl   *znet.Client
	addr string
}

type lsMsg struct {
	id   uint32
	data []byte
}

func startLockstep(t *testing.T, mutate func(*Config), opts ...Option) *lsEnv {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Shards = 2
	if mutate != nil {
		mutate(&cfg)
	}
	log := discardLog()
	ls, err := New(cfg, log, opts...)
	if err != nil {
		t.Fatal(err)
	}
	zc := zconf.Default()
	zc.WorkerPoolSize = 4
	t.Cleanup(ls.Close) // last: after the server is down (cleanups run last in, first out)
	ts := znettest.NewServer(t, zc, func(srv *znet.Server) {
		if err := srv.Mount("lockstep", ls); err != nil {
			t.Fatal(err)
		}
	})
	// The client, made after the server, closes first.
	cc := zconf.Default()
	cc.WorkerPoolSize = zconf.Off
	cl, err := znet.NewClient(cc, znet.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	route := func(req ziface.IRequest) {
		v, _ := req.GetConnection().GetProperty("inbox")
		v.(chan lsMsg) <- lsMsg{req.GetMsgID(), slices.Clone(req.GetData())}
	}
	for id := lspb.MsgLogin; id <= lspb.MsgRoomJoinOrCreate; id++ { // every server-sent ID
		cl.AddRouterFunc(id, route)
	}
	cl.AddRouterFunc(zc.NoticeMsgID, route)
	t.Cleanup(func() { _ = cl.Close() })
	return &lsEnv{t: t, ls: ls, srv: ts.Server, ts: ts, cl: cl, addr: ts.Addr}
}

// lsClient is one player's connection.
type lsClient struct {
	t       *testing.T
	c       *znet.Connection
	inbox   chan lsMsg
	backlog []lsMsg
}

func (e *lsEnv) dial() *lsClient {
	e.t.Helper()
	inbox := make(chan lsMsg, 100000)
	// The property must be there before the first message arrives.
	c, err := e.cl.Dial(context.Background(), e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	c.SetProperty("inbox", inbox)
	return &lsClient{t: e.t, c: c, inbox: inbox}
}

func (c *lsClient) send(id uint32, m proto.Message) {
	c.t.Helper()
	b, _ := proto.Marshal(m)
	if err := c.c.SendMsg(id, b); err != nil {
		c.t.Fatal(err)
	}
}

// next returns the next message with one of ids. Others are kept, in
// order, for later calls: a test waiting for an event loses no frame.
func (c *lsClient) next(ids ...uint32) lsMsg {
	c.t.Helper()
	for i, m := range c.backlog {
		if slices.Contains(ids, m.id) {
			c.backlog = slices.Delete(c.backlog, i, i+1)
			return m
		}
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-c.inbox:
			if slices.Contains(ids, m.id) {
				return m
			}
			c.backlog = append(c.backlog, m)
		case <-timeout:
			c.t.Fatalf("no message %v within 10s", ids)
		}
	}
}

func (c *lsClient) expect(id uint32, m proto.Message) {
	c.t.Helper()
	got := c.next(id, lspb.MsgError)
	if got.id == lspb.MsgError && id != lspb.MsgError {
		var e commonpb.Error
		_ = proto.Unmarshal(got.data, &e)
		c.t.Fatalf("want message %d, got error %v %q", id, e.Code, e.Message)
	}
	if err := proto.Unmarshal(got.data, m); err != nil {
		c.t.Fatal(err)
	}
}

func (c *lsClient) expectError(code commonpb.ErrorCode) {
	c.t.Helper()
	var e commonpb.Error
	c.expect(lspb.MsgError, &e)
	if e.Code != code {
		c.t.Fatalf("error %v %q, want %v", e.Code, e.Message, code)
	}
}

func (c *lsClient) login(token string) *commonpb.LoginAck {
	c.t.Helper()
	c.send(lspb.MsgLogin, &commonpb.Login{Name: "p", Token: token})
	var ack commonpb.LoginAck
	c.expect(lspb.MsgLoginAck, &ack)
	return &ack
}

func (c *lsClient) create(o *lspb.RoomOptions) *lspb.RoomState {
	c.t.Helper()
	c.send(lspb.MsgRoomCreate, &lspb.RoomCreate{Options: o})
	var st lspb.RoomState
	c.expect(lspb.MsgRoomState, &st)
	return &st
}

func (c *lsClient) join(room uint64) *lspb.RoomState {
	c.t.Helper()
	c.send(lspb.MsgRoomJoin, &lspb.RoomJoin{RoomId: room})
	var st lspb.RoomState
	c.expect(lspb.MsgRoomState, &st)
	return &st
}

func (c *lsClient) matchStart() *lspb.MatchStart {
	c.t.Helper()
	var m lspb.MatchStart
	c.expect(lspb.MsgMatchStart, &m)
	return &m
}

// frame is one decoded frame: its inputs as (slot, data, seq).
type frame struct {
	n      uint32
	inputs []*lspb.SlotInput
}

// frames reads live (and catch-up) batches until frame upTo.
func (c *lsClient) frames(upTo uint32) []frame {
	c.t.Helper()
	var out []frame
	for len(out) == 0 || out[len(out)-1].n < upTo {
		m := c.next(lspb.MsgFrames, lspb.MsgCatchUp)
		var b lspb.FrameBatch
		if err := proto.Unmarshal(m.data, &b); err != nil {
			c.t.Fatal(err)
		}
		out = append(out, expand(&b)...)
	}
	return out
}

func expand(b *lspb.FrameBatch) []frame {
	fs := make([]frame, b.Count)
	for i := range fs {
		fs[i].n = b.FirstFrame + uint32(i)
	}
	for _, f := range b.Busy {
		fs[f.Offset].inputs = f.Inputs
	}
	return fs
}

func sameFrames(t *testing.T, a, b []frame) {
	t.Helper()
	n := min(len(a), len(b))
	if n == 0 {
		t.Fatal("no frames to compare")
	}
	for i := range n {
		if a[i].n != b[i].n || len(a[i].inputs) != len(b[i].inputs) {
			t.Fatalf("frame %d vs %d: %d vs %d inputs", a[i].n, b[i].n, len(a[i].inputs), len(b[i].inputs))
		}
		for j := range a[i].inputs {
			if !proto.Equal(a[i].inputs[j], b[i].inputs[j]) {
				t.Fatalf("frame %d input %d differs", a[i].n, j)
			}
		}
	}
}

func gapless(t *testing.T, fs []frame, from uint32) {
	t.Helper()
	for i, f := range fs {
		if f.n != from+uint32(i) {
			t.Fatalf("frame %d at position %d: want %d (gap or duplicate)", f.n, i, from+uint32(i))
		}
	}
}

func TestLockstepStartWhenFullAndResult(t *testing.T) {
	e := startLockstep(t, nil)
	a, b := e.dial(), e.dial()
	a.login("")
	b.login("")
	st := a.create(&lspb.RoomOptions{MaxPlayers: 2})
	if st.YourSlot != 0 || st.Room.Options.TickRate != 30 {
		t.Fatalf("RoomState %v", st)
	}
	if st := b.join(st.Room.RoomId); st.YourSlot != 1 || len(st.Slots) != 2 {
		t.Fatalf("joiner's RoomState %v", st)
	}
	var ev lspb.PlayerEvent
	a.expect(lspb.MsgPlayerEvent, &ev)
	if ev.Kind != lspb.PlayerEventKind_PLAYER_JOINED || ev.Player.Slot != 1 {
		t.Fatalf("event %v", &ev)
	}
	ma, mb := a.matchStart(), b.matchStart()
	if ma.MatchId != mb.MatchId || ma.Seed != mb.Seed || ma.YourSlot != 0 || mb.YourSlot != 1 || ma.StartFrame != 1 {
		t.Fatalf("MatchStart %v / %v", ma, mb)
	}
	a.send(lspb.MsgMatchResult, &lspb.MatchResult{Result: []byte("slot 0 wins")})
	b.send(lspb.MsgMatchResult, &lspb.MatchResult{Result: []byte("slot 0 wins")})
	for _, c := range []*lsClient{a, b} {
		var end lspb.MatchEnd
		c.expect(lspb.MsgMatchEnd, &end)
		if end.Reason != lspb.MatchEndReason_MATCH_END_RESULT || string(end.Result) != "slot 0 wins" || end.MatchId != ma.MatchId {
			t.Fatalf("MatchEnd %v", &end)
		}
	}
	znettest.Eventually(t, func() bool { return e.ls.Rooms() == 0 }, "the ended room to be cleaned up")
	a.send(lspb.MsgInput, &lspb.Input{Data: []byte{1}})
	a.expectError(commonpb.ErrorCode_ERROR_NOT_IN_ROOM)
}

func TestLockstepStartWhenReadyOrTimeout(t *testing.T) {
	e := startLockstep(t, nil)
	a, b := e.dial(), e.dial()
	a.login("")
	b.login("")
	st := a.create(&lspb.RoomOptions{MaxPlayers: 4})
	b.join(st.Room.RoomId)
	a.send(lspb.MsgReady, &lspb.Ready{Ready: true})
	b.send(lspb.MsgReady, &lspb.Ready{Ready: true})
	if a.matchStart().MatchId == 0 {
		t.Fatal("no match ID")
	}
	b.matchStart()

	c := e.dial()
	c.login("")
	start := time.Now()
	c.create(&lspb.RoomOptions{MaxPlayers: 4, ReadyTimeoutMs: 300})
	if m := c.matchStart(); len(m.Slots) != 1 {
		t.Fatalf("force-started with %d slots", len(m.Slots))
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("force-started after %v, before the ready timeout", d)
	}
}

func TestLockstepLeaveBeforeStartAndEmptyRoom(t *testing.T) {
	e := startLockstep(t, nil)
	a, b := e.dial(), e.dial()
	a.login("")
	b.login("")
	st := a.create(nil)
	b.join(st.Room.RoomId)
	b.send(lspb.MsgRoomLeave, &lspb.RoomLeave{})
	var ev lspb.PlayerEvent
	for ev.Kind != lspb.PlayerEventKind_PLAYER_LEFT {
		a.expect(lspb.MsgPlayerEvent, &ev)
	}
	b.create(nil) // free to make its own room
	if n := e.ls.Rooms(); n != 2 {
		t.Fatalf("%d rooms, want 2", n)
	}
	a.send(lspb.MsgRoomLeave, &lspb.RoomLeave{})
	b.send(lspb.MsgRoomLeave, &lspb.RoomLeave{})
	znettest.Eventually(t, func() bool { return e.ls.Rooms() == 0 }, "empty rooms to be cleaned up")
}

func TestLockstepFrames(t *testing.T) {
	e := startLockstep(t, func(c *Config) { c.TickRate = 60 })
	cs := []*lsClient{e.dial(), e.dial(), e.dial()}
	for _, c := range cs {
		c.login("")
	}
	st := cs[0].create(&lspb.RoomOptions{MaxPlayers: 3})
	cs[1].join(st.Room.RoomId)
	cs[2].join(st.Room.RoomId)
	for _, c := range cs {
		c.matchStart()
	}
	// Player 0 sends bursts of three inputs, player 1 one at a time, and
	// player 2 is silent: the clock must not wait for it.
	start := time.Now()
	for seq := uint32(1); seq <= 30; seq++ {
		cs[0].send(lspb.MsgInput, &lspb.Input{Data: []byte{0, byte(seq)}, Seq: seq})
		if seq%3 == 0 {
			cs[1].send(lspb.MsgInput, &lspb.Input{Data: []byte{1, byte(seq)}, Seq: seq})
			time.Sleep(20 * time.Millisecond)
		}
	}
	const upTo = 60
	f0 := cs[0].frames(upTo)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("60 frames at 60 Hz took %v", d)
	}
	f1, f2 := cs[1].frames(upTo), cs[2].frames(upTo)
	gapless(t, f0, 1)
	sameFrames(t, f0, f1)
	sameFrames(t, f0, f2)
	var seqs [2][]uint32
	empty := 0
	for _, f := range f0 {
		if len(f.inputs) == 0 {
			empty++
		}
		for _, in := range f.inputs {
			seqs[in.Slot] = append(seqs[in.Slot], in.Seq)
		}
	}
	if empty == 0 {
		t.Fatal("no empty frames: inputs should not arrive every 1/60 s")
	}
	for slot, want := range [][]uint32{seqRange(1, 30, 1), seqRange(3, 30, 3)} {
		if !slices.Equal(seqs[slot], want[:len(seqs[slot])]) || len(seqs[slot]) < len(want)/2 {
			t.Fatalf("slot %d inputs in frames: %v, want in order %v", slot, seqs[slot], want)
		}
	}
}

func seqRange(from, to, step uint32) []uint32 {
	var s []uint32
	for i := from; i <= to; i += step {
		s = append(s, i)
	}
	return s
}

func TestLockstepReconnectCatchUp(t *testing.T) {
	e := startLockstep(t, func(c *Config) {
		c.TickRate = 100
		c.MaxBatchBytes, c.MaxInputBytes = 300, 32 // several catch-up messages
	})
	a, b := e.dial(), e.dial()
	a.login("")
	ackB := b.login("")
	st := a.create(&lspb.RoomOptions{MaxPlayers: 2})
	b.join(st.Room.RoomId)
	a.matchStart()
	b.matchStart()
	send := func(n int) {
		for i := range n {
			a.send(lspb.MsgInput, &lspb.Input{Data: []byte("move"), Seq: uint32(i + 1)})
			time.Sleep(3 * time.Millisecond)
		}
	}
	send(20)
	fb := b.frames(20)
	last := fb[len(fb)-1].n
	b.c.Stop()
	<-b.c.Done()
	var ev lspb.PlayerEvent
	for ev.Kind != lspb.PlayerEventKind_PLAYER_DISCONNECTED {
		a.expect(lspb.MsgPlayerEvent, &ev)
	}
	send(40) // b misses these

	b2 := e.dial()
	ack := b2.login(ackB.Token)
	if ack.PlayerId != ackB.PlayerId || ack.RoomId != st.Room.RoomId {
		t.Fatalf("re-login %v; want player %d in room %d", ack, ackB.PlayerId, st.Room.RoomId)
	}
	b2.send(lspb.MsgReconnect, &lspb.Reconnect{LastFrame: last})
	var rs lspb.RoomState
	b2.expect(lspb.MsgRoomState, &rs)
	if ms := b2.matchStart(); ms.YourSlot != 1 {
		t.Fatalf("MatchStart after reconnect: slot %d", ms.YourSlot)
	}
	target := last + 200
	rest := b2.frames(target)
	gapless(t, rest, last+1)
	fa := a.frames(target)
	sameFrames(t, fa[last:], rest)
	for ev.Kind != lspb.PlayerEventKind_PLAYER_RECONNECTED {
		a.expect(lspb.MsgPlayerEvent, &ev)
	}

	// The same identity on a third connection replaces the second.
	b3 := e.dial()
	b3.login(ackB.Token)
	n := b2.next(zconf.Default().NoticeMsgID)
	if nt, err := znet.ParseNotice(n.data); err != nil || nt.Code != znet.NoticeKicked {
		t.Fatalf("old connection got %q (%v), want a kick", n.data, err)
	}
	<-b2.c.Done()
}

func TestLockstepDesync(t *testing.T) {
	e := startLockstep(t, func(c *Config) { c.TickRate = 100; c.HashInterval = 10 })
	cs := []*lsClient{e.dial(), e.dial(), e.dial()}
	for _, c := range cs {
		c.login("")
	}
	st := cs[0].create(&lspb.RoomOptions{MaxPlayers: 3})
	cs[1].join(st.Room.RoomId)
	cs[2].join(st.Room.RoomId)
	for _, c := range cs {
		c.matchStart()
	}
	cs[0].frames(20)
	for i, h := range []uint64{7, 7, 9} {
		cs[i].send(lspb.MsgHashReport, &lspb.HashReport{Frame: 10, Hash: 7})
		cs[i].send(lspb.MsgHashReport, &lspb.HashReport{Frame: 20, Hash: h})
	}
	for _, c := range cs {
		var d lspb.Desync
		c.expect(lspb.MsgDesync, &d)
		if d.Frame != 20 || !slices.Equal(d.Slots, []uint32{2}) {
			t.Fatalf("Desync %v; want frame 20, slot 2", &d)
		}
	}
}

func TestLockstepBadRequests(t *testing.T) {
	e := startLockstep(t, func(c *Config) { c.MaxInputBytes = 16 })
	a := e.dial()
	a.send(lspb.MsgInput, &lspb.Input{Data: []byte{1}})
	a.expectError(commonpb.ErrorCode_ERROR_NOT_LOGGED_IN)
	if err := a.c.SendMsg(lspb.MsgLogin, []byte{0xff, 0xff}); err != nil {
		t.Fatal(err)
	}
	a.expectError(commonpb.ErrorCode_ERROR_BAD_REQUEST)
	a.login("")
	a.send(lspb.MsgLogin, &commonpb.Login{})
	a.expectError(commonpb.ErrorCode_ERROR_BAD_REQUEST)
	a.send(lspb.MsgInput, &lspb.Input{Data: []byte{1}})
	a.expectError(commonpb.ErrorCode_ERROR_NOT_IN_ROOM)
	a.send(lspb.MsgRoomJoin, &lspb.RoomJoin{RoomId: 12345})
	a.expectError(commonpb.ErrorCode_ERROR_ROOM_NOT_FOUND)
	a.send(lspb.MsgRoomCreate, &lspb.RoomCreate{Options: &lspb.RoomOptions{MaxPlayers: 17}})
	a.expectError(commonpb.ErrorCode_ERROR_BAD_OPTIONS)
	st := a.create(&lspb.RoomOptions{MaxPlayers: 2})
	a.send(lspb.MsgInput, &lspb.Input{Data: []byte{1}})
	a.expectError(commonpb.ErrorCode_ERROR_MATCH_NOT_RUNNING)
	a.send(lspb.MsgRoomCreate, &lspb.RoomCreate{})
	a.expectError(commonpb.ErrorCode_ERROR_ALREADY_IN_ROOM)
	b, c := e.dial(), e.dial()
	b.login("")
	c.login("")
	b.join(st.Room.RoomId)
	c.send(lspb.MsgRoomJoin, &lspb.RoomJoin{RoomId: st.Room.RoomId})
	if m := c.next(lspb.MsgError, lspb.MsgRoomState); m.id == lspb.MsgError {
		var er commonpb.Error
		_ = proto.Unmarshal(m.data, &er)
		if er.Code != commonpb.ErrorCode_ERROR_ROOM_FULL && er.Code != commonpb.ErrorCode_ERROR_ROOM_CLOSED {
			t.Fatalf("joining a full room: %v", er.Code)
		}
	} else {
		t.Fatal("joined a full room")
	}
	a.matchStart()
	a.send(lspb.MsgInput, &lspb.Input{Data: make([]byte, 17)})
	a.expectError(commonpb.ErrorCode_ERROR_INPUT_TOO_LARGE)
	c.send(lspb.MsgReconnect, &lspb.Reconnect{})
	c.expectError(commonpb.ErrorCode_ERROR_NO_SEAT)
	// The room is not stalled by any of it.
	a.frames(10)
}

func TestRoomListFiltersOpen(t *testing.T) {
	e := startLockstep(t, nil)
	a, b, c := e.dial(), e.dial(), e.dial()
	a.login("")
	b.login("")
	c.login("")
	open := a.create(&lspb.RoomOptions{MaxPlayers: 4})
	b.create(&lspb.RoomOptions{MaxPlayers: 1}) // starts at once
	b.matchStart()
	c.send(lspb.MsgRoomList, &lspb.RoomList{OpenOnly: true})
	var ack lspb.RoomListAck
	c.expect(lspb.MsgRoomListAck, &ack)
	if len(ack.Rooms) != 1 || ack.Rooms[0].RoomId != open.Room.RoomId || ack.Rooms[0].Players != 1 {
		t.Fatalf("open rooms %v", ack.Rooms)
	}
	c.send(lspb.MsgRoomList, &lspb.RoomList{})
	c.expect(lspb.MsgRoomListAck, &ack)
	if len(ack.Rooms) != 2 {
		t.Fatalf("all rooms: %d, want 2", len(ack.Rooms))
	}
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestLockstepReplay: an ended match is replayed to anyone logged in: the
// same seed and seats, every frame the players got, then MatchEnd.
func TestLockstepReplay(t *testing.T) {
	e := startLockstep(t, func(c *Config) { c.TickRate = 100 })
	a, b := e.dial(), e.dial()
	a.login("")
	b.login("")
	st := a.create(&lspb.RoomOptions{MaxPlayers: 2})
	b.join(st.Room.RoomId)
	ms := a.matchStart()
	b.matchStart()
	for i := range 20 {
		a.send(lspb.MsgInput, &lspb.Input{Data: []byte{byte(i)}, Seq: uint32(i + 1)})
		b.send(lspb.MsgInput, &lspb.Input{Data: []byte{byte(100 + i)}, Seq: uint32(i + 1)})
		time.Sleep(2 * time.Millisecond)
	}
	played := a.frames(60)
	a.send(lspb.MsgMatchResult, &lspb.MatchResult{Result: []byte("draw")})
	b.send(lspb.MsgMatchResult, &lspb.MatchResult{Result: []byte("draw")})
	var end lspb.MatchEnd
	a.expect(lspb.MsgMatchEnd, &end)
	played = append(played, a.framesUntilEnd()...)
	if played[len(played)-1].n != end.LastFrame {
		t.Fatalf("frames up to %d received, match ended at %d", played[len(played)-1].n, end.LastFrame)
	}

	v := e.dial()
	v.send(lspb.MsgReplay, &lspb.ReplayRequest{MatchId: ms.MatchId})
	v.expectError(commonpb.ErrorCode_ERROR_NOT_LOGGED_IN)
	v.login("")
	v.send(lspb.MsgReplay, &lspb.ReplayRequest{MatchId: 1})
	v.expectError(commonpb.ErrorCode_ERROR_MATCH_NOT_FOUND)
	v.send(lspb.MsgReplay, &lspb.ReplayRequest{MatchId: ms.MatchId})
	var rs lspb.ReplayStart
	v.expect(lspb.MsgReplayStart, &rs)
	if rs.Seed != ms.Seed || rs.LastFrame != end.LastFrame || len(rs.Slots) != 2 || string(rs.Result) != "draw" ||
		rs.Reason != lspb.MatchEndReason_MATCH_END_RESULT {
		t.Fatalf("ReplayStart %v; match %v, end %v", &rs, ms, &end)
	}
	replayed := v.frames(end.LastFrame)
	gapless(t, replayed, 1)
	sameFrames(t, played, replayed)
	if len(replayed) != len(played) {
		t.Fatalf("replayed %d frames, played %d", len(replayed), len(played))
	}
	var rend lspb.MatchEnd
	v.expect(lspb.MsgMatchEnd, &rend)
	if rend.MatchId != ms.MatchId || string(rend.Result) != "draw" {
		t.Fatalf("replay MatchEnd %v", &rend)
	}
}

// framesUntilEnd takes the frames that arrived while the test waited for
// other messages (MatchEnd), in order.
func (c *lsClient) framesUntilEnd() []frame {
	c.t.Helper()
	var out []frame
	var rest []lsMsg
	for _, m := range c.backlog {
		if m.id != lspb.MsgFrames {
			rest = append(rest, m)
			continue
		}
		var b lspb.FrameBatch
		if err := proto.Unmarshal(m.data, &b); err != nil {
			c.t.Fatal(err)
		}
		out = append(out, expand(&b)...)
	}
	c.backlog = rest
	return out
}

// TestLockstepFrameFull: a flood of large inputs fills a frame; what does
// not fit is refused with ERROR_BUSY, and every frame still fits a packet
// (none is lost: the frames stay gapless for the other player).
func TestLockstepFrameFull(t *testing.T) {
	e := startLockstep(t, func(c *Config) { c.TickRate = 10; c.InputRate = 1000 })
	a, b := e.dial(), e.dial()
	a.login("")
	b.login("")
	st := a.create(&lspb.RoomOptions{MaxPlayers: 2})
	b.join(st.Room.RoomId)
	a.matchStart()
	b.matchStart()
	const n = 60 // 60 inputs of 256 bytes in well under a tick: about 4 frames' worth
	for i := range n {
		a.send(lspb.MsgInput, &lspb.Input{Data: make([]byte, 256), Seq: uint32(i + 1)})
	}
	refused := 0
	for {
		m := a.next(lspb.MsgError, lspb.MsgFrames)
		if m.id == lspb.MsgFrames {
			continue
		}
		var er commonpb.Error
		_ = proto.Unmarshal(m.data, &er)
		if er.Code != commonpb.ErrorCode_ERROR_BUSY {
			t.Fatalf("error %v %q", er.Code, er.Message)
		}
		if refused++; refused == 1 {
			break
		}
	}
	fs := b.frames(30)
	gapless(t, fs, 1)
	got := 0
	for _, f := range fs {
		got += len(f.inputs)
	}
	if got == 0 || got >= n {
		t.Fatalf("%d of %d large inputs in frames; want some, not all", got, n)
	}
}
