package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestRunListFlood runs the listing load alone (-bots 0) against the real
// server in this process: every fill room opens and stays listed as open,
// and every RoomList request is answered, at about the rate asked.
func TestRunListFlood(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const fill, rate, conns = 30, 40.0, 2
	rep, err := Run(context.Background(), Config{
		Serve: true, Players: 4, InputRate: 10, FillRooms: fill, ListRate: rate, ListConns: conns,
		Duration: 2500 * time.Millisecond, Ramp: 300 * time.Millisecond, Drain: time.Second, NoReplay: true,
		Progress: io.Discard, Log: io.Discard,
	})
	if err != nil {
		t.Fatal(err)
	}
	fr := rep.Flood
	if fr == nil {
		t.Fatal("no listing load in the report")
	}
	if fr.Opened != fill || fr.ListConns != conns {
		t.Errorf("%d of %d fill rooms opened, %d list connections; want all, %d", fr.Opened, fill, fr.ListConns, conns)
	}
	// The window is about 2.2 s; a loaded machine may run the listers late,
	// never early (a missed turn is not made up).
	if want := rate * fr.Seconds; fr.ListsSent == 0 || float64(fr.ListsSent) > want+conns {
		t.Errorf("%d RoomList sent over %.1fs; want some, at most %.0f", fr.ListsSent, fr.Seconds, want+conns)
	}
	if fr.Replies != fr.ListsSent || fr.Unanswered != 0 || fr.Latency.Count != fr.Replies {
		t.Errorf("%d sent, %d answered (%d timed), %d unanswered; want every one answered and timed",
			fr.ListsSent, fr.Replies, fr.Latency.Count, fr.Unanswered)
	}
	if fr.MeanListed != fill {
		t.Errorf("%.1f rooms a reply; want the %d fill rooms", fr.MeanListed, fill)
	}
	if !rep.Pass || rep.InMatch != 0 || rep.Ticks == nil || rep.Ticks.Ticks == 0 {
		t.Errorf("pass %v (%v), %d bots in a match, ticks %+v; want a pass on the flood alone, with the fill rooms' ticks counted",
			rep.Pass, rep.Failures, rep.InMatch, rep.Ticks)
	}
	if t.Failed() || testing.Verbose() {
		rep.WriteText(t.Output())
	}
}

func TestConfigValidateFlood(t *testing.T) {
	good := Config{Addr: "127.0.0.1:8999", Players: 4, InputRate: 10, Duration: 10 * time.Second, Ramp: time.Second,
		FillRooms: 10, ListRate: 100, ListConns: 2}
	if err := good.validate(); err != nil {
		t.Fatalf("good config (-bots 0 with a listing load): %v", err)
	}
	for _, c := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no bots, no load", func(c *Config) { c.FillRooms, c.ListRate = 0, 0 }, "-bots 0"},
		{"over the server's message limit", func(c *Config) { c.ListConns = 1 }, "use more connections"},
		{"no list connection", func(c *Config) { c.ListConns = 0 }, "-list-conns"},
		{"too many fill rooms", func(c *Config) { c.FillRooms = maxFillRooms + 1 }, "-fill-rooms"},
		{"negative rate", func(c *Config) { c.ListRate = -1 }, "-list-rate"},
	} {
		cfg := good
		c.edit(&cfg)
		if err := cfg.validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %q", c.name, err, c.want)
		}
	}
}

// -fill-running: the fill rooms run their matches, so a RoomList of open
// rooms finds none of them, and every request is still answered.
func TestRunListFloodRunning(t *testing.T) {
	rep, err := Run(context.Background(), Config{
		Serve: true, Players: 4, InputRate: 10, FillRooms: 20, FillRunning: true, ListRate: 40, ListConns: 2,
		Duration: 2500 * time.Millisecond, Ramp: 300 * time.Millisecond, Drain: time.Second, NoReplay: true,
		Progress: io.Discard, Log: io.Discard,
	})
	if err != nil {
		t.Fatal(err)
	}
	fr := rep.Flood
	if fr == nil || fr.Opened != 20 || fr.ListsSent == 0 || fr.Replies != fr.ListsSent || !rep.Pass {
		t.Fatalf("flood report %+v, pass %v, failures %v", fr, rep.Pass, rep.Failures)
	}
	if fr.MeanListed != 0 {
		t.Fatalf("a RoomList of open rooms listed %.1f running fill rooms a reply, want none", fr.MeanListed)
	}
}
