package lockstep

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/game/room"
	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/ziface"
)

// durableStore is the memory stores behind a store.Durability that makes
// writes durable only when the test says so (release), as a write-behind
// store would once Redis has them. It numbers every write, so a test can
// check that what a client was sent was durable when it was sent.
type durableStore struct {
	*store.MemoryStore
	*store.MemoryFrameStore
	modes map[store.Kind]store.Mode

	mu       sync.Mutex
	seq      uint64
	waiting  []answerDue
	frameSeq map[[2]uint64]uint64 // (match, frame) -> the write that appended it
	endSeq   map[uint64]uint64    // match -> the SaveMatch that ended it
	auto     bool                 // answer AfterDurable at once, inline: everything is durable
	delay    time.Duration        // answer AfterDurable this long after the call, on a goroutine of its own
	durable  atomic.Uint64        // writes up to this one are durable
	calls    atomic.Int64         // AfterDurable calls
}

type answerDue struct {
	seq  uint64
	done func(error)
}

func newDurableStore(sync ...store.Kind) *durableStore {
	d := &durableStore{MemoryStore: store.NewMemoryStore(), MemoryFrameStore: store.NewMemoryFrameStore(16),
		modes: make(map[store.Kind]store.Mode), frameSeq: make(map[[2]uint64]uint64), endSeq: make(map[uint64]uint64)}
	for _, k := range sync {
		d.modes[k] = store.Sync
	}
	return d
}

func (d *durableStore) Mode(k store.Kind) store.Mode { return d.modes[k] }

func (d *durableStore) AfterDurable(done func(error)) {
	d.calls.Add(1)
	d.mu.Lock()
	if d.auto {
		d.durable.Store(d.seq)
		d.mu.Unlock()
		done(nil)
		return
	}
	if d.delay > 0 {
		seq := d.seq
		d.mu.Unlock()
		time.AfterFunc(d.delay, func() {
			d.mu.Lock()
			if seq > d.durable.Load() {
				d.durable.Store(seq)
			}
			d.mu.Unlock()
			done(nil)
		})
		return
	}
	d.waiting = append(d.waiting, answerDue{d.seq, done})
	d.mu.Unlock()
}

// release answers the n oldest AfterDurable calls (all of them when n <
// 0) with err, on the caller's goroutine (the store's); with nil, the
// writes before them are durable. It returns how many it answered.
func (d *durableStore) release(n int, err error) int {
	d.mu.Lock()
	if n < 0 || n > len(d.waiting) {
		n = len(d.waiting)
	}
	due := slices.Clone(d.waiting[:n])
	d.waiting = slices.Delete(d.waiting, 0, n)
	if err == nil && n > 0 && due[n-1].seq > d.durable.Load() {
		d.durable.Store(due[n-1].seq)
	}
	d.mu.Unlock()
	for _, a := range due {
		a.done(err)
	}
	return n
}

func (d *durableStore) pending() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.waiting)
}

func (d *durableStore) setAuto(on bool) {
	d.mu.Lock()
	d.auto = on
	d.mu.Unlock()
	if on {
		d.release(-1, nil)
	}
}

func (d *durableStore) write() uint64 {
	d.seq++
	return d.seq
}

func (d *durableStore) AppendFrame(matchID uint64, frame uint32, inputs []byte) error {
	d.mu.Lock()
	d.frameSeq[[2]uint64{matchID, uint64(frame)}] = d.write()
	d.mu.Unlock()
	return d.MemoryFrameStore.AppendFrame(matchID, frame, inputs)
}

func (d *durableStore) EndMatch(matchID uint64, lastFrame uint32) error {
	d.mu.Lock()
	d.write()
	d.mu.Unlock()
	return d.MemoryFrameStore.EndMatch(matchID, lastFrame)
}

func (d *durableStore) SaveMatch(ctx context.Context, m store.MatchMeta) error {
	d.mu.Lock()
	seq := d.write()
	if !m.EndedAt.IsZero() {
		d.endSeq[m.MatchID] = seq
	}
	d.mu.Unlock()
	return d.MemoryStore.SaveMatch(ctx, m)
}

func (d *durableStore) PutSession(ctx context.Context, s store.Session) error {
	d.mu.Lock()
	d.write()
	d.mu.Unlock()
	return d.MemoryStore.PutSession(ctx, s)
}

// frameDurable reports whether the write of a busy frame is durable.
func (d *durableStore) frameDurable(matchID uint64, frame uint32) bool {
	d.mu.Lock()
	seq, ok := d.frameSeq[[2]uint64{matchID, uint64(frame)}]
	d.mu.Unlock()
	return ok && seq <= d.durable.Load()
}

// endDurable reports whether the SaveMatch that ended the match is durable.
func (d *durableStore) endDurable(matchID uint64) bool {
	d.mu.Lock()
	seq, ok := d.endSeq[matchID]
	d.mu.Unlock()
	return ok && seq <= d.durable.Load()
}

// recConn is a connection that records what it is sent, in order, safe
// for the room's tick and the store's goroutine at once; check (may be
// nil) judges each message as it is sent. Async runs work on a goroutine
// of its own, as a connection's blocking pool would.
type recConn struct {
	countConn
	ctx    context.Context
	cancel context.CancelFunc
	check  func(id uint32, data []byte)

	mu   sync.Mutex
	msgs []lsMsg
	wg   sync.WaitGroup
}

func newRecConn(t *testing.T, l *Service, check func(id uint32, data []byte)) *recConn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &recConn{ctx: ctx, cancel: cancel, check: check}
	t.Cleanup(func() { cancel(); c.wg.Wait() })
	return c
}

func (c *recConn) SendMsg(id uint32, data []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.check != nil {
		c.check(id, data)
	}
	c.msgs = append(c.msgs, lsMsg{id, slices.Clone(data)})
	return nil
}

func (c *recConn) SendMsgNow(id uint32, data []byte) error { return c.SendMsg(id, data) }
func (c *recConn) Context() context.Context                { return c.ctx }
func (c *recConn) WaitSendRoom(ctx context.Context) error  { return ctx.Err() }

func (c *recConn) Async(work func(ctx context.Context), then func()) error {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		work(c.ctx)
		if then != nil {
			then()
		}
	}()
	return nil
}

// frames is every frame the connection was sent (live and catch-up), in
// order, and the MatchEnd if one came (with the frames sent before it).
func (c *recConn) frames(t *testing.T) (fs []frame, end *lspb.MatchEnd, beforeEnd int) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.msgs {
		switch m.id {
		case lspb.MsgFrames, lspb.MsgCatchUp:
			var b lspb.FrameBatch
			if err := proto.Unmarshal(m.data, &b); err != nil {
				t.Fatal(err)
			}
			fs = append(fs, expand(&b)...)
		case lspb.MsgMatchEnd:
			end = new(lspb.MatchEnd)
			if err := proto.Unmarshal(m.data, end); err != nil {
				t.Fatal(err)
			}
			beforeEnd = len(fs)
		}
	}
	return fs, end, beforeEnd
}

// errorCount is how many Errors of code the connection was sent.
func (c *recConn) errorCount(t *testing.T, code commonpb.ErrorCode) int {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, m := range c.msgs {
		if m.id != lspb.MsgError {
			continue
		}
		var e commonpb.Error
		if err := proto.Unmarshal(m.data, &e); err != nil {
			t.Fatal(err)
		}
		if e.Code == code {
			n++
		}
	}
	return n
}

// checkDurable returns a check that fails the test when a frame or a
// MatchEnd is sent before the store made it durable.
func checkDurable(t *testing.T, d *durableStore, matchID *atomic.Uint64) func(id uint32, data []byte) {
	return func(id uint32, data []byte) {
		switch id {
		case lspb.MsgFrames, lspb.MsgCatchUp:
			if d.modes[store.KindFrames] != store.Sync {
				return // Async: sent at once, by design
			}
			var b lspb.FrameBatch
			if err := proto.Unmarshal(data, &b); err != nil {
				t.Error(err)
				return
			}
			for _, f := range b.Busy {
				if n := b.FirstFrame + f.Offset; !d.frameDurable(matchID.Load(), n) {
					t.Errorf("frame %d sent (message %d) before it was durable", n, id)
				}
			}
		case lspb.MsgMatchEnd:
			if d.modes[store.KindMatches] == store.Sync && !d.endDurable(matchID.Load()) {
				t.Errorf("MatchEnd sent before the match's end was durable")
			}
		}
	}
}

// syncService is a lockstep service on a manual room manager over d (its
// frame and match store), logging to log (nil: discarded).
func syncService(t testing.TB, d *durableStore, log *slog.Logger, opts ...Option) *Service {
	t.Helper()
	mgr, err := room.NewManager(room.Config{Manual: true, RequestRate: 1e6, MaxRooms: 1 << 20, MaxRoomsPerOwner: 1 << 20,
		EmptyTimeout: room.Disabled}, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	if log == nil {
		log = discardLog()
	}
	l, err := New(DefaultConfig(), log, append([]Option{WithRooms(mgr), WithFrameStore(d), WithMatchStore(d)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mgr.Close() })
	return l
}

// syncRoom is a running 4-player match over a durableStore, with
// recording connections that check durability against d and, when they
// are other stores, the service's frame store.
type syncRoom struct {
	*benchRoom
	d     *durableStore
	rc    []*recConn
	match atomic.Uint64
	seq   uint32
}

func newSyncRoom(t *testing.T, d *durableStore, log *slog.Logger, opts ...Option) *syncRoom {
	t.Helper()
	l := syncService(t, d, log, opts...)
	sr := &syncRoom{d: d}
	checks := []func(uint32, []byte){checkDurable(t, d, &sr.match)}
	if fd, ok := l.frames.(*durableStore); ok && fd != d {
		checks = append(checks, checkDurable(t, fd, &sr.match))
	}
	var ics []ziface.IConnection
	for range 4 {
		c := newRecConn(t, l, func(id uint32, data []byte) {
			for _, ch := range checks {
				ch(id, data)
			}
		})
		sr.rc = append(sr.rc, c)
		ics = append(ics, c)
	}
	sr.benchRoom = startedRoom(t, l, ics)
	sr.match.Store(sr.m.matchID)
	return sr
}

// tick queues an input from seat 0 and ticks the room, n times: every
// frame is busy, so every frame is a write of its own.
func (sr *syncRoom) tick(t *testing.T, n int) {
	t.Helper()
	for range n {
		sr.seq++
		if err := sr.l.rooms.Input(sr.ids[0], sr.conns[0], sr.l.id(lspb.MsgInput),
			marshal(&lspb.Input{Data: []byte{byte(sr.seq)}, Seq: sr.seq})); err != nil {
			t.Fatal(err)
		}
		sr.l.rooms.Step(time.Now())
	}
}

func frameNumbers(fs []frame) []uint32 {
	out := make([]uint32, len(fs))
	for i, f := range fs {
		out[i] = f.n
	}
	return out
}

func seqTo(from, to uint32) []uint32 {
	var out []uint32
	for f := from; f <= to; f++ {
		out = append(out, f)
	}
	return out
}

var errStoreClosed = errors.New("test: the store closed with the writes neither stored nor spilled")
