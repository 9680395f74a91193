package pong

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/examples/pong/pongpb"
	"github.com/zinxgame/zinxgame/game/account"
	"github.com/zinxgame/zinxgame/game/room"
	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/znet"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// fast are rules a test match plays quickly: 100 ticks a second, a short
// countdown, first to 3.
var fast = Rules{PointsToWin: 3, TickRate: 100, Countdown: 50 * time.Millisecond, MaxTime: 30 * time.Second}

type fixture struct {
	ts   *znettest.Server
	g    *Game
	docs store.DocStore
}

// serve runs a pong server on loopback with cfg (its modes "classic" and
// "quick" being fast unless cfg sets them).
func serve(t *testing.T, cfg Config) *fixture {
	t.Helper()
	if cfg.Modes == nil {
		cfg.Modes = map[string]Rules{"classic": fast, "quick": fast}
	}
	docs := store.NewMemoryDocStore(store.DocLimits{})
	acc, err := account.New(account.Config{}, account.NewMemoryAccounts(), nil)
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(cfg, acc, docs, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := znettest.NewServer(t, znettest.Config(), func(s *znet.Server) {
		if err := s.Mount("pong", g); err != nil {
			t.Fatal(err)
		}
	})
	return &fixture{ts: ts, g: g, docs: docs}
}

type player struct {
	*znettest.Peer
	id    uint64
	token string
	room  uint64 // LoginAck's: a seat held
}

func (f *fixture) login(t *testing.T, name, token string) *player {
	t.Helper()
	p := &player{Peer: f.ts.Dial()}
	p.SendProto(pongpb.MsgLogin, &commonpb.Login{Name: name, Token: token})
	var ack commonpb.LoginAck
	p.ExpectProto(pongpb.MsgLoginAck, &ack)
	p.id, p.token, p.room = ack.PlayerId, ack.Token, ack.RoomId
	return p
}

// play asks for a match and returns the Joined answer.
func (p *player) play(t *testing.T, msg *pongpb.Play) *pongpb.Joined {
	t.Helper()
	p.SendProto(pongpb.MsgPlay, msg)
	var j pongpb.Joined
	p.ExpectSkipProto(pongpb.MsgJoined, &j)
	return &j
}

func (p *player) refused(t *testing.T, want pongpb.ErrorCode) {
	t.Helper()
	var e pongpb.PongError
	p.ExpectSkipProto(pongpb.MsgError, &e)
	if e.Code != want || e.Message == "" {
		t.Fatalf("%d: want error %v with a message, got %v %q", p.id, want, e.Code, e.Message)
	}
}

// pair starts a match between two new players.
func (f *fixture) pair(t *testing.T) (left, right *player, roomID uint64) {
	t.Helper()
	left, right = f.login(t, "ann", ""), f.login(t, "bob", "")
	jl, jr := left.play(t, &pongpb.Play{}), right.play(t, &pongpb.Play{})
	if jl.RoomId != jr.RoomId || jl.Side != pongpb.Side_SIDE_LEFT || jr.Side != pongpb.Side_SIDE_RIGHT {
		t.Fatalf("want one room, left then right: %v, %v", jl, jr)
	}
	for _, p := range []*player{left, right} {
		var ms pongpb.MatchStart
		p.ExpectSkipProto(pongpb.MsgMatchStart, &ms)
		if ms.LeftId != left.id || ms.RightId != right.id || ms.MatchId != jl.RoomId {
			t.Fatalf("MatchStart %v: want left %d, right %d, match %d", &ms, left.id, right.id, jl.RoomId)
		}
	}
	return left, right, jl.RoomId
}

// live reads States until one is not paused.
func (p *player) live(t *testing.T) *pongpb.State {
	t.Helper()
	for {
		var st pongpb.State
		p.ExpectSkipProto(pongpb.MsgState, &st)
		if !st.Paused {
			return &st
		}
	}
}

// TestMatch plays a whole match: the left player follows the ball, the
// right one stands still. The result is saved, pushed as Stats, and read
// back with StatsRequest.
func TestMatch(t *testing.T) {
	f := serve(t, Config{})
	left, right, match := f.pair(t)
	var end pongpb.MatchEnd
	var dir pongpb.Dir
	for end.Reason == pongpb.EndReason_END_UNSPECIFIED {
		id, data := left.Recv()
		switch id {
		case pongpb.MsgState:
			var st pongpb.State
			if err := proto.Unmarshal(data, &st); err != nil {
				t.Fatal(err)
			}
			if d := follow(st.BallY, st.LeftY); d != dir {
				dir = d
				left.SendProto(pongpb.MsgMove, &pongpb.Move{Dir: d})
			}
		case pongpb.MsgMatchEnd:
			if err := proto.Unmarshal(data, &end); err != nil {
				t.Fatal(err)
			}
		}
	}
	var rend pongpb.MatchEnd
	right.ExpectSkipProto(pongpb.MsgMatchEnd, &rend)
	if !proto.Equal(&end, &rend) || end.Reason != pongpb.EndReason_END_POINTS || end.MatchId != match {
		t.Fatalf("MatchEnd: left got %v, right %v", &end, &rend)
	}
	winner, loser := left, right
	if end.WinnerId == right.id {
		winner, loser = right, left
	}
	if hi, lo := max(end.LeftScore, end.RightScore), min(end.LeftScore, end.RightScore); hi != fast.PointsToWin || lo >= hi || end.WinnerId != winner.id {
		t.Fatalf("MatchEnd %v: want the winner at %d points", &end, fast.PointsToWin)
	}
	wscore, lscore := max(end.LeftScore, end.RightScore), min(end.LeftScore, end.RightScore)
	want := map[*player]*pongpb.Stats{
		winner: {PlayerId: winner.id, Wins: 1, PointsFor: wscore, PointsAgainst: lscore, LastMatchId: match},
		loser:  {PlayerId: loser.id, Losses: 1, PointsFor: lscore, PointsAgainst: wscore, LastMatchId: match},
	}
	for p, w := range want {
		var pushed, read pongpb.Stats
		p.ExpectSkipProto(pongpb.MsgStats, &pushed) // sent once saved
		p.SendProto(pongpb.MsgStatsRequest, &pongpb.StatsRequest{})
		p.ExpectSkipProto(pongpb.MsgStats, &read)
		if !proto.Equal(&pushed, w) || !proto.Equal(&read, w) {
			t.Errorf("stats of %d: pushed %v, read %v, want %v", p.id, &pushed, &read, w)
		}
	}
	var other pongpb.Stats // anyone's stats, by ID
	winner.SendProto(pongpb.MsgStatsRequest, &pongpb.StatsRequest{PlayerId: loser.id})
	winner.ExpectSkipProto(pongpb.MsgStats, &other)
	if !proto.Equal(&other, want[loser]) {
		t.Errorf("the loser's stats, read by the winner: %v, want %v", &other, want[loser])
	}
	doc, ok, err := f.docs.GetDoc(context.Background(), matchRef(match))
	var saved pongpb.MatchEnd
	if err != nil || !ok || proto.Unmarshal(doc.Value, &saved) != nil || !proto.Equal(&saved, &end) {
		t.Errorf("match document: %v %v %v, want %v", &saved, ok, err, &end)
	}
	// The room is gone: the players can play again.
	if j := left.play(t, &pongpb.Play{}); j.RoomId == match {
		t.Errorf("a new Play joined the ended room %d", match)
	}
}

// follow is the direction that brings a paddle at y to the ball.
func follow(ball, y int32) pongpb.Dir {
	switch {
	case ball < y-PaddleSpeed:
		return pongpb.Dir_DIR_UP
	case ball > y+PaddleSpeed:
		return pongpb.Dir_DIR_DOWN
	}
	return pongpb.Dir_DIR_STOP
}

// TestMatchmaking: players asking for one mode meet two by two; another
// mode is another room.
func TestMatchmaking(t *testing.T) {
	f := serve(t, Config{})
	var rooms []uint64
	for i, mode := range []string{"classic", "classic", "classic", "quick"} {
		j := f.login(t, "p", "").play(t, &pongpb.Play{Mode: mode})
		if j.Mode != mode || j.Side != pongpb.Side(i%2) && i < 3 {
			t.Fatalf("player %d: %v", i, j)
		}
		rooms = append(rooms, j.RoomId)
	}
	if rooms[0] != rooms[1] || rooms[2] == rooms[0] || rooms[3] == rooms[2] {
		t.Fatalf("rooms %v: want the first two together, the third and the fourth (another mode) each in a new one", rooms)
	}
	// A friend joins the third player's room by its ID, whatever its mode.
	if j := f.login(t, "friend", "").play(t, &pongpb.Play{Mode: "quick", RoomId: rooms[2]}); j.RoomId != rooms[2] || j.Mode != "classic" {
		t.Fatalf("joining room %d by ID: %v", rooms[2], j)
	}
}

// TestRejoin: a player who drops and comes back within the grace gets its
// seat back, and the match resumes.
func TestRejoin(t *testing.T) {
	f := serve(t, Config{Grace: 5 * time.Second})
	left, right, match := f.pair(t)
	before := right.live(t)
	left.Close()
	for { // the match pauses
		var st pongpb.State
		right.ExpectSkipProto(pongpb.MsgState, &st)
		if st.Paused {
			break
		}
	}
	back := f.login(t, "ann", left.token)
	if back.id != left.id || back.room != match {
		t.Fatalf("login again: player %d, held room %d; want %d, %d", back.id, back.room, left.id, match)
	}
	back.SendProto(pongpb.MsgRejoin, &pongpb.Rejoin{})
	var j pongpb.Joined
	back.ExpectSkipProto(pongpb.MsgJoined, &j)
	if !j.Rejoin || j.RoomId != match || j.Side != pongpb.Side_SIDE_LEFT {
		t.Fatalf("Joined after Rejoin: %v", &j)
	}
	var ms pongpb.MatchStart
	back.ExpectSkipProto(pongpb.MsgMatchStart, &ms) // the countdown again
	if after := back.live(t); after.Tick <= before.Tick || after.LeftScore+after.RightScore < before.LeftScore+before.RightScore {
		t.Fatalf("resumed at %v, before the drop %v: want the same match going on", after, before)
	}
	right.live(t)
}

// TestForfeit: a player who does not come back within the grace loses.
func TestForfeit(t *testing.T) {
	f := serve(t, Config{Grace: 200 * time.Millisecond})
	left, right, match := f.pair(t)
	right.live(t)
	right.Close()
	var end pongpb.MatchEnd
	left.ExpectSkipProto(pongpb.MsgMatchEnd, &end)
	if end.Reason != pongpb.EndReason_END_FORFEIT || end.WinnerId != left.id || end.MatchId != match {
		t.Fatalf("MatchEnd %v: want a forfeit won by %d", &end, left.id)
	}
	var st pongpb.Stats
	left.ExpectSkipProto(pongpb.MsgStats, &st)
	if st.Wins != 1 || st.Losses != 0 {
		t.Fatalf("the winner's stats: %v", &st)
	}
	left.SendProto(pongpb.MsgStatsRequest, &pongpb.StatsRequest{PlayerId: right.id})
	left.ExpectSkipProto(pongpb.MsgStats, &st)
	if st.Losses != 1 || st.Wins != 0 || st.LastMatchId != match {
		t.Fatalf("the forfeiter's stats: %v", &st)
	}
	// Too late: no seat is held any more.
	late := f.login(t, "bob", right.token)
	late.SendProto(pongpb.MsgRejoin, &pongpb.Rejoin{})
	late.refused(t, pongpb.ErrorCode_ERROR_NO_SEAT)
}

// TestRefusals: each refusal has its own code.
func TestRefusals(t *testing.T) {
	f := serve(t, Config{})
	anon := f.ts.Dial()
	anon.SendProto(pongpb.MsgPlay, &pongpb.Play{})
	(&player{Peer: anon}).refused(t, pongpb.ErrorCode_ERROR_NOT_LOGGED_IN)

	p := f.login(t, "ann", "")
	p.SendProto(pongpb.MsgPlay, &pongpb.Play{Mode: "chess"})
	p.refused(t, pongpb.ErrorCode_ERROR_BAD_REQUEST)
	p.Send(pongpb.MsgPlay, []byte{0xff})
	p.refused(t, pongpb.ErrorCode_ERROR_BAD_REQUEST)
	p.SendProto(pongpb.MsgMove, &pongpb.Move{Dir: pongpb.Dir_DIR_UP})
	p.refused(t, pongpb.ErrorCode_ERROR_NOT_IN_MATCH)
	p.SendProto(pongpb.MsgRejoin, &pongpb.Rejoin{})
	p.refused(t, pongpb.ErrorCode_ERROR_NO_SEAT)
	p.SendProto(pongpb.MsgPlay, &pongpb.Play{RoomId: 12345})
	p.refused(t, pongpb.ErrorCode_ERROR_ROOM_NOT_FOUND)
	full := p.play(t, &pongpb.Play{}).RoomId
	p.SendProto(pongpb.MsgPlay, &pongpb.Play{})
	p.refused(t, pongpb.ErrorCode_ERROR_ALREADY_IN_ROOM)

	f.login(t, "bob", "").play(t, &pongpb.Play{}) // p's opponent: the room is full
	third := f.login(t, "cat", "")
	third.SendProto(pongpb.MsgPlay, &pongpb.Play{RoomId: full})
	third.refused(t, pongpb.ErrorCode_ERROR_ROOM_FULL)
}

// TestRateLimited: room requests over the manager's rate are refused.
func TestRateLimited(t *testing.T) {
	f := serve(t, Config{Rooms: room.Config{RequestRate: 1}}) // a burst of 2
	p := f.login(t, "ann", "")
	p.play(t, &pongpb.Play{})
	p.SendProto(pongpb.MsgMove, &pongpb.Move{Dir: pongpb.Dir_DIR_UP}) // the burst's second
	p.SendProto(pongpb.MsgMove, &pongpb.Move{Dir: pongpb.Dir_DIR_DOWN})
	p.refused(t, pongpb.ErrorCode_ERROR_RATE_LIMITED)
}
