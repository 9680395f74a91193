//go:build unix && !linux

package znet

import "syscall"

// writeNoBlock is write(2) on a non-blocking socket. Outside Linux it goes
// through syscall.Write, which tells the scheduler: on Darwin system calls
// are only supported through libc (syscall.Write calls libc's write;
// syscall.RawSyscall would go through the deprecated syscall(2)), and the
// BSDs' raw syscall numbers are not measured here. The path still saves
// the writer goroutine's start and scheduler round trip; only the Linux
// file skips the scheduler's syscall bookkeeping as well.
func writeNoBlock(fd uintptr, b []byte) (int, error) {
	n, err := syscall.Write(int(fd), b)
	if err != nil {
		return 0, err
	}
	return n, nil
}
