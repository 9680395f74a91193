package znettest

import (
	"fmt"
	"strings"
	"testing"
)

// The kept log is bounded: past maxLogBytes the oldest whole lines go,
// and the log says how much went.
func TestLogBufferIsBounded(t *testing.T) {
	var b logBuffer
	var last string
	for i := range 3 * maxLogBytes / 50 {
		last = fmt.Sprintf("line %08d %s\n", i, strings.Repeat("x", 30))
		_, _ = b.Write([]byte(last))
	}
	s := b.String()
	head, rest, _ := strings.Cut(s, "\n")
	if !strings.Contains(head, "earlier bytes of log dropped") || len(rest) > maxLogBytes {
		t.Fatalf("log of %d bytes, starting %q; want at most %d, headed by the count dropped", len(rest), head, maxLogBytes)
	}
	if !strings.HasPrefix(rest, "line ") || !strings.HasSuffix(rest, last) {
		t.Fatalf("kept log starts %q and ends %q; want whole lines up to the last", rest[:20], rest[len(rest)-20:])
	}
	_, _ = b.Write([]byte(strings.Repeat("y", 2*maxLogBytes)))
	if s := b.String(); len(s) > maxLogBytes+100 {
		t.Fatalf("one huge write keeps %d bytes", len(s))
	}
}
