//go:build linux

package znet

import (
	"syscall"
	"unsafe"
)

// writeNoBlock is write(2) on a non-blocking socket without telling the Go
// scheduler: it cannot block, and a loopback write takes a few
// microseconds. syscall.Write marks the P as in a syscall, and the runtime's
// monitor may hand the P to another thread meanwhile; with GOMAXPROCS=1
// and a write per player per frame, that handoff (a thread wake and a
// context switch) costs more than the write.
func writeNoBlock(fd uintptr, b []byte) (int, error) {
	n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
