package znet

import (
	"errors"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// udpBatch is the KCP listener's UDP socket. KCP sessions accepted by one
// listener share it, and each session sends its packets separately: with
// the socket handed to kcp-go as it is, every session's flush is its own
// sendmmsg, one syscall per player per tick, as TCP's write is. udpBatch
// takes the packets instead (WriteTo copies and queues) and one sender
// goroutine writes whatever has gathered with a single sendmmsg
// (WriteBatch) per wake-up: a tick's fan-out to every player leaves in a
// few syscalls. It never waits on a timer: woken, it yields once to the
// goroutines already runnable, then sends what they queued, so an idle
// server sends each packet at once.
//
// Reads go the same way in reverse: it reads with recvmmsg (ReadBatch) and
// hands each packet to the listener (it is a kcp.PacketPusher), so the
// listener runs no read loop of its own.
//
// Where x/net has no batch syscalls (other than Linux), WriteBatch and
// ReadBatch move one message per call, and udpBatch still works.
//
// Its methods are safe for concurrent use.
type udpBatch struct {
	conn  *net.UDPConn
	batch interface {
		WriteBatch(ms []ipv4.Message, flags int) (int, error)
		ReadBatch(ms []ipv4.Message, flags int) (int, error)
	}

	mu      sync.Mutex
	queue   []ipv4.Message // waiting to be sent; each buffer is ours
	spare   []ipv4.Message // the sender's last batch, reused
	free    [][]byte       // sent packets' buffers, for WriteTo's copies
	queued  int            // bytes in queue
	limit   int            // bound on queued
	wake    chan struct{}
	closed  chan struct{}
	closeMu sync.Once
	done    sync.WaitGroup

	recv    atomic.Pointer[func(b []byte, addr net.Addr, err error)]
	reading atomic.Bool
	// lastUser is set once the listener has closed: the receiver's removal,
	// when its last session has closed too, then closes the socket.
	lastUser atomic.Bool

	stats udpBatchStats
}

// udpBatchStats counts the socket's traffic for the metrics.
type udpBatchStats struct {
	packets, syscalls, dropped, recvPackets, recvSyscalls atomic.Uint64
}

// udpBatchMax is the most messages one sendmmsg or recvmmsg moves (the
// kernel's UIO_MAXIOV is 1024).
const udpBatchMax = 256

// udpFreeMax bounds the packet buffers kept for reuse: a burst's extra
// ones are left to the collector.
const udpFreeMax = 4 * udpBatchMax

func newUDPBatch(conn *net.UDPConn, limit int) *udpBatch {
	u := &udpBatch{conn: conn, limit: limit, wake: make(chan struct{}, 1), closed: make(chan struct{})}
	if a, ok := conn.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil && len(a.IP) == net.IPv6len {
		u.batch = ipv6.NewPacketConn(conn)
	} else {
		u.batch = ipv4.NewPacketConn(conn)
	}
	u.done.Add(1)
	go u.sendLoop()
	return u
}

// WriteTo queues a copy of b for addr and returns at once. A packet over
// the queue's bound is dropped, as a router would, and counted: KCP sends
// it again.
func (u *udpBatch) WriteTo(b []byte, addr net.Addr) (int, error) {
	select {
	case <-u.closed:
		return 0, net.ErrClosed
	default:
	}
	u.mu.Lock()
	if u.queued+len(b) > u.limit {
		u.mu.Unlock()
		u.stats.dropped.Add(1)
		return len(b), nil
	}
	var buf []byte
	if n := len(u.free); n > 0 {
		buf, u.free = u.free[n-1][:0], u.free[:n-1]
	}
	buf = append(buf, b...)
	first := len(u.queue) == 0
	u.queue = append(u.queue, ipv4.Message{Buffers: [][]byte{buf}, Addr: addr})
	u.queued += len(b)
	u.mu.Unlock()
	if first {
		select {
		case u.wake <- struct{}{}:
		default:
		}
	}
	return len(b), nil
}

// sendLoop writes what gathered, one WriteBatch per up to udpBatchMax
// packets, until the socket closes.
func (u *udpBatch) sendLoop() {
	defer u.done.Done()
	for {
		select {
		case <-u.wake:
		case <-u.closed:
			return
		}
		// Let the goroutines that are runnable now (the rest of a tick's
		// fan-out, kcp-go's packet workers) queue their packets first.
		// The waker hands this goroutine the processor next, so without
		// the yield each session's packet left in a syscall of its own
		// (measured: 1.2 packets a sendmmsg at 400 sessions).
		runtime.Gosched()
		u.mu.Lock()
		out := u.queue
		u.queue, u.spare = u.spare[:0], nil
		u.queued = 0
		u.mu.Unlock()
		u.send(out)
		u.mu.Lock()
		for i := range out {
			if len(u.free) < udpFreeMax {
				u.free = append(u.free, out[i].Buffers[0])
			}
			out[i] = ipv4.Message{}
		}
		if u.spare == nil && cap(out) <= 4*udpBatchMax {
			u.spare = out[:0] // a burst's large slice is let go
		}
		u.mu.Unlock()
	}
}

// send writes out. A message the kernel refuses (a full buffer past its
// wait, an unreachable address) is dropped and counted, never retried:
// KCP retransmits, and a retry here would stall every other session.
func (u *udpBatch) send(out []ipv4.Message) {
	for len(out) > 0 {
		n, err := u.batch.WriteBatch(out[:min(len(out), udpBatchMax)], 0)
		u.stats.syscalls.Add(1)
		u.stats.packets.Add(uint64(n))
		out = out[n:]
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				u.stats.dropped.Add(uint64(len(out)))
				return
			}
			if n == 0 && len(out) > 0 {
				u.stats.dropped.Add(1)
				out = out[1:]
			}
		}
	}
}

// SetPacketReceiver is kcp.PacketPusher: fn gets every packet read, on the
// reader goroutine, which starts at the first call; nil stops the reads.
func (u *udpBatch) SetPacketReceiver(fn func(b []byte, addr net.Addr, err error)) {
	if fn == nil {
		u.recv.Store(nil)
		_ = u.conn.SetReadDeadline(time.Now()) // wakes the reader, which sees nil
		if u.lastUser.Load() {
			go u.Close() // not here: the reader itself may be the caller
		}
		return
	}
	u.recv.Store(&fn)
	_ = u.conn.SetReadDeadline(time.Time{})
	if u.reading.CompareAndSwap(false, true) {
		u.done.Add(1)
		go u.readLoop()
	}
}

func (u *udpBatch) readLoop() {
	defer u.done.Done()
	defer u.reading.Store(false)
	msgs := make([]ipv4.Message, udpBatchMax/4)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, 1500)}
	}
	for {
		n, err := u.batch.ReadBatch(msgs, 0)
		fn := u.recv.Load()
		if fn == nil {
			return
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue // a deadline set and cleared by a receiver change
			}
			(*fn)(nil, nil, err)
			return
		}
		u.stats.recvSyscalls.Add(1)
		u.stats.recvPackets.Add(uint64(n))
		for i := range msgs[:n] {
			(*fn)(msgs[i].Buffers[0][:msgs[i].N], msgs[i].Addr, nil)
		}
	}
}

// ReadFrom reads one packet directly; the KCP listener does not call it
// (it takes packets through SetPacketReceiver).
func (u *udpBatch) ReadFrom(b []byte) (int, net.Addr, error) { return u.conn.ReadFrom(b) }

// Close stops the sender and the reader and closes the socket; packets
// still queued are dropped. Idempotent.
func (u *udpBatch) Close() error {
	var err error
	u.closeMu.Do(func() {
		close(u.closed)
		err = u.conn.Close()
		u.done.Wait()
	})
	return err
}

func (u *udpBatch) LocalAddr() net.Addr                { return u.conn.LocalAddr() }
func (u *udpBatch) SetDeadline(t time.Time) error      { return u.conn.SetDeadline(t) }
func (u *udpBatch) SetReadDeadline(t time.Time) error  { return u.conn.SetReadDeadline(t) }
func (u *udpBatch) SetWriteDeadline(t time.Time) error { return u.conn.SetWriteDeadline(t) }
