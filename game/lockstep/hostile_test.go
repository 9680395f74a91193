package lockstep

import (
	"github.com/zinxgame/zinxgame/znet/znettest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/game/account"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/lspb"
)

// The attacks of the room-runtime issue, each against a real server over
// TCP, each failing without its fix.

// Two seats that disagree: before, ties went to the lowest slot's hash and
// the honest slot 1 was blamed. Now nobody is, and the Desync says so.
func TestHashTieBlamesNobody(t *testing.T) {
	e := startLockstep(t, func(c *Config) { c.TickRate = 100; c.HashInterval = 10 })
	a, b := e.dial(), e.dial()
	a.login("")
	b.login("")
	st := a.create(&lspb.RoomOptions{MaxPlayers: 2})
	b.join(st.Room.RoomId)
	a.matchStart()
	b.matchStart()
	a.frames(20)
	b.frames(20)
	a.send(lspb.MsgHashReport, &lspb.HashReport{Frame: 10, Hash: 0xbad})
	b.send(lspb.MsgHashReport, &lspb.HashReport{Frame: 10, Hash: 0x600d})
	var d lspb.Desync
	a.expect(lspb.MsgDesync, &d)
	if !d.Undecided || len(d.Slots) != 0 || d.Frame != 10 {
		t.Fatalf("a two-seat tie: %v, want undecided with no slot blamed", &d)
	}
}

// Three of four players drop for 300 ms; the one still connected votes.
// Before, its vote was a majority of the connected seats and ended the
// match. Now the dropped seats still count, and one voter never decides.
func TestOneConnectedVoterDoesNotEndTheMatch(t *testing.T) {
	e := startLockstep(t, func(c *Config) { c.TickRate = 100 })
	cs := []*lsClient{e.dial(), e.dial(), e.dial(), e.dial()}
	tokens := make([]string, 4)
	for i, c := range cs {
		tokens[i] = c.login("").Token
	}
	st := cs[0].create(&lspb.RoomOptions{MaxPlayers: 4})
	for _, c := range cs[1:] {
		c.join(st.Room.RoomId)
	}
	for _, c := range cs {
		c.matchStart()
	}
	for _, c := range cs[1:] {
		c.c.Stop()
		<-c.c.Done()
	}
	var ev lspb.PlayerEvent
	for n := 0; n < 3; {
		cs[0].expect(lspb.MsgPlayerEvent, &ev)
		if ev.Kind == lspb.PlayerEventKind_PLAYER_DISCONNECTED {
			n++
		}
	}
	cs[0].send(lspb.MsgMatchResult, &lspb.MatchResult{Result: []byte("I win")})
	time.Sleep(300 * time.Millisecond)
	for _, m := range append(cs[0].backlog, drainInbox(cs[0])...) {
		if m.id == lspb.MsgMatchEnd {
			t.Fatal("one connected player's vote ended a 4-seat match while the others were away for 300 ms")
		}
	}
	// They come back and two more agree: now it is a majority of the seats.
	for i := 1; i <= 2; i++ {
		c := e.dial()
		c.login(tokens[i])
		c.send(lspb.MsgReconnect, &lspb.Reconnect{})
		c.matchStart()
		c.send(lspb.MsgMatchResult, &lspb.MatchResult{Result: []byte("I win")})
	}
	var end lspb.MatchEnd
	cs[0].expect(lspb.MsgMatchEnd, &end)
	if end.Reason != lspb.MatchEndReason_MATCH_END_RESULT || string(end.Result) != "I win" {
		t.Fatalf("MatchEnd %v", &end)
	}
}

func drainInbox(c *lsClient) []lsMsg {
	var out []lsMsg
	for {
		select {
		case m := <-c.inbox:
			out = append(out, m)
		default:
			return out
		}
	}
}

// Everyone drops: the room ends after EmptyTimeout, not after the minute
// of ReconnectGrace it used to tick through with nobody there.
func TestEmptyMatchEndsAfterEmptyTimeout(t *testing.T) {
	e := startLockstep(t, func(c *Config) { c.EmptyTimeout = 200 * time.Millisecond; c.ReconnectGrace = time.Minute })
	a, b := e.dial(), e.dial()
	a.login("")
	b.login("")
	st := a.create(&lspb.RoomOptions{MaxPlayers: 2})
	b.join(st.Room.RoomId)
	a.matchStart()
	b.matchStart()
	a.c.Stop()
	b.c.Stop()
	start := time.Now()
	znettest.Eventually(t, func() bool { return e.ls.Rooms() == 0 }, "the abandoned room to end")
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the abandoned room ticked for %v", d)
	}
}

// One identity cannot take every room: each may hold MaxRoomsPerOwner.
func TestRoomsPerOwner(t *testing.T) {
	e := startLockstep(t, func(c *Config) { c.MaxRoomsPerOwner = 2; c.ReadyTimeout = time.Hour })
	a := e.dial()
	a.login("")
	for range 2 {
		a.create(&lspb.RoomOptions{MaxPlayers: 4})
		a.send(lspb.MsgRoomLeave, &lspb.RoomLeave{})
		var ev lspb.PlayerEvent
		a.expect(lspb.MsgPlayerEvent, &ev)
	}
	// Both rooms are empty now and end at once; until then (and for any
	// owner whose rooms stay open) a third is refused. Hold the rooms open
	// with another player in each.
	znettest.Eventually(t, func() bool { return e.ls.Rooms() == 0 }, "the empty rooms to end")
	others := []*lsClient{e.dial(), e.dial()}
	for _, o := range others {
		o.login("")
	}
	for _, o := range others {
		st := a.create(&lspb.RoomOptions{MaxPlayers: 4})
		o.join(st.Room.RoomId)
		a.send(lspb.MsgRoomLeave, &lspb.RoomLeave{})
		var ev lspb.PlayerEvent
		for ev.Kind != lspb.PlayerEventKind_PLAYER_LEFT {
			a.expect(lspb.MsgPlayerEvent, &ev)
		}
	}
	a.send(lspb.MsgRoomCreate, &lspb.RoomCreate{})
	a.expectError(commonpb.ErrorCode_ERROR_ROOM_LIMIT)
}

// Long names would push RoomState and MatchStart over the packet limit,
// and both were dropped without a word (two 2,100-byte names did it).
// Names are now bounded at login (ERROR_NAME_TOO_LONG), and a join whose
// room state would not fit one packet is refused, with its code, at the
// request, whatever the name bound is set to.
func TestStateTooLargeIsRefusedAtTheJoin(t *testing.T) {
	e := startLockstep(t, nil)
	a := e.dial()
	a.send(lspb.MsgLogin, &commonpb.Login{Name: strings.Repeat("n", 2100)})
	a.expectError(commonpb.ErrorCode_ERROR_NAME_TOO_LONG)

	acc, err := account.New(account.Config{MaxNameBytes: 1024}, nil, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	e = startLockstep(t, nil, WithIdentity(acc))
	long := strings.Repeat("n", 1000)
	cs := []*lsClient{e.dial(), e.dial(), e.dial(), e.dial()}
	for _, c := range cs {
		c.send(lspb.MsgLogin, &commonpb.Login{Name: long})
		c.expect(lspb.MsgLoginAck, &commonpb.LoginAck{})
	}
	st := cs[0].create(&lspb.RoomOptions{MaxPlayers: 4, ReadyTimeoutMs: 3600_000})
	cs[1].join(st.Room.RoomId)
	cs[2].join(st.Room.RoomId)
	// Four 1,000-byte names do not fit a 4,000-byte packet.
	cs[3].send(lspb.MsgRoomJoin, &lspb.RoomJoin{RoomId: st.Room.RoomId})
	cs[3].expectError(commonpb.ErrorCode_ERROR_STATE_TOO_LARGE)
}

// 200 pipelined replay requests used to copy the whole match log 200
// times (RSS 35 to 641 MiB). Now one replay streams per connection and
// the rest are refused at once.
func TestPipelinedReplaysStreamOneAtATime(t *testing.T) {
	e := startLockstep(t, func(c *Config) { c.TickRate = 100; c.MaxDuration = time.Second })
	a := e.dial()
	a.login("")
	a.create(&lspb.RoomOptions{MaxPlayers: 1})
	ms := a.matchStart()
	for i := range 60 {
		a.send(lspb.MsgInput, &lspb.Input{Data: make([]byte, 200), Seq: uint32(i + 1)})
		time.Sleep(5 * time.Millisecond)
	}
	var end lspb.MatchEnd
	a.expect(lspb.MsgMatchEnd, &end)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	starts, busy := a.pipeline(200, lspb.MsgReplay, &lspb.ReplayRequest{MatchId: ms.MatchId}, lspb.MsgReplayStart,
		commonpb.ErrorCode_ERROR_REPLAY_BUSY)
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("200 pipelined replays: %d streamed, %d refused as busy; heap %+d KiB", starts, busy, (int64(after.HeapAlloc)-int64(before.HeapAlloc))>>10)
	if starts > 20 || busy < 180 {
		t.Fatalf("%d of 200 pipelined replays streamed at once (%d refused), want one at a time", starts, busy)
	}
}

// The replay lists every seat that played: before, a player who left with
// RoomLeave vanished from it.
func TestReplayListsLeavers(t *testing.T) {
	e := startLockstep(t, func(c *Config) { c.TickRate = 100 })
	a, b, c := e.dial(), e.dial(), e.dial()
	a.login("")
	b.login("")
	c.login("")
	st := a.create(&lspb.RoomOptions{MaxPlayers: 3})
	b.join(st.Room.RoomId)
	c.join(st.Room.RoomId)
	ms := a.matchStart()
	b.matchStart()
	c.matchStart()
	c.send(lspb.MsgRoomLeave, &lspb.RoomLeave{})
	var ev lspb.PlayerEvent
	for ev.Kind != lspb.PlayerEventKind_PLAYER_LEFT {
		a.expect(lspb.MsgPlayerEvent, &ev)
	}
	a.send(lspb.MsgMatchResult, &lspb.MatchResult{Result: []byte("x")})
	b.send(lspb.MsgMatchResult, &lspb.MatchResult{Result: []byte("x")})
	a.expect(lspb.MsgMatchEnd, &lspb.MatchEnd{})
	a.send(lspb.MsgReplay, &lspb.ReplayRequest{MatchId: ms.MatchId})
	var rs lspb.ReplayStart
	a.expect(lspb.MsgReplayStart, &rs)
	if len(rs.Slots) != 3 {
		t.Fatalf("the replay lists %d seats, want the 3 that played (a leaver included)", len(rs.Slots))
	}
}

// The server's limits reach the client, and a rate-limited input's error
// names its sequence number.
func TestLimitsAnnouncedAndRateLimitNamesSeq(t *testing.T) {
	e := startLockstep(t, func(c *Config) { c.InputRate = 5; c.MaxInputBytes = 64 })
	a := e.dial()
	ack := a.login("")
	if l := ack.Limits; l == nil || l.MaxInputBytes != 64 || l.InputRate != 5 || l.ReconnectGraceMs == 0 ||
		int(l.MaxPacketSize) != e.srv.Config().MaxPackageSize {
		t.Fatalf("LoginAck limits %v", ack.Limits)
	}
	a.create(&lspb.RoomOptions{MaxPlayers: 1})
	a.matchStart()
	for i := range 20 {
		a.send(lspb.MsgInput, &lspb.Input{Data: []byte{1}, Seq: uint32(100 + i)})
	}
	var er commonpb.Error
	a.expect(lspb.MsgError, &er)
	if er.Code != commonpb.ErrorCode_ERROR_RATE_LIMITED || er.Seq < 100 || er.Seq >= 120 {
		t.Fatalf("rate-limited input: %v seq %d, want RATE_LIMITED naming one of the inputs' seq", er.Code, er.Seq)
	}
}

// RoomList pages through the index with a cursor and a label filter.
func TestRoomListPagesAndLabels(t *testing.T) {
	e := startLockstep(t, func(c *Config) { c.ReadyTimeout = time.Hour })
	want := map[uint64]bool{}
	for i := range 7 {
		c := e.dial()
		c.login("")
		label := "casual"
		if i%2 == 0 {
			label = "ranked"
		}
		c.send(lspb.MsgRoomCreate, &lspb.RoomCreate{Options: &lspb.RoomOptions{MaxPlayers: 2}, Label: label})
		var st lspb.RoomState
		c.expect(lspb.MsgRoomState, &st)
		if label == "ranked" {
			want[st.Room.RoomId] = true
		}
	}
	q := e.dial()
	q.login("")
	got := map[uint64]bool{}
	for after, pages := uint64(0), 0; ; pages++ {
		q.send(lspb.MsgRoomList, &lspb.RoomList{Label: "ranked", After: after, Limit: 2})
		var ack lspb.RoomListAck
		q.expect(lspb.MsgRoomListAck, &ack)
		for _, r := range ack.Rooms {
			if r.Label != "ranked" || r.Players != 1 {
				t.Fatalf("listed %v", r)
			}
			got[r.RoomId] = true
		}
		if ack.Next == 0 {
			break
		}
		if pages > 10 {
			t.Fatal("the cursor never ends")
		}
		after = ack.Next
	}
	if len(got) != len(want) {
		t.Fatalf("paged %d ranked rooms, want %d", len(got), len(want))
	}
}

// Reconnect{0} made the room copy its whole log for every request. Now a
// catch-up is a stream, one per seat at a time: a flood of Reconnects on
// one connection gets ERROR_BUSY while one streams, and the frames come
// once each, in order.
func TestReconnectFloodStreamsOnce(t *testing.T) {
	e := startLockstep(t, func(c *Config) { c.TickRate = 100; c.MaxBatchBytes, c.MaxInputBytes = 300, 32 })
	a, b := e.dial(), e.dial()
	a.login("")
	b.login("")
	st := a.create(&lspb.RoomOptions{MaxPlayers: 2})
	b.join(st.Room.RoomId)
	a.matchStart()
	b.matchStart()
	for i := range 100 {
		a.send(lspb.MsgInput, &lspb.Input{Data: []byte("move"), Seq: uint32(i + 1)})
		time.Sleep(2 * time.Millisecond)
	}
	a.frames(150)
	starts, busy := b.pipeline(100, lspb.MsgReconnect, &lspb.Reconnect{}, lspb.MsgMatchStart,
		commonpb.ErrorCode_ERROR_BUSY, commonpb.ErrorCode_ERROR_RATE_LIMITED)
	t.Logf("100 pipelined Reconnects: %d streamed, %d refused", starts, busy)
	if starts > 10 {
		t.Fatalf("%d of 100 pipelined Reconnects started a catch-up; want one at a time", starts)
	}
}

// pipeline sends n copies of m at once and sorts the n answers: those that
// started (a message startID) and those refused with one of codes; any
// other answer fails the test.
func (c *lsClient) pipeline(n int, id uint32, m proto.Message, startID uint32, codes ...commonpb.ErrorCode) (starts, refused int) {
	c.t.Helper()
	b, _ := proto.Marshal(m)
	for range n {
		if err := c.c.SendMsg(id, b); err != nil {
			c.t.Fatal(err)
		}
	}
	for starts+refused < n {
		got := c.next(lspb.MsgError, startID)
		if got.id == startID {
			starts++
			continue
		}
		var er commonpb.Error
		_ = proto.Unmarshal(got.data, &er)
		if !slices.Contains(codes, er.Code) {
			c.t.Fatalf("message %d refused with %v, want one of %v", id, er.Code, codes)
		}
		refused++
	}
	return starts, refused
}
