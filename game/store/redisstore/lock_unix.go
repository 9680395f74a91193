//go:build unix

package redisstore

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive, non-blocking lock on f for the life of the
// process (flock: released when the process dies, so a crash leaves no
// stale lock behind).
func lockFile(f *os.File) (unlock func(), err error) {
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return nil, err
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }, nil
}
