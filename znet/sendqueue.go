package znet

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// sendQueue holds packed frames waiting to be written. Frames are appended
// straight into one byte buffer, so queueing costs no allocation in steady
// state and whoever flushes sends everything queued in one syscall.
//
// Two parties flush. The connection's executor, at the end of a batch of
// handlers, tries a non-blocking write of what is queued (endBatch): in the
// common case the replies leave without waking another goroutine. Whatever
// that cannot write at once (a full socket buffer, a transport without
// non-blocking writes, frames queued from other goroutines) goes to a
// writer goroutine that blocks on the socket with WriteTimeout. The writer
// runs only while there is such work and exits when it is done, so an idle
// connection costs no goroutine for writing. Every write happens under the
// lock except the writer's blocking one, and nobody else writes while that
// is in progress, so bytes leave in queue order.
//
// With a flush delay (zconf FlushDelay), the writer starts that long after
// the first frame that needs it, from a timer reused for the connection's
// lifetime, so a fan-out of many broadcasts leaves in one write. A batch
// that ends while the timer is pending takes its frames over and writes at
// once, and so does close: the delay never holds back a reply or a
// shutdown.
//
// Two bounds hold: maxBytes on every byte the queue holds (queued and being
// written), and max on the frames waiting behind bytes the socket has not
// taken yet (a write in progress, or what a non-blocking write left). Frames
// never offered to the socket (held by the flush delay, queued by a batch
// that has not ended, or waiting for the writer to start) count toward the
// bytes only: holding them is the server's choice, and in a fan-out storm
// counting them cut the clients that read fastest. What the queue holds is
// reported through acct at the points where it settles (a push from
// outside a batch, the end of a batch, the end of a write), so the server-
// wide budget sees it without an atomic per frame.
type sendQueue struct {
	mu       sync.Mutex
	buf      []byte
	spare    []byte
	n        int // frames in buf
	max      int
	maxBytes int       // bound on len(buf) + inflight; 0: none
	inflight int       // bytes the writer goroutine is writing now
	inflCap  int       // the capacity of the buffer they are in
	stalled  bool      // buf holds bytes a non-blocking write could not send
	held     int       // memory last reported through acct
	acct     func(int) // reports changes of the bytes held; nil: none
	pack     *DataPack // reads frame lengths after a partial write; nil: count the frames as all left
	// tryWrite is the connection's non-blocking write (nil without one):
	// the end of a batch, SendMsgNow, a push from outside a batch that
	// finds flushAt() bytes queued, and a cut's last notice use it.
	tryWrite func([]byte) int
	// backlog is set while the queue holds half of maxBytes or more, until
	// it is down to a quarter; room then gets a token. The reader does
	// not read more requests from a client that lets its replies pile up.
	backlog    atomic.Bool
	room       chan struct{}
	closed     bool
	writing    bool        // the writer goroutine is running
	deferred   atomic.Bool // a batch is running and will flush when it ends
	done       chan struct{}
	doneClosed bool
	write      func([]byte) error // the writer goroutine's blocking write
	delay      time.Duration      // flush delay; 0 starts the writer at once
	// sent counts frames queued and written bytes written, for the
	// metrics; kept under mu, which every push and write holds anyway.
	sent, written uint64
	timer         *time.Timer // starts the writer after delay; nil until first needed
}

func newSendQueue(max int, delay time.Duration, write func([]byte) error) *sendQueue {
	return &sendQueue{max: max, delay: delay, write: write, done: make(chan struct{}), room: make(chan struct{}, 1)}
}

// push appends one frame. It fails with ErrConnClosed once the queue is
// closed and with ErrSendQueueFull when the frame does not fit (see
// lockRoom).
func (q *sendQueue) push(pack *DataPack, msgID uint32, data []byte) error {
	if err := q.lockRoom(HeadLen + len(data)); err != nil {
		return err
	}
	q.buf = pack.appendPacket(q.buf, msgID, data)
	q.appended()
	return nil
}

// pushRaw appends an already packed frame (a broadcast packed once).
func (q *sendQueue) pushRaw(frame []byte) error {
	if err := q.lockRoom(len(frame)); err != nil {
		return err
	}
	q.buf = append(q.buf, frame...)
	q.appended()
	return nil
}

// lockRoom locks q when there is room for one more frame of size bytes:
// within maxBytes, and within max frames if the socket is behind.
func (q *sendQueue) lockRoom(size int) error {
	q.mu.Lock()
	switch {
	case q.closed:
		q.mu.Unlock()
		return ErrConnClosed
	case q.maxBytes > 0 && len(q.buf)+q.inflight+size > q.maxBytes:
		q.mu.Unlock()
		return errFullBytes
	case q.n >= q.max && (q.inflight > 0 || q.stalled):
		q.mu.Unlock()
		return errFullFrames
	}
	return nil
}

// The two ways a send queue fills, each an ErrSendQueueFull; allocated
// once, so refusing costs nothing.
var (
	errFullBytes  = fmt.Errorf("%w: MaxSendQueueBytes reached", ErrSendQueueFull)
	errFullFrames = fmt.Errorf("%w: MaxMsgChanLen frames wait behind the socket", ErrSendQueueFull)
)

// flushAtMost is how many bytes a push from outside a batch lets wait for the
// flush delay or for the writer goroutine to be scheduled: past it, the
// pusher writes them itself, without blocking. In a fan-out storm on busy
// cores, the writers of the fastest readers wait their turn like any
// goroutine while the broadcaster queues on; without this their queues
// filled and they were cut, while the flooder's own copies, written at the
// end of each of its batches, went straight to its socket's buffer.
const flushAtMost = 64 << 10

// flushAt is q's flushAtMost: a quarter of its byte bound at most.
func (q *sendQueue) flushAt() int {
	if q.maxBytes > 0 {
		return min(flushAtMost, q.maxBytes/4)
	}
	return flushAtMost
}

// appended counts the frame just added and unlocks, starting the writer
// when nobody else is going to flush the frame. A batch in progress
// settles the count when it ends.
func (q *sendQueue) appended() {
	q.countLocked()
	if q.deferred.Load() {
		q.mu.Unlock()
		return
	}
	if len(q.buf) >= q.flushAt() && q.inflight == 0 && !q.stalled {
		q.cancelDelayedLocked()
		q.writeNowLocked()
		q.kickLocked(true)
	} else {
		q.kickLocked(false)
	}
	q.settleLocked()
	q.mu.Unlock()
}

// settleLocked updates backlog and reports the change in memory held since
// the last report. The budget is told the capacity of the buffers that
// hold bytes, which is what they cost; an empty buffer kept for reuse is
// not counted, or every idle connection would count against it.
func (q *sendQueue) settleLocked() {
	now := len(q.buf) + q.inflight
	if q.maxBytes > 0 {
		switch {
		case now >= q.maxBytes/2 && !q.backlog.Load():
			q.backlog.Store(true)
		case now <= q.maxBytes/4 && q.backlog.Load():
			q.backlog.Store(false)
			select {
			case q.room <- struct{}{}:
			default:
			}
		}
	}
	if q.acct == nil {
		return
	}
	now = q.inflCap
	if len(q.buf) > 0 {
		now += cap(q.buf)
	}
	if now != q.held {
		d := now - q.held
		q.held = now
		q.acct(d)
	}
}

// countLocked counts a frame just appended to buf.
func (q *sendQueue) countLocked() {
	q.n++
	q.sent++
}

// kickLocked starts the writer if bytes wait and no one else will send them:
// after the flush delay, unless now is set.
func (q *sendQueue) kickLocked(now bool) {
	if q.n > 0 && !q.writing && !q.deferred.Load() {
		q.writing = true
		switch {
		case now || q.delay <= 0:
			go q.writeLoop()
		case q.timer == nil:
			q.timer = time.AfterFunc(q.delay, q.writeLoop)
		default:
			q.timer.Reset(q.delay)
		}
	}
}

// cancelDelayedLocked stops a writer that is waiting out the flush delay
// and has not started, so the caller can send its frames now. A writer
// that is already running is left alone.
func (q *sendQueue) cancelDelayedLocked() {
	if q.writing && q.timer != nil && q.timer.Stop() {
		q.writing = false
	}
}

// doneLocked closes done once the queue is closed and everything is out.
func (q *sendQueue) doneLocked() {
	if q.closed && q.n == 0 && !q.writing && !q.doneClosed {
		q.doneClosed = true
		close(q.done)
	}
}

// startBatch marks the start of a batch whose end will flush. No lock: a
// push that misses the flag only starts the writer early; clearing it, in
// endBatch, is what must not race with a push, and that takes the lock.
func (q *sendQueue) startBatch() {
	q.deferred.Store(true)
}

// reuse keeps a written buffer for the next batch of frames, unless a
// burst made it large: kept buffers are not counted against the budget,
// and at 1 MiB each (the bound once) the connections that had one burst
// held memory the budget could not see.
func reuse(b []byte) []byte {
	if cap(b) > flushAtMost {
		return nil
	}
	return b[:0]
}

// endBatch ends a batch. When the queue has a tryWrite and the writer
// goroutine is not writing, it writes the queued bytes itself, without
// blocking and while holding the lock: one lock round per batch on the hot path, and a pusher
// from another goroutine waits at most one non-blocking syscall. What the
// socket does not take goes to the writer goroutine.
func (q *sendQueue) endBatch() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.deferred.Store(false)
	q.cancelDelayedLocked()
	q.writeNowLocked()
	q.kickLocked(true)
	q.settleLocked()
}

// writeNowLocked writes what is queued with q.tryWrite, without blocking,
// unless the writer goroutine is writing (it owns the socket then). A
// writer that was started but has not taken the queue yet is no obstacle:
// it takes the lock before it writes, and finds what is left. What the
// socket does not take stays queued, in order.
func (q *sendQueue) writeNowLocked() {
	if q.tryWrite == nil || q.n == 0 || q.inflight > 0 {
		return
	}
	out, frames := q.buf, q.n
	n := q.tryWrite(out)
	q.written += uint64(n)
	q.buf, q.n = reuse(out), 0
	if n < len(out) {
		// Rare: the socket buffer is full. Keep the rest, in order, and
		// count it like any queued bytes: by its bytes, and by the frames
		// it still holds (the one cut short included).
		q.buf = append(make([]byte, 0, len(out)-n), out[n:]...)
		q.n = q.framesLeft(out, frames, n)
		q.stalled = true
	}
}

// framesLeft counts the frames of buf (frames in all, starting at a frame
// boundary) that a write of its first written bytes did not complete.
func (q *sendQueue) framesLeft(buf []byte, frames, written int) int {
	if q.pack == nil {
		return frames
	}
	whole := 0
	for off := 0; off+HeadLen <= written; whole++ {
		off += HeadLen + int(q.pack.payloadLen(buf[off:off+HeadLen]))
		if off > written {
			break
		}
	}
	return frames - whole
}

// pushNow appends one frame and, when no batch of the connection's own is
// running and no writer is, writes the queue on the caller's goroutine
// without blocking; leftovers go to the writer goroutine at once.
func (q *sendQueue) pushNow(pack *DataPack, msgID uint32, data []byte) error {
	if err := q.lockRoom(HeadLen + len(data)); err != nil {
		return err
	}
	defer q.mu.Unlock()
	q.buf = pack.appendPacket(q.buf, msgID, data)
	q.countLocked()
	q.sendNowLocked()
	return nil
}

// pushFramesNow is pushNow for count frames the caller packed back to back
// in frames: they are copied into the queue as they are and counted as
// count frames, so the metrics and framesLeft after a partial write stay
// right. The bounds are those of one push of len(frames) bytes.
func (q *sendQueue) pushFramesNow(frames []byte, count int) error {
	if err := q.lockRoom(len(frames)); err != nil {
		return err
	}
	defer q.mu.Unlock()
	q.sent += uint64(count)
	if q.tryWrite != nil && q.n == 0 && q.inflight == 0 && !q.writing && !q.deferred.Load() {
		// Nothing is queued and nobody else is writing: write the
		// caller's bytes straight from its buffer, the common case of a
		// tick's one write per player, and copy only what the socket did
		// not take.
		n := q.tryWrite(frames)
		q.written += uint64(n)
		if n == len(frames) {
			return nil
		}
		q.buf = append(q.buf, frames[n:]...)
		q.n = q.framesLeft(frames, count, n)
		q.stalled = true
		q.kickLocked(true)
		q.settleLocked()
		return nil
	}
	q.buf = append(q.buf, frames...)
	q.n += count
	q.sendNowLocked()
	return nil
}

// sendNowLocked is the end of pushNow and pushFramesNow: unless a batch of
// the connection's own is running (its end flushes), it writes what is
// queued without blocking and hands the rest to the writer at once.
func (q *sendQueue) sendNowLocked() {
	if !q.deferred.Load() {
		q.cancelDelayedLocked() // "now" outranks FlushDelay
		q.writeNowLocked()
		q.kickLocked(true)
		q.settleLocked()
	}
}

// writeLoop is the writer goroutine: it sends what is queued with blocking
// writes until nothing is left for it, then exits. Without a flush delay it
// first yields once, so that frames other goroutines are queueing right now
// (a broadcast reaching many players) leave in the same write.
func (q *sendQueue) writeLoop() {
	if q.delay <= 0 {
		runtime.Gosched()
	}
	q.mu.Lock()
	for q.n > 0 && !q.deferred.Load() {
		out := q.buf
		q.buf, q.spare, q.n = q.spare, nil, 0
		q.inflight, q.inflCap, q.stalled = len(out), cap(out), false
		q.mu.Unlock()
		err := q.write(out)
		q.mu.Lock()
		q.inflight, q.inflCap = 0, 0
		if q.spare == nil {
			q.spare = reuse(out)
		}
		if err != nil {
			q.discardLocked()
			break
		}
		q.written += uint64(len(out))
		q.settleLocked()
	}
	q.writing = false
	q.doneLocked()
	q.mu.Unlock()
}

// close refuses further frames; frames already queued are still sent, and
// done closes when they are.
func (q *sendQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.deferred.Store(false)
	q.cancelDelayedLocked()
	q.kickLocked(true)
	q.doneLocked()
}

// discardLocked drops queued frames after a write failed.
func (q *sendQueue) discardLocked() {
	q.closed = true
	q.buf, q.n, q.stalled = nil, 0, false
	q.settleLocked()
}

// abandon drops what is queued and refuses further frames, for a
// connection closed at once (the server-wide budget). When no write is in
// progress and the queue has a tryWrite, it first offers last, a notice, to the
// socket without blocking; whatever the socket does not take is lost with
// the connection. The bytes a write in progress holds are released when
// that write fails, which closing the socket makes it do at once.
func (q *sendQueue) abandon(last []byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.cancelDelayedLocked()
	q.discardLocked()
	if q.tryWrite != nil && !q.writing && len(last) > 0 {
		q.written += uint64(q.tryWrite(last))
	}
	q.doneLocked()
}

// counts returns the frames queued and the bytes written so far.
func (q *sendQueue) counts() (sent, written uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.sent, q.written
}
