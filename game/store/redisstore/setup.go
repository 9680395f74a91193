package redisstore

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/zconf"
)

// Stores is what a server persists through: Redis when configured, else
// memory (store.NewMemoryStore and an in-memory frame store).
type Stores struct {
	Players  store.PlayerStore
	Matches  store.MatchStore
	Sessions store.SessionStore
	Frames   store.FrameStore // nil with memory: the lockstep service makes its own
	Docs     store.DocStore   // the game's own documents, with the default store.DocLimits
	// Redis is the Redis store, nil with memory.
	Redis *Store
}

// Close flushes every pending write (Redis) within ctx. Call it after the
// server has drained, so the last players' saves are in the queue.
func (s Stores) Close(ctx context.Context) error {
	if s.Redis == nil {
		return nil
	}
	return s.Redis.Close(ctx)
}

// Open returns Redis stores when rc has an address, otherwise memory ones.
// go-redis's own process-wide log (a line per failed dial during an
// outage) is routed to log at Debug level: the store logs outages itself.
func Open(ctx context.Context, rc zconf.RedisConfig, log *slog.Logger, reg prometheus.Registerer) (Stores, error) {
	if !rc.Enabled() {
		m := store.NewMemoryStore()
		return Stores{Players: m, Matches: m, Sessions: m, Docs: store.NewMemoryDocStore(store.DocLimits{})}, nil
	}
	redis.SetLogger(slogPrintf{log})
	var opts []Option
	if reg != nil {
		opts = append(opts, WithMetrics(reg))
	}
	st, err := New(ctx, rc, log, opts...)
	if err != nil {
		return Stores{}, fmt.Errorf("redisstore: opening %s: %w", rc.Addr, err)
	}
	return Stores{Players: st, Matches: st, Sessions: st, Frames: st, Docs: st, Redis: st}, nil
}

type slogPrintf struct{ log *slog.Logger }

func (l slogPrintf) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis client: "+fmt.Sprintf(format, v...))
}
