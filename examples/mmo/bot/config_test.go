package main

import (
	"strings"
	"testing"
	"time"
)

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
