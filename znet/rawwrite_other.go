//go:build !unix

package znet

import (
	"net"
	"syscall"
)

// The portable fallback has no non-blocking write path: every frame goes
// through the writer goroutine and net.Conn.Write, as TLS and WebSocket
// connections do everywhere. On Windows, Go's sockets are overlapped
// handles bound to an I/O completion port and are not put in non-blocking
// mode, so a write through RawConn.Write (WriteFile or WSASend without an
// OVERLAPPED) could block the caller, a lockstep room's tick, until the
// peer reads; js/wasm, wasip1 and plan9 have no such file descriptor to
// write to. c.rw.raw stays nil, so flushBatch and SendMsgNow hand their
// bytes to the writer.

// rawWrite is the non-blocking write path that is not there.
type rawWrite struct {
	raw syscall.RawConn // always nil
}

// bindRawWrite does nothing: see above.
func (c *Connection) bindRawWrite(*net.TCPConn) {}
