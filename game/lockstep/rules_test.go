package lockstep

import (
	"fmt"
	"testing"
	"time"
)

func TestDesyncTieBlamesNobody(t *testing.T) {
	for _, c := range []struct {
		round     []SlotHash
		blamed    string
		undecided bool
	}{
		// Two seats that disagree: before, slot 1 (the honest one, here)
		// was blamed because ties went to the lowest slot's hash.
		{[]SlotHash{{0, 0xbad}, {1, 0x600d}}, "[]", true},
		{[]SlotHash{{0, 7}, {1, 7}, {2, 9}}, "[2]", false},
		{[]SlotHash{{0, 7}, {1, 7}, {2, 9}, {3, 9}}, "[]", true},
		{[]SlotHash{{0, 1}, {1, 7}, {2, 7}, {3, 9}}, "[0 3]", false},
		{[]SlotHash{{0, 7}, {1, 7}}, "[]", false},
	} {
		blamed, undecided := PluralityOrUndecided(c.round)
		if fmt.Sprint(blamed) != c.blamed || undecided != c.undecided {
			t.Errorf("%v: blamed %v undecided %v, want %s %v", c.round, blamed, undecided, c.blamed, c.undecided)
		}
	}
}

func TestOneVoterNeverEndsAMatchOfTwoOrMore(t *testing.T) {
	win := []byte("slot 0 wins")
	// Four seated, three dropped for a moment (still seated): one vote
	// is not a majority of the seats.
	if _, ok := MajorityOfSeats(Votes{Seated: 4, StartedWith: 4, BySlot: map[uint32][]byte{0: win}}); ok {
		t.Fatal("one connected player's vote ended a 4-seat match")
	}
	// Two seated, one of them gone for good: still one voter.
	if _, ok := MajorityOfSeats(Votes{Seated: 1, StartedWith: 2, BySlot: map[uint32][]byte{0: win}}); ok {
		t.Fatal("one vote ended a match that started with two players")
	}
	if r, ok := MajorityOfSeats(Votes{Seated: 1, StartedWith: 1, BySlot: map[uint32][]byte{0: win}}); !ok || string(r) != string(win) {
		t.Fatal("a solo match did not end on its player's vote")
	}
	if r, ok := MajorityOfSeats(Votes{Seated: 4, StartedWith: 4, BySlot: map[uint32][]byte{0: win, 1: win, 2: win, 3: []byte("x")}}); !ok || string(r) != string(win) {
		t.Fatal("three of four agreeing did not end the match")
	}
	if _, ok := MajorityOfSeats(Votes{Seated: 4, StartedWith: 4, BySlot: map[uint32][]byte{0: win, 1: win}}); ok {
		t.Fatal("two of four (not more than half) ended the match")
	}
}

func TestStartRules(t *testing.T) {
	if DefaultStart(Lobby{Seats: 4, Present: 2, Ready: 1, OpenFor: time.Second, ReadyTimeout: 5 * time.Second}) {
		t.Fatal("started with one of two ready before the timeout")
	}
	if !DefaultStart(Lobby{Seats: 4, Present: 2, Ready: 1, OpenFor: 6 * time.Second, ReadyTimeout: 5 * time.Second}) {
		t.Fatal("did not start after the ready timeout")
	}
	if !DefaultStart(Lobby{Seats: 2, Present: 2}) {
		t.Fatal("did not start when full")
	}
	min3 := StartWhen(3, true)
	if min3(Lobby{Seats: 4, Present: 2, Ready: 2}) || !min3(Lobby{Seats: 4, Present: 3, Ready: 3}) {
		t.Fatal("StartWhen(3, true) misjudged")
	}
}
