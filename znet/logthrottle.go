package znet

import (
	"context"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zinxgame/zinxgame/ziface"
)

// Log lines a client causes are rate limited, or a client could write the
// server's disk full on demand (one line per refused message once made
// 78 MB of log in 5 s). Two throttles bound them:
//   - per connection and cause (Connection.LogLimited, LogLimited), for
//     lines a connection can cause again and again: unknown message IDs,
//     panics in handlers, a game's refused requests;
//   - per server and cause (the engine's own), for lines each connection
//     causes at most once, usually as it is closed (a bad frame, a read
//     error, the rate limit, a refused upgrade): a crowd of connections
//     must not flood the log either.
// A line that follows suppressed ones carries their number as
// "suppressed"; a connection's counts still pending when it closes are
// logged in one line then.

// The server-wide throttle's rate: a flood of closing connections still
// shows, a few lines a second per cause.
const (
	serverLogBurst  = 10
	serverLogWindow = time.Second
)

// logCauses is how many causes a LogThrottle tracks at once. Causes are
// names in code, not client data, so a connection meets few of them; past
// this, the cause logged least recently is forgotten and its pending count
// carried in "suppressed_other".
const logCauses = 4

// LogThrottle rate-limits log lines by cause: each cause logs at most Burst
// lines per Window, and the lines left out are counted. Its memory is
// fixed (logCauses causes). The zero value is ready to use; set Burst and
// Window before first use. Safe for concurrent use.
type LogThrottle struct {
	// Burst is how many lines a cause may log per Window; 0 means 5.
	Burst int
	// Window is the period Burst applies to; 0 means 10 seconds.
	Window time.Duration

	mu      sync.Mutex
	slots   [logCauses]logSlot
	evicted uint64 // suppressed lines of forgotten causes, not reported yet
}

type logSlot struct {
	cause      string
	start      int64 // Unix ns when the cause's window began
	lines      int   // lines logged in the window
	suppressed uint64
}

// Log writes msg at level to l, unless cause has used up its lines for the
// current window, in which case the line is counted instead. The first
// line after suppressed ones carries their number as "suppressed".
func (t *LogThrottle) Log(l *slog.Logger, cause string, level slog.Level, msg string, args ...any) {
	if !l.Enabled(context.Background(), level) {
		return
	}
	ok, extra := t.allow(cause, time.Now())
	if !ok {
		return
	}
	l.Log(context.Background(), level, msg, append(args[:len(args):len(args)], extra...)...)
}

// allow decides one line of cause at now. When it may be written, extra
// holds the attributes reporting what was suppressed before it.
func (t *LogThrottle) allow(cause string, now time.Time) (ok bool, extra []any) {
	burst, window := t.Burst, t.Window
	if burst <= 0 {
		burst = 5
	}
	if window <= 0 {
		window = 10 * time.Second
	}
	ns := now.UnixNano()
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.slotLocked(cause, ns)
	if ns-s.start >= int64(window) {
		s.start, s.lines = ns, 0
	}
	if s.lines >= burst {
		s.suppressed++
		return false, nil
	}
	s.lines++
	if s.suppressed > 0 {
		extra = append(extra, "suppressed", s.suppressed)
		s.suppressed = 0
	}
	if t.evicted > 0 {
		extra = append(extra, "suppressed_other", t.evicted)
		t.evicted = 0
	}
	return true, extra
}

// slotLocked finds cause's slot, or takes the free one or the one whose
// window began longest ago.
func (t *LogThrottle) slotLocked(cause string, ns int64) *logSlot {
	oldest := &t.slots[0]
	for i := range t.slots {
		s := &t.slots[i]
		if s.cause == cause {
			return s
		}
		if s.cause == "" {
			oldest = s
			break
		}
		if s.start < oldest.start {
			oldest = s
		}
	}
	t.evicted += oldest.suppressed
	*oldest = logSlot{cause: cause, start: ns}
	return oldest
}

// Flush logs, in one line at level, the counts of lines suppressed and not
// reported yet, by cause; it logs nothing when there are none.
func (t *LogThrottle) Flush(l *slog.Logger, level slog.Level, msg string) {
	t.mu.Lock()
	var args []any
	for i := range t.slots {
		if s := &t.slots[i]; s.suppressed > 0 {
			args = append(args, s.cause, s.suppressed)
			s.suppressed = 0
		}
	}
	if t.evicted > 0 {
		args = append(args, "other", t.evicted)
		t.evicted = 0
	}
	t.mu.Unlock()
	if args != nil {
		l.Log(context.Background(), level, msg, slog.Group("suppressed", args...))
	}
}

// connLogs is a connection's LogThrottle, allocated on first use: most
// connections never log a line a client caused.
type connLogs struct {
	p atomic.Pointer[LogThrottle]
}

func (c *connLogs) get() *LogThrottle {
	if t := c.p.Load(); t != nil {
		return t
	}
	c.p.CompareAndSwap(nil, new(LogThrottle))
	return c.p.Load()
}

// LogLimited logs a line the client caused, at most a few per cause in any
// ten seconds for this connection (see LogThrottle); the lines left out
// are counted, and reported on the next line of the cause or when the
// connection closes. Safe for concurrent use.
func (c *Connection) LogLimited(cause string, level slog.Level, msg string, args ...any) {
	c.logLimitedTo(c.log, cause, level, msg, args...)
}

func (c *Connection) logLimitedTo(l *slog.Logger, cause string, level slog.Level, msg string, args ...any) {
	if !l.Enabled(context.Background(), level) {
		return
	}
	c.logs.get().Log(l, cause, level, msg, args...)
}

// throttled is what LogLimited needs of a connection; *Connection has it.
type throttled interface {
	logLimitedTo(l *slog.Logger, cause string, level slog.Level, msg string, args ...any)
}

// LogLimited logs to l a line that conn's client caused, rate limited on
// the connection as Connection.LogLimited is, for code that logs to its
// own logger (a game module). A connection of another type is not
// throttled. Safe for concurrent use.
func LogLimited(conn ziface.IConnection, l *slog.Logger, cause string, level slog.Level, msg string, args ...any) {
	if tc, ok := conn.(throttled); ok {
		tc.logLimitedTo(l, cause, level, msg, args...)
		return
	}
	l.Log(context.Background(), level, msg, args...)
}

// logPanic logs a recovered panic, throttled per connection; the stack is
// taken only for a line that is written.
func (c *Connection) logPanic(what string, msgID uint32, r any) {
	if !c.log.Enabled(context.Background(), slog.LevelError) {
		return
	}
	ok, extra := c.logs.get().allow("panic", time.Now())
	if !ok {
		return
	}
	c.log.Error("znet: "+what+" panicked", append([]any{"msg_id", msgID, "panic", r, "stack", string(debug.Stack())}, extra...)...)
}

// flushLogs reports, as the connection closes, the lines it had suppressed.
func (c *Connection) flushLogs() {
	if t := c.logs.p.Load(); t != nil {
		t.Flush(c.log, slog.LevelInfo, "znet: log lines this connection caused were suppressed")
	}
}

// throttledHandler passes records to h through a server-wide throttle, one
// cause for all, for loggers we do not write ourselves (net/http's).
type throttledHandler struct {
	h     slog.Handler
	t     *LogThrottle
	cause string
}

func (th throttledHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return th.h.Enabled(ctx, l)
}

func (th throttledHandler) Handle(ctx context.Context, r slog.Record) error {
	at := r.Time
	if at.IsZero() {
		at = time.Now()
	}
	ok, extra := th.t.allow(th.cause, at)
	if !ok {
		return nil
	}
	r.Add(extra...)
	return th.h.Handle(ctx, r)
}

func (th throttledHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return throttledHandler{th.h.WithAttrs(as), th.t, th.cause}
}

func (th throttledHandler) WithGroup(name string) slog.Handler {
	return throttledHandler{th.h.WithGroup(name), th.t, th.cause}
}
