//go:build unix

package lockstep

import (
	"net"
	"syscall"
	"testing"
)

// writeFD is the floor's write(2), straight to the socket descriptor.
func writeFD(fd int, b []byte) (int, error) { return syscall.Write(fd, b) }

// drainedSockets returns the raw descriptors of n accepted loopback TCP
// connections whose clients read everything.
func drainedSockets(tb testing.TB, n int) []int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	var fds []int
	for range n {
		cl, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			tb.Fatal(err)
		}
		drain(tb, cl)
		sc, err := ln.Accept()
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { sc.Close() })
		raw, err := sc.(*net.TCPConn).SyscallConn()
		if err != nil {
			tb.Fatal(err)
		}
		// The descriptor stays valid while sc is open; the writes bypass
		// Go's poller as a floor should.
		if err := raw.Control(func(fd uintptr) { fds = append(fds, int(fd)) }); err != nil {
			tb.Fatal(err)
		}
	}
	return fds
}
