package redistest

import "syscall"

// sysProcAttr asks Linux to kill the server if the test binary dies without
// running its cleanups (a panic in another goroutine, a timeout), so no
// redis-server outlives the tests.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
