//go:build !unix

package main

import (
	"errors"
	"os"
)

// Outside Unix (Windows) the tool builds and measures throughput and
// latency; the process figures that need Unix interfaces are left out.

// raiseFDLimit has nothing to raise: Windows has no open-file limit on
// sockets like RLIMIT_NOFILE. 0 means unknown (fd_limit is omitted from
// the report).
func raiseFDLimit(int) (uint64, error) { return 0, nil }

// selfUsage reports nothing (ok is false): the CPU columns stay empty.
func selfUsage() usage { return usage{} }

// errNoMemStats is why idle mode has no server memory figures here.
var errNoMemStats = errors.New("the server's memory figures are asked for with SIGUSR1, which this system lacks")

// signalMemStats cannot ask: there is no SIGUSR1.
func signalMemStats(*os.Process) error { return errNoMemStats }

// notifyMemStats relays nothing: nothing can send the signal.
func notifyMemStats(chan<- os.Signal) {}
