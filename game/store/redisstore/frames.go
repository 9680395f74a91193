package redisstore

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/zinxgame/zinxgame/game/store"
)

// readPage is how many stream entries one XRANGE fetches.
const readPage = 1000

// AppendFrame queues a busy frame's inputs (copied: the caller reuses its
// buffer) and returns at once; it never waits for Redis, as it runs on a
// room's tick. It fails with ErrQueueFull when MaxPending writes wait, and
// at once, like the memory store, for a frame not after the match's last
// (frames are stream IDs, which must rise; frame 0 cannot be one).
func (s *Store) AppendFrame(matchID uint64, frame uint32, inputs []byte) error {
	if frame == 0 {
		return fmt.Errorf("redisstore: match %d: frame 0 cannot be stored (frames start at 1)", matchID)
	}
	o := op{kind: opFrame, id: matchID, frame: frame, data: bytes.Clone(inputs)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if last, ok := s.lastFrame[matchID]; ok && frame <= last {
		return fmt.Errorf("redisstore: match %d: frame %d appended after frame %d", matchID, frame, last)
	}
	if err := s.enqueueLocked(o); err != nil {
		return err
	}
	s.lastFrame[matchID] = frame
	return nil
}

// EndMatch queues the match's end mark (field "logend" of match:<id>) and
// starts its retention: both keys expire FrameTTL later. It is never
// refused for a full queue (one write per match).
func (s *Store) EndMatch(matchID uint64, lastFrame uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.lastFrame, matchID)
	return s.enqueueLocked(op{kind: opEnd, id: matchID, frame: lastFrame, key: s.matchKey(matchID)})
}

// ReadFrames calls fn for the match's busy frames in [from, to], in order:
// those in Redis, then those still queued, so a reconnecting player's
// catch-up includes the last moments before the read. It reads Redis (in
// pages), so call it off a room's tick when the range is long. A match
// Redis does not hold (never started, or expired) is store.ErrNoMatch.
func (s *Store) ReadFrames(matchID uint64, from, to uint32, fn func(frame uint32, inputs []byte) bool) error {
	// Queued frames first: one that lands after this snapshot is then in
	// Redis when we read it, and one that lands before is in both (the
	// second copy is skipped below); none falls between.
	ctx := context.Background()
	if err := s.flushSpilledFrames(ctx, matchID); err != nil {
		return fmt.Errorf("redisstore: reading match %d frames: %w", matchID, err)
	}
	queued := s.queuedFrames(matchID, from, to)
	key := s.framesKey(matchID)
	start, end := streamID(max(from, 1)), streamID(to)
	var last uint32
	delivered := false
	for from <= to {
		msgs, err := s.rdb.XRangeN(ctx, key, start, end, readPage).Result()
		if err != nil {
			return fmt.Errorf("redisstore: reading match %d frames: %w", matchID, err)
		}
		for _, m := range msgs {
			f, err := frameOf(m.ID)
			if err != nil {
				return fmt.Errorf("redisstore: match %d: %w", matchID, err)
			}
			in, _ := m.Values["i"].(string)
			if !fn(f, []byte(in)) {
				return nil
			}
			last, delivered = f, true
		}
		if len(msgs) < readPage {
			break
		}
		start = "(" + msgs[len(msgs)-1].ID // exclusive (Redis 6.2)
	}
	for _, q := range queued {
		if delivered && q.frame <= last {
			continue
		}
		if !fn(q.frame, q.data) {
			return nil
		}
		delivered = true
	}
	if !delivered {
		n, err := s.rdb.Exists(ctx, key, s.matchKey(matchID)).Result()
		if err != nil {
			return fmt.Errorf("redisstore: reading match %d: %w", matchID, err)
		}
		if n == 0 {
			return fmt.Errorf("%w: %d", store.ErrNoMatch, matchID)
		}
	}
	return nil
}

// queuedFrames copies out the match's frames in [from, to] not yet in
// Redis, in order. It scans the queue: a catch-up is rare, and the queue
// holds about one FlushInterval of writes.
func (s *Store) queuedFrames(matchID uint64, from, to uint32) []op {
	var out []op
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ops := range [2][]op{s.inflight, s.queue} {
		for _, o := range ops {
			if o.kind == opFrame && o.id == matchID && o.frame >= from && o.frame <= to {
				out = append(out, op{frame: o.frame, data: o.data})
			}
		}
	}
	return out
}

func streamID(frame uint32) string { return strconv.FormatUint(uint64(frame), 10) + "-0" }

func frameOf(id string) (uint32, error) {
	ms, _, _ := strings.Cut(id, "-")
	f, err := strconv.ParseUint(ms, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("stream entry %q is not a frame: %w", id, err)
	}
	return uint32(f), nil
}

// flushSpilledFrames flushes when some of the match's frames are in the
// spill file, not yet in Redis (a read would miss them); with Redis away it
// fails with ErrUnavailable.
func (s *Store) flushSpilledFrames(ctx context.Context, matchID uint64) error {
	s.mu.Lock()
	seq, ok := s.spilledFrames[matchID]
	waiting := ok && seq > s.landed
	s.mu.Unlock()
	if !waiting {
		return nil
	}
	if !s.up.Load() {
		return ErrUnavailable
	}
	// ReadFrames has no context of its own: bound the wait by a dial and
	// a read, the time a reachable Redis takes.
	ctx, cancel := context.WithTimeout(ctx, s.rc.DialTimeout+s.rc.ReadTimeout)
	defer cancel()
	return s.Flush(ctx)
}

// LastFrame returns the match's last busy frame this store holds, queued
// or in Redis (store.FrameRecovery).
func (s *Store) LastFrame(ctx context.Context, matchID uint64) (uint32, bool, error) {
	if err := s.flushSpilledFrames(ctx, matchID); err != nil {
		return 0, false, fmt.Errorf("redisstore: reading match %d's last frame: %w", matchID, err)
	}
	if q := s.queuedFrames(matchID, 1, ^uint32(0)); len(q) > 0 {
		return q[len(q)-1].frame, true, nil
	}
	msgs, err := s.rdb.XRevRangeN(ctx, s.framesKey(matchID), "+", "-", 1).Result()
	if err != nil {
		return 0, false, fmt.Errorf("redisstore: reading match %d's last frame: %w", matchID, err)
	}
	if len(msgs) == 0 {
		return 0, false, nil
	}
	f, err := frameOf(msgs[0].ID)
	if err != nil {
		return 0, false, fmt.Errorf("redisstore: match %d: %w", matchID, err)
	}
	return f, true, nil
}
