package main

import (
	"context"
	"io"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestRunServe(t *testing.T) {
	// IgnoreCurrent: ants starts its default pool's goroutines at init.
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	rep, err := Run(context.Background(), Config{
		Serve: true, Bots: 20, Duration: 1500 * time.Millisecond, Ramp: 200 * time.Millisecond,
		Drain: 200 * time.Millisecond, MoveRate: 5, ChatRate: 50, // chats per minute: under the server's default chat rate (1/s, burst 5)
		Progress: io.Discard, Log: io.Discard,
	})
	if err != nil {
		t.Fatal(err)
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
