//go:build !linux

package redistest

import "syscall"

// sysProcAttr: only Linux can tie the server's life to the test binary's;
// elsewhere the test cleanups alone stop it.
func sysProcAttr() *syscall.SysProcAttr { return nil }
