package poll

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestEvery: fn runs each period until ctx ends; a run of failures is
// logged once when it starts and once when it ends.
func TestEvery(t *testing.T) {
	var logs syncBuf
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		Every(ctx, time.Millisecond, log, "the test's refresh", func(fctx context.Context) error {
			calls++
			if _, ok := fctx.Deadline(); !ok {
				t.Error("fn's context has no deadline")
			}
			switch {
			case calls >= 10:
				cancel()
			case calls >= 2 && calls <= 5:
				return errors.New("store down")
			}
			return nil
		})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Every did not return after ctx ended")
	}
	if calls != 10 {
		t.Errorf("fn ran %d times, want 10 (until it cancelled)", calls)
	}
	out := logs.String()
	if n := strings.Count(out, "the test's refresh failed"); n != 1 || !strings.Contains(out, "store down") {
		t.Errorf("the failure logged %d times, want once with its error:\n%s", n, out)
	}
	if n := strings.Count(out, "the test's refresh works again"); n != 1 {
		t.Errorf("the recovery logged %d times, want once:\n%s", n, out)
	}
}
