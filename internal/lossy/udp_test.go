package lossy

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// udpSink is a target that records what arrives and from where, and echoes
// each datagram back to its sender.
type udpSink struct {
	conn *net.UDPConn
	base time.Time

	mu      sync.Mutex
	seqs    []uint32
	latency []time.Duration // arrival minus the send offset in the datagram
	from    map[netip.AddrPort]int
}

// newUDPSink listens on a free loopback port. Datagrams carry a uint32
// sequence number, then the sender's offset from base in nanoseconds.
func newUDPSink(t *testing.T, base time.Time) *udpSink {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadBuffer(4 << 20)
	s := &udpSink{conn: conn, base: base, from: make(map[netip.AddrPort]int)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, addr, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			now := time.Since(base)
			s.mu.Lock()
			s.from[addr]++
			if n >= 12 {
				s.seqs = append(s.seqs, binary.BigEndian.Uint32(buf))
				s.latency = append(s.latency, now-time.Duration(binary.BigEndian.Uint64(buf[4:])))
			}
			s.mu.Unlock()
			_, _ = conn.WriteToUDPAddrPort(buf[:n], addr)
		}
	}()
	t.Cleanup(func() { _ = conn.Close(); <-done })
	return s
}

func (s *udpSink) addr() string { return s.conn.LocalAddr().String() }

func (s *udpSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seqs)
}

func stamp(seq uint32, base time.Time) []byte {
	b := make([]byte, 12)
	binary.BigEndian.PutUint32(b, seq)
	binary.BigEndian.PutUint64(b[4:], uint64(time.Since(base)))
	return b
}

func dialProxy(t *testing.T, p *UDPProxy) *net.UDPConn {
	t.Helper()
	c, err := net.DialUDP("udp", nil, p.Addr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadBuffer(4 << 20)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func newUDPProxy(t *testing.T, target string, p Profile, opts ...Option) *UDPProxy {
	t.Helper()
	px, err := ListenUDP("127.0.0.1:0", target, p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = px.Close() })
	return px
}

func TestUDPDelayDeliversAll(t *testing.T) {
	const n, delay = 100, 20 * time.Millisecond
	base := time.Now()
	sink := newUDPSink(t, base)
	px := newUDPProxy(t, sink.addr(), Profile{Delay: delay})
	c := dialProxy(t, px)
	for i := range n {
		if _, err := c.Write(stamp(uint32(i), base)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every datagram at the target", func() bool { return sink.count() == n })
	sink.mu.Lock()
	for i, l := range sink.latency {
		if l < delay {
			t.Errorf("datagram %d arrived %v after sending, want >= %v", sink.seqs[i], l, delay)
		}
	}
	sink.mu.Unlock()
	// The echoes come back through the same delay.
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64)
	for range n {
		if _, err := c.Read(buf); err != nil {
			t.Fatalf("echo: %v", err)
		}
		if l := time.Since(base) - time.Duration(binary.BigEndian.Uint64(buf[4:])); l < 2*delay {
			t.Fatalf("echo %d round trip %v, want >= %v", binary.BigEndian.Uint32(buf), l, 2*delay)
		}
	}
	// The delivery goroutine counts a datagram after handing it to the
	// socket, so the last echo can be read before it is counted.
	deadline := time.Now().Add(5 * time.Second)
	for s := px.Stats(); s.Up.Delivered != n || s.Down.Delivered != n || s.Clients != 1; s = px.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v", s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestUDPLossRate(t *testing.T) {
	const n, chunk = 5000, 50
	base := time.Now()
	sink := newUDPSink(t, base)
	px := newUDPProxy(t, sink.addr(), Profile{Loss: 0.2, Seed: 11})
	c := dialProxy(t, px)
	// Sent in chunks, each waited for, so no socket buffer overflows and every
	// missing datagram was dropped by the profile.
	for i := 0; i < n; i += chunk {
		for j := i; j < i+chunk; j++ {
			if _, err := c.Write(stamp(uint32(j), base)); err != nil {
				t.Fatal(err)
			}
		}
		sent := uint64(i + chunk)
		waitFor(t, "the chunk through the proxy", func() bool {
			s := px.Stats()
			return s.Up.Sent == sent && s.Up.Queued == 0 && uint64(sink.count()) == s.Up.Delivered
		})
	}
	loss := 1 - float64(sink.count())/n
	if loss < 0.15 || loss > 0.25 {
		t.Fatalf("observed loss %.3f, want 0.2 within 0.05", loss)
	}
	s := px.Stats()
	if s.Up.DroppedLoss+s.Up.Delivered != n {
		t.Fatalf("stats %+v do not add up to %d", s.Up, n)
	}
}

func TestUDPJitterReorders(t *testing.T) {
	const n = 200
	base := time.Now()
	sink := newUDPSink(t, base)
	px := newUDPProxy(t, sink.addr(), Profile{Delay: 10 * time.Millisecond, Jitter: 10 * time.Millisecond})
	c := dialProxy(t, px)
	for i := range n {
		if _, err := c.Write(stamp(uint32(i), base)); err != nil {
			t.Fatal(err)
		}
		if i%10 == 9 {
			time.Sleep(time.Millisecond) // spread over a few jitter widths
		}
	}
	waitFor(t, "every datagram at the target", func() bool { return sink.count() == n })
	sink.mu.Lock()
	inversions := 0
	for i := 1; i < len(sink.seqs); i++ {
		if sink.seqs[i] < sink.seqs[i-1] {
			inversions++
		}
	}
	sink.mu.Unlock()
	if inversions == 0 {
		t.Fatal("jitter of 10ms reordered none of 200 datagrams")
	}
	if s := px.Stats(); s.Up.OutOfOrder == 0 {
		t.Fatalf("OutOfOrder not counted: %+v", s.Up)
	}
}

func TestUDPDistinctClients(t *testing.T) {
	base := time.Now()
	sink := newUDPSink(t, base)
	px := newUDPProxy(t, sink.addr(), Profile{})
	const clients = 3
	conns := make([]*net.UDPConn, clients)
	for i := range conns {
		conns[i] = dialProxy(t, px)
		if _, err := conns[i].Write(stamp(uint32(i), base)); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 64)
		if _, err := c.Read(buf); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		if got := binary.BigEndian.Uint32(buf); got != uint32(i) {
			t.Fatalf("client %d got client %d's echo", i, got)
		}
	}
	sink.mu.Lock()
	sources := len(sink.from)
	sink.mu.Unlock()
	if sources != clients {
		t.Fatalf("target saw %d source addresses, want %d", sources, clients)
	}
	if s := px.Stats(); s.Clients != clients {
		t.Fatalf("Clients = %d, want %d", s.Clients, clients)
	}
}

func TestUDPClientBoundAndExpiry(t *testing.T) {
	base := time.Now()
	sink := newUDPSink(t, base)
	px := newUDPProxy(t, sink.addr(), Profile{}, WithMaxClients(1), WithIdleTimeout(100*time.Millisecond))
	a, b := dialProxy(t, px), dialProxy(t, px)
	if _, err := a.Write(stamp(1, base)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a's datagram", func() bool { return sink.count() == 1 })
	if _, err := b.Write(stamp(2, base)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b refused", func() bool { return px.Stats().ClientsRefused == 1 })
	if n := sink.count(); n != 1 {
		t.Fatalf("target got %d datagrams, want only a's", n)
	}
	waitFor(t, "a's mapping to expire", func() bool {
		s := px.Stats()
		return s.Clients == 0 && s.ClientsExpired == 1
	})
	if _, err := b.Write(stamp(3, base)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b's datagram once a expired", func() bool { return sink.count() == 2 })
}

func TestUDPSetProfile(t *testing.T) {
	base := time.Now()
	sink := newUDPSink(t, base)
	px := newUDPProxy(t, sink.addr(), Profile{})
	c := dialProxy(t, px)
	if err := px.SetProfile(Profile{Loss: 1.5}); err == nil {
		t.Fatal("SetProfile accepted loss 1.5")
	}
	if err := px.SetProfile(Profile{Loss: 1}); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		_, _ = c.Write(stamp(uint32(i), base))
	}
	waitFor(t, "20 datagrams dropped", func() bool { return px.Stats().Up.DroppedLoss == 20 })
	if err := px.SetProfile(Profile{}); err != nil {
		t.Fatal(err)
	}
	_, _ = c.Write(stamp(99, base))
	waitFor(t, "a datagram after loss was lifted", func() bool { return sink.count() == 1 })
}

func TestUDPRefusesNonLoopback(t *testing.T) {
	for _, c := range []struct{ listen, target string }{
		{"0.0.0.0:0", "127.0.0.1:9"},
		{":0", "127.0.0.1:9"},
		{"127.0.0.1:0", "192.0.2.1:9"},
		{"127.0.0.1:0", "example.com:9"},
	} {
		if _, err := ListenUDP(c.listen, c.target, Profile{}); !errors.Is(err, ErrNotLoopback) {
			t.Errorf("ListenUDP(%q, %q): %v, want ErrNotLoopback", c.listen, c.target, err)
		}
	}
}

func TestUDPCloseStopsGoroutines(t *testing.T) {
	base := time.Now()
	sink := newUDPSink(t, base)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	px, err := ListenUDP("127.0.0.1:0", sink.addr(), Profile{Delay: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		c, err := net.DialUDP("udp", nil, px.Addr().(*net.UDPAddr))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _ = c.Write(stamp(uint32(i), base))
	}
	waitFor(t, "three mappings", func() bool { return px.Stats().Clients == 3 })
	if err := px.Close(); err != nil {
		t.Fatal(err)
	}
	if err := px.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
