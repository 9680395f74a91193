//go:build !linux

package main

import "syscall"

// sourceControl is nil outside Linux: IP_BIND_ADDRESS_NO_PORT is
// Linux's, so elsewhere the port is picked at bind time and each source
// address has the ephemeral range once (checkPorts cannot check it: it
// reads Linux's range only).
func sourceControl() func(network, address string, c syscall.RawConn) error { return nil }
