package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/zinxgame/zinxgame/game/store"
)

// Records are hashes of plain decimal fields, readable with redis-cli.
// Times are Unix milliseconds (empty for the zero time), floats use the
// shortest text that reads back to the same float32.

func (s *Store) SavePlayer(_ context.Context, p store.PlayerRecord) error {
	return s.enqueue(op{kind: opPlayer, id: p.ID, key: s.playerKey(p.ID), fields: []any{
		"name", p.Name, "scene", p.Scene, "x", ftoa(p.X), "y", ftoa(p.Y), "z", ftoa(p.Z), "v", ftoa(p.V),
		"updated", msOf(p.UpdatedAt)}})
}

func (s *Store) LoadPlayer(ctx context.Context, id uint64) (store.PlayerRecord, bool, error) {
	h, err := s.readHash(ctx, s.playerKey(id))
	if err != nil || len(h) == 0 {
		return store.PlayerRecord{}, false, err
	}
	d := decoder{h: h}
	p := store.PlayerRecord{ID: id, Name: h["name"], Scene: h["scene"],
		X: d.f32("x"), Y: d.f32("y"), Z: d.f32("z"), V: d.f32("v"), UpdatedAt: d.time("updated")}
	if d.err != nil {
		return store.PlayerRecord{}, false, fmt.Errorf("redisstore: player %d: %w", id, d.err)
	}
	return p, true, nil
}

// matchPlayer is a seat as stored in a match's "players" field (JSON: a
// few seats, read by people as well as code).
type matchPlayer struct {
	Slot     uint32 `json:"slot"`
	PlayerID uint64 `json:"id"`
	Name     string `json:"name"`
}

func (s *Store) SaveMatch(_ context.Context, m store.MatchMeta) error {
	seats := make([]matchPlayer, len(m.Players))
	for i, p := range m.Players {
		seats[i] = matchPlayer(p)
	}
	players, err := json.Marshal(seats)
	if err != nil {
		return fmt.Errorf("redisstore: match %d: %w", m.MatchID, err)
	}
	return s.enqueue(op{kind: opMatch, id: m.MatchID, key: s.matchKey(m.MatchID), fields: []any{
		"id", m.MatchID, "room", m.RoomID, "node", m.Node, "seed", m.Seed, "tick", m.TickRate, "players", players,
		"started", msOf(m.StartedAt), "ended", msOf(m.EndedAt), "last", m.LastFrame, "reason", m.EndReason,
		"result", slices.Clone(m.Result)},
		run: s.runningKey(m.Node), ended: !m.EndedAt.IsZero()})
}

// RunningMatches returns the matches node saved running and has not ended
// since (store.MatchRecovery): the fields of running:<node>, which SaveMatch
// adds to at a start and removes from at the end, in the same pipeline as
// the match's hash. It flushes what is queued first.
func (s *Store) RunningMatches(ctx context.Context, node uint32) ([]uint64, error) {
	if err := s.flushForRead(ctx); err != nil {
		return nil, fmt.Errorf("redisstore: reading the running matches: %w", err)
	}
	ids, err := s.rdb.HKeys(ctx, s.runningKey(node)).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: reading the running matches: %w", err)
	}
	out := make([]uint64, 0, len(ids))
	for _, v := range ids {
		id, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("redisstore: %s holds %q, not a match ID", s.runningKey(node), v)
		}
		out = append(out, id)
	}
	return out, nil
}

// flushForRead flushes every pending write (the spill file's too) before a
// read that cannot tell which it needs; with Redis away and writes pending
// it fails with ErrUnavailable rather than wait.
func (s *Store) flushForRead(ctx context.Context) error {
	s.mu.Lock()
	pending := s.landed < s.seq
	s.mu.Unlock()
	if !pending {
		return nil
	}
	if !s.up.Load() {
		return ErrUnavailable
	}
	return s.Flush(ctx)
}

func (s *Store) LoadMatch(ctx context.Context, matchID uint64) (store.MatchMeta, bool, error) {
	h, err := s.readHash(ctx, s.matchKey(matchID))
	// A hash with no "id" holds only EndMatch's mark: no SaveMatch yet.
	if err != nil || h["id"] == "" {
		return store.MatchMeta{}, false, err
	}
	d := decoder{h: h}
	m := store.MatchMeta{MatchID: matchID, RoomID: d.u64("room"), Node: d.u32("node"), Seed: d.u64("seed"), TickRate: d.u32("tick"),
		StartedAt: d.time("started"), EndedAt: d.time("ended"), LastFrame: d.u32("last"), EndReason: h["reason"]}
	if r := h["result"]; r != "" {
		m.Result = []byte(r)
	}
	var seats []matchPlayer
	if err := json.Unmarshal([]byte(h["players"]), &seats); err != nil && d.err == nil {
		d.err = fmt.Errorf("field players: %w", err)
	}
	for _, p := range seats {
		m.Players = append(m.Players, store.MatchPlayer(p))
	}
	if d.err != nil {
		return store.MatchMeta{}, false, fmt.Errorf("redisstore: match %d: %w", matchID, d.err)
	}
	return m, true, nil
}

// PutSession replaces the session; it expires in Redis at ExpiresAt.
func (s *Store) PutSession(_ context.Context, se store.Session) error {
	revoked := "0"
	if se.Revoked {
		revoked = "1"
	}
	o := op{kind: opSession, key: s.sessionKey(se.ID), fields: []any{
		"player", se.PlayerID, "node", se.Node, "room", se.RoomID, "match", se.MatchID, "frame", se.LastFrame,
		"expires", msOf(se.ExpiresAt), "revoked", revoked}}
	if !se.ExpiresAt.IsZero() {
		o.expire = se.ExpiresAt.UnixMilli()
	}
	return s.enqueue(o)
}

func (s *Store) GetSession(ctx context.Context, id string) (store.Session, bool, error) {
	h, err := s.readHash(ctx, s.sessionKey(id))
	if err != nil || len(h) == 0 {
		return store.Session{}, false, err
	}
	d := decoder{h: h}
	se := store.Session{ID: id, PlayerID: d.u64("player"), Node: d.u32("node"), RoomID: d.u64("room"), MatchID: d.u64("match"),
		LastFrame: d.u32("frame"), ExpiresAt: d.time("expires"), Revoked: h["revoked"] == "1"}
	if d.err != nil {
		return store.Session{}, false, fmt.Errorf("redisstore: session %q: %w", id, d.err)
	}
	// Redis expires the key itself; this covers the instant in between.
	if !se.ExpiresAt.IsZero() && !time.Now().Before(se.ExpiresAt) {
		return store.Session{}, false, nil
	}
	return se, true, nil
}

// RevokeSession marks the session revoked if it exists.
func (s *Store) RevokeSession(_ context.Context, id string) error {
	return s.enqueue(op{kind: opRevoke, key: s.sessionKey(id)})
}

// readHash reads a record after flushing the writes to it still queued,
// so a read sees every write made before it. With Redis away that flush
// cannot happen and the read fails with ErrUnavailable rather than wait.
func (s *Store) readHash(ctx context.Context, key string) (map[string]string, error) {
	s.mu.Lock()
	_, pending := s.lastKey[key]
	s.mu.Unlock()
	if pending {
		if !s.up.Load() {
			return nil, fmt.Errorf("redisstore: reading %s: %w", key, ErrUnavailable)
		}
		if err := s.Flush(ctx); err != nil {
			return nil, fmt.Errorf("redisstore: reading %s: %w", key, err)
		}
	}
	h, err := s.rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: reading %s: %w", key, err)
	}
	return h, nil
}

// decoder parses hash fields, keeping the first error.
type decoder struct {
	h   map[string]string
	err error
}

func (d *decoder) num(field string, bits int) uint64 {
	v := d.h[field]
	if v == "" {
		return 0
	}
	n, err := strconv.ParseUint(v, 10, bits)
	if err != nil && d.err == nil {
		d.err = fmt.Errorf("field %s: %w", field, err)
	}
	return n
}

func (d *decoder) u64(field string) uint64 { return d.num(field, 64) }
func (d *decoder) u32(field string) uint32 { return uint32(d.num(field, 32)) }

func (d *decoder) f32(field string) float32 {
	f, err := strconv.ParseFloat(d.h[field], 32)
	if err != nil && d.err == nil {
		d.err = fmt.Errorf("field %s: %w", field, err)
	}
	return float32(f)
}

func (d *decoder) time(field string) time.Time {
	v := d.h[field]
	if v == "" {
		return time.Time{}
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil && d.err == nil {
		d.err = fmt.Errorf("field %s: %w", field, err)
	}
	return time.UnixMilli(ms)
}

func ftoa(f float32) string { return strconv.FormatFloat(float64(f), 'g', -1, 32) }

func msOf(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}
