//go:build !linux

package main

import "syscall"

// sysProcAttr: only Linux ties a child's life to its parent's; elsewhere
// the run's deadline and its stops end the children.
func sysProcAttr() *syscall.SysProcAttr { return nil }
