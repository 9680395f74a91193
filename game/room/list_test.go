package room_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/zinxgame/zinxgame/game/room"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// labelLogic labels its room from the options and closes it on input.
type labelLogic struct{ room.BaseLogic }

func (labelLogic) Init(r *room.Room, opts any) error {
	if s, ok := opts.(string); ok {
		if err := r.SetLabel(s); err != nil {
			return err
		}
	}
	_ = r.SetCapacity(2)
	return r.SetMetadata([]byte("meta"))
}

func (labelLogic) Input(r *room.Room, _ room.Player, _ uint32, data []byte) {
	r.SetOpen(string(data) != "close")
}

func newLabelled(t testing.TB, cfg room.Config) *room.Manager {
	m, err := room.NewManager(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	for _, typ := range []string{"duel", "race"} {
		if err := m.Register(typ, func() room.Logic { return labelLogic{} }, room.TypeOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func ids(rooms []room.Info) []uint64 {
	var out []uint64
	for _, r := range rooms {
		out = append(out, r.ID)
	}
	return out
}

func TestListFiltersAndPages(t *testing.T) {
	m := newLabelled(t, room.Config{EmptyTimeout: room.Disabled})
	var duelRanked []uint64
	for i := range 10 {
		typ, label := "duel", "ranked"
		if i%2 == 1 {
			typ, label = "race", "casual"
		}
		r, err := m.Create(typ, "", label, room.Join{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if typ == "duel" {
			duelRanked = append(duelRanked, r.ID())
		}
	}
	all, next := m.List(room.Query{Limit: 4})
	if len(all) != 4 || next != all[3].ID {
		t.Fatalf("first page: %d rooms, next %d", len(all), next)
	}
	var seen []uint64
	for cursor := uint64(0); ; {
		page, nx := m.List(room.Query{Type: "duel", Label: "ranked", After: cursor, Limit: 2})
		seen = append(seen, ids(page)...)
		if nx == 0 {
			break
		}
		cursor = nx
	}
	if fmt.Sprint(seen) != fmt.Sprint(duelRanked) {
		t.Fatalf("paged duel/ranked %v, want %v", seen, duelRanked)
	}
	if page, _ := m.List(room.Query{Type: "duel", Label: "casual"}); len(page) != 0 {
		t.Fatalf("duel/casual listed %v", ids(page))
	}
	if page, _ := m.List(room.Query{Label: "casual"}); len(page) != 5 {
		t.Fatalf("label casual of any type: %d rooms, want 5", len(page))
	}
	info, _ := m.List(room.Query{Type: "race", Limit: 1})
	if info[0].Label != "casual" || string(info[0].Metadata) != "meta" || info[0].Capacity != 2 || !info[0].Open {
		t.Fatalf("listed %+v", info[0])
	}
}

func TestListOpenOnlyFollowsSeatsAndState(t *testing.T) {
	m := newLabelled(t, room.Config{EmptyTimeout: room.Disabled})
	a, ca := player(1)
	r, err := m.Create("duel", "", "x", a, nil)
	if err != nil {
		t.Fatal(err)
	}
	open := func() int { p, _ := m.List(room.Query{Type: "duel", OpenOnly: true}); return len(p) }
	if open() != 1 {
		t.Fatal("a room with a free seat is not listed as open")
	}
	b, _ := player(2)
	if err := m.Join(r.ID(), b, nil); err != nil {
		t.Fatal(err)
	}
	if open() != 0 {
		t.Fatal("a full room (a seat reserved) is listed as open")
	}
	c, _ := player(3)
	if err := m.Join(r.ID(), c, nil); !errors.Is(err, room.ErrRoomFull) {
		t.Fatalf("third join to a 2-seat room: %v, want ErrRoomFull", err)
	}
	if err := m.Leave(2, b.Conn); err != nil {
		t.Fatal(err)
	}
	znettest.Eventually(t, func() bool { return open() == 1 }, "the room open again after a leave")
	if err := m.Input(1, ca, 1, []byte("close")); err != nil {
		t.Fatal(err)
	}
	znettest.Eventually(t, func() bool { return open() == 0 }, "a room its logic closed still listed as open")
	if err := m.Join(r.ID(), c, nil); !errors.Is(err, room.ErrRoomClosed) {
		t.Fatalf("join to a closed room: %v, want ErrRoomClosed", err)
	}
	if all, _ := m.List(room.Query{Type: "duel"}); len(all) != 1 {
		t.Fatal("a closed room is missing from the full listing")
	}
}

func TestJoinOrCreateFillsThenCreates(t *testing.T) {
	m := newLabelled(t, room.Config{EmptyTimeout: room.Disabled})
	rooms := map[uint64]int{}
	for id := uint64(1); id <= 5; id++ {
		j, _ := player(id)
		r, err := m.JoinOrCreate("duel", "ranked", "ranked", j, nil)
		if err != nil {
			t.Fatal(err)
		}
		rooms[r.ID()]++
	}
	if len(rooms) != 3 {
		t.Fatalf("5 players in 2-seat rooms filled %d rooms, want 3", len(rooms))
	}
	for id, n := range rooms {
		if n > 2 {
			t.Fatalf("room %d got %d players", id, n)
		}
	}
	j, _ := player(9)
	r, err := m.JoinOrCreate("duel", "casual", "casual", j, nil)
	if err != nil || rooms[r.ID()] != 0 {
		t.Fatalf("another label joined an existing room: %v", err)
	}
}

func TestLabelBounds(t *testing.T) {
	m := newLabelled(t, room.Config{MaxLabelBytes: 8})
	if _, err := m.Create("duel", "", "a label far over eight bytes", room.Join{}, nil); !errors.Is(err, room.ErrTooLarge) {
		t.Fatalf("oversized label: %v, want ErrTooLarge", err)
	}
}

// BenchmarkList lists a page of 20 open rooms among n: its cost follows
// the page, not n.
func BenchmarkList(b *testing.B) {
	for _, n := range []int{100, 5000} {
		b.Run(fmt.Sprint("rooms=", n), func(b *testing.B) {
			m := newLabelled(b, room.Config{MaxRooms: n + 1, EmptyTimeout: room.Disabled, TickRate: 1})
			for range n {
				if _, err := m.Create("duel", "", "x", room.Join{}, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if page, _ := m.List(room.Query{Type: "duel", OpenOnly: true, Limit: 20}); len(page) != 20 {
					b.Fatal(len(page))
				}
			}
		})
	}
}

// Players who all find no open room at the same moment meet in the rooms
// the first of them create, instead of each making one and waiting alone.
func TestJoinOrCreateIsAtomic(t *testing.T) {
	m := newLabelled(t, room.Config{EmptyTimeout: room.Disabled})
	const players = 40
	var wg sync.WaitGroup
	for id := uint64(1); id <= players; id++ {
		wg.Go(func() {
			j, _ := player(id)
			if _, err := m.JoinOrCreate("duel", "ranked", "ranked", j, nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := m.Count("duel"); n != players/2 {
		t.Fatalf("%d players in 2-seat rooms made %d rooms, want %d", players, n, players/2)
	}
}
