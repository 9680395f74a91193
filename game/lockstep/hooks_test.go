package lockstep

import (
	"fmt"
	"github.com/zinxgame/zinxgame/znet/znettest"
	"sync"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/game/room"
	"github.com/zinxgame/zinxgame/protocol/lspb"
)

// A game changes one rule and records results through the hooks: the
// match starts on its own start rule, and the hooks see the joins, the
// start, a leave and the end with every seat that played.
func TestRulesAndHooks(t *testing.T) {
	var mu sync.Mutex
	var got []string
	rec := func(format string, args ...any) {
		mu.Lock()
		got = append(got, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	hooks := Hooks{
		OnJoin:  func(_ uint64, s Seat) { rec("join %d", s.Slot) },
		OnLeave: func(_ uint64, s Seat, why room.LeaveReason) { rec("leave %d %s", s.Slot, why) },
		OnMatchStart: func(m MatchInfo) {
			rec("start %d seats", len(m.Seats))
		},
		OnMatchEnd: func(m MatchResult) {
			rec("end %s %q %d seats", m.Reason, m.Result, len(m.Seats))
		},
	}
	// Start as soon as three are present, ready or not, in a room of four:
	// the default rule would wait for a fourth, for everyone ready, or for
	// the hour of ready timeout.
	e := startLockstep(t, func(c *Config) { c.TickRate = 100; c.ReadyTimeout = time.Hour },
		WithRules(Rules{Start: StartWhen(3, false)}), WithHooks(hooks))
	a, b, c := e.dial(), e.dial(), e.dial()
	a.login("")
	b.login("")
	c.login("")
	st := a.create(&lspb.RoomOptions{MaxPlayers: 4})
	b.join(st.Room.RoomId)
	b.send(lspb.MsgReady, &lspb.Ready{Ready: true}) // one of two ready: no start
	time.Sleep(100 * time.Millisecond)
	c.join(st.Room.RoomId)
	a.matchStart()
	c.send(lspb.MsgRoomLeave, &lspb.RoomLeave{})
	var ev lspb.PlayerEvent
	for ev.Kind != lspb.PlayerEventKind_PLAYER_LEFT {
		a.expect(lspb.MsgPlayerEvent, &ev)
	}
	a.send(lspb.MsgMatchResult, &lspb.MatchResult{Result: []byte("a")})
	b.send(lspb.MsgMatchResult, &lspb.MatchResult{Result: []byte("a")})
	a.expect(lspb.MsgMatchEnd, &lspb.MatchEnd{})
	want := `[join 0 join 1 join 2 start 3 seats leave 2 left end MATCH_END_RESULT "a" 3 seats]`
	znettest.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return fmt.Sprint(got) == want }, "the hooks")
}

// StartWhen(2, true) with two of three ready does not start: all present
// must be ready.
func TestStartWhenNeedsAllReady(t *testing.T) {
	if StartWhen(2, true)(Lobby{Seats: 4, Present: 3, Ready: 2}) {
		t.Fatal("started with two of three ready")
	}
}
