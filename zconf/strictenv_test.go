package zconf_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/zinxgame/zinxgame/zconf"
)

// TestLoadStrictEnv: with StrictEnv, every ZINX_* variable that matches no
// key is an error naming it, while server keys, aliases and section keys
// load as usual; without it the same environment loads with a warning.
func TestLoadStrictEnv(t *testing.T) {
	env := []string{"ZINX_TCPPORT=9100", "ZINX_MAXPACKETSIZE=300", "ZINX_GAME_MAXCHATLEN=40",
		"ZINX_TCPPORTT=1", "ZINX_GAME_NOPE=2", "PATH=/bin", "ZINXY=3"}
	var g gameSection
	_, err := zconf.Load(zconf.Source{Environ: env, StrictEnv: true,
		Sections: map[string]any{"Game": &g}})
	if err == nil {
		t.Fatal("StrictEnv loaded unknown ZINX_ variables")
	}
	// Exactly the two unknown names, in order: not the known keys, not
	// PATH or ZINXY (no ZINX_ prefix).
	_, list, _ := strings.Cut(err.Error(), "match no key: ")
	if list != "ZINX_GAME_NOPE, ZINX_TCPPORTT" {
		t.Errorf("error %q: want it to name ZINX_GAME_NOPE, ZINX_TCPPORTT and nothing else", err)
	}

	// Only known keys: strict loading succeeds and applies them.
	g = gameSection{MaxChatLen: 1}
	cfg, err := zconf.Load(zconf.Source{Environ: env[:3], StrictEnv: true,
		Sections: map[string]any{"Game": &g}})
	if err != nil {
		t.Fatalf("StrictEnv refused known keys: %v", err)
	}
	if cfg.TcpPort != 9100 || cfg.MaxPackageSize != 300 || g.MaxChatLen != 40 {
		t.Fatalf("TcpPort %d, MaxPackageSize %d, Game.MaxChatLen %d; want 9100, 300, 40",
			cfg.TcpPort, cfg.MaxPackageSize, g.MaxChatLen)
	}

	// The default stays a warning.
	var buf bytes.Buffer
	g = gameSection{MaxChatLen: 1}
	if _, err := zconf.Load(zconf.Source{Environ: env, Logger: slog.New(slog.NewTextHandler(&buf, nil)),
		Sections: map[string]any{"Game": &g}}); err != nil {
		t.Fatalf("without StrictEnv: %v", err)
	}
	if !strings.Contains(buf.String(), "ZINX_GAME_NOPE") {
		t.Fatalf("no warning for ZINX_GAME_NOPE; log: %q", buf.String())
	}
}
