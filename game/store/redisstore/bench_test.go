package redisstore_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zinxgame/zinxgame/internal/redistest"
)

// BenchmarkWrites compares storing frames through the store (queued, then
// sent in pipelines) with one XADD round trip per frame, against the same
// private Redis in the same run. One op is one frame of a 4-player match
// with a few inputs (24 bytes); the pipelined side flushes every 10,000
// frames, about a second of 300 busy rooms, and at the end. append-only
// times the AppendFrame calls alone: the cost on a room's tick.
//
//	go test -run '^$' -bench Writes -benchmem ./game/store/redisstore
func BenchmarkWrites(b *testing.B) {
	srv := redistest.Start(b)
	inputs := make([]byte, 24)
	var match atomic.Uint64 // a fresh match per run: stream IDs must rise
	ctx := context.Background()

	b.Run("pipelined", func(b *testing.B) {
		rc := config(srv.Addr)
		rc.FlushInterval = 10 * time.Second // only the benchmark's Flush sends
		st := open(b, rc)
		m := match.Add(1)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if err := st.AppendFrame(m, uint32(i+1), inputs); err != nil {
				b.Fatal(err)
			}
			if (i+1)%10_000 == 0 {
				if err := st.Flush(ctx); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := st.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	})

	// What a room's tick pays: the append alone, flushes untimed.
	b.Run("append-only", func(b *testing.B) {
		rc := config(srv.Addr)
		rc.FlushInterval = 10 * time.Second
		st := open(b, rc)
		m := match.Add(1)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if err := st.AppendFrame(m, uint32(i+1), inputs); err != nil {
				b.Fatal(err)
			}
			if (i+1)%10_000 == 0 {
				b.StopTimer()
				if err := st.Flush(ctx); err != nil {
					b.Fatal(err)
				}
				// Millions of appends: keep Redis's memory small.
				st.Client().Del(ctx, "t:frames:"+strconv.FormatUint(m, 10))
				b.StartTimer()
			}
		}
	})

	b.Run("per-command", func(b *testing.B) {
		c := redis.NewClient(&redis.Options{Addr: srv.Addr})
		defer c.Close()
		key := "t:frames:" + strconv.FormatUint(match.Add(1), 10)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			id := strconv.Itoa(i+1) + "-0"
			if err := c.XAdd(ctx, &redis.XAddArgs{Stream: key, ID: id, Values: []any{"i", inputs}}).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
