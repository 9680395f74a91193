//go:build linux

package main

import "syscall"

// sourceControl is the Control of a dialer with a source address: on
// Linux it sets IP_BIND_ADDRESS_NO_PORT (see netDialer).
func sourceControl() func(network, address string, c syscall.RawConn) error { return bindNoPort }

// ipBindAddressNoPort is Linux's IP_BIND_ADDRESS_NO_PORT (not in package
// syscall on every architecture).
const ipBindAddressNoPort = 24

func bindNoPort(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
	}); err != nil {
		return err
	}
	return serr
}
