package lossy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// stackPort is the port stack B listens on, inside the netstacks only.
const stackPort = 80

// TCPStats counts a TCPProxy's traffic. Up and Down count IP packets on the
// lossy hop (client to target, and back), TCP's own retransmissions and ACKs
// included.
type TCPStats struct {
	Up, Down LinkStats
	// Conns is the number of connections open now.
	Conns int
	// Accepted counts connections accepted from clients (refused ones too).
	Accepted uint64
	// Refused counts connections closed at once because of the bound.
	Refused uint64
	// DialErrors counts connections that could not reach the target, over
	// the netstack hop or over kernel TCP.
	DialErrors uint64
}

// TCPProxy accepts kernel TCP connections on a loopback address and carries
// each to the target across a lossy link with gVisor's TCP: stack A dials
// stack B over the lossy link, stack B's side dials the target with kernel
// TCP. One netstack pair serves every connection; each connection is its own
// TCP flow in it. All methods are safe for concurrent use.
//
// Netstack TCP runs with SACK on, CUBIC, RACK, Nagle off, a 200 ms minimum
// RTO and an MTU of 1500 (see newNetstack).
type TCPProxy struct {
	ln      *net.TCPListener
	target  string
	opts    options
	profile atomic.Pointer[Profile]
	up      *link
	down    *link
	a, b    *stack.Stack
	inner   *gonet.TCPListener

	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	conns  map[net.Conn]struct{} // every open socket, both ends, for Close
	active int
	closed bool

	accepted, refused, dialErrors atomic.Uint64

	wg        sync.WaitGroup
	closeOnce sync.Once
}

// ListenTCP listens on listen and relays every connection to target, both
// loopback addresses ("127.0.0.1:0" picks a free port), the lossy hop
// impaired by p.
func ListenTCP(listen, target string, p Profile, opts ...Option) (*TCPProxy, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	la, err := loopbackAddrPort(listen)
	if err != nil {
		return nil, fmt.Errorf("lossy: tcp listen: %w", err)
	}
	ta, err := loopbackAddrPort(target)
	if err != nil {
		return nil, fmt.Errorf("lossy: tcp target: %w", err)
	}
	o := buildOptions(opts)
	t := &TCPProxy{target: ta.String(), opts: o, conns: make(map[net.Conn]struct{})}
	t.profile.Store(&p)
	upSeed, downSeed := seeds(p)
	t.up = newLink(&t.profile, upSeed, o.maxQueuePackets, o.maxQueueBytes)
	t.down = newLink(&t.profile, downSeed, o.maxQueuePackets, o.maxQueueBytes)
	epA, epB := newLinkPair(t.up, t.down)
	fail := func(err error) (*TCPProxy, error) {
		t.teardown()
		return nil, err
	}
	if t.a, err = newNetstack(epA, stackAddrA()); err != nil {
		return fail(err)
	}
	if t.b, err = newNetstack(epB, stackAddrB()); err != nil {
		return fail(err)
	}
	t.inner, err = gonet.ListenTCP(t.b, tcpip.FullAddress{NIC: nicID, Addr: stackAddrB(), Port: stackPort}, ipv4.ProtocolNumber)
	if err != nil {
		return fail(fmt.Errorf("lossy: netstack listen: %w", err))
	}
	if t.ln, err = net.ListenTCP("tcp", net.TCPAddrFromAddrPort(la)); err != nil {
		return fail(fmt.Errorf("lossy: tcp listen: %w", err))
	}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.wg.Add(2)
	go t.acceptClients()
	go t.acceptInner()
	return t, nil
}

// Addr is the address clients connect to. Safe for concurrent use.
func (t *TCPProxy) Addr() net.Addr { return t.ln.Addr() }

// SetProfile changes the impairment for packets sent from now on; the seed
// is not changed. Safe for concurrent use.
func (t *TCPProxy) SetProfile(p Profile) error {
	if err := p.Validate(); err != nil {
		return err
	}
	t.profile.Store(&p)
	return nil
}

// Stats returns the counters. Safe for concurrent use.
func (t *TCPProxy) Stats() TCPStats {
	t.mu.Lock()
	n := t.active
	t.mu.Unlock()
	return TCPStats{
		Up:         t.up.stats(),
		Down:       t.down.stats(),
		Conns:      n,
		Accepted:   t.accepted.Load(),
		Refused:    t.refused.Load(),
		DialErrors: t.dialErrors.Load(),
	}
}

// Close stops the proxy: listeners and every connection closed, netstacks
// destroyed, every goroutine ended before it returns. Idempotent; safe for
// concurrent use.
func (t *TCPProxy) Close() error {
	var err error
	t.closeOnce.Do(func() {
		t.cancel()
		err = t.ln.Close()
		_ = t.inner.Close()
		t.mu.Lock()
		t.closed = true
		for c := range t.conns {
			_ = c.Close()
		}
		t.mu.Unlock()
		t.wg.Wait()
		t.teardown()
	})
	return err
}

// teardown destroys the netstacks, then stops the links that feed them.
func (t *TCPProxy) teardown() {
	for _, s := range []*stack.Stack{t.a, t.b} {
		if s != nil {
			s.Destroy()
		}
	}
	t.up.stop()
	t.down.stop()
}

// track records c for Close, or reports false once the proxy is closing.
func (t *TCPProxy) track(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.conns[c] = struct{}{}
	return true
}

func (t *TCPProxy) untrack(c net.Conn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}

// acceptClients takes kernel connections and carries each into stack A.
func (t *TCPProxy) acceptClients() {
	defer t.wg.Done()
	for {
		c, err := t.ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. a connection reset before accept, or EMFILE
		}
		t.accepted.Add(1)
		t.mu.Lock()
		ok := !t.closed && t.active < t.opts.maxConns
		if ok {
			t.active++
			t.conns[c] = struct{}{}
		}
		t.mu.Unlock()
		if !ok {
			t.refused.Add(1)
			_ = c.Close()
			continue
		}
		t.wg.Add(1)
		go t.carryClient(c)
	}
}

// carryClient dials stack B from stack A for one client and copies both ways.
func (t *TCPProxy) carryClient(c *net.TCPConn) {
	defer t.wg.Done()
	defer func() {
		t.untrack(c)
		t.mu.Lock()
		t.active--
		t.mu.Unlock()
	}()
	inner, err := gonet.DialContextTCP(t.ctx, t.a, tcpip.FullAddress{NIC: nicID, Addr: stackAddrB(), Port: stackPort}, ipv4.ProtocolNumber)
	if err != nil {
		t.dialErrors.Add(1)
		_ = c.Close()
		return
	}
	if !t.track(inner) {
		_ = inner.Close()
		_ = c.Close()
		return
	}
	defer t.untrack(inner)
	splice(c, inner)
}

// acceptInner takes stack B's side of each flow and dials the target.
func (t *TCPProxy) acceptInner() {
	defer t.wg.Done()
	for {
		c, err := t.inner.Accept()
		if err != nil {
			return // only Close ends a gonet listener
		}
		if !t.track(c) {
			_ = c.Close()
			return
		}
		t.wg.Add(1)
		go t.carryTarget(c.(*gonet.TCPConn))
	}
}

// carryTarget dials the target for one flow and copies both ways.
func (t *TCPProxy) carryTarget(inner *gonet.TCPConn) {
	defer t.wg.Done()
	defer t.untrack(inner)
	var d net.Dialer
	c, err := d.DialContext(t.ctx, "tcp", t.target)
	if err != nil {
		t.dialErrors.Add(1)
		_ = inner.Close()
		return
	}
	if !t.track(c) {
		_ = c.Close()
		_ = inner.Close()
		return
	}
	defer t.untrack(c)
	splice(inner, c.(*net.TCPConn))
}

// halfCloser is a connection whose sending side can be closed alone.
type halfCloser interface {
	net.Conn
	CloseWrite() error
}

// splice copies a to b and b to a; when one direction ends cleanly its
// destination's write side is closed (a half-close carried across), when it
// fails both connections are closed. It returns when both directions end.
func splice(a, b halfCloser) {
	var wg sync.WaitGroup
	var once sync.Once
	abort := func() {
		once.Do(func() {
			_ = a.Close()
			_ = b.Close()
		})
	}
	pipe := func(dst, src halfCloser) {
		defer wg.Done()
		if _, err := io.Copy(dst, src); err != nil {
			abort()
			return
		}
		if err := dst.CloseWrite(); err != nil {
			abort()
		}
	}
	wg.Add(2)
	go pipe(b, a)
	go pipe(a, b)
	wg.Wait()
	abort()
}
