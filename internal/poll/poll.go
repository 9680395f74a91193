// Package poll runs a refresh on a fixed period until its context ends:
// the loop behind the servers' re-reads of shared state (the bans their
// replicas share through one store), written once so each keeps the
// same shape: a bounded attempt per tick, a failure logged when it
// starts and a recovery when it ends, not once per tick.
package poll

import (
	"context"
	"log/slog"
	"time"
)

// Every calls fn every period until ctx ends, each call bounded by a
// context that ends after period. A failure is logged at Warn, with what
// naming the refresh, when fn starts failing, and at Info when it works
// again. It returns when ctx ends, with no call after that. period must
// be positive.
func Every(ctx context.Context, period time.Duration, log *slog.Logger, what string, fn func(context.Context) error) {
	t := time.NewTicker(period)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if ctx.Err() != nil { // both were ready: the end wins
			return
		}
		fctx, cancel := context.WithTimeout(ctx, period)
		err := fn(fctx)
		cancel()
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			log.Warn(what+" failed; keeping what is held", "err", err)
		case err == nil && failing:
			log.Info(what + " works again")
		}
		failing = err != nil
	}
}
