//go:build !unix

package lockstep

import (
	"errors"
	"testing"
)

// The floor of BenchmarkRoomTickLoopback writes to socket descriptors with
// write(2). Windows sockets are overlapped handles with no plain blocking
// write to compare against, so the floor is skipped there; the "room"
// half still runs.

func drainedSockets(tb testing.TB, _ int) []int {
	tb.Skip("the write(2) floor needs Unix socket descriptors")
	return nil
}

func writeFD(int, []byte) (int, error) { return 0, errors.ErrUnsupported }
