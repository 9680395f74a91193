package durability

import "syscall"

// sysProcAttr asks Linux to kill a server if the test binary dies without
// running its cleanups (a panic, a timeout), so none outlives the tests.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
