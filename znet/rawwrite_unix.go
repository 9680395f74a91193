//go:build unix

package znet

import (
	"net"
	"syscall"
)

// The non-blocking write path: a batch's replies and SendMsgNow are written
// on the caller's goroutine when the socket takes them at once, instead of
// waking the writer goroutine. Unix sockets in Go are non-blocking file
// descriptors, so a write(2) through RawConn.Write returns EAGAIN rather
// than wait. writeNoBlock, per platform, is in rawwrite_linux.go and
// rawwrite_unixother.go; rawwrite_other.go is the portable fallback.

// bindRawWrite gives a plain TCP connection the non-blocking write path.
// It runs once, in newConnection, before the connection is shared.
func (c *Connection) bindRawWrite(tc *net.TCPConn) {
	if raw, err := tc.SyscallConn(); err == nil {
		c.rw.raw = raw
		c.rw.fn = c.rw.write          // bound once: a closure per write would allocate
		c.sendq.tryWrite = c.tryWrite // the method value, bound once too
	}
}

// tryWrite writes as much of b as the socket takes without blocking and
// returns how much that was. The writer goroutine sends the rest, and
// reports any error.
func (c *Connection) tryWrite(b []byte) int {
	c.rw.buf, c.rw.written = b, 0
	_ = c.rw.raw.Write(c.rw.fn)
	n := c.rw.written
	c.rw.buf = nil
	return n
}

// rawWrite is a connection's non-blocking write path: the socket and the
// callback that writes through it.
type rawWrite struct {
	raw     syscall.RawConn // nil: no raw path (TLS, WebSocket)
	buf     []byte
	written int
	fn      func(fd uintptr) bool
}

func (w *rawWrite) write(fd uintptr) bool {
	for w.written < len(w.buf) {
		n, err := writeNoBlock(fd, w.buf[w.written:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			break
		}
		w.written += n
	}
	return true // never wait: what is left goes to the writer goroutine
}
