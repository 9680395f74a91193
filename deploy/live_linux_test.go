package deploy

import "syscall"

// liveProcAttr asks Linux to kill a server or bot the live test started if
// the test binary dies without running its cleanups (a panic, a timeout),
// so none outlives the test.
func liveProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
