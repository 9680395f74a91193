package znet

import (
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
// writer goroutine that blocks on the socket with WriteTimeout. The writer runs only while there is such work and exits when
// it is done, so an idle connection costs no goroutine for writing. A batch
// never writes while the writer runs, so bytes leave in queue order.
//
// With a flush delay (zconf FlushDelay), the writer starts that long after
// the first frame that needs it, from a timer reused for the connection's
// lifetime, so a fan-out of many broadcasts leaves in one write. A batch
// that ends while the timer is pending takes its frames over and writes at
// once, and so does close: the delay never holds back a reply or a
// shutdown.
type sendQueue struct {
	mu         sync.Mutex
	buf        []byte
	spare      []byte
	n          int
	max        int
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
	return &sendQueue{max: max, delay: delay, write: write, done: make(chan struct{})}
}

// push appends one frame. It fails with ErrConnClosed once the queue is
// closed and with ErrSendQueueFull when max frames are already waiting.
func (q *sendQueue) push(pack *DataPack, msgID uint32, data []byte) error {
	if err := q.lockRoom(); err != nil {
		return err
	}
	q.buf = pack.appendPacket(q.buf, msgID, data)
	q.appended()
	return nil
}

// pushRaw appends an already packed frame (a broadcast packed once).
func (q *sendQueue) pushRaw(frame []byte) error {
	if err := q.lockRoom(); err != nil {
		return err
	}
	q.buf = append(q.buf, frame...)
	q.appended()
	return nil
}

// lockRoom locks q when there is room for one more frame.
func (q *sendQueue) lockRoom() error {
	q.mu.Lock()
	switch {
	case q.closed:
		q.mu.Unlock()
		return ErrConnClosed
	case q.n >= q.max:
		q.mu.Unlock()
		return ErrSendQueueFull
	}
	return nil
}

// appended counts the frame just added and unlocks, starting the writer
// when nobody else is going to flush the frame.
func (q *sendQueue) appended() {
	q.countLocked()
	q.kickLocked(false)
	q.mu.Unlock()
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
// burst made it large.
func reuse(b []byte) []byte {
	if cap(b) > 1<<20 {
		return nil
	}
	return b[:0]
}

// endBatch ends a batch. When tryWrite is given and the writer goroutine is
// not running, it writes the queued bytes itself, without blocking and while
// holding the lock: one lock round per batch on the hot path, and a pusher
// from another goroutine waits at most one non-blocking syscall. What the
// socket does not take goes to the writer goroutine.
func (q *sendQueue) endBatch(tryWrite func([]byte) int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.deferred.Store(false)
	q.cancelDelayedLocked()
	q.writeNowLocked(tryWrite)
	q.kickLocked(true)
}

// writeNowLocked writes what is queued with tryWrite, without blocking,
// unless the writer goroutine is running (it owns the socket then). What
// the socket does not take stays queued, in order.
func (q *sendQueue) writeNowLocked(tryWrite func([]byte) int) {
	if tryWrite == nil || q.n == 0 || q.writing {
		return
	}
	out := q.buf
	n := tryWrite(out)
	q.written += uint64(n)
	q.buf, q.n = reuse(out), 0
	if n < len(out) {
		// Rare: the socket buffer is full. Keep the rest, in order.
		q.buf = append(make([]byte, 0, len(out)-n), out[n:]...)
		q.n = 1
	}
}

// pushNow appends one frame and, when no batch of the connection's own is
// running and no writer is, writes the queue on the caller's goroutine
// without blocking; leftovers go to the writer goroutine at once.
func (q *sendQueue) pushNow(pack *DataPack, msgID uint32, data []byte, tryWrite func([]byte) int) error {
	if err := q.lockRoom(); err != nil {
		return err
	}
	defer q.mu.Unlock()
	q.buf = pack.appendPacket(q.buf, msgID, data)
	q.countLocked()
	if !q.deferred.Load() {
		q.cancelDelayedLocked() // "now" outranks FlushDelay
		q.writeNowLocked(tryWrite)
		q.kickLocked(true)
	}
	return nil
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
		q.mu.Unlock()
		err := q.write(out)
		q.mu.Lock()
		if q.spare == nil {
			q.spare = reuse(out)
		}
		if err != nil {
			q.discardLocked()
			break
		}
		q.written += uint64(len(out))
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
	q.buf, q.n = nil, 0
}

// counts returns the frames queued and the bytes written so far.
func (q *sendQueue) counts() (sent, written uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.sent, q.written
}
