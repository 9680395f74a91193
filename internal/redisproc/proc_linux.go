package redisproc

import "syscall"

// sysProcAttr asks Linux to kill the server if its parent (a test binary,
// a load tool) dies without stopping it (a panic in another goroutine, a
// timeout), so no redis-server outlives its user.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
