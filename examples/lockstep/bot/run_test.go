package main

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	good := Config{Addr: "127.0.0.1:8999", Bots: 8, Players: 4, InputRate: 10, Duration: 10 * time.Second, Ramp: time.Second}
	if err := good.validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, c := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"remote address", func(c *Config) { c.Addr = "10.0.0.1:8999" }, "only loopback"},
		{"host name", func(c *Config) { c.Addr = "example.com:8999" }, "only loopback"},
		{"partial room", func(c *Config) { c.Bots = 10 }, "multiple of -players"},
		{"too many players", func(c *Config) { c.Players = 17 }, "-players"},
		{"long run", func(c *Config) { c.Duration = 11 * time.Minute }, "-duration"},
		{"ramp too long", func(c *Config) { c.Ramp = c.Duration }, "-ramp"},
		{"reconnect prob", func(c *Config) { c.ReconnectProb = 1.5 }, "-reconnect-prob"},
		{"input rate", func(c *Config) { c.InputRate = -1 }, "-input-rate"},
		{"pid with serve", func(c *Config) { c.Serve, c.ServerPID = true, 1 }, "-server-pid"},
		{"switch alone", func(c *Config) { c.Switch = "kcp://127.0.0.1:9001" }, "needs -switch-every"},
		{"switch-every alone", func(c *Config) { c.SwitchEvery = time.Second }, "needs -switch"},
		{"remote switch", func(c *Config) { c.Switch, c.SwitchEvery = "kcp://10.0.0.1:9001", time.Second }, "only loopback"},
		{"switch with serve", func(c *Config) { c.Serve, c.Switch, c.SwitchEvery = true, "127.0.0.1:1", time.Second }, "not with -serve"},
		{"transport kcp without serve", func(c *Config) { c.Transport = "kcp" }, "only with -serve"},
		{"bad transport", func(c *Config) { c.Serve, c.Transport = true, "udp" }, "must be tcp or kcp"},
	} {
		cfg := good
		c.edit(&cfg)
		if err := cfg.validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %q", c.name, err, c.want)
		}
	}
	for _, addr := range []string{"localhost:1", "[::1]:1", "127.0.0.2:1", "kcp://127.0.0.1:1"} {
		cfg := good
		cfg.Addr = addr
		if err := cfg.validate(); err != nil {
			t.Errorf("%s: %v", addr, err)
		}
	}
	// -allow-remote is the explicit opt-in for another host (the compose
	// stack's server container), for -addr and -switch alike; an address
	// still has to be host:port.
	remote := good
	remote.AllowRemote = true
	remote.Addr, remote.Switch, remote.SwitchEvery = "lockstep:8999", "kcp://10.0.0.1:9001", time.Second
	if err := remote.validate(); err != nil {
		t.Errorf("-allow-remote -addr lockstep:8999 -switch kcp://10.0.0.1:9001: %v", err)
	}
	remote.Switch, remote.SwitchEvery = "", 0
	remote.Addr = "lockstep"
	if err := remote.validate(); err == nil {
		t.Error("-allow-remote -addr lockstep (no port) accepted")
	}
}

// checkRun checks what must hold on any machine, however loaded; the
// latency and bandwidth targets are for real runs.
func checkRun(t *testing.T, rep *Report, bots, rooms int) {
	t.Helper()
	if rep.InMatch != int64(bots) || rep.Rooms.MatchesStarted != rooms || rep.Rooms.MatchesEnded != rooms {
		t.Errorf("%d bots in a match, %d matches started, %d ended; want %d, %d, %d",
			rep.InMatch, rep.Rooms.MatchesStarted, rep.Rooms.MatchesEnded, bots, rooms, rooms)
	}
	if rep.Rooms.EndReasons["MATCH_END_RESULT"] != rooms || rep.Rooms.EndedEarly != 0 {
		t.Errorf("end reasons %v, %d during the run; want all by result", rep.Rooms.EndReasons, rep.Rooms.EndedEarly)
	}
	if !rep.Rooms.ListOK {
		t.Errorf("room list: %s", rep.Rooms.List)
	}
	fr := rep.Frames
	if fr.Applied == 0 || fr.Gaps != 0 || fr.Duplicates != 0 || fr.CatchUpUnasked != 0 {
		t.Errorf("frames %+v", fr)
	}
	if h := rep.Hashes; h.Sent == 0 || h.Desyncs != 0 || h.LocalMismatches != 0 || h.ResultsSent == 0 ||
		h.ResultsMissed != 0 || h.ResultMismatch != 0 {
		t.Errorf("hashes %+v", h)
	}
	if in := rep.Inputs; in.Sent == 0 || in.Echoed == 0 || in.Lost != 0 || in.Unmatched != 0 || in.BadRelayed != 0 {
		t.Errorf("inputs %+v", in)
	}
	if l := rep.Latency; l.Count == 0 || !(l.P50 <= l.P99 && l.P99 <= l.Max) {
		t.Errorf("latency %+v", l)
	}
	if rep.Downstream.Players == 0 || rep.Downstream.MeanBps <= 0 {
		t.Errorf("downstream %+v", rep.Downstream)
	}
	if rc := rep.Reconnect; rc.Failed != 0 || rc.OK != rc.Begun {
		t.Errorf("reconnect %+v", rc)
	}
	if rep.Dec.Total != 0 || rep.LostConns != 0 || len(rep.Errors) != 0 || len(rep.GaveUp) != 0 || rep.MatchMismatch != 0 {
		t.Errorf("decode errors %+v, lost %d, errors %v, gave up %v, mismatches %d",
			rep.Dec, rep.LostConns, rep.Errors, rep.GaveUp, rep.MatchMismatch)
	}
}

// TestRoomNotFullBeforeRoomState: a bot whose Create or Join has returned
// but whose RoomState the event goroutine has not applied yet does not
// take its room for full (it did, with max_players unknown as 0, and sent
// Ready alone: the match started without the joiners).
func TestRoomNotFullBeforeRoomState(t *testing.T) {
	r := &runner{cfg: Config{Players: 4}}
	b := newBot(r, 0, newRoom(0))
	b.seated[1] = true // the creator, as the Create's answer said
	if b.fullLocked() {
		t.Fatal("1 of 4 seats taken, no RoomState applied yet: taken for full")
	}
	for id := uint64(2); id <= 4; id++ {
		b.seated[id] = true
	}
	if !b.fullLocked() {
		t.Fatal("4 of 4 seats taken: not full")
	}
	b.maxSeat = 6 // the room's own max_players, once its RoomState is applied
	if b.fullLocked() {
		t.Fatal("4 of 6 seats taken: taken for full")
	}
}

// TestSoakDuration: a run past 10 minutes needs -soak, and -soak stops at
// 24 hours.
func TestSoakDuration(t *testing.T) {
	cfg := Config{Addr: "127.0.0.1:8999", Bots: 8, Players: 4, InputRate: 10, Duration: 11 * time.Minute, Ramp: time.Second}
	if err := cfg.validate(); err == nil || !strings.Contains(err.Error(), "-soak") {
		t.Errorf("11m without -soak: %v, want a refusal naming -soak", err)
	}
	cfg.Soak = true
	if err := cfg.validate(); err != nil {
		t.Errorf("11m with -soak: %v", err)
	}
	cfg.Duration = 25 * time.Hour
	if err := cfg.validate(); err == nil || !strings.Contains(err.Error(), "-duration") {
		t.Errorf("25h with -soak: %v, want a refusal", err)
	}
}
