package redisstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zinxgame/zinxgame/game/store"
)

// Documents (store.DocStore) ride the store's one ordered queue: a PutDoc
// or DeleteDoc is queued with every frame and record, sent in the same
// pipelines, retried in order through an outage, flushed by Flush and
// Close. A write replaces the same document's write still queued (put or
// delete alike), so rewriting a document costs one slot; distinct
// documents count against MaxPending like frames, and their bytes against
// DocLimits.MaxBytes, and ErrQueueFull refuses the one that does not fit.
//
// Keys: one hash per owner and collection,
//
//	<KeyPrefix>doc:<p|m>:<owner ID>:<collection>
//
// (p for a player, m for a match), with a field per document named by its
// key and holding "<version>:<value>". Collections are ASCII letters,
// digits and "_.-", so no two owners' hashes share a name. A player's
// hashes never expire; a match's expire FrameTTL after their last write,
// like its other keys.
//
// Versions are the store's clock in Unix nanoseconds, raised above every
// version it gave or read: of two writes to a document, the later has the
// higher version, across processes too, when the writer read the document
// first or the processes' clocks agree to better than the time between the
// writes.
//
// The bound on an owner's documents needs Redis's count. PutDoc of a
// document with no write queued reads it (HLEN and HEXISTS, one round
// trip) and adds the documents queued for the hash; a refusal that
// documents queued for deletion would avoid is checked again after a
// flush. While Redis is unreachable PutDoc does not wait: it refuses only
// when the owner's queued new documents alone reach the bound, and Redis
// checks the bound again when the write lands (docPutScript), so the
// bound holds in Redis whatever any process queued. A write refused there
// is logged, counted in zinxgame_redis_refused_writes_total and dropped,
// like every write Redis refuses for itself: it is a new document, made
// during an outage, that the bound would have refused.

// WithDocLimits bounds the store's documents (see store.DocLimits; zero
// fields mean their defaults).
func WithDocLimits(l store.DocLimits) Option { return func(o *options) { o.docLimits = l } }

// docBase is whether Redis holds a document before a write, as far as the
// store knows.
type docBase uint8

const (
	baseUnknown docBase = iota
	baseAbsent
	basePresent
)

// docOp is a document write's part of an op; o.key is its queue key (the
// hash and the field), o.data its value.
type docOp struct {
	hash, field string
	version     uint64  // a put's
	base        docBase // before this write
	create      bool    // a put that may add a document: counted against the bound until it lands
	match       bool    // a match's document: its hash gets FrameTTL
}

// docHash is what is queued for one owner's collection.
type docHash struct {
	ops     int // document writes queued or in flight
	creates int // of which puts that may add a document
}

// docState is the store's document bookkeeping, guarded by Store.mu
// (limits is set by New and read freely).
type docState struct {
	limits store.DocLimits
	hashes map[string]*docHash // hashes with writes pending, only those
	bytes  int64               // bytes of the document writes pending
	clock  uint64              // the last version given or read
}

// tick returns a new version.
func (d *docState) tick() uint64 {
	v := max(uint64(time.Now().UnixNano()), d.clock+1)
	d.clock = v
	return v
}

func (d *docState) observe(v uint64) { d.clock = max(d.clock, v) }

func docSize(o *op) int64 { return int64(len(o.doc.hash) + len(o.doc.field) + len(o.data)) }

// DocLimits returns the store's document limits, defaults filled in.
func (s *Store) DocLimits() store.DocLimits { return s.docs.limits }

// PendingDocBytes is the size of the document writes queued or in flight,
// as counted against DocLimits.MaxBytes.
func (s *Store) PendingDocBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.docs.bytes
}

// PutDoc queues the document (value copied) and returns its version. It
// reads Redis's count of the owner's documents first when none of the
// document's writes is queued (see above), so call it off a room's tick.
// With DocDurability sync it returns once the write is durable (in Redis
// or the spill file), or fails when ctx ends first (the write stays
// queued). Besides game's refusals it fails with ErrQueueFull and
// ErrClosed.
func (s *Store) PutDoc(ctx context.Context, ref store.DocRef, value []byte) (uint64, error) {
	l := s.docs.limits
	if err := l.CheckRef(ref); err != nil {
		return 0, err
	}
	if err := l.CheckValue(value); err != nil {
		return 0, err
	}
	d := docOp{hash: s.docHash(ref.Owner, ref.Collection), field: ref.Key, match: ref.Owner.Kind == store.OwnerMatch}
	o := op{kind: opDocPut, key: docQueueKey(d.hash, d.field), data: bytes.Clone(value), doc: &d}
	var (
		n, reads   int     // Redis's count of the hash, and how many times it was read
		seen       docBase // whether Redis held the document, when read
		readAt     uint64  // s.landed when it was read
		unverified bool    // Redis could not be asked
		flushed    bool
	)
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return 0, ErrClosed
		}
		p, inPlace := s.pendingDocLocked(o.key)
		d.base = baseBefore(p, inPlace)
		fresh := reads > 0 && (readAt == s.landed || reads >= 3) // a batch landing meanwhile could make n stale
		if d.base == baseUnknown && fresh {
			d.base = seen
		}
		d.create = d.base != basePresent
		if d.create && !(inPlace && p.doc.create) { // this write may add a document: check the bound
			h := s.docs.hashes[d.hash]
			queued, creates := 0, 0
			if h != nil {
				queued, creates = h.ops, h.creates
			}
			var over bool
			switch {
			case fresh && !unverified:
				over = n+creates >= l.MaxDocsPerOwner
			case unverified || !s.up.Load():
				over = creates >= l.MaxDocsPerOwner
			default:
				readAt = s.landed
				s.mu.Unlock()
				var err error
				n, seen, err = s.readDocCount(ctx, d.hash, d.field)
				reads++
				if err != nil {
					if ctx.Err() != nil || !retryable(err) {
						return 0, err
					}
					unverified = true
				}
				continue
			}
			if over {
				s.mu.Unlock()
				if queued > 0 && !flushed && !unverified && s.up.Load() {
					// Deletions queued for the hash may make room.
					if err := s.Flush(ctx); err != nil {
						return 0, fmt.Errorf("redisstore: putting document %q: %w", ref.Key, err)
					}
					flushed, reads = true, 0
					continue
				}
				return 0, fmt.Errorf("%w: %v %d has %d documents in %q, counting those queued (MaxDocsPerOwner)",
					store.ErrDocOwnerFull, ref.Owner.Kind, ref.Owner.ID, n+creates, ref.Collection)
			}
		}
		err := s.enqueueDocLocked(o, p, inPlace)
		s.mu.Unlock()
		if err != nil {
			return 0, err
		}
		if err := s.waitSync(ctx, store.KindDocs); err != nil {
			return 0, fmt.Errorf("redisstore: putting document %q: %w", ref.Key, err)
		}
		return d.version, nil
	}
}

// DeleteDoc queues the document's removal. It never waits for Redis,
// unless documents are sync (DocDurability): then it returns once the
// removal is durable, or ctx ends.
func (s *Store) DeleteDoc(ctx context.Context, ref store.DocRef) error {
	if err := s.docs.limits.CheckRef(ref); err != nil {
		return err
	}
	d := docOp{hash: s.docHash(ref.Owner, ref.Collection), field: ref.Key, match: ref.Owner.Kind == store.OwnerMatch}
	o := op{kind: opDocDel, key: docQueueKey(d.hash, d.field), doc: &d}
	s.mu.Lock()
	p, inPlace := s.pendingDocLocked(o.key)
	d.base = baseBefore(p, inPlace)
	err := s.enqueueDocLocked(o, p, inPlace)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if err := s.waitSync(ctx, store.KindDocs); err != nil {
		return fmt.Errorf("redisstore: deleting document %q: %w", ref.Key, err)
	}
	return nil
}

// GetDoc returns the document's latest write: the one queued when there is
// one (without asking Redis, so it works through an outage), else Redis's.
func (s *Store) GetDoc(ctx context.Context, ref store.DocRef) (store.Doc, bool, error) {
	if err := s.docs.limits.CheckRef(ref); err != nil {
		return store.Doc{}, false, err
	}
	hash := s.docHash(ref.Owner, ref.Collection)
	s.mu.Lock()
	if p, _ := s.pendingDocLocked(docQueueKey(hash, ref.Key)); p != nil {
		defer s.mu.Unlock()
		if p.kind == opDocDel {
			return store.Doc{}, false, nil
		}
		return store.Doc{Key: ref.Key, Value: bytes.Clone(p.data), Version: p.doc.version}, true, nil
	}
	_, spilled := s.lastKey[docQueueKey(hash, ref.Key)] // its newest write is in the spill file
	s.mu.Unlock()
	if spilled {
		if !s.up.Load() {
			return store.Doc{}, false, fmt.Errorf("redisstore: reading document %q of %s: %w", ref.Key, hash, ErrUnavailable)
		}
		if err := s.Flush(ctx); err != nil {
			return store.Doc{}, false, fmt.Errorf("redisstore: reading document %q of %s: %w", ref.Key, hash, err)
		}
	}
	raw, err := s.rdb.HGet(ctx, hash, ref.Key).Bytes()
	if errors.Is(err, redis.Nil) {
		return store.Doc{}, false, nil
	}
	if err != nil {
		return store.Doc{}, false, fmt.Errorf("redisstore: reading document %q of %s: %w", ref.Key, hash, err)
	}
	doc, err := s.decodeDoc(hash, ref.Key, raw)
	return doc, err == nil, err
}

// ListDocs reads a page of the owner's documents from Redis (HKEYS, sorted
// here, then HMGET of the page), after flushing the writes queued for them;
// with Redis unreachable and writes queued it fails with ErrUnavailable.
func (s *Store) ListDocs(ctx context.Context, owner store.DocOwner, collection, after string, limit int) ([]store.Doc, bool, error) {
	l := s.docs.limits
	if err := l.CheckList(owner, collection, after); err != nil {
		return nil, false, err
	}
	limit = l.Page(limit)
	hash := s.docHash(owner, collection)
	s.mu.Lock()
	pending := s.docs.hashes[hash] != nil
	s.mu.Unlock()
	if pending {
		if !s.up.Load() {
			return nil, false, fmt.Errorf("redisstore: listing %s: %w", hash, ErrUnavailable)
		}
		if err := s.Flush(ctx); err != nil {
			return nil, false, fmt.Errorf("redisstore: listing %s: %w", hash, err)
		}
	}
	keys, err := s.rdb.HKeys(ctx, hash).Result()
	if err != nil {
		return nil, false, fmt.Errorf("redisstore: listing %s: %w", hash, err)
	}
	slices.Sort(keys)
	i, found := slices.BinarySearch(keys, after)
	if found {
		i++
	}
	keys = keys[i:]
	more := len(keys) > limit
	keys = keys[:min(len(keys), limit)]
	if len(keys) == 0 {
		return nil, more, nil
	}
	vals, err := s.rdb.HMGet(ctx, hash, keys...).Result()
	if err != nil {
		return nil, false, fmt.Errorf("redisstore: listing %s: %w", hash, err)
	}
	out := make([]store.Doc, 0, len(keys))
	for j, v := range vals {
		raw, ok := v.(string)
		if !ok { // deleted since HKEYS
			continue
		}
		doc, err := s.decodeDoc(hash, keys[j], []byte(raw))
		if err != nil {
			return nil, false, err
		}
		out = append(out, doc)
	}
	return out, more, nil
}

// baseBefore is whether Redis holds a document before a new write, as far
// as its pending write p says: what p found when p replaces it in the
// queue, what p leaves when p is in flight.
func baseBefore(p *op, inPlace bool) docBase {
	switch {
	case p == nil:
		return baseUnknown
	case inPlace:
		return p.doc.base
	case p.kind == opDocPut:
		return basePresent
	}
	return baseAbsent
}

// pendingDocLocked returns the document's newest pending write, and
// whether it is still queued (so a new write takes its place) rather than
// in flight.
func (s *Store) pendingDocLocked(key string) (*op, bool) {
	seq, ok := s.lastKey[key]
	if !ok {
		return nil, false
	}
	if len(s.queue) > 0 && seq >= s.queue[0].seq {
		return &s.queue[seq-s.queue[0].seq], true
	}
	if len(s.inflight) > 0 && seq >= s.inflight[0].seq && seq-s.inflight[0].seq < uint64(len(s.inflight)) {
		return &s.inflight[seq-s.inflight[0].seq], false
	}
	return nil, false
}

// enqueueDocLocked queues o, in the place of p when p is still queued.
func (s *Store) enqueueDocLocked(o op, p *op, inPlace bool) error {
	if s.closed {
		return ErrClosed
	}
	size, freed := docSize(&o), int64(0)
	if inPlace {
		freed = docSize(p)
	}
	full := s.inMemoryLocked() >= s.rc.MaxPending || s.docs.bytes+size > s.docs.limits.MaxBytes
	if !inPlace && full {
		// The queue goes to the spill file, in order, and makes room (a
		// write in place of a queued one would lose its place: it is
		// refused below instead).
		if err := s.spillLocked("the write queue is full"); err != nil {
			s.met.queueFull.Inc()
			return fmt.Errorf("%w: %d writes pending (MaxPending), and spilling failed: %w", ErrQueueFull, s.inMemoryLocked(), err)
		}
	}
	if s.docs.bytes-freed+size > s.docs.limits.MaxBytes {
		s.met.queueFull.Inc()
		return fmt.Errorf("%w: %d document bytes pending, this write needs %d more (DocLimits.MaxBytes %d)",
			ErrQueueFull, s.docs.bytes, size-freed, s.docs.limits.MaxBytes)
	}
	if o.kind == opDocPut {
		o.doc.version = s.docs.tick()
	}
	h := s.docs.hashes[o.doc.hash]
	if h == nil {
		if s.docs.hashes == nil {
			s.docs.hashes = make(map[string]*docHash)
		}
		h = &docHash{}
		s.docs.hashes[o.doc.hash] = h
	}
	if inPlace {
		if p.doc.create {
			h.creates--
		}
		o.seq = p.seq
		*p = o
	} else {
		s.seq++
		o.seq = s.seq
		s.queue = append(s.queue, o)
		s.lastKey[o.key] = o.seq
		h.ops++
	}
	if o.doc.create {
		h.creates++
	}
	s.docs.bytes += size - freed
	return nil
}

// docLandedLocked retires a document write Redis took (or refused).
func (s *Store) docLandedLocked(o *op) {
	s.docs.bytes -= docSize(o)
	h := s.docs.hashes[o.doc.hash]
	if h == nil {
		return
	}
	h.ops--
	if o.doc.create {
		h.creates--
	}
	if h.ops <= 0 {
		delete(s.docs.hashes, o.doc.hash)
	}
}

// readDocCount returns the hash's size and whether it holds field.
func (s *Store) readDocCount(ctx context.Context, hash, field string) (int, docBase, error) {
	p := s.rdb.Pipeline()
	hlen := p.HLen(ctx, hash)
	has := p.HExists(ctx, hash, field)
	if _, err := p.Exec(ctx); err != nil {
		return 0, baseUnknown, fmt.Errorf("redisstore: counting the documents of %s: %w", hash, err)
	}
	if has.Val() {
		return int(hlen.Val()), basePresent, nil
	}
	return int(hlen.Val()), baseAbsent, nil
}

// sendDoc adds a document write to the flusher's pipeline.
func (s *Store) sendDoc(ctx context.Context, p redis.Pipeliner, o *op) {
	d := o.doc
	switch o.kind {
	case opDocPut:
		v := strconv.AppendUint(make([]byte, 0, 21+len(o.data)), d.version, 10)
		v = append(append(v, ':'), o.data...)
		p.Eval(ctx, docPutScript, []string{d.hash}, d.field, v, s.docs.limits.MaxDocsPerOwner)
	case opDocDel:
		p.HDel(ctx, d.hash, d.field)
	}
	if d.match && s.rc.FrameTTL > 0 {
		p.Expire(ctx, d.hash, s.rc.FrameTTL)
	}
}

// docPutScript sets a document unless it is new and its hash holds
// MaxDocsPerOwner (ARGV[3]) already: the bound, checked where every
// process's writes meet. The refusal is not a passing state, so the write
// is dropped rather than retried (see send).
const docPutScript = `if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  return redis.error_reply('DOCLIMIT ' .. KEYS[1] .. ' holds ' .. ARGV[3] .. ' documents (MaxDocsPerOwner)')
end
return redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])`

// decodeDoc parses a field's "<version>:<value>" and raises the clock to
// its version.
func (s *Store) decodeDoc(hash, key string, raw []byte) (store.Doc, error) {
	ver, val, ok := bytes.Cut(raw, []byte{':'})
	v, err := strconv.ParseUint(string(ver), 10, 64)
	if !ok || err != nil || v == 0 {
		return store.Doc{}, fmt.Errorf("redisstore: document %q of %s: %q is not <version>:<value>", key, hash, raw[:min(len(raw), 32)])
	}
	s.mu.Lock()
	s.docs.observe(v)
	s.mu.Unlock()
	return store.Doc{Key: key, Value: val, Version: v}, nil
}

func (s *Store) docHash(owner store.DocOwner, collection string) string {
	kind := "p:"
	if owner.Kind == store.OwnerMatch {
		kind = "m:"
	}
	return s.prefix + "doc:" + kind + strconv.FormatUint(owner.ID, 10) + ":" + collection
}

// docQueueKey names a document in the queue's bookkeeping (lastKey): no
// record key has a hash's "doc:" after the prefix, and no hash name holds
// "#" after it.
func docQueueKey(hash, field string) string { return hash + "#" + field }
