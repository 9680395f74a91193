package lossy

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// maxDatagram is the largest UDP payload; every read buffer has this size.
const maxDatagram = 64 << 10

// UDPStats counts a UDPProxy's traffic. Up is client to target, Down is
// target to client.
type UDPStats struct {
	Up, Down LinkStats
	// Clients is the number of client mappings now.
	Clients int
	// ClientsRefused counts datagrams dropped because a new client would
	// exceed the mapping bound, or its upstream socket could not be opened.
	ClientsRefused uint64
	// ClientsExpired counts mappings removed for idleness.
	ClientsExpired uint64
}

// UDPProxy relays datagrams between clients and one target across a lossy
// link. Each client source address gets its own upstream socket, so the
// target sees one distinct address per client, as behind a NAT. All methods
// are safe for concurrent use.
type UDPProxy struct {
	conn    *net.UDPConn
	target  netip.AddrPort
	opts    options
	profile atomic.Pointer[Profile]
	up      *link
	down    *link

	mu      sync.Mutex
	clients map[netip.AddrPort]*udpClient
	closed  bool

	refused, expired atomic.Uint64

	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// udpClient is one client mapping and its upstream socket.
type udpClient struct {
	addr     netip.AddrPort
	upstream *net.UDPConn
	last     atomic.Int64 // unix nanoseconds of the last datagram either way
	toTarget func([]byte)
	toClient func([]byte)
}

func (c *udpClient) touch() { c.last.Store(time.Now().UnixNano()) }

// ListenUDP listens on listen and relays to target, both loopback addresses
// ("127.0.0.1:0" picks a free port), applying p to every datagram.
func ListenUDP(listen, target string, p Profile, opts ...Option) (*UDPProxy, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	la, err := loopbackAddrPort(listen)
	if err != nil {
		return nil, fmt.Errorf("lossy: udp listen: %w", err)
	}
	ta, err := loopbackAddrPort(target)
	if err != nil {
		return nil, fmt.Errorf("lossy: udp target: %w", err)
	}
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(la))
	if err != nil {
		return nil, fmt.Errorf("lossy: udp listen: %w", err)
	}
	o := buildOptions(opts)
	u := &UDPProxy{
		conn:    conn,
		target:  ta,
		opts:    o,
		clients: make(map[netip.AddrPort]*udpClient),
		done:    make(chan struct{}),
	}
	u.profile.Store(&p)
	upSeed, downSeed := seeds(p)
	u.up = newLink(&u.profile, upSeed, o.maxQueuePackets, o.maxQueueBytes)
	u.down = newLink(&u.profile, downSeed, o.maxQueuePackets, o.maxQueueBytes)
	u.wg.Add(2)
	go u.readClients()
	go u.expire()
	return u, nil
}

// Addr is the address clients send to. Safe for concurrent use.
func (u *UDPProxy) Addr() net.Addr { return u.conn.LocalAddr() }

// SetProfile changes the impairment for packets sent from now on (packets in
// flight keep their due times); the seed is not changed. Safe for concurrent
// use.
func (u *UDPProxy) SetProfile(p Profile) error {
	if err := p.Validate(); err != nil {
		return err
	}
	u.profile.Store(&p)
	return nil
}

// Stats returns the counters. Safe for concurrent use.
func (u *UDPProxy) Stats() UDPStats {
	u.mu.Lock()
	n := len(u.clients)
	u.mu.Unlock()
	return UDPStats{
		Up:             u.up.stats(),
		Down:           u.down.stats(),
		Clients:        n,
		ClientsRefused: u.refused.Load(),
		ClientsExpired: u.expired.Load(),
	}
}

// Close stops the proxy: sockets closed, packets in flight discarded, every
// goroutine ended before it returns. Idempotent; safe for concurrent use.
func (u *UDPProxy) Close() error {
	var err error
	u.closeOnce.Do(func() {
		close(u.done)
		err = u.conn.Close()
		u.mu.Lock()
		u.closed = true
		for a, c := range u.clients {
			_ = c.upstream.Close()
			delete(u.clients, a)
		}
		u.mu.Unlock()
		u.up.stop()
		u.down.stop()
		u.wg.Wait()
	})
	return err
}

// readClients reads datagrams from clients and sends them up the link.
func (u *UDPProxy) readClients() {
	defer u.wg.Done()
	buf := make([]byte, maxDatagram)
	for {
		n, addr, err := u.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // a transient error on one datagram, not the socket's end
		}
		c := u.client(addr)
		if c == nil {
			continue
		}
		c.touch()
		u.up.send(append([]byte(nil), buf[:n]...), c.toTarget)
	}
}

// client returns addr's mapping, opening one if there is room, or nil.
func (u *UDPProxy) client(addr netip.AddrPort) *udpClient {
	u.mu.Lock()
	defer u.mu.Unlock()
	if c, ok := u.clients[addr]; ok {
		return c
	}
	if u.closed {
		return nil
	}
	if len(u.clients) >= u.opts.maxClients {
		u.refused.Add(1)
		return nil
	}
	up, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(u.target))
	if err != nil {
		u.refused.Add(1)
		return nil
	}
	c := &udpClient{addr: addr, upstream: up}
	c.toTarget = func(b []byte) { _, _ = up.Write(b) }
	c.toClient = func(b []byte) { _, _ = u.conn.WriteToUDPAddrPort(b, addr) }
	c.touch()
	u.clients[addr] = c
	u.wg.Add(1)
	go u.readUpstream(c)
	return c
}

// readUpstream reads the target's replies to one client and sends them down
// the link, until the mapping's socket is closed.
func (u *UDPProxy) readUpstream(c *udpClient) {
	defer u.wg.Done()
	buf := make([]byte, maxDatagram)
	for {
		n, err := c.upstream.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ECONNREFUSED while the target is not listening
		}
		c.touch()
		u.down.send(append([]byte(nil), buf[:n]...), c.toClient)
	}
}

// expire removes mappings idle longer than the idle timeout.
func (u *UDPProxy) expire() {
	defer u.wg.Done()
	every := min(max(u.opts.idleTimeout/4, 10*time.Millisecond), 5*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-u.done:
			return
		case now := <-t.C:
			cutoff := now.Add(-u.opts.idleTimeout).UnixNano()
			u.mu.Lock()
			for a, c := range u.clients {
				if c.last.Load() < cutoff {
					_ = c.upstream.Close()
					delete(u.clients, a)
					u.expired.Add(1)
				}
			}
			u.mu.Unlock()
		}
	}
}
