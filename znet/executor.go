package znet

import (
	"sync"
)

// Why not ants for the handler workers: ants runs each task on whichever
// goroutine is free, so two messages of one connection can run at once and
// out of order. Ordering needs a scheduler that knows which tasks belong
// together. Each connection owns a mailbox (its FIFO of work); a mailbox with
// work sits once in a shared ready queue; WorkerPoolSize goroutines take
// mailboxes from it and run a bounded batch before putting a still-busy one
// back at the tail. So a connection's messages run one at a time in arrival
// order, a slow handler holds up only its own connection, and a chatty
// connection cannot starve the others. ants runs the blocking work that
// handlers hand off with IConnection.Async.

// task is one unit of work on a connection: a received message or the
// completion of an Async call.
type task struct {
	req *request
	fn  func()
}

// executor runs a connection's tasks one at a time, in submission order.
type executor interface {
	// submit queues a message from the reader. It waits while the
	// connection's queue is full and gives up when abort closes.
	submit(t task, abort <-chan struct{}) bool
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
	ready chan *mailbox
	quit  chan struct{}
	wg    sync.WaitGroup
	run   func(*Connection, task)
}

// newScheduler starts workers goroutines. capacity must be at least the
// number of mailboxes that can exist at once, so re-queueing never blocks.
func newScheduler(workers, capacity int, run func(*Connection, task)) *scheduler {
	s := &scheduler{
		ready: make(chan *mailbox, capacity),
		quit:  make(chan struct{}),
		run:   run,
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
		select {
		case m := <-s.ready:
			if m.runBatch() {
				s.enqueue(m)
			}
		case <-s.quit:
			return
		}
	}
}

// enqueue puts a mailbox with work on the ready queue. The queue holds
// every mailbox that can exist at once, so this only waits after stop.
func (s *scheduler) enqueue(m *mailbox) {
	select {
	case s.ready <- m:
	case <-s.quit:
	}
}

// stop ends the workers once their current task returns. Tasks still queued
// are dropped: callers drain connections before stopping.
func (s *scheduler) stop() {
	close(s.quit)
	s.wg.Wait()
}

// depth is the number of mailboxes waiting for a worker.
func (s *scheduler) depth() int { return len(s.ready) }

// mailbox is one connection's queue on the shared scheduler.
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

func (m *mailbox) submit(t task, abort <-chan struct{}) bool {
	m.mu.Lock()
	for len(m.q)-m.head >= m.limit {
		m.mu.Unlock()
		select {
		case <-m.space:
		case <-abort:
			return false
		}
		m.mu.Lock()
	}
	m.enqueueLocked(t)
	return true
}

func (m *mailbox) post(t task) {
	m.mu.Lock()
	m.enqueueLocked(t)
}

// enqueueLocked appends t, schedules the mailbox if it was idle, and unlocks.
func (m *mailbox) enqueueLocked(t task) {
	m.q = append(m.q, t)
	wake := !m.scheduled
	m.scheduled = true
	m.mu.Unlock()
	if wake {
		m.sched.enqueue(m)
	}
}

// runBatch runs up to batchBudget tasks and reports whether work remains.
func (m *mailbox) runBatch() bool {
	for range batchBudget {
		m.mu.Lock()
		if m.head == len(m.q) {
			m.q, m.head = m.q[:0], 0
			m.scheduled = false
			m.mu.Unlock()
			return false
		}
		t := m.q[m.head]
		m.q[m.head] = task{}
		m.head++
		wasFull := len(m.q)-m.head+1 >= m.limit
		if m.head > 1024 && m.head*2 > len(m.q) {
			m.q = append(m.q[:0], m.q[m.head:]...)
			m.head = 0
		}
		m.mu.Unlock()
		if wasFull {
			select {
			case m.space <- struct{}{}:
			default:
			}
		}
		m.sched.run(m.conn, t)
	}
	return true
}

// inline runs tasks on the caller's goroutine (WorkerPoolSize = 0). The
// reader calls submit, so messages run in order on the reader; Async
// completions take the same lock, so they never overlap a handler.
type inline struct {
	mu   sync.Mutex
	conn *Connection
	run  func(*Connection, task)
}

func (x *inline) submit(t task, _ <-chan struct{}) bool {
	x.post(t)
	return true
}

func (x *inline) post(t task) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.run(x.conn, t)
}
