package main

import (
	"strings"
	"testing"
	"time"
)

// TestConfigAddr: -addr must be loopback unless -allow-remote, the
// explicit opt-in for a stack you own (the compose stack's bots dial the
// server's container by name).
func TestConfigAddr(t *testing.T) {
	good := Config{Addr: "127.0.0.1:8999", Bots: 10, MoveRate: 2, ChatRate: 1, Duration: 10 * time.Second,
		Ramp: time.Second, Drain: time.Second}
	if err := good.validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, addr := range []string{"mmo:8999", "10.0.0.1:8999"} {
		cfg := good
		cfg.Addr = addr
		if err := cfg.validate(); err == nil || !strings.Contains(err.Error(), "only loopback") {
			t.Errorf("-addr %s: %v, want the loopback-only refusal", addr, err)
		}
		cfg.AllowRemote = true
		if err := cfg.validate(); err != nil {
			t.Errorf("-allow-remote -addr %s: %v", addr, err)
		}
	}
	cfg := good
	cfg.Addr, cfg.AllowRemote = "mmo", true
	if err := cfg.validate(); err == nil {
		t.Error("-allow-remote -addr mmo (no port) accepted")
	}
}

// TestSoakDuration: a run past 10 minutes needs -soak, and -soak stops at
// 24 hours.
func TestSoakDuration(t *testing.T) {
	cfg := Config{Addr: "127.0.0.1:8999", Bots: 8, MoveRate: 2, Duration: 11 * time.Minute, Ramp: time.Second}
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
