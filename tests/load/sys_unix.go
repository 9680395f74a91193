//go:build unix

package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// The Unix side of the tool's process controls; sys_other.go is the rest.

// raiseFDLimit raises the soft limit on open files to the hard limit and
// returns the result. It fails when that leaves fewer than need.
func raiseFDLimit(need int) (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, fmt.Errorf("reading the open-file limit: %w", err)
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			return 0, fmt.Errorf("raising the open-file limit to %d: %w", rl.Max, err)
		}
	}
	if cur := uint64(rl.Cur); uint64(need) > cur { // Cur is int64 on some BSDs
		return cur, fmt.Errorf("open-file limit %d (hard limit) is below the %d this run needs; raise the hard limit first (as root: ulimit -n %d)",
			cur, need, need)
	}
	return uint64(rl.Cur), nil
}

// selfUsage reads this process's CPU time.
func selfUsage() usage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return usage{}
	}
	return usage{ok: true, cpu: time.Duration(ru.Utime.Nano() + ru.Stime.Nano())}
}

// signalMemStats asks the server process p for its memory figures.
func signalMemStats(p *os.Process) error { return p.Signal(syscall.SIGUSR1) }

// notifyMemStats relays the server's signalMemStats to c.
func notifyMemStats(c chan<- os.Signal) { signal.Notify(c, syscall.SIGUSR1) }
