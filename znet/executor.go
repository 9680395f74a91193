package znet

import (
	"sync"
)

// Why not ants for the handler workers: ants runs each task on whichever
// goroutine is free, so two messages of one connection can run at once and
// out of order. Ordering needs a scheduler that knows which tasks belong
// together. Each connection owns a mailbox (its FIFO of work), and a mailbox
// is run by one goroutine at a time, a bounded batch per turn. WorkerPoolSize
// is the number of turns that may run at once (a token each). The reader that
// wakes an idle mailbox runs the turn itself when a token is free, which
// saves a goroutine hand-off per batch; otherwise the mailbox waits once in a
// shared ready queue for one of WorkerPoolSize worker goroutines, which puts
// a still-busy mailbox back at the tail after each turn. So a connection's
// messages run one at a time in arrival order, at most WorkerPoolSize
// handlers run at once, a slow handler holds up only its own connection, and
// a chatty connection cannot starve the others. ants runs the blocking work
// that handlers hand off with IConnection.Async.

// task is one unit of work on a connection: a received message (req.conn is
// set) or the completion of an Async call. Each queued task holds one
// reference on its connection, released when its batch has run.
type task struct {
	req request
	fn  func()
}

// executor runs a connection's tasks one at a time, in submission order,
// in batches; after each batch the connection flushes what it queued.
type executor interface {
	// submit queues messages from the reader. It waits while the
	// connection's queue is full and gives up when abort closes.
	submit(ts []task, abort <-chan struct{}) bool
	// post queues internal work (Async completions) without waiting for
	// queue space: the number of such tasks is bounded by the Async calls
	// in flight, and waiting here could deadlock against the handler that
	// would make space.
	post(t task)
}

// batchBudget is how many tasks a worker runs for one mailbox before it
// moves on to the next ready mailbox.
const batchBudget = 64

// scheduler is the shared worker pool.
type scheduler struct {
	tokens chan struct{} // one per running turn, WorkerPoolSize at most
	ready  chan *mailbox
	quit   chan struct{}
	wg     sync.WaitGroup
}

// newScheduler starts workers goroutines. capacity must be at least the
// number of mailboxes that can have work at once, so re-queueing a mailbox
// never waits.
func newScheduler(workers, capacity int) *scheduler {
	s := &scheduler{
		tokens: make(chan struct{}, workers),
		ready:  make(chan *mailbox, capacity),
		quit:   make(chan struct{}),
	}
	s.wg.Add(workers)
	for range workers {
		go s.work()
	}
	return s
}

func (s *scheduler) work() {
	defer s.wg.Done()
	for {
		var m *mailbox
		// Under load the fast path finds work without a full select.
		select {
		case m = <-s.ready:
		default:
			select {
			case m = <-s.ready:
			case <-s.quit:
				return
			}
		}
		select {
		case s.tokens <- struct{}{}:
		case <-s.quit:
			return
		}
		s.turn(m, nil)
	}
}

// runHere runs an idle mailbox's work on the calling goroutine when a token
// is free, else queues it for a worker.
func (s *scheduler) runHere(m *mailbox) {
	select {
	case s.tokens <- struct{}{}:
		s.turn(m, nil)
	default:
		s.enqueue(m)
	}
}

// turn runs one turn of m with a token the caller holds: first (tasks not
// queued yet, if any), then up to a batch from the mailbox. It gives the
// token back, and a mailbox with work left goes back on the ready queue.
func (s *scheduler) turn(m *mailbox, first []task) {
	if first != nil {
		m.conn.runBatch(first)
	}
	more := m.runBatch()
	<-s.tokens
	if more {
		s.enqueue(m)
	}
}

// enqueue puts a mailbox with work on the ready queue. It only waits after
// stop, when it gives up.
func (s *scheduler) enqueue(m *mailbox) {
	select {
	case s.ready <- m:
	case <-s.quit:
	}
}

// stop ends the workers once their current batch returns. Tasks still
// queued are dropped: callers drain connections before stopping.
func (s *scheduler) stop() {
	close(s.quit)
	s.wg.Wait()
}

// depth is the number of mailboxes waiting for a worker.
func (s *scheduler) depth() int { return len(s.ready) }

// mailbox is one connection's queue on the shared scheduler. Only the
// worker running it reads tasks or moves head, so a running batch can read
// its tasks in place, outside the lock, while the reader appends more.
type mailbox struct {
	sched     *scheduler
	conn      *Connection
	limit     int
	mu        sync.Mutex
	q         []task
	head      int
	scheduled bool
	space     chan struct{}
}

func newMailbox(s *scheduler, c *Connection, limit int) *mailbox {
	return &mailbox{sched: s, conn: c, limit: limit, space: make(chan struct{}, 1)}
}

func (m *mailbox) submit(ts []task, abort <-chan struct{}) bool {
	m.mu.Lock()
	if !m.scheduled && m.head == len(m.q) {
		// Idle and empty: with a free token, run the batch straight from
		// the reader's slice, without queueing it at all.
		m.scheduled = true
		select {
		case m.sched.tokens <- struct{}{}:
			m.mu.Unlock()
			m.sched.turn(m, ts)
		default:
			m.q = append(m.q, ts...)
			m.mu.Unlock()
			m.sched.enqueue(m)
		}
		return true
	}
	for len(m.q)-m.head >= m.limit {
		m.mu.Unlock()
		select {
		case <-m.space:
		case <-abort:
			return false
		}
		m.mu.Lock()
	}
	m.q = append(m.q, ts...)
	if m.wakeLocked() {
		m.sched.runHere(m)
	}
	return true
}

func (m *mailbox) post(t task) {
	m.mu.Lock()
	m.q = append(m.q, t)
	if m.wakeLocked() {
		m.sched.enqueue(m)
	}
}

// wakeLocked marks the mailbox scheduled, unlocks, and reports whether it
// was idle, in which case the caller must get it run.
func (m *mailbox) wakeLocked() bool {
	wake := !m.scheduled
	m.scheduled = true
	m.mu.Unlock()
	return wake
}

// runBatch runs up to batchBudget tasks and reports whether work remains.
func (m *mailbox) runBatch() bool {
	m.mu.Lock()
	h0 := m.head
	h1 := min(len(m.q), h0+batchBudget)
	if h0 == h1 {
		m.q, m.head = m.q[:0], 0
		m.scheduled = false
		m.mu.Unlock()
		return false
	}
	run := m.q[h0:h1]
	wasFull := len(m.q)-h0 >= m.limit
	m.head = h1
	m.mu.Unlock()
	if wasFull {
		select {
		case m.space <- struct{}{}:
		default:
		}
	}

	m.conn.runBatch(run)

	m.mu.Lock()
	// Drop payload references. An append may have moved the queue to a
	// new array meanwhile; clear the copy there too.
	clear(run)
	if len(m.q) >= h1 && &m.q[h0] != &run[0] {
		clear(m.q[h0:h1])
	}
	more := m.head < len(m.q)
	switch {
	case !more:
		m.q, m.head = m.q[:0], 0
		m.scheduled = false
	case m.head >= 1024 && m.head*2 >= len(m.q):
		n := copy(m.q, m.q[m.head:])
		clear(m.q[n:])
		m.q, m.head = m.q[:n], 0
	}
	m.mu.Unlock()
	return more
}

// inline runs tasks on the caller's goroutine (WorkerPoolSize = zconf.Off): the
// reader runs its messages itself, in order; Async completions take the same
// lock, so they never overlap a handler.
type inline struct {
	mu   sync.Mutex
	conn *Connection
}

func (x *inline) submit(ts []task, _ <-chan struct{}) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.conn.runBatch(ts)
	return true
}

func (x *inline) post(t task) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.conn.runBatch([]task{t})
}
