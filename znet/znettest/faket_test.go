package znettest_test

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
)

// fakeT is a TB that records failures instead of reporting them, so the
// kit's own failure messages can be tested. Fatalf ends the goroutine, as
// testing's does.
type fakeT struct {
	mu       sync.Mutex
	errs     []string
	logs     []string
	cleanups []func()
	failed   bool
}

func (t *fakeT) Helper() {}

func (t *fakeT) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

func (t *fakeT) Errorf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failed = true
	t.errs = append(t.errs, fmt.Sprintf(format, args...))
}

func (t *fakeT) Fatalf(format string, args ...any) {
	t.Errorf(format, args...)
	runtime.Goexit()
}

func (t *fakeT) Logf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.logs = append(t.logs, fmt.Sprintf(format, args...))
}

func (t *fakeT) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

// failures is every Errorf and Fatalf message, joined.
func (t *fakeT) failures() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.errs, "\n")
}

func (t *fakeT) logged() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.logs, "\n")
}

// runFake runs f as a test body on its own goroutine, then its cleanups,
// last registered first, and returns the fake.
func runFake(f func(t *fakeT)) *fakeT {
	t := &fakeT{}
	run := func(f func()) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			f()
		}()
		<-done
	}
	run(func() { f(t) })
	for {
		t.mu.Lock()
		n := len(t.cleanups)
		if n == 0 {
			t.mu.Unlock()
			return t
		}
		c := t.cleanups[n-1]
		t.cleanups = t.cleanups[:n-1]
		t.mu.Unlock()
		run(c)
	}
}
