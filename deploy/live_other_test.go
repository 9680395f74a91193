//go:build !linux

package deploy

import "syscall"

// liveProcAttr: only Linux can tie a child's life to the test binary's;
// elsewhere the test cleanups alone stop it.
func liveProcAttr() *syscall.SysProcAttr { return nil }
