package znet

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/zinxgame/zinxgame/ziface"
)

// A shutdown runs in this order, whoever starts it (Shutdown, Run, Stop or
// Close):
//
//  1. The listeners close; /readyz turns false. New connections are refused
//     by the kernel from here on.
//  2. The shutdown work (RegisterOnShutdown, Mount.OnShutdown) runs, last
//     registered first, while every player is still connected: rooms end
//     their matches and tell their players.
//  3. Every connection gets a shutdown notice with the reconnect hint, then
//     stops reading, handles what it had received, flushes its sends,
//     closes, and runs its disconnect hooks.
//  4. The drained work (RegisterOnDrained, Mount.OnDrained) runs, last
//     registered first: stores flush what the disconnect hooks saved.
//  5. The worker pools stop and the admin listener closes.
//
// Each step's work gets the context of the call that started the shutdown.
// When that context ends, the remaining connections close at once and the
// work left sees a done context.

// workList is an ordered list of shutdown work.
type workList struct {
	mu   sync.Mutex
	next uint64
	list []work
}

type work struct {
	id    uint64
	owner string
	fn    func(context.Context) error
}

func (l *workList) add(owner string, fn func(context.Context) error) (remove func()) {
	if fn == nil {
		return func() {}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.next++
	id := l.next
	l.list = append(l.list, work{id: id, owner: owner, fn: fn})
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		for i := range l.list {
			if l.list[i].id == id {
				l.list = append(l.list[:i], l.list[i+1:]...)
				return
			}
		}
	}
}

// run calls the work, last registered first, and joins their errors, each
// named by its owner. A panic is an error too: one module's bug must not
// keep the others from stopping.
func (l *workList) run(ctx context.Context, e *engine, phase string) error {
	l.mu.Lock()
	ws := append([]work(nil), l.list...)
	l.mu.Unlock()
	var errs []error
	for i := len(ws) - 1; i >= 0; i-- {
		w := ws[i]
		start := time.Now()
		err := func() (err error) {
			defer func() {
				if r := recover(); r != nil {
					e.stats.panics.Add(1)
					e.log.Error("znet: "+phase+" work panicked", "owner", w.owner, "panic", r, "stack", string(debug.Stack()))
					err = fmt.Errorf("panic: %v", r)
				}
			}()
			return w.fn(ctx)
		}()
		if err != nil {
			errs = append(errs, fmt.Errorf("znet: %s work of %s: %w", phase, w.owner, err))
		}
		e.log.Debug("znet: "+phase+" work done", "owner", w.owner, "took", time.Since(start), "err", err)
	}
	return errors.Join(errs...)
}

// RegisterOnShutdown adds work that runs when a shutdown begins, after the
// listeners close and before the connections drain, last registered first
// (step 2 above). Its error is returned by Shutdown and Run. Safe for
// concurrent use; work added after the shutdown began does not run.
func (s *Server) RegisterOnShutdown(work func(ctx context.Context) error) (remove func()) {
	return s.shutdownWork.add(OwnerApp, work)
}

// RegisterOnDrained adds work that runs once every connection has closed
// and its disconnect hooks have run, last registered first (step 4 above):
// flushing a store belongs here. Its error is returned by Shutdown and
// Run. Safe for concurrent use.
func (s *Server) RegisterOnDrained(work func(ctx context.Context) error) (remove func()) {
	return s.drainedWork.add(OwnerApp, work)
}

// Shutdown shuts the server down gracefully, in the order above, and waits
// for it. It may be called any number of times, from any goroutine; every
// call waits for the same shutdown and returns the errors of its work.
// When ctx ends first, the remaining connections are closed hard and ctx's
// error is returned (the shutdown still completes in the background, its
// work seeing a done context when ctx was the one it started with).
// Calling it from a handler waits until ctx ends, because that handler's
// connection cannot drain while it runs: use Stop there.
func (s *Server) Shutdown(ctx context.Context) error {
	s.begin(ctx)
	select {
	case <-s.finished:
		return s.shutdownErr()
	case <-ctx.Done():
		s.hardClose()
		return errors.Join(ctx.Err(), s.shutdownErr())
	}
}

// Close closes the server at once: the listeners and every connection
// close without draining, and the shutdown work runs with a done context
// (so a store flush gives up and says so). It waits for that and returns
// the work's errors. Safe to call any number of times, though not from a
// handler or hook (use Stop there).
func (s *Server) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.begin(ctx)
	s.hardClose()
	<-s.finished
	return s.shutdownErr()
}

// shutdownContext bounds a shutdown by ShutdownTimeout.
func (s *Server) shutdownContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
}

func (s *Server) shutdownErr() error {
	s.workErrMu.Lock()
	defer s.workErrMu.Unlock()
	return s.workErr
}

func (s *Server) addWorkErr(err error) {
	if err == nil {
		return
	}
	s.log.Error("znet: shutdown work failed", "err", err)
	s.workErrMu.Lock()
	s.workErr = errors.Join(s.workErr, err)
	s.workErrMu.Unlock()
}

// begin starts the shutdown once; ctx is its work's context.
func (s *Server) begin(ctx context.Context) {
	s.beginOnce.Do(func() {
		s.mu.Lock()
		s.shutting.Store(true)
		for l := range s.listeners {
			_ = l.Close()
		}
		for _, hs := range s.httpServers {
			_ = hs.Close() // its Serve returns; upgraded connections are ours
		}
		s.mu.Unlock()
		s.log.Info("znet: shutting down", "connections", s.mgr.Len())
		go s.shutdown(ctx)
	})
}

func (s *Server) shutdown(ctx context.Context) {
	s.accepting.Wait()
	s.addWorkErr(s.shutdownWork.run(ctx, s.engine, "shutdown"))
	s.noticeAll(Notice{
		Code:         NoticeShutdown,
		Reason:       "the server is shutting down",
		RetryAfterMs: max(s.cfg.ReconnectAfter.Milliseconds(), 0), // negative: no hint
	})
	s.mgr.ClearConn()
	drained := make(chan struct{})
	go func() { s.conns.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-s.hardCh:
		// A handler that never returns holds its connection open; a hard
		// close does not wait for it.
	}
	s.addWorkErr(s.drainedWork.run(ctx, s.engine, "drained"))
	select {
	case <-drained:
	case <-s.hardCh:
		s.finish() // Serve, Shutdown and Close return; the pools stop when the stuck handlers do
		<-drained
	}
	s.refusing.Wait()
	close(s.sweepQuit)
	timeout := max(s.cfg.ShutdownTimeout, 0)
	if d, ok := ctx.Deadline(); ok {
		timeout = min(timeout, max(time.Until(d), 0))
	} else if ctx.Err() != nil {
		timeout = 0
	}
	s.stopWorkers(timeout)
	s.log.Info("znet: shutdown complete")
	s.finish()
}

// hardClose closes every remaining connection without waiting for its
// queues; the shutdown then completes without waiting for them.
func (s *Server) hardClose() {
	s.hardOnce.Do(func() { close(s.hardCh) })
	s.mgr.Range(func(c ziface.IConnection) bool {
		c.(*Connection).hardClose()
		return true
	})
}

func (s *Server) finish() {
	s.finishOnce.Do(func() {
		s.closeAdmin()
		s.closeKCPSockets()
		close(s.finished)
	})
}

// closeKCPSockets closes the KCP listeners' shared sockets. Each closes by
// itself once its listener and last session have, but a session kcp-go
// made that was never accepted (one in its backlog at the shutdown) would
// keep it open.
func (s *Server) closeKCPSockets() {
	s.mu.Lock()
	socks := s.kcpSocks
	s.mu.Unlock()
	for _, sock := range socks {
		_ = sock.Close()
	}
}
