package lossy

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// tcpServer runs handle for each connection on a free loopback port.
func tcpServer(t *testing.T, handle func(*net.TCPConn)) string {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.AcceptTCP()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); <-done })
	return ln.Addr().String()
}

// echo copies back until EOF, then half-closes.
func echo(c *net.TCPConn) {
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	if _, err := io.Copy(c, c); err == nil {
		_ = c.CloseWrite()
	}
}

func newTCPProxy(t *testing.T, target string, p Profile, opts ...Option) *TCPProxy {
	t.Helper()
	px, err := ListenTCP("127.0.0.1:0", target, p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = px.Close() })
	return px
}

func dialTCP(t *testing.T, px *TCPProxy) *net.TCPConn {
	t.Helper()
	c, err := net.DialTCP("tcp", nil, px.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestTCPStreamIntactUnderLoss(t *testing.T) {
	// The stream takes many seconds at 5% loss, nearly all of it waiting on
	// netstack's retransmission timers, hence the generous deadline.
	const size = 1 << 20
	start := time.Now()
	px := newTCPProxy(t, tcpServer(t, echo), Profile{Loss: 0.05, Delay: 10 * time.Millisecond, Seed: 5})
	c := dialTCP(t, px)
	_ = c.SetDeadline(time.Now().Add(2 * time.Minute))
	data := make([]byte, size)
	_, _ = rand.Read(data)
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		if err == nil {
			err = c.CloseWrite()
		}
		werr <- err
	}()
	h := sha256.New()
	n, err := io.Copy(h, c)
	if err != nil {
		t.Fatalf("after %d bytes: %v", n, err)
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(data)
	if n != size || !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatalf("echoed %d bytes, hash differs or size wrong (want %d)", n, size)
	}
	s := px.Stats()
	if s.Up.DroppedLoss == 0 || s.Down.DroppedLoss == 0 {
		t.Fatalf("no packet lost either way, so TCP recovery went untested: %+v", s)
	}
	t.Logf("1 MiB echoed in %v; stats %+v", time.Since(start), s)
}

func TestTCPHalfClose(t *testing.T) {
	// The server reads to EOF, then answers with the byte count: it can only
	// answer if the client's CloseWrite reached it as EOF while the other
	// direction stayed open.
	addr := tcpServer(t, func(c *net.TCPConn) {
		_ = c.SetDeadline(time.Now().Add(time.Minute))
		n, err := io.Copy(io.Discard, c)
		if err != nil {
			return
		}
		_, _ = fmt.Fprintf(c, "%d", n)
	})
	px := newTCPProxy(t, addr, Profile{Delay: 5 * time.Millisecond})
	c := dialTCP(t, px)
	if _, err := c.Write([]byte("hello, world")); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "12" {
		t.Fatalf("server answered %q, want %q", got, "12")
	}
}

// roundTrip writes msg and reads it back from an echo.
func roundTrip(c net.Conn, msg string) error {
	if _, err := c.Write([]byte(msg)); err != nil {
		return err
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != msg {
		return fmt.Errorf("echo %q, want %q", buf, msg)
	}
	return nil
}

func TestTCPConnLimit(t *testing.T) {
	px := newTCPProxy(t, tcpServer(t, echo), Profile{}, WithMaxConns(2))
	a, b := dialTCP(t, px), dialTCP(t, px)
	for i, c := range []net.Conn{a, b} {
		if err := roundTrip(c, "conn "+strconv.Itoa(i)); err != nil {
			t.Fatalf("conn %d: %v", i, err)
		}
	}
	extra := dialTCP(t, px)
	_ = extra.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := extra.Read(make([]byte, 1)); err == nil || errors.Is(err, errTimeout(err)) {
		t.Fatalf("third connection read %d bytes, %v; want it closed by the bound", n, err)
	}
	if s := px.Stats(); s.Refused != 1 || s.Conns != 2 {
		t.Fatalf("stats %+v, want 1 refused, 2 open", s)
	}
	_ = a.Close()
	waitFor(t, "a's slot to free", func() bool { return px.Stats().Conns == 1 })
	if err := roundTrip(dialTCP(t, px), "again"); err != nil {
		t.Fatalf("after a slot freed: %v", err)
	}
}

// errTimeout returns err if it is a timeout, so the caller can tell a closed
// connection from one that merely stayed silent.
func errTimeout(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return err
	}
	return errors.New("not a timeout")
}

func TestTCPTargetDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	px := newTCPProxy(t, addr, Profile{})
	c := dialTCP(t, px)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, errTimeout(err)) {
		t.Fatalf("read %v; want the connection closed, the target being down", err)
	}
	waitFor(t, "the dial error counted", func() bool { return px.Stats().DialErrors == 1 })
}

func TestTCPRefusesNonLoopback(t *testing.T) {
	for _, c := range []struct{ listen, target string }{
		{"0.0.0.0:0", "127.0.0.1:9"},
		{"127.0.0.1:0", "[2001:db8::1]:9"},
	} {
		if _, err := ListenTCP(c.listen, c.target, Profile{}); !errors.Is(err, ErrNotLoopback) {
			t.Errorf("ListenTCP(%q, %q): %v, want ErrNotLoopback", c.listen, c.target, err)
		}
	}
}

func TestTCPCloseStopsGoroutines(t *testing.T) {
	addr := tcpServer(t, echo)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	px, err := ListenTCP("127.0.0.1:0", addr, Profile{Delay: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		c, err := net.Dial("tcp", px.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(time.Minute))
		if err := roundTrip(c, "open "+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := px.Close(); err != nil {
		t.Fatal(err)
	}
	if err := px.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
