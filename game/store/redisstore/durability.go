package redisstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/zconf"
)

// Durability (store.Durability). A write is durable once Redis has stored
// it (seq ≤ landed) or it is in the fsynced spill file (seq ≤ spilledTo;
// a spill takes everything pending, so every write up to it is one or the
// other). AfterDurable's callbacks wait in seq order and are called, in
// that order, by whichever goroutine moves the frontier: the flusher, an
// enqueue that spilled, or Close.

var _ store.Durability = (*Store)(nil)

type waiter struct {
	seq uint64
	fn  func(error)
}

// modesOf maps the config's modes.
func modesOf(rc zconf.RedisConfig) [store.KindDocs + 1]store.Mode {
	var m [store.KindDocs + 1]store.Mode
	for k, d := range map[store.Kind]zconf.Durability{store.KindFrames: rc.FrameDurability,
		store.KindMatches: rc.MatchDurability, store.KindSessions: rc.SessionDurability,
		store.KindPlayers: rc.PlayerDurability, store.KindDocs: rc.DocDurability} {
		if d == zconf.DurabilitySync {
			m[k] = store.Sync
		}
	}
	return m
}

// Mode is kind's durability mode, from the Redis config. Safe for
// concurrent use.
func (s *Store) Mode(kind store.Kind) store.Mode {
	if int(kind) < len(s.modes) {
		return s.modes[kind]
	}
	return store.Async
}

func (s *Store) durableLocked() uint64 { return max(s.landed, s.spilledTo) }

// AfterDurable calls done once every write made before the call is in
// Redis or in the spill file, or with an error when the store closed with
// some of them in neither (see store.Durability). Safe for concurrent use.
func (s *Store) AfterDurable(done func(error)) {
	s.mu.Lock()
	if s.closeErr != nil {
		err := s.closeErr
		durable := s.durableLocked() >= s.seq
		s.mu.Unlock()
		if durable {
			err = nil
		}
		done(err)
		return
	}
	if s.durableLocked() >= s.seq && len(s.waiters) == 0 && !s.firing {
		s.mu.Unlock()
		done(nil)
		return
	}
	s.waiters = append(s.waiters, waiter{seq: s.seq, fn: done})
	s.mu.Unlock()
	s.wake()
}

// Waiting is the number of AfterDurable callbacks not yet called.
func (s *Store) Waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.waiters)
}

// fireWaiters calls the callbacks whose writes are durable, in order. One
// goroutine at a time fires (fireMu), so the order holds across them.
func (s *Store) fireWaiters() { s.fireWith(nil, false) }

// fireWith calls the ready callbacks with nil and, when all, the rest
// with err.
func (s *Store) fireWith(err error, all bool) {
	s.fireMu.Lock()
	defer s.fireMu.Unlock()
	for {
		s.mu.Lock()
		durable := s.durableLocked()
		n := 0
		for n < len(s.waiters) && (all || s.waiters[n].seq <= durable) {
			n++
		}
		if n == 0 {
			s.firing = false
			s.mu.Unlock()
			return
		}
		ready := make([]waiter, n)
		copy(ready, s.waiters)
		clear(s.waiters[:n])
		s.waiters = s.waiters[n:]
		if len(s.waiters) == 0 {
			s.waiters = nil // let the array go
		}
		s.firing = true
		s.mu.Unlock()
		for _, w := range ready {
			if w.seq <= durable {
				w.fn(nil)
			} else {
				w.fn(err)
			}
		}
	}
}

// openSpillAtStart opens the spill file (unless spilling is off) and
// loads what an earlier process left in it: every whole record is queued
// for Redis ahead of anything new, numbered 1..n; a torn tail is cut off
// and reported. It runs in New before the flusher starts.
func (s *Store) openSpillAtStart() error {
	path := SpillPath(s.rc)
	if path == "" {
		return nil
	}
	sf, err := openSpill(path)
	if err != nil {
		return err
	}
	s.spill = sf
	var n uint64
	end, err := sf.scan(0, func(p []byte, off int64) bool {
		o, derr := decodeOp(p)
		if derr != nil {
			err = fmt.Errorf("%w: %w before byte %d", errTorn, derr, off)
			return false
		}
		n++
		if o.key != "" {
			s.lastKey[o.key] = n
		}
		if o.kind == opFrame {
			s.spilledFrames[o.id] = n
		}
		return true
	})
	if err == nil {
		if st, serr := sf.f.Stat(); serr == nil && st.Size() > end {
			err = fmt.Errorf("%w at byte %d", errTorn, end)
		}
	}
	if err != nil {
		if !errors.Is(err, errTorn) {
			sf.close()
			return err
		}
		st, _ := sf.f.Stat()
		s.log.Error("redisstore: the spill file ends in a torn or damaged record (a crash while it was written); "+
			"the whole records before it are replayed and the rest is dropped",
			"file", path, "records", n, "dropped_bytes", st.Size()-end, "err", err)
		s.met.spillTorn.Inc()
		if end < int64(len(spillMagic)) {
			if rerr := sf.reset(); rerr != nil {
				sf.close()
				return rerr
			}
			end = sf.size
		} else if terr := sf.f.Truncate(end); terr != nil {
			sf.close()
			return fmt.Errorf("redisstore: cutting the torn spill file: %w", terr)
		}
	}
	sf.size = end
	s.fileRead = int64(len(spillMagic))
	s.seq, s.spilledTo, s.startN = n, n, n
	if n > 0 {
		s.met.replayed.Add(float64(n))
		s.log.Warn("redisstore: replaying the writes an earlier process spilled, before any new write",
			"file", path, "writes", n)
	}
	return nil
}

// closeSpill finishes with the file at Close: an empty file (nothing
// waiting in it) is removed, with its directory when that is empty.
func (s *Store) closeSpill() {
	sf := s.spill
	if sf == nil {
		return
	}
	empty := sf.empty()
	sf.close()
	if empty {
		_ = os.Remove(sf.path)
		_ = os.Remove(filepath.Dir(sf.path)) // fails, harmlessly, unless empty
	}
}

// spillAtClose spills what Close could not store; it reports the writes
// neither stored nor spilled.
func (s *Store) spillAtClose(ferr error) error {
	s.mu.Lock()
	pending := len(s.queue) + len(s.inflight)
	if pending == 0 {
		s.mu.Unlock()
		return nil
	}
	err := s.spillLocked("the store is closing and Redis has not taken them")
	s.mu.Unlock()
	if err != nil {
		s.log.Error("redisstore: closed with writes neither stored in Redis nor spilled: they are lost",
			"pending", pending, "err", err, "flush_err", ferr)
		return fmt.Errorf("redisstore: closed with %d writes neither stored nor spilled: %w", pending, errors.Join(err, ferr))
	}
	return nil
}

// waitSync waits, when kind is sync, until every write so far is durable.
func (s *Store) waitSync(ctx context.Context, kind store.Kind) error {
	if s.modes[kind] != store.Sync {
		return nil
	}
	return store.WaitDurable(ctx, s)
}
