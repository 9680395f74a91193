package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestRunServe runs the swarm against the in-process server over each
// transport, with the same checks.
func TestRunServe(t *testing.T) {
	for _, tr := range []string{"tcp", "kcp"} {
		t.Run(tr, func(t *testing.T) { runServe(t, tr) })
	}
}

func runServe(t *testing.T, transport string) {
	// IgnoreCurrent: ants starts its default pool's goroutines at init;
	// kcp-go starts process-wide goroutines at its first session and keeps
	// them.
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent(),
		goleak.IgnoreAnyFunction("github.com/xtaci/kcp-go/v5.postProcessWorker"))
	rep, err := Run(context.Background(), Config{
		Serve: true, Transport: transport, Bots: 20, Duration: 1500 * time.Millisecond, Ramp: 200 * time.Millisecond,
		Drain: 200 * time.Millisecond, MoveRate: 5, ChatRate: 50, // chats per minute: under the server's default chat rate (1/s, burst 5)
		Progress: io.Discard, Log: io.Discard,
	})
	if err != nil {
		t.Fatal(err)
	}
	if kcp := strings.HasPrefix(rep.Server, "kcp://"); kcp != (transport == "kcp") {
		t.Errorf("the report's server %q; want it served over %s", rep.Server, transport)
	}
	if rep.LoggedIn != 20 || rep.Received[0].Count != 20 {
		t.Errorf("logged in %d, SyncPID received %d; want 20", rep.LoggedIn, rep.Received[0].Count)
	}
	if rep.MovesSent == 0 || rep.ChatsSent == 0 {
		t.Errorf("sent %d moves, %d chats; want some of each", rep.MovesSent, rep.ChatsSent)
	}
	for name, l := range map[string]Latency{"move": rep.Move, "chat": rep.Chat} {
		if l.Count == 0 {
			t.Errorf("%s latency: no samples", name)
		}
		if !(l.P50 <= l.P99 && l.P99 <= l.Max) {
			t.Errorf("%s latency: p50 %s, p99 %s, max %s out of order", name, l.P50, l.P99, l.Max)
		}
	}
	if n := rep.Received[cRecvError].Count; n != 0 {
		t.Errorf("%d refusals (Error, 12); want none at this chat rate", n)
	}
	if rep.Dec.Total != 0 || rep.Disconnects != 0 || rep.MissingLists != 0 {
		t.Errorf("decode errors %+v, disconnects %d, missing login lists %d; want none",
			rep.Dec, rep.Disconnects, rep.MissingLists)
	}
	if t.Failed() {
		rep.WriteText(t.Output())
	}
}
