package redisstore

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zinxgame/zinxgame/game/store"
)

// maxBatch bounds one pipeline, so a queue grown during an outage drains
// in pipelines of a few hundred kilobytes rather than one huge one. In
// steady state a flush is well under it: 300 rooms' second of frames is
// about 9,000 writes.
const maxBatch = 10_000

// Backoff between attempts while Redis is away.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = time.Second
)

type opKind uint8

const (
	opFrame   opKind = iota // XADD frames:<id> <frame>-0 i <data>
	opEnd                   // HSET match:<id> logend <frame>, and the match's TTL
	opPlayer                // HSET player:<id> <fields>
	opMatch                 // HSET match:<id> <fields>, and its TTL
	opSession               // DEL, HSET, PEXPIREAT session:<id>
	opRevoke                // revokeScript on session:<id>
	opDocPut                // docPutScript on a document's hash (docs.go)
	opDocDel                // HDEL a document's field
)

var kindNames = [...]string{"frame", "end match", "player", "match", "session", "revoke session", "document", "delete document"}

// op is one queued write. Its values are copies the caller no longer
// touches, so the flusher and readers use them without a lock.
type op struct {
	seq    uint64
	kind   opKind
	frame  uint32
	id     uint64 // player or match ID
	key    string // the record's key; empty for frames, which are tracked per match
	fields []any  // HSET field, value, ...
	data   []byte // a frame's inputs
	expire int64  // a session's expiry, Unix ms; 0 for none
	doc    *docOp // a document write's details
	run    string // a match write's running index (running:<node>); empty for none
	ended  bool   // a match write of an ended match: it leaves the index
	// spilled says where a write read back from the spill file came from:
	// spillOwn, this process's queue (its document bookkeeping is still
	// held); spillCopy, a copy of a write also sent from memory, or a
	// write an earlier process spilled (no bookkeeping).
	spilled uint8
}

const (
	spillNone uint8 = iota
	spillOwn
	spillCopy
)

// storeKind is the record kind a write counts under, for its durability
// mode.
func (k opKind) storeKind() store.Kind {
	switch k {
	case opFrame:
		return store.KindFrames
	case opEnd, opMatch:
		return store.KindMatches
	case opPlayer:
		return store.KindPlayers
	case opSession, opRevoke:
		return store.KindSessions
	}
	return store.KindDocs
}

// coalesces reports whether a write of this kind replaces the whole record,
// so a newer one can take the place of one still queued.
func (k opKind) coalesces() bool { return k == opPlayer || k == opMatch || k == opSession }

// enqueueLocked adds o at the tail, or puts it in the place of the still
// queued write it supersedes: the newest pending write to the same record,
// of the same kind (a revoke queued after a session write stops it, as
// moving the newer session before the revoke would undo the revoke). So a
// player saving its position every second through an hour's outage takes
// one slot, not 3,600. Frames are bounded by MaxPending; the rest by the
// number of distinct records.
func (s *Store) enqueueLocked(o op) error {
	if s.closed {
		return ErrClosed
	}
	if o.kind == opFrame && s.inMemoryLocked() >= s.rc.MaxPending {
		// Full: the queue goes to the spill file, in order, and makes room.
		if err := s.spillLocked("the write queue is full"); err != nil {
			s.met.queueFull.Inc()
			return fmt.Errorf("%w (and spilling failed: %w)", ErrQueueFull, err)
		}
	}
	if s.modes[o.kind.storeKind()] == store.Sync {
		s.wake() // a group commit: do not wait for the interval
	}
	if o.kind.coalesces() && len(s.queue) > 0 {
		if seq, ok := s.lastKey[o.key]; ok && seq >= s.queue[0].seq {
			i := int(seq - s.queue[0].seq)
			if s.queue[i].kind == o.kind {
				o.seq = seq
				s.queue[i] = o
				return nil
			}
		}
	}
	s.seq++
	o.seq = s.seq
	s.queue = append(s.queue, o)
	if o.key != "" {
		s.lastKey[o.key] = o.seq
	}
	return nil
}

// inMemoryLocked is the writes held only in memory, counted against
// MaxPending: the queue, and the batch in flight unless the spill file
// has it too.
func (s *Store) inMemoryLocked() int {
	n := len(s.queue)
	if !s.inflightSpilled {
		n += len(s.inflight)
	}
	return n
}

func (s *Store) enqueue(o op) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enqueueLocked(o)
}

// run is the flusher: every FlushInterval, or when Flush asks, it sends
// everything queued.
func (s *Store) run() {
	defer close(s.done)
	t := time.NewTicker(s.rc.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		case <-s.kick:
		}
		s.drain()
	}
}

// drain sends batches until what was queued when it began is stored: in
// steady state that is one pipeline per FlushInterval, however many rooms
// write (what arrives meanwhile waits for the next interval, as a second
// pipeline a round trip later would double the round trips for nothing).
// A batch that fails stays in flight, ahead of everything queued after
// it, and is sent again after a backoff until Redis takes it: writes land
// in the order they were made.
func (s *Store) drain() {
	backoff := minBackoff
	var limit uint64 // the last seq this drain sends; set by the first next
	for {
		batch, resend := s.next(&limit)
		if len(batch) == 0 {
			return
		}
		start := time.Now()
		refused, err := s.send(batch, resend)
		if err == nil {
			s.met.flushSeconds.Observe(time.Since(start).Seconds())
			s.stored(batch, refused)
			backoff = minBackoff
			continue
		}
		s.failed(err)
		// While Redis is away, an acknowledgement waiting on a sync write
		// is given once the write is in the spill file, rather than after
		// the outage: at once now, and at every call until the retry.
		s.spillForWaiters()
		retry := time.NewTimer(backoff)
	wait:
		for {
			select {
			case <-s.quit:
				retry.Stop()
				return
			case <-retry.C:
				break wait
			case <-s.kick:
				s.spillForWaiters()
			}
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// next returns the batch to send: the one in flight again, or the head of
// the queue up to *limit (all of it when it fits, swapping buffers so
// steady state allocates no queue). A zero *limit is set to the newest
// seq.
func (s *Store) next(limit *uint64) ([]op, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if *limit == 0 {
		*limit = s.seq
	}
	if len(s.inflight) > 0 {
		return s.inflight, s.resend
	}
	if s.spill != nil && s.fileRead < s.spill.size {
		// The spill file's writes are older than the queue's: they go first.
		return s.nextFromFileLocked()
	}
	if len(s.queue) == 0 || s.queue[0].seq > *limit {
		return nil, false
	}
	n := min(len(s.queue), int(*limit-s.queue[0].seq)+1, maxBatch)
	if n == len(s.queue) {
		s.inflight, s.queue, s.spare = s.queue, s.spare[:0], nil
	} else {
		s.inflight = slices.Clone(s.queue[:n])
		clear(s.queue[:n])
		s.queue = s.queue[n:]
	}
	return s.inflight, false
}

// stored retires a batch Redis has taken.
func (s *Store) stored(batch []op, refused int) {
	now := time.Now()
	s.mu.Lock()
	last := s.landed
	for _, o := range batch {
		if o.key != "" && s.lastKey[o.key] == o.seq {
			delete(s.lastKey, o.key)
		}
		if o.doc != nil {
			s.docLandedLocked(&o)
		}
		last = max(last, o.seq)
	}
	s.landed = last
	close(s.landedCh)
	s.landedCh = make(chan struct{})
	pending := len(s.queue)
	clear(batch)
	if s.inflightEnd > 0 {
		s.fileLandedLocked() // the batch came from the spill file
	} else if s.spare == nil {
		s.spare = batch[:0]
	}
	s.inflight, s.resend, s.inflightSpilled = nil, false, false
	s.mu.Unlock()
	s.fireWaiters()

	s.met.flushes.Inc()
	s.met.written.Add(float64(len(batch) - refused))
	if !s.up.Swap(true) {
		s.log.Warn("redisstore: Redis is back; queued writes are being stored in order",
			"addr", s.rc.Addr, "outage", now.Sub(s.downAt).Round(time.Millisecond), "pending", pending)
	}
}

// failed records a failed attempt; the first of an outage is logged loudly.
func (s *Store) failed(err error) {
	s.met.flushErrors.Inc()
	s.mu.Lock()
	s.resend = true
	pending := len(s.queue) + len(s.inflight)
	s.mu.Unlock()
	if s.up.Swap(false) {
		s.downAt = time.Now()
		s.log.Error("redisstore: Redis unreachable; writes are queued in memory and retried until it is back",
			"addr", s.rc.Addr, "err", err, "pending", pending, "max_pending", s.rc.MaxPending)
	}
}

// send writes batch in one pipeline, in order. It fails, for the whole
// batch to be sent again, when Redis could not be reached or answered with
// a passing state (loading, out of memory, read-only replica, bad
// credentials); a write Redis refuses for itself (a wrong type, say) is
// logged, counted and dropped, as sending it again would fail forever and
// hold up everything behind it. On a resend, an XADD refused for an ID not
// above the stream's last is the same frame stored by the attempt that
// failed, so it counts as stored.
func (s *Store) send(batch []op, resend bool) (refused int, err error) {
	ctx := s.flushCtx
	p := s.rdb.Pipeline()
	owner := make([]int32, 0, len(batch)+len(batch)/8) // command -> op index
	ttl := s.rc.FrameTTL
	expired := make(map[uint64]struct{}) // matches whose frames' TTL this batch set
	for i, o := range batch {
		switch o.kind {
		case opFrame:
			key := s.framesKey(o.id)
			p.XAdd(ctx, &redis.XAddArgs{Stream: key, ID: streamID(o.frame), Values: []any{"i", o.data}})
			if _, done := expired[o.id]; ttl > 0 && !done {
				expired[o.id] = struct{}{}
				p.Expire(ctx, key, ttl)
			}
		case opEnd:
			p.HSet(ctx, o.key, "logend", o.frame)
			if ttl > 0 {
				p.Expire(ctx, o.key, ttl)
				p.Expire(ctx, s.framesKey(o.id), ttl)
			}
		case opPlayer:
			p.HSet(ctx, o.key, o.fields...)
		case opMatch:
			p.HSet(ctx, o.key, o.fields...)
			if ttl > 0 {
				p.Expire(ctx, o.key, ttl)
			}
			if o.run != "" && o.ended {
				p.HDel(ctx, o.run, strconv.FormatUint(o.id, 10))
			} else if o.run != "" {
				p.HSet(ctx, o.run, strconv.FormatUint(o.id, 10), "1")
			}
		case opSession:
			p.Del(ctx, o.key)
			p.HSet(ctx, o.key, o.fields...)
			if o.expire != 0 {
				p.PExpireAt(ctx, o.key, time.UnixMilli(o.expire))
			}
		case opRevoke:
			p.Eval(ctx, revokeScript, []string{o.key})
		case opDocPut, opDocDel:
			s.sendDoc(ctx, p, &o)
		}
		for len(owner) < p.Len() {
			owner = append(owner, int32(i))
		}
	}
	cmds, err := p.Exec(ctx)
	if err != nil && retryable(err) {
		return 0, fmt.Errorf("redisstore: flushing %d writes: %w", len(batch), err)
	}
	for _, c := range cmds {
		if e := c.Err(); e != nil && retryable(e) {
			return 0, fmt.Errorf("redisstore: flushing %d writes: %w", len(batch), e)
		}
	}
	last := -1 // each op refused counts once
	for j, c := range cmds {
		e := c.Err()
		if e == nil || (resend && batch[owner[j]].kind == opFrame && strings.Contains(e.Error(), "equal or smaller")) {
			continue
		}
		if i := int(owner[j]); i != last {
			last = i
			refused++
			o := batch[i]
			key := o.key
			if o.kind == opFrame {
				key = s.framesKey(o.id)
			}
			s.log.Error("redisstore: Redis refused a write; it is dropped", "write", kindNames[o.kind],
				"key", key, "frame", o.frame, "err", e)
		}
	}
	s.met.refused.Add(float64(refused))
	return refused, nil
}

// revokeScript marks a session revoked if it still exists, so revoking an
// expired session does not create a bare hash with no expiry.
const revokeScript = `if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HSET', KEYS[1], 'revoked', '1') end return 0`

// retryable reports whether err is about reaching Redis rather than about
// the command: a network error, a timeout, or a server state that passes
// (LOADING after a restart, BUSY, OOM, READONLY during a failover,
// TRYAGAIN, MASTERDOWN, CLUSTERDOWN, too many clients) or that an operator
// fixes while the writes wait (NOAUTH, WRONGPASS, NOPERM).
func retryable(err error) bool {
	if transient(err) {
		return true
	}
	msg := err.Error()
	for _, p := range []string{"NOAUTH", "WRONGPASS", "NOPERM", "ERR AUTH", "ERR invalid password", "ERR DB index"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// transient reports whether err is a network failure or a passing server
// state: worth waiting for at start (see New).
func transient(err error) bool {
	var re redis.Error
	if !errors.As(err, &re) {
		return true
	}
	if redis.IsLoadingError(err) || redis.IsReadOnlyError(err) || redis.IsMaxClientsError(err) ||
		redis.IsTryAgainError(err) || redis.IsMasterDownError(err) || redis.IsClusterDownError(err) || redis.IsOOMError(err) {
		return true
	}
	return strings.HasPrefix(err.Error(), "BUSY ")
}
