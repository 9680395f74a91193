package main

import "syscall"

// sysProcAttr has Linux kill a child if this process dies without
// stopping it (a panic, a kill), so no server or bot outlives the run.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
