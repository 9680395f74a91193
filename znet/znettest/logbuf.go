package znettest

import (
	"bytes"
	"fmt"
	"sync"
)

// maxLogBytes bounds a test server's kept log. A test that floods the log
// (a refusal per message) keeps its most recent lines and a count of what
// was dropped, which is what a failure report needs.
const maxLogBytes = 1 << 20

// logBuffer is a bounded, concurrency-safe io.Writer for a slog handler:
// past maxLogBytes it drops its oldest lines.
type logBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	dropped int64 // bytes dropped from the front
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if over := b.buf.Len() + len(p) - maxLogBytes; over > 0 {
		over = min(over, b.buf.Len())
		// Drop whole lines, so the log still reads from a line start.
		if i := bytes.IndexByte(b.buf.Bytes()[over:], '\n'); i >= 0 {
			over += i + 1
		} else {
			over = b.buf.Len()
		}
		b.buf.Next(over)
		b.dropped += int64(over)
	}
	if len(p) > maxLogBytes {
		b.dropped += int64(len(p) - maxLogBytes)
		p = p[len(p)-maxLogBytes:]
	}
	return b.buf.Write(p)
}

// String is the kept log, headed by how much was dropped, if anything.
func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped > 0 {
		return fmt.Sprintf("[%d earlier bytes of log dropped]\n%s", b.dropped, b.buf.String())
	}
	return b.buf.String()
}
