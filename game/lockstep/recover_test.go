package lockstep

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/game/account"
	"github.com/zinxgame/zinxgame/game/account/auth"
	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// TestRecoverInterruptedMatch: a process of node 5 runs a match and
// crashes (its store keeps what it had written, nothing after). The next
// process of node 5 marks the match MATCH_END_INTERRUPTED at its last
// stored frame, keeping the rest of its metadata, and it replays up to
// there; a match running on node 6, or one of its own, is left alone. A player of the crashed
// match logging in again is told its room (LoginAck.room_id), and its
// Reconnect is answered with that MatchEnd, then ERROR_NO_SEAT; its
// session's room is cleared, so a second Reconnect gets ERROR_NO_SEAT
// alone and a new login no room.
func TestRecoverInterruptedMatch(t *testing.T) {
	ms := newDurableStore()
	secret := auth.Config{Secret: strings.Repeat("s", 32)}
	node5 := func(st processStore) []Option {
		accounts, gen, err := account.SetupAccounts(secret, 5, st, discardLog())
		if err != nil {
			t.Fatal(err)
		}
		return []Option{WithAccounts(accounts), WithIDs(gen), WithFrameStore(st), WithMatchStore(st)}
	}
	fast := func(c *Config) { c.TickRate = 100 }

	// The first process, whose writes stop at its crash.
	dying := &crashStore{durableStore: ms}
	e1 := startLockstep(t, fast, node5(dying)...)
	a, b := e1.dial(), e1.dial()
	ackA := a.login("")
	b.login("")
	st := a.create(&lspb.RoomOptions{MaxPlayers: 2})
	b.join(st.Room.RoomId)
	start := a.matchStart()
	b.matchStart()
	var got []frame
	for i := range 10 {
		a.send(lspb.MsgInput, &lspb.Input{Data: []byte{byte(i)}, Seq: uint32(i + 1)})
		got = append(got, a.frames(uint32(len(got)+3))...)
	}
	meta, ok, _ := ms.LoadMatch(context.Background(), start.MatchId)
	if !ok || meta.Node != 5 || !meta.EndedAt.IsZero() {
		t.Fatalf("running match's metadata %+v (%v), want node 5, running", meta, ok)
	}
	id, err := e1.ls.acc.Accounts().Verify(context.Background(), ackA.Token)
	if err != nil {
		t.Fatal(err)
	}
	if se := id.Session; se.RoomID != st.Room.RoomId || se.MatchID != start.MatchId {
		t.Fatalf("session of a seated player %+v, want room %d match %d", se, st.Room.RoomId, start.MatchId)
	}
	// Another node's running match, which this node must not touch.
	other := store.MatchMeta{MatchID: 42, Node: 6, Seed: 1, TickRate: 30, StartedAt: time.Now()}
	if err := ms.SaveMatch(context.Background(), other); err != nil {
		t.Fatal(err)
	}

	// The crash: nothing the first process does from now on is stored
	// (it runs on, unheard of, until the test ends).
	dying.crashed.Store(true)
	last, ok, _ := ms.LastFrame(context.Background(), start.MatchId)
	if !ok || last < 10 {
		t.Fatalf("last stored frame %d (%v), want at least 10", last, ok)
	}
	got = append(got, a.frames(last)...)

	// The next process of node 5 recovers in the background once mounted.
	e2 := startLockstep(t, fast, node5(ms)...)
	znettest.Eventually(t, func() bool {
		m, _, _ := ms.LoadMatch(context.Background(), start.MatchId)
		return !m.EndedAt.IsZero()
	}, "the crashed match to be marked ended")
	meta, _, _ = ms.LoadMatch(context.Background(), start.MatchId)
	if meta.EndReason != lspb.MatchEndReason_MATCH_END_INTERRUPTED.String() || meta.LastFrame != last ||
		meta.Seed != start.Seed || len(meta.Players) != 2 || meta.Node != 5 || meta.RoomID != st.Room.RoomId {
		t.Fatalf("recovered metadata %+v, want interrupted at frame %d with the seed and seats kept", meta, last)
	}
	if m, _, _ := ms.LoadMatch(context.Background(), 42); !m.EndedAt.IsZero() {
		t.Fatalf("node 6's match was touched: %+v", m)
	}
	if n := testutil.ToFloat64(e2.ls.met.matchesRecovered); n != 1 {
		t.Fatalf("matches recovered %v, want 1", n)
	}
	// A match of the new process is never taken for a crashed one.
	c, d := e2.dial(), e2.dial()
	c.login("")
	d.login("")
	d.join(c.create(&lspb.RoomOptions{MaxPlayers: 2}).Room.RoomId)
	own := c.matchStart()
	if n, err := e2.ls.Recover(context.Background()); n != 0 || err != nil {
		t.Fatalf("a second Recover marked %d (%v), want none", n, err)
	}
	if m, ok, _ := ms.LoadMatch(context.Background(), own.MatchId); !ok || !m.EndedAt.IsZero() || m.Node != 5 {
		t.Fatalf("the new process's running match after Recover: %+v (%v)", m, ok)
	}

	// It replays up to its last stored frame.
	v := e2.dial()
	v.login("")
	v.send(lspb.MsgReplay, &lspb.ReplayRequest{MatchId: start.MatchId})
	var rs lspb.ReplayStart
	v.expect(lspb.MsgReplayStart, &rs)
	if rs.Reason != lspb.MatchEndReason_MATCH_END_INTERRUPTED || rs.LastFrame != last || rs.Seed != start.Seed {
		t.Fatalf("ReplayStart %v", &rs)
	}
	replayed := v.frames(last)
	gapless(t, replayed, 1)
	sameFrames(t, replayed, got[:last])
	var end lspb.MatchEnd
	v.expect(lspb.MsgMatchEnd, &end)
	if end.Reason != lspb.MatchEndReason_MATCH_END_INTERRUPTED || end.LastFrame != last {
		t.Fatalf("replay's MatchEnd %v", &end)
	}

	// The player comes back to the new process with its token.
	a2 := e2.dial()
	if ack := a2.login(ackA.Token); ack.RoomId != st.Room.RoomId {
		t.Fatalf("LoginAck room %d, want the session's room %d", ack.RoomId, st.Room.RoomId)
	}
	a2.send(lspb.MsgReconnect, &lspb.Reconnect{LastFrame: last})
	first := a2.next(lspb.MsgMatchEnd, lspb.MsgError, lspb.MsgRoomState)
	if first.id != lspb.MsgMatchEnd {
		t.Fatalf("Reconnect answered first by message %d, want MatchEnd", first.id)
	}
	end.Reset()
	if err := proto.Unmarshal(first.data, &end); err != nil {
		t.Fatal(err)
	}
	if end.MatchId != start.MatchId || end.Reason != lspb.MatchEndReason_MATCH_END_INTERRUPTED || end.LastFrame != last {
		t.Fatalf("Reconnect's MatchEnd %v, want match %d interrupted at %d", &end, start.MatchId, last)
	}
	a2.expectError(commonpb.ErrorCode_ERROR_NO_SEAT)
	se, _, _ := ms.GetSession(context.Background(), id.Session.ID)
	if se.RoomID != 0 || se.MatchID != 0 {
		t.Fatalf("session after the stale answer %+v, want no room and no match", se)
	}
	a2.send(lspb.MsgReconnect, &lspb.Reconnect{LastFrame: last})
	if m := a2.next(lspb.MsgMatchEnd, lspb.MsgError); m.id != lspb.MsgError {
		t.Fatalf("a second Reconnect answered by message %d, want ERROR_NO_SEAT alone", m.id)
	}
	a3 := e2.dial()
	if ack := a3.login(ackA.Token); ack.RoomId != 0 {
		t.Fatalf("LoginAck room %d after the session was cleared, want 0", ack.RoomId)
	}
}

// TestStaleEnd: what a Reconnect of a session naming a room that is gone
// is told, by what the match store holds.
func TestStaleEnd(t *testing.T) {
	ms := newDurableStore()
	l := syncService(t, ms, nil)
	ctx := context.Background()
	save := func(m store.MatchMeta) {
		if err := ms.SaveMatch(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	old := l.fence - 100 // an ID of the node's previous process
	save(store.MatchMeta{MatchID: old, Node: l.node})
	save(store.MatchMeta{MatchID: old + 1, Node: l.node + 1})
	save(store.MatchMeta{MatchID: old + 2, Node: l.node, EndedAt: time.Now(), LastFrame: 77,
		EndReason: lspb.MatchEndReason_MATCH_END_RESULT.String(), Result: []byte("r")})
	save(store.MatchMeta{MatchID: l.fence + 1, Node: l.node})
	interrupted := lspb.MatchEndReason_MATCH_END_INTERRUPTED
	for _, tc := range []struct {
		name          string
		match         uint64
		answer, clear bool
		reason        lspb.MatchEndReason
		last          uint32
	}{
		{"not recovered yet", old, true, true, interrupted, 0},
		{"running on another node", old + 1, false, false, 0, 0},
		{"ended while the player was away", old + 2, true, true, lspb.MatchEndReason_MATCH_END_RESULT, 77},
		{"this process's, its end not stored yet", l.fence + 1, false, true, 0, 0},
		{"this process's lobby, never started", l.fence + 2, false, true, 0, 0},
		{"never started or not kept", old + 3, true, true, interrupted, 0},
		{"no match in the session", 0, true, true, interrupted, 0},
	} {
		end, clear, err := l.staleEnd(ctx, store.Session{RoomID: 9, MatchID: tc.match})
		switch {
		case err != nil:
			t.Fatalf("%s: %v", tc.name, err)
		case (end != nil) != tc.answer || clear != tc.clear:
			t.Fatalf("%s: answer %v, clear %v; want an answer %v, clear %v", tc.name, end, clear, tc.answer, tc.clear)
		case end != nil && (end.Reason != tc.reason || end.LastFrame != tc.last || end.MatchId != tc.match):
			t.Fatalf("%s: %v", tc.name, end)
		}
	}
}

// processStore is the stores a process uses.
type processStore interface {
	store.FrameStore
	store.MatchStore
	store.SessionStore
}

// crashStore is a process's view of a shared store that loses every
// write once the process has crashed.
type crashStore struct {
	*durableStore
	crashed atomic.Bool
}

func (c *crashStore) AppendFrame(matchID uint64, frame uint32, inputs []byte) error {
	if c.crashed.Load() {
		return nil
	}
	return c.durableStore.AppendFrame(matchID, frame, inputs)
}

func (c *crashStore) EndMatch(matchID uint64, lastFrame uint32) error {
	if c.crashed.Load() {
		return nil
	}
	return c.durableStore.EndMatch(matchID, lastFrame)
}

func (c *crashStore) SaveMatch(ctx context.Context, m store.MatchMeta) error {
	if c.crashed.Load() {
		return nil
	}
	return c.durableStore.SaveMatch(ctx, m)
}

func (c *crashStore) PutSession(ctx context.Context, s store.Session) error {
	if c.crashed.Load() {
		return nil
	}
	return c.durableStore.PutSession(ctx, s)
}

func (c *crashStore) RevokeSession(ctx context.Context, id string) error {
	if c.crashed.Load() {
		return nil
	}
	return c.durableStore.RevokeSession(ctx, id)
}
