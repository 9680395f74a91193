//go:build unix

package znet

import (
	"io"
	"net"
	"syscall"
	"testing"
)

// TestWriteNoBlock: the raw write on a full socket reports EAGAIN with
// nothing written, and every byte it says it wrote arrives, in order.
func TestWriteNoBlock(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cl, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	raw, err := sc.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 251*256) // whole periods: chunks follow on
	for i := range chunk {
		chunk[i] = byte(i % 251)
	}
	var total int
	var last error
	_ = raw.Control(func(fd uintptr) {
		for range 10000 { // the socket fills long before (a few MB at most)
			n, err := writeNoBlock(fd, chunk)
			if err != nil {
				last = err
				if n != 0 {
					t.Errorf("%d bytes reported with error %v", n, err)
				}
				return
			}
			if n <= 0 || n > len(chunk) {
				t.Fatalf("wrote %d of %d bytes", n, len(chunk))
			}
			// Keep the stream a repeating pattern: resend the rest of a
			// partial write first.
			total += n
			chunk = append(chunk[n:], chunk[:n]...)
		}
	})
	if last != syscall.EAGAIN {
		t.Fatalf("a full socket: %v, want EAGAIN", last)
	}
	if total == 0 {
		t.Fatal("nothing written")
	}
	sc.Close()
	got, err := io.ReadAll(cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != total {
		t.Fatalf("read %d bytes, %d written", len(got), total)
	}
	for i, b := range got {
		if b != byte(i%251) {
			t.Fatalf("byte %d is %d, want %d", i, b, i%251)
		}
	}
}
