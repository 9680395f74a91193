package redisstore

import (
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/zinxgame/zinxgame/zconf"
)

// The spill. Writes Redis cannot take go to a local file instead of being
// lost: the whole queue when it is full (Redis away or too slow), and
// everything pending when the store closes without reaching Redis. Spilled
// writes are durable (fsynced), so they count for AfterDurable. The file's
// writes are older than the queue's, so the flusher sends the file first,
// in pipelines of maxBatch, then empties it; at the next start, a file left
// by a stopped or crashed process is replayed before anything else. Reads
// of a record whose newest write is in the file flush first, as for one in
// the queue (lastKey keeps its seq; spilledFrames a match's frames).

// spillLogEvery spaces the spill's log lines.
const spillLogEvery = 10 * time.Second

// errSpillOff is spilling with Redis.SpillFile = "off".
var errSpillOff = errors.New("redisstore: spilling is off (Redis.SpillFile)")

// SpillPath is the spill file rc names: its SpillFile, or by default
// spill/<program>-<hash of Addr, DB and KeyPrefix>.spill under the working
// directory (the same across restarts of one configuration, apart for two
// programs or two Redis databases). "" when spilling is off.
func SpillPath(rc zconf.RedisConfig) string {
	switch rc.SpillFile {
	case zconf.SpillOff:
		return ""
	case "":
	default:
		return rc.SpillFile
	}
	prog := strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
			return r
		}
		return '_'
	}, filepath.Base(os.Args[0]))
	h := fnv.New32a()
	fmt.Fprintf(h, "%s\x00%d\x00%s", rc.Addr, rc.DB, rc.KeyPrefix)
	return filepath.Join("spill", fmt.Sprintf("%s-%08x.spill", prog, h.Sum32()))
}

// spillLocked appends the batch in flight (unless it is in the file
// already) and the whole queue to the file, fsynced, and empties the
// queue: everything written so far is then durable. why is logged.
func (s *Store) spillLocked(why string) error {
	if s.spill == nil {
		return errSpillOff
	}
	var buf, scratch []byte
	n := 0
	add := func(o *op) {
		scratch = encodeOp(scratch[:0], o)
		buf = appendRecord(buf, scratch)
		n++
	}
	if !s.inflightSpilled {
		for i := range s.inflight {
			c := s.inflight[i]
			c.spilled = spillCopy // it is also being sent from memory
			add(&c)
		}
	}
	for i := range s.queue {
		s.queue[i].spilled = spillOwn
		add(&s.queue[i])
	}
	if n == 0 {
		return nil
	}
	if s.spill.size+int64(len(buf)) > s.rc.MaxSpillBytes {
		for i := range s.queue {
			s.queue[i].spilled = spillNone
		}
		return fmt.Errorf("redisstore: the spill file %s would pass Redis.MaxSpillBytes (%d bytes)", s.spill.path, s.rc.MaxSpillBytes)
	}
	if err := s.spill.appendRecords(buf); err != nil {
		for i := range s.queue {
			s.queue[i].spilled = spillNone
		}
		return err
	}
	s.inflightSpilled = true
	for i := range s.queue {
		o := &s.queue[i]
		if o.kind == opFrame {
			s.spilledFrames[o.id] = o.seq
		}
		if o.doc != nil {
			s.docs.bytes -= docSize(o) // out of memory; still counted per owner until it lands
		}
	}
	s.spilledTo = s.seq
	s.met.spilled.Add(float64(n))
	// During an outage with sync writes this runs many times a second:
	// one line every spillLogEvery says how many went since the last.
	s.spillsUnlogged += n
	if now := time.Now(); now.Sub(s.spillLoggedAt) >= spillLogEvery {
		s.log.Warn("redisstore: writes spilled to the local file; they go to Redis, in order, when it takes them",
			"why", why, "writes", s.spillsUnlogged, "file", s.spill.path, "file_bytes", s.spill.size)
		s.spillLoggedAt, s.spillsUnlogged = now, 0
	}
	clear(s.queue)
	s.queue = s.queue[:0]
	return nil
}

// nextFromFileLocked reads the next batch from the spill file into
// s.inflight. The records it reads are appended no more (appends go past
// them), so the file is read without the lock held.
func (s *Store) nextFromFileLocked() ([]op, bool) {
	from, end := s.fileRead, s.spill.size
	s.mu.Unlock()
	var batch []op
	var bad error
	next := from
	_, err := s.spill.scan(from, func(p []byte, off int64) bool {
		if off > end {
			return false // appended since: the next batch's
		}
		o, err := decodeOp(p)
		if err != nil {
			bad = fmt.Errorf("%w before byte %d", err, off)
			return false
		}
		batch = append(batch, o)
		next = off
		return len(batch) < maxBatch
	})
	s.mu.Lock()
	if err == nil {
		err = bad
	}
	if err != nil || len(batch) == 0 {
		// The file changed under the store, or the disk failed: what
		// could not be read is lost, and said so.
		s.log.Error("redisstore: reading the spill file failed; the writes after this point are dropped",
			"file", s.spill.path, "offset", next, "err", err)
		s.met.spillTorn.Inc()
		s.fileRead = s.spill.size
		s.fileLandedLocked()
		return nil, false
	}
	for i := range batch {
		if s.startDone < s.startN { // an earlier process's: numbered as at load
			s.startDone++
			batch[i].seq, batch[i].spilled = s.startDone, spillCopy
		}
	}
	s.inflight, s.inflightEnd, s.inflightSpilled = batch, next, true
	return batch, true
}

// fileLandedLocked retires a batch read from the file; once the file is
// read to its end, it is emptied.
func (s *Store) fileLandedLocked() {
	if s.inflightEnd > 0 {
		s.fileRead = s.inflightEnd
		s.inflightEnd = 0
	}
	if s.fileRead < s.spill.size {
		return
	}
	if err := s.spill.reset(); err != nil {
		s.log.Error("redisstore: emptying the spill file failed; its writes will be sent again at the next start",
			"file", s.spill.path, "err", err)
	}
	s.fileRead = s.spill.size
	s.startN, s.startDone = 0, 0
	clear(s.spilledFrames)
}

// SpillBytes is the size of the records in the spill file not yet in
// Redis (0 when spilling is off or nothing waits). Safe for concurrent use.
func (s *Store) SpillBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.spill == nil {
		return 0
	}
	return s.spill.size - s.fileRead
}

// spillForWaiters spills everything pending when an AfterDurable callback
// waits on it, and calls the callbacks; the flusher calls it while Redis
// is unreachable. A failure to spill is logged; the callbacks then wait
// for Redis.
func (s *Store) spillForWaiters() {
	s.mu.Lock()
	if s.spill == nil || len(s.waiters) == 0 {
		s.mu.Unlock()
		return
	}
	if s.waiters[len(s.waiters)-1].seq <= s.durableLocked() {
		// Durable already (a full queue spilled them on its writer's
		// goroutine, which calls no callback): call them now.
		s.mu.Unlock()
		s.fireWaiters()
		return
	}
	err := s.spillLocked("Redis is unreachable and acknowledgements wait on sync writes")
	s.mu.Unlock()
	if err != nil {
		s.log.Error("redisstore: spilling for waiting acknowledgements failed; they wait for Redis", "err", err)
		return
	}
	s.fireWaiters()
}
