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
	"github.com/zinxgame/zinxgame/znet/znettest"
)

func TestSimWallBounce(t *testing.T) {
	s := &Sim{BallX: 500, BallY: 10, VX: 5, VY: -15, Paddle: [2]int32{300, 300}}
	if s.Step() != -1 || s.BallY != 5 || s.VY != 15 {
		t.Fatalf("off the top wall: y %d, vy %d; want 5, 15", s.BallY, s.VY)
	}
	s.BallY, s.VY = Height-4, 10
	if s.Step(); s.BallY != Height-6 || s.VY != -10 {
		t.Fatalf("off the bottom wall: y %d, vy %d; want %d, -10", s.BallY, s.VY, Height-6)
	}
}

func TestSimPaddle(t *testing.T) {
	// The ball reaches the right paddle 30 units below its centre: it
	// comes back, faster, leaving half as steep as off the paddle's end.
	s := &Sim{BallX: Width - PaddleX - 10, BallY: 330, VX: 24, VY: 0, Paddle: [2]int32{300, 300}}
	if s.Step() != -1 || s.VX != -25 || s.VY != maxSpeedY/2 || s.BallX != Width-PaddleX-14 {
		t.Fatalf("off the right paddle: %+v", s)
	}
	// The left paddle is elsewhere: the point is the right's, and the
	// next serve goes to the left, from the middle.
	s = &Sim{BallX: PaddleX + 10, BallY: 500, VX: -24, Paddle: [2]int32{100, 300}}
	for s.Step() == -1 {
		if s.Ticks > 5 {
			t.Fatal("no point scored past the left paddle")
		}
	}
	if s.Score != [2]uint32{0, 1} || s.BallX != Width/2 || s.VX != -serveSpeed {
		t.Fatalf("after the right's point: %+v", s)
	}
}

func TestSimPaddleStops(t *testing.T) {
	s := NewSim()
	s.Dir = [2]pongpb.Dir{pongpb.Dir_DIR_UP, pongpb.Dir_DIR_DOWN}
	for range 50 {
		s.Step()
	}
	if s.Paddle != [2]int32{PaddleHeight / 2, Height - PaddleHeight/2} {
		t.Fatalf("paddles at %v: want them stopped at the walls", s.Paddle)
	}
}

// TestSimDeterministic: the same inputs give the same match.
func TestSimDeterministic(t *testing.T) {
	run := func() *Sim {
		s := NewSim()
		for i := range 2000 {
			s.Dir[0] = follow(s.BallY, s.Paddle[0])
			s.Dir[1] = pongpb.Dir(i / 37 % 3)
			s.Step()
		}
		return s
	}
	a, b := run(), run()
	if *a != *b || a.Score == [2]uint32{} {
		t.Fatalf("two runs: %+v and %+v (want equal, with points scored)", a, b)
	}
}

// TestLogicManual drives a match's Logic on a manual room manager, tick by
// tick on this goroutine, with recording connections: no network.
func TestLogicManual(t *testing.T) {
	docs := store.NewMemoryDocStore(store.DocLimits{})
	acc, err := account.New(account.Config{}, account.NewMemoryAccounts(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The room's clock is the wall clock even when stepped by hand, so
	// the countdown is a nanosecond: it ends at the next tick.
	rules := Rules{PointsToWin: 2, TickRate: 20, Countdown: time.Nanosecond}
	g, err := New(Config{Modes: map[string]Rules{"classic": rules}, Rooms: room.Config{Manual: true}}, acc, docs, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Rooms().Close()
	conns := [2]*znettest.Recorder{znettest.NewRecorder(), znettest.NewRecorder()}
	var r *room.Room
	for i, c := range conns {
		j := room.Join{Player: room.Player{ID: uint64(i + 1), Name: "p"}, Conn: c}
		if r, err = g.Rooms().JoinOrCreate(RoomType, "classic", modeOpts{"classic", g.cfg.Modes["classic"]}, j, nil); err != nil {
			t.Fatal(err)
		}
	}
	m := r.Logic().(*match) // safe to read here: this goroutine is the room's tick
	now := time.Now()
	g.Rooms().Step(now) // the joins; the countdown starts
	if m.phase != countdown || len(conns[1].SentTo(pongpb.MsgMatchStart)) != 1 {
		t.Fatalf("after both joined: phase %d, MatchStart %d times", m.phase, len(conns[1].SentTo(pongpb.MsgMatchStart)))
	}
	mv, _ := proto.Marshal(&pongpb.Move{Dir: pongpb.Dir_DIR_UP})
	if err := g.Rooms().Input(2, conns[1], pongpb.MsgMove, mv); err != nil {
		t.Fatal(err)
	}
	for n := 1; g.Rooms().Step(now.Add(time.Duration(n)*50*time.Millisecond)) > 0; n++ {
		if n > 20*60 {
			t.Fatal("no end after a minute of ticks")
		}
	}
	// Player 2's paddle went up and stayed there, player 1's never moved.
	// The match is deterministic: the first serve passes the right paddle,
	// the second reaches its end and comes back steep, past the left one,
	// and so on to 1-2.
	states := conns[0].SentTo(pongpb.MsgState)
	var last pongpb.State
	if err := proto.Unmarshal(states[len(states)-1], &last); err != nil {
		t.Fatal(err)
	}
	if last.RightY != PaddleHeight/2 || last.LeftScore != 1 || last.RightScore != 2 {
		t.Fatalf("last State %v: want the right paddle at the top and 1-2", &last)
	}
	var end pongpb.MatchEnd
	if ends := conns[1].SentTo(pongpb.MsgMatchEnd); len(ends) != 1 || proto.Unmarshal(ends[0], &end) != nil ||
		end.WinnerId != 2 || end.Reason != pongpb.EndReason_END_POINTS || end.Ticks != last.Tick {
		t.Fatalf("MatchEnd %v (sent %d times): want player 2 winning on points at tick %d", &end, len(ends), last.Tick)
	}
	if err := g.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, err := g.readStats(context.Background(), 1)
	if err != nil || st.Losses != 1 || st.Wins != 0 || st.PointsFor != 1 || st.PointsAgainst != 2 {
		t.Fatalf("player 1's saved stats: %v, %v", st, err)
	}
}
