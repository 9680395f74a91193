// Package storetest is the conformance suite of package store's interfaces:
// every implementation (in memory, Redis) runs the same table, so they
// cannot drift apart.
package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/game/store"
)

// Stores is one implementation under test. Any field may be nil to skip
// that interface.
type Stores struct {
	Players  store.PlayerStore
	Matches  store.MatchStore
	Sessions store.SessionStore
	Frames   store.FrameStore
	// FlushFrames makes appended frames readable, for stores that buffer
	// (nil when they are readable at once).
	FlushFrames func(context.Context) error
}

// Run runs every test that applies to s.
func Run(t *testing.T, s Stores) {
	ctx := context.Background()
	if s.Players != nil {
		t.Run("players", func(t *testing.T) { players(t, ctx, s.Players) })
	}
	if s.Matches != nil {
		t.Run("matches", func(t *testing.T) { matches(t, ctx, s.Matches) })
	}
	if s.Sessions != nil {
		t.Run("sessions", func(t *testing.T) { sessions(t, ctx, s.Sessions) })
	}
	if s.Frames != nil {
		t.Run("frames", func(t *testing.T) { frames(t, ctx, s) })
	}
}

// sameTime compares times at the millisecond, the stores' resolution.
func sameTime(a, b time.Time) bool { return a.UnixMilli() == b.UnixMilli() }

func players(t *testing.T, ctx context.Context, st store.PlayerStore) {
	if _, ok, err := st.LoadPlayer(ctx, 424242); ok || err != nil {
		t.Fatalf("LoadPlayer of nobody = %v, %v", ok, err)
	}
	p := store.PlayerRecord{ID: 7, Name: "ann", Scene: "mmo", X: 160.5, Y: 0, Z: 134.25, V: 1.5, UpdatedAt: time.Now()}
	if err := st.SavePlayer(ctx, p); err != nil {
		t.Fatal(err)
	}
	p.X = 200 // a second save replaces the first
	if err := st.SavePlayer(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, ok, err := st.LoadPlayer(ctx, 7)
	if err != nil || !ok {
		t.Fatalf("LoadPlayer = %v, %v", ok, err)
	}
	if got.Name != p.Name || got.Scene != p.Scene || got.X != 200 || got.Z != p.Z || got.V != p.V || !sameTime(got.UpdatedAt, p.UpdatedAt) {
		t.Fatalf("LoadPlayer = %+v, want %+v", got, p)
	}
}

func matches(t *testing.T, ctx context.Context, st store.MatchStore) {
	if _, ok, err := st.LoadMatch(ctx, 99); ok || err != nil {
		t.Fatalf("LoadMatch of nothing = %v, %v", ok, err)
	}
	m := store.MatchMeta{MatchID: 11, RoomID: 3, Node: 4, Seed: 1<<63 + 5, TickRate: 30, StartedAt: time.Now(),
		Players: []store.MatchPlayer{{Slot: 0, PlayerID: 1, Name: "a"}, {Slot: 2, PlayerID: 9, Name: "b"}}}
	if err := st.SaveMatch(ctx, m); err != nil {
		t.Fatal(err)
	}
	m.EndedAt, m.LastFrame, m.EndReason, m.Result = time.Now(), 1800, "MATCH_END_RESULT", []byte{0, 1, 2}
	if err := st.SaveMatch(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, ok, err := st.LoadMatch(ctx, 11)
	if err != nil || !ok {
		t.Fatalf("LoadMatch = %v, %v", ok, err)
	}
	if got.RoomID != m.RoomID || got.Node != m.Node || got.Seed != m.Seed || got.TickRate != m.TickRate || got.LastFrame != m.LastFrame ||
		got.EndReason != m.EndReason || string(got.Result) != string(m.Result) || !reflect.DeepEqual(got.Players, m.Players) ||
		!sameTime(got.StartedAt, m.StartedAt) || !sameTime(got.EndedAt, m.EndedAt) {
		t.Fatalf("LoadMatch = %+v, want %+v", got, m)
	}
	if r, ok := st.(store.MatchRecovery); ok {
		running(t, ctx, st, r)
	}
}

// running checks MatchRecovery: a match saved without an end is running
// on its node until it is saved with one.
func running(t *testing.T, ctx context.Context, st store.MatchStore, r store.MatchRecovery) {
	for _, m := range []store.MatchMeta{{MatchID: 21, Node: 7}, {MatchID: 22, Node: 7}, {MatchID: 23, Node: 8}} {
		m.StartedAt = time.Now()
		if err := st.SaveMatch(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SaveMatch(ctx, store.MatchMeta{MatchID: 22, Node: 7, StartedAt: time.Now(), EndedAt: time.Now(),
		EndReason: "MATCH_END_EMPTY"}); err != nil {
		t.Fatal(err)
	}
	ids, err := r.RunningMatches(ctx, 7)
	if err != nil || len(ids) != 1 || ids[0] != 21 {
		t.Fatalf("RunningMatches(7) = %v, %v; want [21] (22 ended, 23 is node 8's)", ids, err)
	}
	if ids, err := r.RunningMatches(ctx, 9); err != nil || len(ids) != 0 {
		t.Fatalf("RunningMatches(9) = %v, %v; want none", ids, err)
	}
}

func sessions(t *testing.T, ctx context.Context, st store.SessionStore) {
	s := store.Session{ID: "jti-1", PlayerID: 5, Node: 2, RoomID: 8, MatchID: 12, LastFrame: 77, ExpiresAt: time.Now().Add(time.Hour)}
	if err := st.PutSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	got, ok, err := st.GetSession(ctx, "jti-1")
	if err != nil || !ok || got.PlayerID != 5 || got.Node != 2 || got.RoomID != 8 || got.MatchID != 12 || got.LastFrame != 77 || got.Revoked {
		t.Fatalf("GetSession = %+v, %v, %v", got, ok, err)
	}
	if err := st.RevokeSession(ctx, "jti-1"); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := st.GetSession(ctx, "jti-1"); err != nil || !ok || !got.Revoked {
		t.Fatalf("after revoke: %+v, %v, %v", got, ok, err)
	}
	short := store.Session{ID: "jti-2", PlayerID: 6, ExpiresAt: time.Now().Add(1500 * time.Millisecond)}
	if err := st.PutSession(ctx, short); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, ok, err := st.GetSession(ctx, "jti-2")
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("an expired session is still returned")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, ok, _ := st.GetSession(ctx, "nobody"); ok {
		t.Fatal("GetSession of nobody found one")
	}
}

func frames(t *testing.T, ctx context.Context, s Stores) {
	st := s.Frames
	const match = 12345
	var want []uint32
	for f := uint32(2); f <= 600; f += 2 {
		if err := st.AppendFrame(match, f, []byte{byte(f), byte(f >> 8)}); err != nil {
			t.Fatal(err)
		}
		want = append(want, f)
	}
	if err := st.EndMatch(match, 601); err != nil {
		t.Fatal(err)
	}
	if s.FlushFrames != nil {
		if err := s.FlushFrames(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var got []uint32
	err := st.ReadFrames(match, 1, 601, func(f uint32, in []byte) bool {
		if len(in) != 2 || in[0] != byte(f) || in[1] != byte(f>>8) {
			t.Fatalf("frame %d inputs %x", f, in)
		}
		got = append(got, f)
		return true
	})
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("ReadFrames = %d frames (%v), want %d", len(got), err, len(want))
	}
	got = got[:0]
	_ = st.ReadFrames(match, 301, 310, func(f uint32, _ []byte) bool { got = append(got, f); return true })
	if !reflect.DeepEqual(got, []uint32{302, 304, 306, 308, 310}) {
		t.Fatalf("ReadFrames 301-310 = %v", got)
	}
	n := 0
	_ = st.ReadFrames(match, 1, 601, func(uint32, []byte) bool { n++; return n < 3 })
	if n != 3 {
		t.Fatalf("ReadFrames went on after fn returned false: %d calls", n)
	}
	if r, ok := st.(store.FrameRecovery); ok {
		if f, ok, err := r.LastFrame(ctx, match); err != nil || !ok || f != 600 {
			t.Fatalf("LastFrame = %d, %v, %v; want 600 (the last busy frame)", f, ok, err)
		}
		if err := st.AppendFrame(match+1, 7, []byte{7}); err != nil {
			t.Fatal(err)
		}
		if f, ok, err := r.LastFrame(ctx, match+1); err != nil || !ok || f != 7 {
			t.Fatalf("LastFrame of a frame not yet flushed = %d, %v, %v; want 7", f, ok, err)
		}
		if _, ok, err := r.LastFrame(ctx, 999); err != nil || ok {
			t.Fatalf("LastFrame of no match = %v, %v", ok, err)
		}
	}
}
