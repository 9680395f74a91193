//go:build !linux

package redisproc

import "syscall"

// sysProcAttr: only Linux can tie the server's life to its parent's;
// elsewhere the caller's Kill alone stops it.
func sysProcAttr() *syscall.SysProcAttr { return nil }
