package zconf_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/zconf"
)

func TestRedisDefaults(t *testing.T) {
	rc := zconf.DefaultRedis()
	if err := rc.Validate(); err != nil {
		t.Fatalf("DefaultRedis().Validate() = %v", err)
	}
	if rc.Enabled() || rc.FlushInterval != time.Second || rc.FrameTTL != 7*24*time.Hour || rc.TLSConfig() != nil {
		t.Fatalf("DefaultRedis() = %+v", rc)
	}
}

func TestRedisValidate(t *testing.T) {
	for _, c := range []struct {
		f    func(*zconf.RedisConfig)
		want []string
	}{
		{func(c *zconf.RedisConfig) { c.Addr = "localhost" }, []string{"Redis.Addr", `"localhost"`, "host:port"}},
		{func(c *zconf.RedisConfig) { c.DB = -1 }, []string{"Redis.DB = -1", "between 0 and 65535"}},
		{func(c *zconf.RedisConfig) { c.PoolSize = 0 }, []string{"Redis.PoolSize = 0", "between 1 and 10000"}},
		{func(c *zconf.RedisConfig) { c.MinIdleConns = 11 }, []string{"Redis.MinIdleConns = 11", "between 0 and 10"}},
		{func(c *zconf.RedisConfig) { c.DialTimeout = 0 }, []string{"Redis.DialTimeout = 0s", "between 1ms and 1m0s"}},
		{func(c *zconf.RedisConfig) { c.ReadTimeout = 2 * time.Minute }, []string{"Redis.ReadTimeout = 2m0s"}},
		{func(c *zconf.RedisConfig) { c.WriteTimeout = -time.Second }, []string{"Redis.WriteTimeout = -1s"}},
		{func(c *zconf.RedisConfig) { c.PoolTimeout = 0 }, []string{"Redis.PoolTimeout = 0s"}},
		{func(c *zconf.RedisConfig) { c.KeyPrefix = strings.Repeat("k", 300) }, []string{"Redis.KeyPrefix", "at most 256 bytes"}},
		{func(c *zconf.RedisConfig) { c.TLSServerName = "redis.example" }, []string{"Redis.TLSServerName", "Redis.TLS = true"}},
		{func(c *zconf.RedisConfig) { c.Required = true }, []string{"Redis.Required", "needs Redis.Addr"}},
		{func(c *zconf.RedisConfig) { c.FlushInterval = 0 }, []string{"Redis.FlushInterval = 0s", "between 1ms and 10s"}},
		{func(c *zconf.RedisConfig) { c.MaxPending = 0 }, []string{"Redis.MaxPending = 0", "between 1 and 100000000"}},
		{func(c *zconf.RedisConfig) { c.FrameTTL = time.Millisecond }, []string{"Redis.FrameTTL = 1ms", "at least 1s"}},
		{func(c *zconf.RedisConfig) { c.FrameTTL = -time.Hour }, []string{"Redis.FrameTTL = -1h0m0s"}},
		{func(c *zconf.RedisConfig) { c.FrameDurability = "always" }, []string{`Redis.FrameDurability = "always"`, `"async" or "sync"`}},
		{func(c *zconf.RedisConfig) { c.SessionDurability = "" }, []string{`Redis.SessionDurability = ""`}},
		{func(c *zconf.RedisConfig) { c.MaxSpillBytes = 10 }, []string{"Redis.MaxSpillBytes = 10", "between 1 MiB and 1 TiB"}},
	} {
		rc := zconf.DefaultRedis()
		c.f(&rc)
		mustContain(t, rc.Validate(), c.want...)
	}
	rc := zconf.DefaultRedis()
	rc.Addr, rc.Required, rc.TLS, rc.FrameTTL = "[::1]:6380", true, true, 0
	if err := rc.Validate(); err != nil {
		t.Fatal(err)
	}
	if tc := rc.TLSConfig(); tc == nil || tc.ServerName != "::1" || tc.RootCAs != nil {
		t.Fatalf("TLSConfig = %+v, want the address's host verified against the system roots", tc)
	}
}

// The Redis section loads through zconf's section machinery: durations as
// strings, booleans, numbers, from the file, the environment and overrides.
func TestLoadRedisSection(t *testing.T) {
	path := writeConfig(t, `{"Name": "lockstep", "Redis": {"Addr": "127.0.0.1:6380", "DB": 2, "FlushInterval": "250ms",
		"Required": true, "FrameTTL": "48h", "PoolSize": 20, "KeyPrefix": "game1:"}}`)
	rc := zconf.DefaultRedis()
	cfg, err := zconf.Load(zconf.Source{
		File: path,
		Environ: []string{"ZINX_REDIS_PASSWORD=s3cret", "ZINX_REDIS_TLS=true", "ZINX_REDIS_MAXPENDING=5000",
			"ZINX_REDIS_FRAMEDURABILITY=sync", "ZINX_REDIS_SESSIONDURABILITY=async", "ZINX_REDIS_SPILLFILE=/var/lib/game/redis.spill"},
		Overrides: map[string]any{"Redis.ReadTimeout": "1500ms"},
		Sections:  map[string]any{"Redis": &rc},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := zconf.DefaultRedis()
	want.Addr, want.DB, want.FlushInterval, want.Required, want.FrameTTL, want.PoolSize, want.KeyPrefix =
		"127.0.0.1:6380", 2, 250*time.Millisecond, true, 48*time.Hour, 20, "game1:"
	want.Password, want.TLS, want.MaxPending, want.ReadTimeout = "s3cret", true, 5000, 1500*time.Millisecond
	want.FrameDurability, want.SessionDurability, want.SpillFile = zconf.DurabilitySync, zconf.DurabilityAsync, "/var/lib/game/redis.spill"
	if cfg.Name != "lockstep" || rc != want {
		t.Fatalf("loaded %+v\nwant   %+v", rc, want)
	}
	for _, c := range []struct{ body, want string }{
		{`{"Redis": {"FlushInterval": 5}}`, "Redis.FlushInterval"},
		{`{"Redis": {"FlushInterval": "0s"}}`, "Redis.FlushInterval = 0s"},
		{`{"Redis": {"Required": "yes"}}`, "Redis.Required"},
		{`{"Redis": {"DB": 1.5}}`, "Redis.DB"},
		{`{"Redis": {"MaxPending": -1}}`, "Redis.MaxPending = -1"},
		{`{"Redis": {"Adress": "x:1"}}`, "Redis.Adress"},
	} {
		rc := zconf.DefaultRedis()
		_, err := zconf.Load(zconf.Source{File: writeConfig(t, c.body), Environ: []string{}, Sections: map[string]any{"Redis": &rc}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %q", c.body, err, c.want)
		}
	}
}

func TestRedisLogValueHidesPassword(t *testing.T) {
	rc := zconf.DefaultRedis()
	rc.Addr, rc.Password = "127.0.0.1:6379", "hunter2"
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("redis", "config", rc)
	if strings.Contains(buf.String(), "hunter2") || !strings.Contains(buf.String(), "127.0.0.1:6379") {
		t.Fatalf("log line %q", buf.String())
	}
}
