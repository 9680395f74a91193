package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zinxgame/zinxgame/client"
	"github.com/zinxgame/zinxgame/game/lockstep"
	"github.com/zinxgame/zinxgame/internal/botkit"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/zconf"
)

// Config is one run of the bot swarm.
type Config struct {
	Addr string // server address, host:port or kcp://host:port; must be loopback (ignored with Serve) unless AllowRemote
	// AllowRemote lets Addr, Switch and MetricsURL name another host
	// (-allow-remote): only for a stack you own, such as the compose
	// stack's bots dialing the server's container.
	AllowRemote bool
	// Transport is what the bots dial with Serve: "tcp" (or "") or "kcp"
	// (the in-process server serves both).
	Transport string
	// Switch is the server's other address (its other transport): with
	// SwitchEvery, each bot moves between Addr and Switch, alternating,
	// every SwitchEvery on average (jittered). With Serve it is left
	// empty: the bots switch between the in-process server's transports.
	Switch      string
	SwitchEvery time.Duration
	NoReplay    bool // skip replaying one ended match at the end
	// SurviveRestarts has the bots of a room whose match the server ended
	// for its shutdown come back and play a new match once it is up
	// again (restart.go); by default they stop, and the run fails.
	SurviveRestarts bool
	// ServeOptions configure the in-process server (Serve), such as a
	// persistent store; tests use it.
	ServeOptions  []lockstep.Option
	Bots          int           // number of bots, a multiple of Players
	Players       int           // bots per room
	InputRate     float64       // inputs per second per bot
	ReconnectProb float64       // chance per bot per second to drop the connection and reconnect
	Offline       time.Duration // a dropped bot waits Offline/2 to Offline (uniformly) before reconnecting
	Duration      time.Duration // the whole run, ramp included
	// Soak allows a Duration past maxDuration, up to maxSoak: an
	// operator's long run, asked for on purpose.
	Soak  bool
	Ramp  time.Duration // the bots start spread over this
	Drain time.Duration // after Duration: at most this long for the result votes to end the matches
	// Room options sent with RoomCreate; 0 takes the server's default.
	TickRate        uint32
	FramesPerPacket uint32
	HashInterval    uint32
	Serve           bool // run the lockstep server in this process
	ServerPID       int  // external server whose CPU to report; 0 for none
	// MetricsURL is the external server's Prometheus page (its admin
	// listener's /metrics, on loopback), read for its tick lateness and
	// GOMAXPROCS; "" for none. With Serve the in-process server's are read.
	MetricsURL string
	// Listing load (listflood.go): FillRooms rooms held open, and ListRate
	// RoomList requests a second in all over ListConns connections, from
	// when the fill rooms are open to the end of the run.
	FillRooms   int
	FillRunning bool // -fill-running: fill rooms run a 1-seat match; RoomList asks for open rooms only
	ListRate    float64
	ListConns   int
	Progress    io.Writer // a line a second; nil for none
	Log         io.Writer // framework warnings; nil to discard
}

const (
	maxDuration  = 10 * time.Minute
	maxSoak      = 24 * time.Hour // with Soak
	maxBots      = 10000
	dialTimeout  = 5 * time.Second
	replyTimeout = 5 * time.Second // for each answer a bot waits for
	stopTimeout  = 5 * time.Second
	// quietTime: no reconnection starts this long (plus Offline) before the
	// end of the run, or a quarter of the run if less, so that each one
	// finishes before the result vote.
	quietTime   = 2 * time.Second
	propSession = "lsbot"
)

func (c *Config) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Players < 1 || c.Players > 16 {
		bad("-players %d: must be between 1 and 16 (RoomOptions.max_players)", c.Players)
	}
	if c.Bots < 0 || c.Bots > maxBots || (c.Bots == 0 && !c.floodWanted()) {
		bad("-bots %d: must be between 1 and %d (0 only with -fill-rooms or -list-rate)", c.Bots, maxBots)
	} else if c.Players >= 1 && c.Bots%c.Players != 0 {
		bad("-bots %d: must be a multiple of -players %d (every room fills)", c.Bots, c.Players)
	}
	if !(c.InputRate >= 0 && c.InputRate <= 120) {
		bad("-input-rate %v: must be between 0 and 120 per second", c.InputRate)
	}
	if !(c.ReconnectProb >= 0 && c.ReconnectProb <= 1) {
		bad("-reconnect-prob %v: must be between 0 and 1 (per bot per second)", c.ReconnectProb)
	}
	if c.Offline < 0 || c.Offline > 10*time.Second {
		bad("-offline %s: must be between 0 and 10s", c.Offline)
	}
	if limit := c.maxDuration(); c.Duration <= 0 || c.Duration > limit {
		bad("-duration %s: must be above 0 and at most %s (-soak: %s)", c.Duration, limit, maxSoak)
	}
	if c.Ramp < 0 || c.Ramp >= c.Duration {
		bad("-ramp %s: must be at least 0 and shorter than -duration %s", c.Ramp, c.Duration)
	}
	if c.Drain < 0 || c.Drain > 10*time.Second {
		bad("drain %s: must be between 0 and 10s", c.Drain)
	}
	if c.TickRate > 120 || c.FramesPerPacket > 10 {
		bad("-tick-rate %d, -frames-per-packet %d: at most 120 and 10 (0 = the server's default)", c.TickRate, c.FramesPerPacket)
	}
	if c.ServerPID < 0 || (c.Serve && c.ServerPID != 0) {
		bad("-server-pid %d: must be a process ID, and not given with -serve", c.ServerPID)
	}
	if !c.Serve {
		if err := botkit.Target(c.Addr, c.AllowRemote); err != nil {
			errs = append(errs, err)
		}
	}
	if c.MetricsURL != "" {
		if c.Serve {
			bad("-metrics: not with -serve (the in-process server's metrics are read directly)")
		} else if err := checkMetricsURL(c.MetricsURL, c.AllowRemote); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, c.validateFlood()...)
	errs = append(errs, c.validateSwitch()...)
	return errors.Join(errs...)
}

// Counters, shared by every bot. cRecvLoginAck..cRecvUnknownID count
// messages received by ID.
const (
	cRecvLoginAck = iota
	cRecvRoomState
	cRecvRoomListAck
	cRecvPlayerEvent
	cRecvMatchStart
	cRecvFrames // 1012 batches
	cRecvCatchUp
	cRecvDesync
	cRecvMatchEnd
	cRecvError
	cRecvNotice
	cRecvUnknownID
	cUnmarshalErr // proto.Unmarshal failed
	cMalformed    // decoded, but not what the protocol says (count 0, offsets out of order, ...)
	cBadInput     // a relayed input no bot sends (slot out of range, bad length)
	cFramesApplied
	cGaps // batches that skipped frames
	cGapFrames
	cDups // batches that repeated frames
	cDupFrames
	cCatchUpUnasked   // catch-up frames (1016) with no reconnection under way
	cStale            // messages from a connection the bot has dropped, or frames outside a match (the client's count)
	cInputsSent       // Input messages sent
	cInputsEchoed     // own inputs seen in a frame
	cInputsLost       // own inputs never relayed, sent on the connection still in use
	cInputsLostDrop   // own inputs never relayed, sent on a connection the bot dropped
	cInputsUnmatched  // own (slot, seq) not waiting: relayed twice, or never sent
	cInputsExpired    // still unanswered after inflightSize newer inputs
	cInputsCaughtUp   // own inputs first seen in catch-up: not timed
	cHashesSent       // HashReport messages sent
	cLocalMismatch    // a bot's state hash differs from its room's other bots'
	cResultsSent      // MatchResult votes sent
	cResultMissed     // the vote's frame was no longer in the hash ring
	cResultMismatch   // MatchEnd.result differs from the bot's vote
	cMatchMismatch    // a MatchStart or RoomState that disagrees with the match the bot is in
	cReconnects       // reconnections begun
	cReconnectsOK     // ... that got their MatchStart back
	cReconnectsFailed // ... that did not
	cSwitches         // transport switches begun (SwitchEvery)
	cSwitchesOK       // ... that got their MatchStart back on the new transport
	cSwitchesFailed   // ... that did not
	cLostConns        // connections lost (not dropped by the bot) before the bot's match ended
	cSendErr
	cReadyLate    // Error answering a Ready sent as the match started: tolerated
	cInputLate    // Error answering an Input sent as the match ended: tolerated
	cShutdownEnds // matches ended by a server shutdown, ridden out (SurviveRestarts)
	cRejoined     // bots back in a new match after one
	cRejoinFailed // bots that could not come back
	cTooLate      // bots left out: the run was ending
	cDialRetries  // dials refused while a server was away
	nCounters
	nRecv = cRecvUnknownID + 1
)

// runner is the state of one run, shared by every bot.
type runner struct {
	cfg      Config
	log      *slog.Logger
	base     time.Time // the clock behind now
	deadline time.Time // end of the run
	d        *client.Dialer
	addr     string
	// switchAddr is the other transport's address with SwitchEvery ("" for
	// none): the bots alternate between addr and it.
	switchAddr string
	pingID     uint32 // the keep-alive's pongs, not counted as the game's traffic
	noticeID   uint32
	rooms      []*room
	bots       []*bot
	// metrics is the server's Prometheus registry or page; nil for none.
	metrics    prometheus.Gatherer
	metricsSrc string
	flood      *flood // the listing load; nil for none

	c                   [nCounters]atomic.Uint64
	lat, catchUp        botkit.Hist   // input -> frame; Reconnect -> first live frame
	login               botkit.Hist   // a new player's dial -> LoginAck (connect and login)
	loggedIn, inMatch   atomic.Int64  // bots
	tickRate            atomic.Uint32 // from the first MatchStart
	stopped             atomic.Bool   // the run's time is up: bytes are no longer counted
	ending              atomic.Bool   // disconnects from here on are ours
	firstDial           chan error    // bot 0's dial: is the server there?
	dialErrs            atomic.Uint64
	onceNotice, onceErr atomic.Bool

	spawned botkit.Group // goroutines Run waits for

	mu           sync.Mutex // guards the fields below
	errCodes     map[commonpb.ErrorCode]uint64
	failures     map[string]uint64 // bots that gave up, by reason
	firstFailure string            // the first of them, with its error
	desyncs      []string          // the first few Desync messages, for the report
	roomList     string            // the RoomList check's outcome
	acked        []AckedMatch      // matches whose MatchEnd a bot got, at most maxAcked
	ackedTotal   int
	listOK       bool
}

func (r *runner) add(c int, n uint64) { r.c[c].Add(n) }

// counters are the run's counters, with the ones the bots' clients keep
// (sequencing, decoding) summed in.
func (r *runner) counters() (c [nCounters]uint64) {
	for i := range c {
		c[i] = r.c[i].Load()
	}
	for _, b := range r.bots {
		b.mu.Lock()
		cl := b.c
		b.mu.Unlock()
		if cl == nil {
			continue
		}
		s := cl.Stats()
		c[cGaps] += s.Gaps
		c[cGapFrames] += s.GapFrames
		c[cDups] += s.Dups
		c[cDupFrames] += s.DupFrames
		c[cStale] += s.Stale
		c[cUnmarshalErr] += s.Malformed
	}
	return c
}

// now is the runner's monotonic clock, in nanoseconds.
func (r *runner) now() int64 { return int64(time.Since(r.base)) }

// quiet is how close to its end the run starts no reconnection.
func (r *runner) quiet() time.Duration {
	return min(quietTime+r.cfg.Offline, r.cfg.Duration/4)
}

// note prints a line once per kind on the progress writer.
func (r *runner) note(once *atomic.Bool, format string, args ...any) {
	if r.cfg.Progress != nil && !r.ending.Load() && once.CompareAndSwap(false, true) {
		fmt.Fprintf(r.cfg.Progress, format+"\n", args...)
	}
}

// botFailed records why a bot gave up (a reason is a short, fixed phrase).
func (r *runner) botFailed(reason string, err error) {
	r.mu.Lock()
	first := len(r.failures) == 0
	r.failures[reason]++
	if first {
		r.firstFailure = reason + ": " + err.Error()
	}
	r.mu.Unlock()
	if first && r.cfg.Progress != nil {
		fmt.Fprintf(r.cfg.Progress, "a bot gave up (first of possibly more): %s: %v\n", reason, err)
	}
}

// Run runs the swarm for cfg.Duration, lets the matches end, and reports.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	log := slog.New(slog.DiscardHandler)
	if cfg.Log != nil {
		log = slog.New(slog.NewTextHandler(cfg.Log, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	r := &runner{
		cfg: cfg, log: log, base: time.Now(), addr: cfg.Addr, firstDial: make(chan error, 1),
		errCodes: map[commonpb.ErrorCode]uint64{}, failures: map[string]uint64{},
	}
	cpuPID := cfg.ServerPID
	if cfg.SwitchEvery > 0 {
		r.switchAddr = cfg.Switch
	}
	if cfg.MetricsURL != "" {
		r.metrics, r.metricsSrc = urlGatherer(cfg.MetricsURL), cfg.MetricsURL
	}
	var srv *inproc
	if cfg.Serve {
		var err error
		if srv, err = startServer(2*cfg.Bots+cfg.FillRooms+cfg.ListConns, log, cfg.ServeOptions); err != nil {
			return nil, err
		}
		defer srv.stop()
		r.addr, cpuPID = srv.addr, os.Getpid()
		if cfg.Transport == "kcp" {
			r.addr = srv.kcpAddr
		}
		if cfg.SwitchEvery > 0 {
			r.switchAddr = map[bool]string{true: srv.addr, false: srv.kcpAddr}[r.addr == srv.kcpAddr]
		}
		r.metrics, r.metricsSrc = srv.reg, "the in-process server's registry"
	}
	if r.metrics != nil {
		if _, err := readTicks(r.metrics); err != nil {
			return nil, fmt.Errorf("server metrics: %w", err)
		}
	}
	if cpuPID > 0 {
		if _, err := botkit.ProcCPU(cpuPID); err != nil {
			return nil, fmt.Errorf("-server-pid %d: %w", cpuPID, err)
		}
	}
	d, err := r.newDialer()
	if err != nil {
		return nil, err
	}
	defer d.Close()
	r.d = d
	if cfg.floodWanted() {
		if r.flood, err = newFlood(cfg, r.addr, log); err != nil {
			return nil, err
		}
	}
	for i := range cfg.Bots / cfg.Players {
		r.rooms = append(r.rooms, newRoom(i))
	}
	for i := range cfg.Bots {
		b := newBot(r, i, r.rooms[i/cfg.Players])
		b.rm.bots = append(b.rm.bots, b)
		r.bots = append(r.bots, b)
	}

	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	r.deadline, _ = runCtx.Deadline()
	start := r.snap(cpuPID)
	r.spawned.Go(func() { r.progress(runCtx) })
	filled := make(chan error, 1)
	if r.flood != nil {
		r.spawned.Go(func() { filled <- r.flood.fill(runCtx) })
	} else {
		filled <- nil
	}
	startErr := r.startAll(runCtx)
	// The window measured starts once the bots and the fill rooms are
	// in, and the list flood with it.
	startErr = errors.Join(startErr, <-filled)
	if startErr == nil && r.flood != nil {
		startErr = r.flood.list(runCtx)
	}
	ramped := r.snap(cpuPID)
	if startErr == nil {
		<-runCtx.Done()
	}
	cancel()
	r.stopped.Store(true)
	end := r.snap(cpuPID)
	if startErr == nil && ctx.Err() == nil {
		r.vote(ctx)
	}
	var replay *Replay
	if startErr == nil && ctx.Err() == nil && !r.cfg.NoReplay {
		replay = r.replayOne(ctx)
	}

	r.ending.Store(true)
	clientErr := r.closeBots()
	if r.flood != nil {
		clientErr = errors.Join(clientErr, r.flood.stop())
	}
	r.spawned.Wait()
	var serverErr error
	if srv != nil {
		serverErr = srv.stop()
	}
	if startErr != nil {
		return nil, startErr
	}
	rep := r.report(cpuPID, start, ramped, end, d.NetStats().DecodeErrors)
	if r.flood != nil {
		rep.Flood = r.flood.report(end.at.Sub(ramped.at).Seconds())
		rep.judge()
	}
	if replay != nil {
		rep.Replay = replay
		rep.judge()
	}
	if clientErr != nil {
		rep.fail("bots did not disconnect within %s: %v", stopTimeout, clientErr)
	}
	if serverErr != nil {
		rep.fail("in-process server shutdown: %v", serverErr)
	}
	return rep, nil
}

// kcpFromEnv gives cfg the ZINX_KCP* settings of the environment, as the
// servers take them, so bots dial kcp:// with the server's KcpMTU and FEC
// (which must match) and the same tuning. The other ZINX_* keys are the
// server's and are left alone.
func kcpFromEnv(cfg zconf.Config) (zconf.Config, error) {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(strings.ToUpper(kv), "ZINX_KCP") {
			env = append(env, kv)
		}
	}
	loaded, err := zconf.Load(zconf.Source{Environ: env})
	if err != nil {
		return cfg, fmt.Errorf("the ZINX_KCP* settings: %w", err)
	}
	cfg.KcpNoDelay, cfg.KcpInterval, cfg.KcpResend, cfg.KcpNc = loaded.KcpNoDelay, loaded.KcpInterval, loaded.KcpResend, loaded.KcpNc
	cfg.KcpSendWindow, cfg.KcpRecvWindow, cfg.KcpMTU = loaded.KcpSendWindow, loaded.KcpRecvWindow, loaded.KcpMTU
	cfg.KcpFecDataShards, cfg.KcpFecParityShards = loaded.KcpFecDataShards, loaded.KcpFecParityShards
	cfg.KcpACKNoDelay, cfg.KcpSocketBuffer = loaded.KcpACKNoDelay, loaded.KcpSocketBuffer
	return cfg, nil
}

// newDialer is the bots' client: one network client for the swarm.
func (r *runner) newDialer() (*client.Dialer, error) {
	cfg, err := kcpFromEnv(zconf.Default())
	if err != nil {
		return nil, err
	}
	cfg.MaxConn = 2*r.cfg.Bots + 10 // a reconnecting bot may hold two for a moment
	cfg.MaxPackageSize = 64 << 10   // catch-up batches may be larger than live ones
	cfg.LogLevel = "warn"
	r.pingID, r.noticeID = cfg.PingMsgID, cfg.NoticeMsgID
	d, err := client.NewDialer(client.Config{
		Net: &cfg, Logger: r.log, DialTimeout: dialTimeout, RequestTimeout: replyTimeout,
		// The server ending the run's matches or the run's own end must not
		// look like a network fault to retry for long.
		Backoff: client.Backoff{Attempts: 5, Min: 50 * time.Millisecond, Max: time.Second},
	})
	if err != nil {
		return nil, fmt.Errorf("bot client: %w", err)
	}
	return d, nil
}

// closeBots closes every bot's client, then the dialer, within
// stopTimeout.
func (r *runner) closeBots() error {
	for _, b := range r.bots {
		b.mu.Lock()
		cl := b.c
		b.mu.Unlock()
		if cl != nil {
			_ = cl.Close()
		}
	}
	deadline := time.After(stopTimeout)
	for _, b := range r.bots {
		b.mu.Lock()
		cl := b.c
		b.mu.Unlock()
		if cl == nil {
			continue
		}
		select {
		case <-cl.Done():
		case <-deadline:
			return fmt.Errorf("bot %s's client did not close", b.name)
		}
	}
	return r.d.Close()
}

// startAll starts the bots, spread evenly over the ramp, in room order: a
// room's creator starts before its joiners. It fails only when the first
// bot cannot connect: the server is not there.
func (r *runner) startAll(ctx context.Context) error {
	if len(r.bots) == 0 {
		return nil
	}
	interval := r.cfg.Ramp / time.Duration(r.cfg.Bots)
	t := time.NewTimer(0)
	defer t.Stop()
	begin := time.Now()
	for i, b := range r.bots {
		t.Reset(time.Until(begin.Add(time.Duration(i) * interval)))
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		r.spawned.Go(func() { b.run(ctx) })
		if i == 0 {
			select {
			case <-ctx.Done():
				return nil
			case err := <-r.firstDial:
				if err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// vote ends the matches: it gives each room the frame to vote the result
// at (half a second of frames ahead), then waits up to Drain for every
// started match to end.
func (r *runner) vote(ctx context.Context) {
	margin := max(r.tickRate.Load()/2, 5)
	for _, rm := range r.rooms {
		rm.latest().setEndFrame(margin)
	}
	deadline := time.Now().Add(r.cfg.Drain)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for time.Now().Before(deadline) {
		done := true
		for _, rm := range r.rooms {
			if started, ended := rm.latest().state(); started && !ended {
				done = false
				break
			}
		}
		if done {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// progress prints a line a second until the run ends.
func (r *runner) progress(ctx context.Context) {
	w := r.cfg.Progress
	if w == nil {
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	prev, prevAt, prevBytes := r.counters(), time.Now(), r.matchBytes()
	var listSent, listGot uint64 // the flood's, at the previous line
	for {
		var now time.Time
		select {
		case <-ctx.Done():
			return
		case now = <-t.C:
		}
		c, bytes := r.counters(), r.matchBytes()
		dt := now.Sub(prevAt).Seconds()
		var lat botkit.HistSnap
		lat.Add(&r.lat)
		down := 0.0
		if n := r.inMatch.Load(); n > 0 {
			down = float64(bytes-prevBytes) / dt / float64(n)
		}
		fl := ""
		if r.flood != nil {
			fl, listSent, listGot = r.flood.progress(listSent, listGot, dt)
		}
		fmt.Fprintf(w, "[%5.1fs] in match %d/%d  frames/s %.0f  inputs/s %.0f  input->frame p99 %s (n=%d)  "+
			"down %.0f B/s/player  gaps %d dups %d desyncs %d  reconnects %d/%d  errors %d%s\n",
			now.Sub(r.base).Seconds(), r.inMatch.Load(), r.cfg.Bots,
			float64(c[cFramesApplied]-prev[cFramesApplied])/dt, float64(c[cInputsSent]-prev[cInputsSent])/dt,
			botkit.Ms(lat.Quantile(0.99)), lat.Count(), down, c[cGapFrames], c[cDupFrames], c[cRecvDesync],
			c[cReconnectsOK], c[cReconnects], c[cRecvError], fl)
		prev, prevAt, prevBytes = c, now, bytes
	}
}

func (r *runner) matchBytes() (n uint64) {
	for _, b := range r.bots {
		n += b.matchBytes.Load()
	}
	return n
}

func recvTotal(c [nCounters]uint64) (n uint64) {
	for _, v := range c[:nRecv] {
		n += v
	}
	return n
}

// snapshot is the state at one instant, for rates over a window.
type snapshot struct {
	at        time.Time
	ns        int64 // runner clock
	c         [nCounters]uint64
	cpu, self time.Duration
	ticks     tickSample // the server's, when its metrics are read
	ticksErr  error
}

func (r *runner) snap(cpuPID int) snapshot {
	s := snapshot{at: time.Now(), ns: r.now(), c: r.counters()}
	s.self, _ = botkit.ProcCPU(os.Getpid())
	if cpuPID > 0 {
		s.cpu, _ = botkit.ProcCPU(cpuPID)
	}
	if r.metrics != nil {
		s.ticks, s.ticksErr = readTicks(r.metrics)
	}
	return s
}

// maxDuration is the longest run allowed: maxDuration, or maxSoak with
// Soak.
func (c *Config) maxDuration() time.Duration {
	if c.Soak {
		return maxSoak
	}
	return maxDuration
}
