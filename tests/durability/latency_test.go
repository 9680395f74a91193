package durability

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// latencyProxy sits between a server and its Redis on loopback and holds
// every byte the server sends for delay before passing it on; Redis's
// answers go straight back. When the server's side of a connection closes
// (the server was killed) the bytes still held are dropped, as if they had
// not yet left the machine.
//
// It gives the kill a real gap to land in: without it a loopback Redis
// stores a write within a millisecond of its sending, and a server that
// acknowledges before the write is durable would almost never be caught.
// A server that waits for Redis's answer loses nothing to the drop: Redis
// answers only what it received.
type latencyProxy struct {
	Addr  string // where the server connects
	ln    net.Listener
	to    string
	delay time.Duration

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

// maxHeld bounds the bytes one connection holds; past it the connection
// is cut (a test sending that much in delay is broken).
const maxHeld = 64 << 20

// startLatencyProxy proxies to the Redis at to; it stops with the test.
func startLatencyProxy(t *testing.T, to string, delay time.Duration) *latencyProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &latencyProxy{Addr: ln.Addr().String(), ln: ln, to: to, delay: delay, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *latencyProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.DialTimeout("tcp", p.to, 2*time.Second)
		if err != nil {
			_ = c.Close() // Redis is down: the server sees a refused connection
			continue
		}
		if !p.track(c, up) {
			return
		}
		p.wg.Add(2)
		go p.hold(c, up)
		go func() {
			defer p.wg.Done()
			_, _ = io.Copy(c, up) // answers go straight back
			p.untrack(c, up)
		}()
	}
}

func (p *latencyProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		for _, c := range cs {
			_ = c.Close()
		}
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

// untrack closes the pair and forgets it.
func (p *latencyProxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		_ = c.Close()
		delete(p.conns, c)
	}
}

// chunk is bytes read from the server and when they may go on.
type chunk struct {
	b   []byte
	due time.Time
}

// hold reads from the server and writes each chunk to Redis once it is
// due; when the server's side ends, what is not yet due is dropped.
func (p *latencyProxy) hold(c, up net.Conn) {
	defer p.wg.Done()
	var mu sync.Mutex
	var held []chunk
	size := 0
	ready := make(chan struct{}, 1)
	gone := make(chan struct{})
	go func() { // the reader
		defer close(gone)
		for {
			b := make([]byte, 32<<10)
			n, err := c.Read(b)
			if n > 0 {
				mu.Lock()
				held = append(held, chunk{b: b[:n], due: time.Now().Add(p.delay)})
				size += n
				over := size > maxHeld
				mu.Unlock()
				if over {
					return
				}
				select {
				case ready <- struct{}{}:
				default:
				}
			}
			if err != nil {
				return
			}
		}
	}()
	defer p.untrack(c, up)
	for {
		mu.Lock()
		var next chunk
		if len(held) > 0 {
			next = held[0]
		}
		mu.Unlock()
		if next.b == nil {
			select {
			case <-ready:
				continue
			case <-gone:
				return // the server's side ended with nothing held
			}
		}
		t := time.NewTimer(time.Until(next.due))
		select {
		case <-t.C:
		case <-gone:
			t.Stop()
			return // the server is gone: what it had sent within delay is dropped
		}
		if _, err := up.Write(next.b); err != nil {
			return
		}
		mu.Lock()
		size -= len(next.b)
		held = held[1:]
		mu.Unlock()
	}
}

func (p *latencyProxy) close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	if err := p.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return
	}
	p.wg.Wait()
}
