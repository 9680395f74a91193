package lossy

import (
	"container/heap"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// LinkStats counts one direction of a link. Sent = DroppedLoss +
// DroppedQueue + Delivered + Queued, give or take packets discarded by Close.
type LinkStats struct {
	// Sent counts packets offered to the link.
	Sent uint64
	// DroppedLoss counts packets dropped by the profile's Loss.
	DroppedLoss uint64
	// DroppedQueue counts packets dropped because the queue was full.
	DroppedQueue uint64
	// Reordered counts packets held back by the profile's Reorder.
	Reordered uint64
	// OutOfOrder counts packets delivered after one sent later (by jitter or
	// Reorder), across all flows of the direction.
	OutOfOrder uint64
	// Delivered counts packets handed to their destination.
	Delivered uint64
	// Queued is the number of packets in flight now.
	Queued int
}

// packet is one datagram or IP packet in flight.
type packet struct {
	due     time.Time
	seq     uint64
	data    []byte
	deliver func([]byte)
}

// packetHeap orders packets by due time, then by sending order, so packets
// with equal delays keep their order.
type packetHeap []packet

func (h packetHeap) Len() int { return len(h) }
func (h packetHeap) Less(i, j int) bool {
	if c := h[i].due.Compare(h[j].due); c != 0 {
		return c < 0
	}
	return h[i].seq < h[j].seq
}
func (h packetHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *packetHeap) Push(x any)   { *h = append(*h, x.(packet)) }
func (h *packetHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	old[len(old)-1] = packet{} // let the data go
	*h = old[:len(old)-1]
	return p
}

// link is one direction of the lossy hop: send decides a packet's fate and
// due time; one goroutine (run) delivers packets when they are due.
type link struct {
	profile    *atomic.Pointer[Profile] // shared by both directions
	maxPackets int
	maxBytes   int

	mu     sync.Mutex
	queue  packetHeap
	bytes  int
	seq    uint64
	rng    *rand.Rand
	closed bool

	wake     chan struct{} // cap 1: the head of the queue changed
	done     chan struct{}
	finished chan struct{}

	sent, droppedLoss, droppedQueue, reordered, outOfOrder, delivered atomic.Uint64
}

// newLink starts a direction's delivery goroutine; stop ends it.
func newLink(profile *atomic.Pointer[Profile], seed uint64, maxPackets, maxBytes int) *link {
	l := &link{
		profile:    profile,
		maxPackets: maxPackets,
		maxBytes:   maxBytes,
		rng:        rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		wake:       make(chan struct{}, 1),
		done:       make(chan struct{}),
		finished:   make(chan struct{}),
	}
	go l.run()
	return l
}

// send offers data to the link; deliver is called with it, from the link's
// goroutine, when it is due, unless it is lost or the queue is full. send
// never blocks on delivery and takes ownership of data. Safe for concurrent
// use; it is called with netstack locks held, so it only queues.
func (l *link) send(data []byte, deliver func([]byte)) {
	l.sent.Add(1)
	p := l.profile.Load()
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	if p.Loss > 0 && l.rng.Float64() < p.Loss {
		l.droppedLoss.Add(1)
		return
	}
	if len(l.queue) >= l.maxPackets || l.bytes+len(data) > l.maxBytes {
		l.droppedQueue.Add(1)
		return
	}
	d := p.Delay
	if p.Jitter > 0 {
		d += time.Duration(l.rng.Int64N(2*int64(p.Jitter)+1)) - p.Jitter
		d = max(d, 0)
	}
	if p.Reorder > 0 && l.rng.Float64() < p.Reorder {
		d += max(p.Delay+p.Jitter, ReorderMinHold)
		l.reordered.Add(1)
	}
	l.seq++
	heap.Push(&l.queue, packet{due: now.Add(d), seq: l.seq, data: data, deliver: deliver})
	l.bytes += len(data)
	if l.queue[0].seq == l.seq {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
}

// run delivers due packets until stop. Deliveries happen outside the lock so
// a slow destination never blocks send.
func (l *link) run() {
	defer close(l.finished)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var batch []packet
	var lastSeq uint64
	for {
		l.mu.Lock()
		now := time.Now()
		for len(l.queue) > 0 && !l.queue[0].due.After(now) {
			p := heap.Pop(&l.queue).(packet)
			l.bytes -= len(p.data)
			batch = append(batch, p)
		}
		wait := time.Duration(-1)
		if len(l.queue) > 0 {
			wait = l.queue[0].due.Sub(now)
		}
		l.mu.Unlock()

		if len(batch) > 0 {
			for i := range batch {
				p := &batch[i]
				if p.seq < lastSeq {
					l.outOfOrder.Add(1)
				} else {
					lastSeq = p.seq
				}
				p.deliver(p.data)
				l.delivered.Add(1)
				*p = packet{}
			}
			batch = batch[:0]
			continue // time moved while delivering: look again
		}

		var fire <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			fire = timer.C
		}
		select {
		case <-fire:
		case <-l.wake:
		case <-l.done:
			timer.Stop()
			return
		}
		timer.Stop()
	}
}

// stop ends the delivery goroutine and discards packets in flight.
// Idempotent; safe for concurrent use.
func (l *link) stop() {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.done)
	}
	l.queue = nil
	l.bytes = 0
	l.mu.Unlock()
	<-l.finished
}

// stats returns the counters. Safe for concurrent use.
func (l *link) stats() LinkStats {
	l.mu.Lock()
	queued := len(l.queue)
	l.mu.Unlock()
	return LinkStats{
		Sent:         l.sent.Load(),
		DroppedLoss:  l.droppedLoss.Load(),
		DroppedQueue: l.droppedQueue.Load(),
		Reordered:    l.reordered.Load(),
		OutOfOrder:   l.outOfOrder.Load(),
		Delivered:    l.delivered.Load(),
		Queued:       queued,
	}
}
