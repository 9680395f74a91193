// Package e2e holds end-to-end tests: they build the example binaries, run
// them as real processes on loopback ports, and talk to them over TCP with
// the znet client, as a user would.
package e2e
