package znet

import "sync"

// sendQueue holds packed frames waiting for the connection's writer. Frames
// are appended straight into one byte buffer, so queueing costs no
// allocation in steady state and the writer sends everything queued since
// its last write in one syscall.
type sendQueue struct {
	mu     sync.Mutex
	buf    []byte
	n      int
	max    int
	closed bool
	wake   chan struct{}
}

func newSendQueue(max int) *sendQueue {
	return &sendQueue{max: max, wake: make(chan struct{}, 1)}
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

// appended counts the frame just added, unlocks, and wakes the writer if it
// may be waiting.
func (q *sendQueue) appended() {
	q.n++
	first := q.n == 1
	q.mu.Unlock()
	if first {
		q.signal()
	}
}

func (q *sendQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take waits for queued bytes and swaps them out for spare. open is false
// once the queue is closed and everything queued before has been taken.
func (q *sendQueue) take(spare []byte) (out []byte, open bool) {
	for {
		q.mu.Lock()
		if q.n > 0 {
			out, q.buf, q.n = q.buf, spare[:0], 0
			q.mu.Unlock()
			return out, true
		}
		if q.closed {
			q.mu.Unlock()
			return spare[:0], false
		}
		q.mu.Unlock()
		<-q.wake
	}
}

// close refuses further frames; frames already queued are still taken.
func (q *sendQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

// discard drops queued frames after a write failed.
func (q *sendQueue) discard() {
	q.mu.Lock()
	q.closed = true
	q.buf, q.n = nil, 0
	q.mu.Unlock()
	q.signal()
}
