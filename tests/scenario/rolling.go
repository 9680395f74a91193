package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/zinxgame/zinxgame/game/store/redisstore"
	"github.com/zinxgame/zinxgame/internal/redisproc"
	"github.com/zinxgame/zinxgame/zconf"
)

// startRedis gives the servers -redis, or a private persistent
// redis-server on a free loopback port (the tool's child, killed at the
// end).
func (rn *runner) startRedis() error {
	if rn.opt.redis != "" {
		if err := redisproc.Ping(rn.opt.redis); err != nil {
			return fmt.Errorf("-redis %s: %w", rn.opt.redis, err)
		}
		rn.redisAddr = rn.opt.redis
		return nil
	}
	dir := filepath.Join(rn.dir, "redis")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	p, err := redisproc.Start(redisproc.Config{Dir: dir, Args: redisproc.Persistent})
	if err != nil {
		return fmt.Errorf("the scenario's Redis (or give -redis): %w", err)
	}
	rn.redis, rn.redisAddr = p, p.Addr
	return nil
}

// roll restarts the nodes one after the other while the bots play: node
// i at (i+1)/(nodes+2) of the run, and never before the previous one is
// ready again. A restart is SIGTERM, the old process's exit (its status
// recorded), and a new process on the same ports and spill file, ready.
func (rn *runner) roll(ctx context.Context) error {
	d := rn.opt.duration
	var errs []error
	for i, s := range rn.servers {
		at := rn.start.Add(d * time.Duration(i+1) / time.Duration(len(rn.servers)+2))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(at)):
		}
		rn.mu.Lock()
		rn.restarting[i] = true
		rn.mu.Unlock()
		r := restart{Node: s.name(), AtMs: time.Since(rn.start).Milliseconds()}
		t0 := time.Now()
		err := s.stop(ctx)
		r.Exit = s.exits[len(s.exits)-1]
		if err == nil {
			err = s.start(ctx)
		}
		r.ReadySeconds = time.Since(t0).Seconds()
		if err != nil {
			r.Err = err.Error()
			errs = append(errs, fmt.Errorf("restarting %s: %w", s.name(), err))
		}
		rn.mu.Lock()
		rn.restarts = append(rn.restarts, r)
		if err == nil {
			rn.restarting[i] = false // a failed node stays out of the samples
		}
		rn.mu.Unlock()
	}
	return errors.Join(errs...)
}

// verification is the check that nothing acknowledged was lost: every
// match whose MatchEnd a bot received (the server sends it once the match
// is durable, with Redis.MatchDurability sync, the default) is in Redis
// after the run, ended at the same frame for the same reason.
type verification struct {
	Acked int `json:"checked"`
	Lost  int `json:"lost"`
	// Total counts the acknowledged matches the bots saw, listed or not
	// (their reports list a bounded number).
	Total   int      `json:"total"`
	Samples []string `json:"lost_samples,omitempty"`
}

// ackedMatch is one entry of a lockstep bot report's acked_matches.
type ackedMatch struct {
	MatchID   uint64 `json:"match_id"`
	LastFrame uint32 `json:"last_frame"`
	Reason    string `json:"reason"`
}

// verify looks up every acknowledged match in Redis, once every server
// has stopped (its last writes flushed).
func (rn *runner) verify(ctx context.Context) (*verification, error) {
	var acked []ackedMatch
	v := &verification{}
	rn.mu.Lock()
	bots := rn.bots
	rn.mu.Unlock()
	for _, b := range bots {
		raw, err := json.Marshal(b.Report["acked_matches"])
		if err != nil {
			return nil, err
		}
		var list []ackedMatch
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, fmt.Errorf("%s report %s: acked_matches: %w", b.Kind, b.Label, err)
		}
		acked = append(acked, list...)
		n, err := reportFigure(b.Report, "acked_matches_total")
		if err != nil {
			return nil, fmt.Errorf("%s report %s: %w", b.Kind, b.Label, err)
		}
		v.Total += int(n)
	}
	rc := zconf.DefaultRedis()
	rc.Addr, rc.Required, rc.SpillFile = rn.redisAddr, true, zconf.SpillOff
	st, err := redisstore.New(ctx, rc, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, fmt.Errorf("reading the matches back: %w", err)
	}
	defer func() { _ = st.Close(context.Background()) }()
	lost := func(format string, args ...any) {
		v.Lost++
		if len(v.Samples) < 5 {
			v.Samples = append(v.Samples, fmt.Sprintf(format, args...))
		}
	}
	for _, a := range acked {
		v.Acked++
		m, found, err := st.LoadMatch(ctx, a.MatchID)
		switch {
		case err != nil:
			return nil, fmt.Errorf("loading match %d: %w", a.MatchID, err)
		case !found:
			lost("match %d (ended %s at frame %d): not in Redis", a.MatchID, a.Reason, a.LastFrame)
		case m.EndedAt.IsZero() || m.LastFrame != a.LastFrame || m.EndReason != a.Reason:
			lost("match %d: Redis has it ended %q at frame %d (at %s), the bots got %s at frame %d",
				a.MatchID, m.EndReason, m.LastFrame, strconv.Quote(m.EndedAt.String()), a.Reason, a.LastFrame)
		}
	}
	return v, nil
}
