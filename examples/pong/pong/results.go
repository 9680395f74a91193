package pong

import (
	"context"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/examples/pong/pongpb"
	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/ziface"
)

// The documents pong keeps: a player's stats, and each match's result.
const (
	StatsCollection = "pong_stats"   // owner: the player; key "stats"; a pongpb.Stats
	MatchCollection = "pong_matches" // owner: the match; key "result"; a pongpb.MatchEnd
)

// saveTimeout bounds one match's writes.
const saveTimeout = 10 * time.Second

func statsRef(player uint64) store.DocRef {
	return store.DocRef{Collection: StatsCollection, Owner: store.PlayerOwner(player), Key: "stats"}
}

func matchRef(match uint64) store.DocRef {
	return store.DocRef{Collection: MatchCollection, Owner: store.MatchOwner(match), Key: "result"}
}

// record saves a match's result off the room's tick: PutDoc may wait for a
// Redis round trip, and the tick of every room on the shard would wait
// with it. Mount makes the server wait for these writes (Wait) before the
// stores close. Each player still connected gets its new Stats once both
// players' are saved.
func (g *Game) record(res *pongpb.MatchEnd, conns [2]ziface.IConnection) {
	g.saves.Add(1)
	go func() {
		defer g.saves.Done()
		ctx, cancel := context.WithTimeout(context.Background(), saveTimeout)
		defer cancel()
		b, _ := proto.Marshal(res)
		if _, err := g.docs.PutDoc(ctx, matchRef(res.MatchId), b); err != nil {
			g.log.Error("pong: saving a match", "match", res.MatchId, "err", err)
		}
		if res.Reason == pongpb.EndReason_END_ABORTED {
			return // nobody won or lost
		}
		// Both players' stats are saved before either hears of its own, so
		// a player who has its new Stats reads its opponent's new ones too.
		scores := [2]uint32{res.LeftScore, res.RightScore}
		var saved [2]*pongpb.Stats
		for side, id := range [2]uint64{res.LeftId, res.RightId} {
			st, err := g.addResult(ctx, id, res, scores[side], scores[1-side])
			if err != nil {
				g.log.Error("pong: saving a player's stats", "player", id, "match", res.MatchId, "err", err)
				continue
			}
			saved[side] = st
		}
		for side, st := range saved {
			if st != nil && conns[side] != nil {
				send(conns[side], pongpb.MsgStats, st)
			}
		}
	}()
}

// addResult adds one match to a player's stats. The read and the write
// are one step under statsMu: the document store has no compare-and-set,
// and two matches of one player may end close together.
func (g *Game) addResult(ctx context.Context, id uint64, res *pongpb.MatchEnd, pf, pa uint32) (*pongpb.Stats, error) {
	g.statsMu.Lock()
	defer g.statsMu.Unlock()
	st, err := g.readStats(ctx, id)
	if err != nil {
		return nil, err
	}
	switch res.WinnerId {
	case id:
		st.Wins++
	case 0: // a draw
	default:
		st.Losses++
	}
	st.PointsFor += pf
	st.PointsAgainst += pa
	st.LastMatchId = res.MatchId
	b, _ := proto.Marshal(st)
	if _, err := g.docs.PutDoc(ctx, statsRef(id), b); err != nil {
		return nil, err
	}
	return st, nil
}

// readStats reads a player's stats: zero for a player with none.
func (g *Game) readStats(ctx context.Context, id uint64) (*pongpb.Stats, error) {
	doc, ok, err := g.docs.GetDoc(ctx, statsRef(id))
	st := &pongpb.Stats{}
	if err == nil && ok {
		err = proto.Unmarshal(doc.Value, st)
	}
	st.PlayerId = id
	return st, err
}
