package redisstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/game/store/redisstore"
	"github.com/zinxgame/zinxgame/internal/redistest"
)

// The connection pool's figures are scraped: after writes and reads the
// pool has a connection and has been used.
func TestPoolMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	st := open(t, config(redistest.Start(t).Addr), redisstore.WithMetrics(reg))
	ctx := timeout(t, 10*time.Second)
	for id := uint64(1); id <= 20; id++ {
		if err := st.SavePlayer(ctx, store.PlayerRecord{ID: id, Name: "p"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for id := uint64(1); id <= 5; id++ {
		if _, ok, err := st.LoadPlayer(ctx, id); err != nil || !ok {
			t.Fatalf("LoadPlayer(%d) = %v, %v", id, ok, err)
		}
	}
	if n := gauge(t, reg, "zinxgame_redis_pool_conns"); n < 1 {
		t.Errorf("zinxgame_redis_pool_conns = %v, want at least 1", n)
	}
	hits, misses := gauge(t, reg, "zinxgame_redis_pool_hits_total"), gauge(t, reg, "zinxgame_redis_pool_misses_total")
	if hits+misses == 0 {
		t.Errorf("pool hits %v + misses %v = 0 after 5 reads and a flush", hits, misses)
	}
	// The reads came one after another, so all but the first found the
	// connection the one before gave back.
	if hits < 4 {
		t.Errorf("zinxgame_redis_pool_hits_total = %v, want at least 4", hits)
	}
	if n := gauge(t, reg, "zinxgame_redis_pool_timeouts_total"); n != 0 {
		t.Errorf("zinxgame_redis_pool_timeouts_total = %v with nothing waiting", n)
	}
	for _, name := range []string{"zinxgame_redis_pool_idle_conns", "zinxgame_redis_pool_stale_conns_total",
		"zinxgame_redis_pool_waits_total", "zinxgame_redis_pool_wait_seconds_total"} {
		gauge(t, reg, name) // present
	}
}

// With the pool's one connection held by a blocking command, other
// commands wait: those that wait longer than PoolTimeout fail and are
// counted as timeouts (what ZinxgameRedisPoolTimeouts watches), the one
// the connection comes back to in time is counted as a wait.
func TestPoolMetricsTimeouts(t *testing.T) {
	reg := prometheus.NewRegistry()
	rc := config(redistest.Start(t).Addr)
	rc.PoolSize, rc.MinIdleConns, rc.PoolTimeout = 1, 0, 200*time.Millisecond
	st := open(t, rc, redisstore.WithMetrics(reg))
	ctx := timeout(t, 30*time.Second)
	rdb := st.Client()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	// A round: BLPOP holds the connection for a second; pings are sent one
	// after another until it ends. Those wholly inside the second time
	// out; the one in flight as it ends gets the connection after a wait.
	// The flusher shares the pool, so a round may be spoiled by it taking
	// the connection between two commands: up to five rounds.
	var timeouts, waits float64
	for round := 0; round < 5 && (timeouts == 0 || waits == 0); round++ {
		done := make(chan error, 1)
		go func() { done <- rdb.BLPop(ctx, time.Second, "t:nothing").Err() }()
		var other error
	pinging:
		for {
			select {
			case err := <-done:
				if !errors.Is(err, redis.Nil) && !errors.Is(err, redis.ErrPoolTimeout) {
					t.Fatalf("BLPOP = %v", err)
				}
				break pinging
			default:
			}
			if err := rdb.Ping(ctx).Err(); err != nil && !errors.Is(err, redis.ErrPoolTimeout) {
				other = err
			}
		}
		if other != nil {
			t.Fatalf("a ping failed for another reason than the pool: %v", other)
		}
		timeouts = gauge(t, reg, "zinxgame_redis_pool_timeouts_total")
		waits = gauge(t, reg, "zinxgame_redis_pool_waits_total")
	}
	if timeouts == 0 {
		t.Error("zinxgame_redis_pool_timeouts_total = 0 after pings waited for a held connection")
	}
	if waits == 0 {
		t.Error("zinxgame_redis_pool_waits_total = 0 after a ping got a connection once BLPOP gave it back")
	}
	if s := gauge(t, reg, "zinxgame_redis_pool_wait_seconds_total"); waits > 0 && s <= 0 {
		t.Errorf("zinxgame_redis_pool_wait_seconds_total = %v after %v waits", s, waits)
	}
	if n := gauge(t, reg, "zinxgame_redis_pool_conns"); n != 1 {
		t.Errorf("zinxgame_redis_pool_conns = %v with PoolSize 1", n)
	}
}
