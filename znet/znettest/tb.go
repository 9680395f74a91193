package znettest

import (
	"fmt"
	"time"
)

// TB is the part of testing.TB the kit uses; *testing.T, *testing.B and
// *testing.F satisfy it. It is an interface of its own, rather than
// testing.TB (which nothing outside package testing can implement), so a
// program or an Example can drive the kit too. The kit's helpers return
// after Fatalf, so a TB whose Fatalf does not end the goroutine only sees
// zero results.
type TB interface {
	Helper()
	Cleanup(func())
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
	Failed() bool
}

// DefaultTimeout bounds each expectation of a Peer, WaitLog and Eventually
// unless a Peer's Timeout says otherwise. It is generous because the test
// machines are shared and slow; a passing test never waits for it.
const DefaultTimeout = 10 * time.Second

// Eventually polls cond until it returns true, and fails t if that does not
// happen within DefaultTimeout, with the message format and args describe
// (what was being waited for). It is for state a test cannot be told about,
// such as a count the server updates after a disconnect; it never asserts
// how long anything took.
func Eventually(t TB, cond func() bool, format string, args ...any) bool {
	t.Helper()
	deadline := time.Now().Add(DefaultTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("znettest: timed out after %v waiting for %s", DefaultTimeout, fmt.Sprintf(format, args...))
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}
