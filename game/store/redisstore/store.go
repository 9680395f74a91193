// Package redisstore implements game's stores on Redis: players, match
// metadata and input logs, and sessions (store.PlayerStore, MatchStore,
// SessionStore and FrameStore), and the game's own documents (store.DocStore,
// see docs.go), with github.com/redis/go-redis/v9.
//
// Writes are write-behind. They go into one ordered, bounded queue in
// memory and return at once: a room's tick never waits for Redis. A
// flusher goroutine sends everything queued every FlushInterval in one
// pipeline (one round trip for all rooms, players and sessions together,
// order kept), and Flush sends now and waits. Reads go to Redis; a read of
// a record with queued writes flushes them first, and ReadFrames merges
// the frames still queued, so every read sees every write made before it.
//
// Redis going away loses nothing acknowledged: the batch in flight stays at
// the head of the queue and is sent again (with backoff up to 1 s) until
// Redis answers, then the rest follows in order. Re-sent writes are
// idempotent: hashes are set whole, and frames are stream entries with
// explicit IDs, which Redis refuses to add twice. Meanwhile the queue
// holds at most MaxPending writes; when it is full AppendFrame fails with
// ErrQueueFull (counted), while player, match and session writes, which
// replace their own pending predecessor, are always taken. A crash of the
// process loses at most the last FlushInterval of writes; Close flushes
// everything first.
//
// Keys (KeyPrefix first): player:<id> and session:<id> and match:<id> are
// hashes; frames:<matchID> is a stream with one entry per busy frame, ID
// <frame>-0 and field "i" holding the inputs. A match's keys expire
// FrameTTL after their last write. Needs Redis 6.2 or later.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/zconf"
)

var (
	// ErrQueueFull is returned by AppendFrame when MaxPending writes are
	// already waiting (Redis has been away or slow for a while). The frame
	// is not stored; the caller logs it.
	ErrQueueFull = errors.New("redisstore: write queue full (Redis unreachable or too slow)")
	// ErrClosed is returned by writes after Close.
	ErrClosed = errors.New("redisstore: store closed")
	// ErrUnavailable is returned by a read that must first flush queued
	// writes to the same record while Redis is unreachable.
	ErrUnavailable = errors.New("redisstore: Redis unreachable")
)

// The stores this package implements.
var (
	_ store.PlayerStore   = (*Store)(nil)
	_ store.MatchStore    = (*Store)(nil)
	_ store.SessionStore  = (*Store)(nil)
	_ store.FrameStore    = (*Store)(nil)
	_ store.DocStore      = (*Store)(nil)
	_ store.MatchRecovery = (*Store)(nil)
	_ store.FrameRecovery = (*Store)(nil)
)

// Store is every game store on one Redis. Safe for concurrent use.
type Store struct {
	rc     zconf.RedisConfig
	log    *slog.Logger
	rdb    *redis.Client
	met    *metrics
	prefix string

	mu        sync.Mutex
	queue     []op              // waiting to be sent, oldest first; seqs are consecutive
	spare     []op              // an empty buffer, swapped with queue when a batch is taken
	inflight  []op              // the batch being sent; kept until it is stored
	resend    bool              // inflight failed once: its writes may be in Redis already
	lastKey   map[string]uint64 // record key -> seq of its newest pending write
	lastFrame map[uint64]uint32 // running match -> its last appended frame
	docs      docState          // documents' bookkeeping (docs.go)
	seq       uint64            // the last seq given
	landed    uint64            // every write up to this seq is stored (or refused by Redis)
	landedCh  chan struct{}     // closed and replaced when landed moves
	closed    bool

	// Durability (durability.go) and the spill (spill.go).
	modes           [store.KindDocs + 1]store.Mode
	waiters         []waiter // AfterDurable's, in seq order
	firing          bool     // a goroutine is calling waiters (fireMu held)
	fireMu          sync.Mutex
	closeErr        error // set when Close has finished: ErrClosed, or the loss it reported
	spill           *spillFile
	spilledTo       uint64            // every write up to this seq is stored or in the file
	spilledFrames   map[uint64]uint64 // match -> seq of its newest frame in the file
	fileRead        int64             // the file's records before this offset are in Redis
	inflightEnd     int64             // when inflight came from the file: the offset after it
	inflightSpilled bool              // inflight is in the file (a copy, or read from it)
	startN          uint64            // records an earlier process left in the file, numbered 1..startN
	startDone       uint64            // of which read back so far
	spillLoggedAt   time.Time         // the last spill log line
	spillsUnlogged  int               // writes spilled since it

	up       atomic.Bool
	downAt   time.Time // when the current outage began (flusher only)
	kick     chan struct{}
	quit     chan struct{}
	done     chan struct{}
	flushCtx context.Context // the flusher's; cancelled when Close gives up
	cancel   context.CancelFunc
}

// Option configures New.
type Option func(*options)

type options struct {
	reg       prometheus.Registerer
	docLimits store.DocLimits
}

// WithMetrics registers the store's metrics on reg: pending writes, Redis
// up (0/1), flushes and their duration, failed flushes, writes stored,
// writes Redis refused, frames refused because the queue was full, and
// the connection pool's figures (zinxgame_redis_pool_*).
func WithMetrics(reg prometheus.Registerer) Option { return func(o *options) { o.reg = reg } }

// New connects to Redis and starts the flusher. When Redis cannot be
// reached, New fails if rc.Required; otherwise it logs an error, returns a
// working store whose writes queue up, and keeps trying (the up metric is
// 0 until it succeeds). A Redis that answers but refuses the client (bad
// password, bad DB) is an error either way: waiting would not fix it.
func New(ctx context.Context, rc zconf.RedisConfig, log *slog.Logger, opts ...Option) (*Store, error) {
	if err := rc.Validate(); err != nil {
		return nil, err
	}
	if !rc.Enabled() {
		return nil, errors.New("redisstore: Redis.Addr is empty")
	}
	if log == nil {
		log = slog.Default()
	}
	var o options
	for _, f := range opts {
		f(&o)
	}
	rdb := redis.NewClient(&redis.Options{
		Addr: rc.Addr, Username: rc.Username, Password: rc.Password, DB: rc.DB,
		PoolSize: rc.PoolSize, MinIdleConns: rc.MinIdleConns, PoolTimeout: rc.PoolTimeout,
		DialTimeout: rc.DialTimeout, ReadTimeout: rc.ReadTimeout, WriteTimeout: rc.WriteTimeout,
		TLSConfig: rc.TLSConfig(),
		// The flusher is the only retry loop, so it knows when a write is
		// sent again (see send), and it paces its own attempts: one dial
		// each, no client-side retries.
		MaxRetries:            -1,
		DialerRetries:         1,
		ContextTimeoutEnabled: true,
		// One pool for reads and pipelines: PoolSize means what it says,
		// and once a flush gets through after an outage, reads do too
		// (go-redis keeps a pool that failed PoolSize dials closed until
		// a probe, once a second, gets through).
		PipelinePoolSize: -1,
		// Cluster maintenance notices are for Redis Enterprise/Cloud
		// clusters; probing for them costs a command per connection.
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	s := &Store{
		rc: rc, log: log, rdb: rdb, prefix: rc.KeyPrefix,
		lastKey: make(map[string]uint64), lastFrame: make(map[uint64]uint32),
		landedCh: make(chan struct{}), kick: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{}),
		modes: modesOf(rc), spilledFrames: make(map[uint64]uint64),
	}
	s.docs.limits = o.docLimits.WithDefaults()
	s.met = newMetrics(s)
	if o.reg != nil {
		if err := s.met.register(o.reg); err != nil {
			_ = rdb.Close()
			return nil, fmt.Errorf("redisstore: registering metrics: %w", err)
		}
	}

	pctx, cancel := context.WithTimeout(ctx, rc.DialTimeout+rc.ReadTimeout)
	err := rdb.Ping(pctx).Err()
	cancel()
	switch {
	case err == nil:
		s.up.Store(true)
	case !transient(err):
		_ = rdb.Close()
		return nil, fmt.Errorf("redisstore: Redis at %s refused the connection: %w", rc.Addr, err)
	case rc.Required:
		_ = rdb.Close()
		return nil, fmt.Errorf("redisstore: Redis at %s is required (Redis.Required) and unreachable: %w", rc.Addr, err)
	default:
		s.downAt = time.Now()
		log.Error("redisstore: Redis unreachable at start; serving anyway with writes queued in memory and retried",
			"addr", rc.Addr, "err", err, "max_pending", rc.MaxPending)
	}
	if err := s.openSpillAtStart(); err != nil {
		_ = rdb.Close()
		return nil, err
	}
	s.flushCtx, s.cancel = context.WithCancel(context.Background())
	go s.run()
	if n := s.startN; n > 0 && s.up.Load() {
		// Replay what an earlier process spilled before serving, so its
		// records are in Redis when players come back; if it takes too
		// long, the rest follows in order, ahead of every new write.
		rctx, cancel := context.WithTimeout(ctx, replayWait)
		err := s.Flush(rctx)
		cancel()
		if err != nil {
			log.Error("redisstore: the spilled writes are not all replayed yet; serving, with them sent first", "err", err)
		} else {
			log.Info("redisstore: the spilled writes are replayed", "writes", n)
		}
	}
	return s, nil
}

// replayWait bounds New's wait for the spill's replay.
const replayWait = 30 * time.Second

// giveUpWhenDown cancels Close's flush once Redis has been unreachable
// for closeGrace (the writes are spilled instead), or returns when ctx
// ends.
func (s *Store) giveUpWhenDown(ctx context.Context, cancel context.CancelFunc) {
	t := time.NewTicker(closeGrace / 20)
	defer t.Stop()
	var downSince time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			switch {
			case s.up.Load():
				downSince = time.Time{}
			case downSince.IsZero():
				downSince = now
			case now.Sub(downSince) >= closeGrace:
				cancel()
				return
			}
		}
	}
}

// closeGrace bounds Close's wait on a Redis found unreachable, before it
// spills: the outage may be a blip, and a shutdown should not wait its
// whole timeout on one that is not.
const closeGrace = time.Second

// Pending is the number of writes queued or in flight, not yet in Redis.
func (s *Store) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue) + len(s.inflight)
}

// Up reports whether the last contact with Redis succeeded, for a
// readiness check.
func (s *Store) Up() bool { return s.up.Load() }

// Client is the underlying go-redis client, for reads this package does
// not offer. Writes through it bypass the queue and its ordering.
func (s *Store) Client() *redis.Client { return s.rdb }

// Flush sends every write queued before the call and waits until Redis
// has stored it, or ctx ends, or the store is closed.
func (s *Store) Flush(ctx context.Context) error {
	s.mu.Lock()
	target := s.seq
	s.mu.Unlock()
	s.wake()
	for {
		s.mu.Lock()
		landed, ch := s.landed, s.landedCh
		s.mu.Unlock()
		if landed >= target {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("redisstore: flush: %d writes still pending: %w", s.Pending(), ctx.Err())
		case <-s.done:
			return fmt.Errorf("redisstore: flush: %d writes still pending: %w", s.Pending(), ErrClosed)
		}
	}
}

// Close refuses further writes, flushes every pending one (until ctx
// ends), stops the flusher and closes the connections. It reports the
// writes left unstored, if any. Call it after the rooms have stopped.
func (s *Store) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go s.giveUpWhenDown(fctx, cancel)
	ferr := s.Flush(fctx)
	close(s.quit)
	s.cancel() // abort a pipeline stuck on an unreachable Redis
	<-s.done
	_ = s.rdb.Close()
	err := s.spillAtClose(ferr)
	s.mu.Lock()
	s.closeErr = ErrClosed
	if err != nil {
		s.closeErr = err
	}
	left := len(s.queue) + len(s.inflight)
	inFile := s.spill != nil && !s.spill.empty()
	s.mu.Unlock()
	if err == nil && left > 0 || inFile {
		s.log.Warn("redisstore: closed with writes Redis has not taken; they are in the spill file, and the next start replays them",
			"file", s.spill.path, "file_bytes", s.spill.size)
	}
	s.fireWith(err, true)
	s.closeSpill()
	return err
}

func (s *Store) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *Store) key(kind string, id uint64) string {
	return s.prefix + kind + strconv.FormatUint(id, 10)
}

func (s *Store) playerKey(id uint64) string  { return s.key("player:", id) }
func (s *Store) matchKey(id uint64) string   { return s.key("match:", id) }
func (s *Store) framesKey(id uint64) string  { return s.key("frames:", id) }
func (s *Store) sessionKey(id string) string { return s.prefix + "session:" + id }
func (s *Store) runningKey(node uint32) string {
	return s.prefix + "running:" + strconv.FormatUint(uint64(node), 10)
}
