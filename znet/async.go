package znet

import (
	"context"
	"fmt"
	"sync"
)

// asyncQueue delivers Async completions in the order the calls were made,
// whatever order the blocking work finishes in.
type asyncQueue struct {
	mu         sync.Mutex
	ops        []*asyncOp
	delivering bool
}

type asyncOp struct {
	then func()
	done bool
}

// Async runs work on the blocking pool and then on the connection's
// executor; see ziface.IConnection.
func (c *Connection) Async(work func(ctx context.Context), then func()) error {
	if work == nil {
		return fmt.Errorf("znet: Async: nil work")
	}
	pool, err := c.eng.blockingPool()
	if err != nil {
		return err
	}
	if !c.acquire() {
		return ErrConnClosed
	}
	op := &asyncOp{then: then}
	c.async.mu.Lock()
	c.async.ops = append(c.async.ops, op)
	c.async.mu.Unlock()

	err = pool.Submit(func() {
		defer c.asyncDone(op)
		defer func() {
			if r := recover(); r != nil {
				c.eng.stats.panics.Add(1)
				c.logPanic("Async work", 0, r)
			}
		}()
		work(c.ctx)
	})
	if err != nil {
		// Nothing was started: withdraw the op. Ops behind it may now be
		// deliverable; deliver them from another goroutine, because with
		// WorkerPoolSize = Off delivery runs completions inline and this
		// goroutine may be the handler holding the connection.
		c.async.mu.Lock()
		for i, o := range c.async.ops {
			if o == op {
				c.async.ops = append(c.async.ops[:i], c.async.ops[i+1:]...)
				break
			}
		}
		c.async.mu.Unlock()
		c.release(1)
		go c.asyncDone(nil)
		return fmt.Errorf("%w: %w", ErrBlockingPoolFull, err)
	}
	return nil
}

// asyncDone marks op (if any) finished and posts every finished op at the head of the
// queue, in call order. Only one goroutine delivers at a time, and it posts
// without holding the lock, since a posted completion may run inline and
// call Async itself.
func (c *Connection) asyncDone(op *asyncOp) {
	q := &c.async
	q.mu.Lock()
	if op != nil {
		op.done = true
	}
	if q.delivering {
		q.mu.Unlock()
		return
	}
	q.delivering = true
	for {
		var ready []*asyncOp
		for len(q.ops) > 0 && q.ops[0].done {
			ready = append(ready, q.ops[0])
			q.ops[0] = nil
			q.ops = q.ops[1:]
		}
		if len(ready) == 0 {
			q.delivering = false
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		for _, r := range ready {
			// The op's reference passes to the task, released after it runs.
			c.exec.post(task{fn: r.then})
		}
		q.mu.Lock()
	}
}
