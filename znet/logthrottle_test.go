package znet

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/ziface"
)

// TestClientCausedLogLinesAreThrottled: one connection sends 100,000
// messages that each cause a log line (a handler that panics, an ID with
// no route). The log stays a few lines long, and the lines left out are
// counted: on the cause's next line, and in one line when the connection
// closes. (It once logged every panic with its stack: 50,000 of them.)
func TestClientCausedLogLinesAreThrottled(t *testing.T) {
	cfg := testConfig()
	ts := startServer(t, cfg, func(s *Server) {
		s.AddRouterFunc(1, func(ziface.IRequest) { panic("bad input") })
	})
	c := dialRaw(t, ts.addr, cfg)
	const n = 100_000
	var flood []byte
	for i := range n {
		flood = c.pack.appendPacket(flood, uint32(1+6*(i%2)), nil) // 1 panics, 7 has no route
	}
	c.write(flood)
	c.send(cfg.PingMsgID, []byte("done")) // handled after all of them: one connection's messages run in order
	for id, _ := c.recv(); id != cfg.PingMsgID; id, _ = c.recv() {
	}
	if s := ts.Stats(); s.Panics != n/2 || s.UnknownMsgs != n/2 {
		t.Fatalf("stats count %d panics and %d unknown IDs, want %d each", s.Panics, s.UnknownMsgs, n/2)
	}
	log := ts.logs.String()
	lines := strings.Count(log, "\n")
	panics := strings.Count(log, "handler panicked")
	unknown := strings.Count(log, "no route for message ID")
	if lines > 30 || panics > 5 || unknown > 5 {
		t.Fatalf("%d log lines (%d panics, %d unknown IDs) for %d bad messages; want a few", lines, panics, unknown, n)
	}
	c.nc.Close()
	ts.logs.waitLog(t, "were suppressed")
	log = ts.logs.String()
	for _, want := range []string{
		fmt.Sprintf("suppressed.panic=%d", n/2-panics),
		fmt.Sprintf("suppressed.unknown_msg_id=%d", n/2-unknown),
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// TestLogThrottleWindowsAndCauses: each cause gets Burst lines per Window;
// the next line after a suppressed run carries its count; a fifth cause
// takes the slot of the oldest, whose pending count rides on the next line
// as suppressed_other.
func TestLogThrottleWindowsAndCauses(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, nil))
	lt := &LogThrottle{Burst: 2, Window: time.Minute}
	t0 := time.Unix(1000, 0)
	allowed := 0
	for i := range 10 {
		if ok, _ := lt.allow("a", t0.Add(time.Duration(i)*time.Second)); ok {
			allowed++
		}
	}
	if allowed != 2 {
		t.Fatalf("%d of 10 lines in one window allowed, want Burst 2", allowed)
	}
	ok, extra := lt.allow("a", t0.Add(time.Minute))
	if !ok || fmt.Sprint(extra) != "[suppressed 8]" {
		t.Fatalf("first line of the next window: allowed %v, extra %v; want the 8 suppressed", ok, extra)
	}
	for _, c := range []string{"b", "c", "d"} {
		lt.allow(c, t0.Add(2*time.Minute))
	}
	lt.allow("a", t0.Add(time.Minute+time.Second))
	lt.allow("a", t0.Add(time.Minute+2*time.Second)) // suppressed: a's window is full
	if _, extra := lt.allow("e", t0.Add(3*time.Minute)); fmt.Sprint(extra) != "[suppressed_other 1]" {
		t.Fatalf("a new cause evicting a: extra %v, want a's pending count", extra)
	}
	lt.allow("e", t0.Add(3*time.Minute))
	lt.allow("e", t0.Add(3*time.Minute)) // suppressed: e's window is full
	lt.Flush(l, slog.LevelInfo, "summary")
	if got := buf.String(); !strings.Contains(got, "suppressed.e=1") {
		t.Fatalf("Flush wrote %q, want e's count", got)
	}
	buf.Reset()
	lt.Flush(l, slog.LevelInfo, "summary")
	if buf.Len() != 0 {
		t.Fatalf("second Flush wrote %q, want nothing", buf.String())
	}
}
