package lockstep

import "time"

// Rules are a match's policies: when it starts, which result ends it, and
// whom a hash round blames. They are a value: a game keeps the defaults
// and replaces the one rule it wants changed (WithRules). Rules run on the
// room's tick; they must be quick and must not block.
type Rules struct {
	// Start decides whether an open room starts its match now; nil means
	// DefaultStart.
	Start func(Lobby) bool
	// Result decides whether the votes so far end the match, and with
	// which result; nil means MajorityOfSeats.
	Result func(Votes) (result []byte, ok bool)
	// Desync judges a hash round: the slots blamed, or undecided when the
	// hashes do not name a culprit; nil means PluralityOrUndecided.
	Desync func([]SlotHash) (blamed []uint32, undecided bool)
}

// Lobby is an open room as the start rule sees it.
type Lobby struct {
	Seats        int           // the room's seats (max_players)
	Present      int           // players seated
	Ready        int           // of them, ready
	OpenFor      time.Duration // since the room was created
	ReadyTimeout time.Duration // the room's ready timeout; 0 for none
}

// DefaultStart starts a match when every seat is taken, when everyone
// present is ready, or when the ready timeout has passed with someone
// present.
func DefaultStart(l Lobby) bool {
	switch {
	case l.Present == 0:
		return false
	case l.Present == l.Seats, l.Ready == l.Present:
		return true
	}
	return l.ReadyTimeout > 0 && l.OpenFor >= l.ReadyTimeout
}

// StartWhen returns a start rule for at least minPlayers present, all of
// them ready when allReady is set; the ready timeout then starts the match
// with whoever is present, if that is at least minPlayers.
func StartWhen(minPlayers int, allReady bool) func(Lobby) bool {
	return func(l Lobby) bool {
		if l.Present < max(minPlayers, 1) {
			return false
		}
		if !allReady || l.Ready == l.Present {
			return true
		}
		return l.ReadyTimeout > 0 && l.OpenFor >= l.ReadyTimeout
	}
}

// Votes are a running match's result votes.
type Votes struct {
	// Seated is the players still in the match: connected, or dropped with
	// their seat held. Players who left for good do not count.
	Seated int
	// StartedWith is the players at the start.
	StartedWith int
	// BySlot is each voter's result.
	BySlot map[uint32][]byte
}

// MajorityOfSeats ends the match with a result that more than half of the
// seated players voted, connected or not, so players who drop for a moment
// still count and one connected player cannot decide alone. A match that
// started with two or more players is never ended by one vote.
func MajorityOfSeats(v Votes) ([]byte, bool) {
	for _, r := range v.BySlot {
		n := 0
		for _, o := range v.BySlot {
			if string(o) == string(r) {
				n++
			}
		}
		if 2*n > v.Seated && (n >= 2 || v.StartedWith == 1) {
			return r, true
		}
	}
	return nil, false
}

// SlotHash is one slot's state hash for a frame.
type SlotHash struct {
	Slot uint32
	Hash uint64
}

// PluralityOrUndecided takes the most common hash as right when no other
// hash is as common, and blames every slot that reported another. When two
// or more hashes tie for most common (two players who disagree, say),
// nobody can be told from the culprit: it blames nobody and says
// undecided.
func PluralityOrUndecided(round []SlotHash) ([]uint32, bool) {
	var best uint64
	bestN, tie := 0, false
	for i, a := range round {
		n := 0
		for _, b := range round {
			if b.Hash == a.Hash {
				n++
			}
		}
		switch {
		case n > bestN:
			best, bestN, tie = a.Hash, n, false
		case n == bestN && a.Hash != best && firstOf(round, a.Hash) == i:
			tie = true
		}
	}
	if tie {
		return nil, true
	}
	var blamed []uint32
	for _, s := range round {
		if s.Hash != best {
			blamed = append(blamed, s.Slot)
		}
	}
	return blamed, false
}

// firstOf is the index of the first report of hash.
func firstOf(round []SlotHash, hash uint64) int {
	for i, s := range round {
		if s.Hash == hash {
			return i
		}
	}
	return -1
}

// withDefaults fills the rules left nil.
func (r Rules) withDefaults() Rules {
	if r.Start == nil {
		r.Start = DefaultStart
	}
	if r.Result == nil {
		r.Result = MajorityOfSeats
	}
	if r.Desync == nil {
		r.Desync = PluralityOrUndecided
	}
	return r
}
