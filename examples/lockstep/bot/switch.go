package main

import (
	"context"
	"fmt"
	"time"

	"github.com/zinxgame/zinxgame/internal/botkit"
)

// Transports: the bots dial -addr (host:port for TCP, kcp://host:port for
// KCP; with -serve, the in-process server serves both and -transport
// picks the one dialled). With -switch-every each bot moves its
// connection between -addr and -switch (the same server's other
// transport; with -serve, the in-process server's), alternating, at
// jittered intervals, through client.Lockstep.SwitchTo, while its match
// runs. The switch resumes the seat on the new connection and catches up
// from the last frame taken, so the run's usual checks (no gap, no
// duplicate, hashes agree, replay) are what prove it loses and repeats no
// frame.

// maxSwitchEvery bounds -switch-every.
const maxSwitchEvery = time.Minute

// validateSwitch checks the transport flags.
func (c *Config) validateSwitch() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Transport != "" && c.Transport != "tcp" && c.Transport != "kcp" {
		bad("-transport %q: must be tcp or kcp", c.Transport)
	} else if c.Transport == "kcp" && !c.Serve {
		bad("-transport kcp: only with -serve (name a KCP server with -addr kcp://host:port)")
	}
	if c.SwitchEvery < 0 || c.SwitchEvery > maxSwitchEvery {
		bad("-switch-every %s: must be between 0 (off) and %s", c.SwitchEvery, maxSwitchEvery)
	}
	switch {
	case c.Switch != "" && c.Serve:
		bad("-switch: not with -serve (the bots switch between the in-process server's TCP and KCP)")
	case c.Switch != "":
		if err := botkit.Target(c.Switch, c.AllowRemote); err != nil {
			errs = append(errs, fmt.Errorf("-switch: %w", err))
		}
		if c.SwitchEvery == 0 {
			bad("-switch %s: needs -switch-every", c.Switch)
		}
	case c.SwitchEvery > 0 && !c.Serve:
		bad("-switch-every: needs -switch, the server's other address (or -serve)")
	}
	return errs
}

// switchDelay is the wait before a bot's next switch: SwitchEvery on
// average, uniformly from half to one and a half of it, so the bots do
// not all switch at once.
func (b *bot) switchDelay() time.Duration {
	mean := int64(b.r.cfg.SwitchEvery)
	return time.Duration(mean/2 + b.rng.Int64N(mean+1))
}

// switchTransport moves the bot's connection to the other of the run's
// two addresses (SwitchTo) and waits for the match to be resumed on it,
// as reconnect does. run's goroutine only.
func (b *bot) switchTransport(ctx context.Context) error {
	to := b.r.switchAddr
	if b.c.Addr() == b.r.switchAddr {
		to = b.r.addr
	}
	b.r.add(cSwitches, 1)
	err := b.replace(ctx, dialTimeout+replyTimeout, "switch", func(rctx context.Context) error {
		if err := b.c.SwitchTo(rctx, to); err != nil {
			return fmt.Errorf("switch to %s: %w", to, err)
		}
		if got := b.c.Addr(); got != to {
			return fmt.Errorf("switch to %s: the client dials %s", to, got)
		}
		return nil
	})
	if err == nil {
		b.r.add(cSwitchesOK, 1)
	}
	return err
}

// Switch counts the bots' transport switches (-switch-every).
type Switch struct {
	Between string `json:"between,omitempty"` // the two addresses
	Begun   uint64 `json:"begun"`
	OK      uint64 `json:"ok"` // ... that got their MatchStart back on the new transport
	Failed  uint64 `json:"failed"`
}
