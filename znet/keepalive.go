package znet

import (
	"encoding/binary"
	"log/slog"
	"time"

	"github.com/zinxgame/zinxgame/ziface"
)

// The keep-alive sweeper closes connections that went silent (heartbeat
// timeout) or never sent a whole message (first-message deadline, against
// slowloris). One goroutine per server scans every connection a few times
// per timeout, instead of a timer per connection reset on every read: the
// read path only stores a coarse timestamp.

// The same sweep sends the server's own pings (ServerPingInterval).

// sweepInterval is how often the sweeper looks: a quarter of the shortest
// timeout or ping interval, at most a second.
func (e *engine) sweepInterval() time.Duration {
	d := time.Second
	for _, t := range []time.Duration{e.cfg.HeartbeatTimeout, e.cfg.FirstMessageTimeout, e.cfg.ServerPingInterval} {
		if t > 0 {
			d = min(d, t/4)
		}
	}
	return max(d, time.Millisecond)
}

// startSweeper runs the sweeper until quit closes; also, when not nil, runs
// on every sweep too.
func (e *engine) startSweeper(quit <-chan struct{}, also func(time.Time)) {
	e.clock.Store(time.Now().UnixMilli())
	if e.cfg.HeartbeatTimeout <= 0 && e.cfg.FirstMessageTimeout <= 0 && e.cfg.ServerPingInterval <= 0 && also == nil {
		return
	}
	e.sweeperDone = make(chan struct{})
	go func() {
		defer close(e.sweeperDone)
		t := time.NewTicker(e.sweepInterval())
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case now := <-t.C:
				e.clock.Store(now.UnixMilli())
				e.sweep(now)
				if also != nil {
					also(now)
				}
			}
		}
	}()
}

func (e *engine) sweep(t time.Time) {
	now := t.UnixMilli()
	hb, first := e.cfg.HeartbeatTimeout.Milliseconds(), e.cfg.FirstMessageTimeout.Milliseconds()
	pingEvery := e.cfg.ServerPingInterval.Milliseconds()
	var ping [8]byte
	binary.LittleEndian.PutUint64(ping[:], uint64(t.UnixMicro()))
	e.mgr.rangeConns(func(c *Connection) {
		if c.kcpIdle != nil {
			c.kcpIdle.sweep(c.msgsIn.Load())
		}
		if pingEvery > 0 && now-c.lastPing >= pingEvery {
			c.lastPing = now
			_ = c.SendMsg(e.cfg.ServerPingMsgID, ping[:])
		}
		seen := c.lastSeen.Load()
		var why, reason string
		var limit time.Duration
		switch {
		case seen == 0 && first > 0 && now-c.openedAt > first:
			why, limit = "znet: no whole message within FirstMessageTimeout; closing", e.cfg.FirstMessageTimeout
			reason = "no message within " + limit.String() + " of connecting"
		case seen != 0 && hb > 0 && now-seen > hb:
			why, limit = "znet: heartbeat timeout, nothing received; closing", e.cfg.HeartbeatTimeout
			reason = "nothing received for " + limit.String()
		default:
			return
		}
		if !c.stopping.Load() { // count, tell and log a connection once, not every sweep while it closes
			c.timedOut.Store(true)
			_ = c.SendMsg(e.cfg.NoticeMsgID, Notice{Code: NoticeTimeout, Reason: reason}.encode())
			if c.stop() {
				e.stats.heartbeatTimeouts.Add(1)
				e.logs.Log(c.log, "timeout", slog.LevelWarn, why, "timeout", limit)
			}
		}
	})
}

// TimedOut reports whether the server closed the connection because it
// went silent (HeartbeatTimeout, FirstMessageTimeout), so a disconnect
// hook can tell a timeout from a client that left. Safe for concurrent use.
func (c *Connection) TimedOut() bool { return c.timedOut.Load() }

// TimedOut is Connection.TimedOut for any connection: false for one that
// is not a *Connection.
func TimedOut(c ziface.IConnection) bool {
	zc, ok := c.(*Connection)
	return ok && zc.TimedOut()
}

// touch records that a whole message arrived.
func (c *Connection) touch() {
	c.lastSeen.Store(max(c.eng.clock.Load(), 1))
}
