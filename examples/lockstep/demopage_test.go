package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/game/lockstep"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
)

// TestDemoSettings checks the demo page is off by default and switched on
// by the Demo section from the environment or the -demo override.
func TestDemoSettings(t *testing.T) {
	st, err := loadSettings(zconf.Source{Environ: []string{}})
	if err != nil || st.demo.Addr != "" {
		t.Fatalf("default: %+v, %v", st.demo, err)
	}
	st, err = loadSettings(zconf.Source{Environ: []string{"ZINX_DEMO_ADDR=127.0.0.1:8080"}})
	if err != nil || st.demo.Addr != "127.0.0.1:8080" {
		t.Fatalf("ZINX_DEMO_ADDR: %+v, %v", st.demo, err)
	}
	st, err = loadSettings(zconf.Source{Overrides: map[string]any{"Demo.Addr": ":8081"}, Environ: []string{"ZINX_DEMO_ADDR=127.0.0.1:8080"}})
	if err != nil || st.demo.Addr != ":8081" {
		t.Fatalf("-demo over the environment: %+v, %v", st.demo, err)
	}
	if _, err := loadSettings(zconf.Source{Environ: []string{"ZINX_DEMO_ADDR=8080"}}); err == nil || !strings.Contains(err.Error(), "Demo.Addr") {
		t.Fatalf("an address without a port: %v", err)
	}
}

func get(t *testing.T, url string) (string, error) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return string(b), err
}

// TestServeDemo serves the page beside a server and shuts it down with the
// server's shutdown.
func TestServeDemo(t *testing.T) {
	cfg := zconf.Default()
	cfg.Host, cfg.Mode, cfg.WsPort, cfg.WsPath = "127.0.0.1", zconf.ModeBoth, 9123, "/ws"
	srv, err := znet.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	addr, closeDemo, err := serveDemo(srv, demoConfig{Addr: "127.0.0.1:0"}, lockstep.DefaultConfig(), log)
	if err != nil {
		t.Fatal(err)
	}
	defer closeDemo()
	base := "http://" + addr.String()
	page, err := get(t, base+"/")
	if err != nil || !strings.Contains(page, `<script type="importmap">`) {
		t.Fatalf("the page: %v\n%s", err, page)
	}
	raw, err := get(t, base+"/config.json")
	if err != nil {
		t.Fatal(err)
	}
	var pc struct {
		WsURL    string `json:"wsUrl"`
		TickRate int    `json:"tickRate"`
	}
	if err := json.Unmarshal([]byte(raw), &pc); err != nil || pc.WsURL != "ws://127.0.0.1:9123/ws" || pc.TickRate != 30 {
		t.Fatalf("config.json %s: %v", raw, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := get(t, base+"/"); err == nil {
		t.Fatal("the page is still served after the server shut down")
	}
}

func TestServeDemoRefuses(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for name, set := range map[string]func(*zconf.Config){
		"no WebSocket":          func(c *zconf.Config) { c.Mode = zconf.ModeTCP },
		"a free WebSocket port": func(c *zconf.Config) { c.Mode, c.WsPort = zconf.ModeBoth, zconf.FreePort },
	} {
		cfg := zconf.Default()
		cfg.Host = "127.0.0.1"
		set(&cfg)
		srv, err := znet.NewServer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := serveDemo(srv, demoConfig{Addr: "127.0.0.1:0"}, lockstep.DefaultConfig(), log); err == nil {
			t.Errorf("%s: served", name)
		}
		_ = srv.Close()
	}
}
