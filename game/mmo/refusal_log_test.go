package mmo

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/zinxgame/zinxgame/protocol/mmopb"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// TestRefusedChatsLogAFewLines: a player sending 100,000 malformed chats
// and moves makes the world log a few lines, each cause's suppressed count
// reported; it once logged one line per message.
func TestRefusedChatsLogAFewLines(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, nil))
	cfg := zconf.Default()
	w, err := NewWorld(DefaultConfig(), log)
	if err != nil {
		t.Fatal(err)
	}
	ts := znettest.NewServer(t, cfg, func(srv *znet.Server) {
		if err := srv.Mount("mmo", w); err != nil {
			t.Fatal(err)
		}
	}, znettest.WithServerOptions(znet.WithLogger(log))) // one log, counted
	c, err := net.Dial("tcp", ts.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() { _, _ = io.Copy(io.Discard, c) }()
	znettest.Eventually(t, func() bool { return w.Len() == 1 }, "the player to join")

	pack := znet.NewDataPack(cfg.Framing, cfg.MaxPackageSize)
	const n = 100_000
	var flood []byte
	for i := range n {
		id := mmopb.MsgTalk
		if i%2 == 1 {
			id = mmopb.MsgMove
		}
		flood, _ = pack.AppendPack(flood, id, []byte{0xff}) // not protobuf
	}
	if _, err := c.Write(flood); err != nil {
		t.Fatal(err)
	}
	// Half-close: the world answers a few refusals (Error, at a bounded
	// rate), and a full close with those unread would reset the
	// connection before the server has read every message.
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	text := func() string { mu.Lock(); defer mu.Unlock(); return buf.String() }
	znettest.Eventually(t, func() bool { return w.Len() == 0 }, "the player to leave") // its messages have all run
	got := text()
	talks, moves := strings.Count(got, "bad Talk message"), strings.Count(got, "bad Position message")
	if lines := strings.Count(got, "\n"); lines > 30 || talks > 5 || moves > 5 {
		t.Fatalf("%d log lines (%d bad talks, %d bad moves) for %d bad messages; want a few", lines, talks, moves, n)
	}
	for _, cause := range []string{"bad_talk", "bad_move"} {
		if got := testutil.ToFloat64(w.met.refused.WithLabelValues(cause)); got != n/2 {
			t.Errorf("%s refusals counted: %v, want %d", cause, got, n/2)
		}
	}
	znettest.Eventually(t, func() bool { return strings.Contains(text(), "were suppressed") }, "the suppressed lines to be reported")
	got = text()
	for _, want := range []string{
		fmt.Sprintf("suppressed.bad_talk=%d", n/2-talks),
		fmt.Sprintf("suppressed.bad_move=%d", n/2-moves),
	} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %q:\n%s", want, got)
		}
	}
}

// lockedWriter serializes writes to w, for a log read while it is written.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
