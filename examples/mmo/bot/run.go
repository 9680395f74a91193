package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zinxgame/zinxgame/game/mmo"
	"github.com/zinxgame/zinxgame/internal/botkit"
	"github.com/zinxgame/zinxgame/protocol/mmopb"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

// Config is one run of the bot swarm.
type Config struct {
	Addr string // server address; must be loopback (ignored with Serve) unless AllowRemote
	// AllowRemote lets Addr name another host (-allow-remote): only for
	// a stack you own, such as the compose stack's bots dialing the
	// server's container.
	AllowRemote bool
	Bots        int           // number of bots
	MoveRate    float64       // moves per second per bot
	ChatRate    float64       // chats per minute per bot
	Duration    time.Duration // the whole run, ramp included
	// Soak allows a Duration past maxDuration, up to maxSoak: an
	// operator's long run, asked for on purpose.
	Soak      bool
	Ramp      time.Duration // logins are spread over this
	Drain     time.Duration // after Duration: wait for broadcasts in flight
	Serve     bool          // run the MMO server in this process
	Transport string        // with Serve: "tcp" (or "") or "kcp"
	ServerPID int           // external server whose CPU to report; 0 for none
	Progress  io.Writer     // a line a second; nil for none
	Log       io.Writer     // framework warnings; nil to discard
}

const (
	maxDuration = 10 * time.Minute
	maxSoak     = 24 * time.Hour // with Soak
	maxBots     = 15000
	dialTimeout = 5 * time.Second
	stopTimeout = 5 * time.Second
	propBot     = "bot"
)

func (c *Config) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Bots < 1 || c.Bots > maxBots {
		bad("-bots %d: must be between 1 and %d", c.Bots, maxBots)
	}
	if !(c.MoveRate >= 0 && c.MoveRate <= 100) {
		bad("-move-rate %v: must be between 0 and 100 per second", c.MoveRate)
	}
	if !(c.ChatRate >= 0 && c.ChatRate <= 6000) {
		bad("-chat-rate %v: must be between 0 and 6000 per minute", c.ChatRate)
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
	if c.ServerPID < 0 || (c.Serve && c.ServerPID != 0) {
		bad("-server-pid %d: must be a process ID, and not given with -serve", c.ServerPID)
	}
	if c.Transport != "" && c.Transport != "tcp" && c.Transport != "kcp" {
		bad("-transport %q: must be tcp or kcp", c.Transport)
	} else if c.Transport == "kcp" && !c.Serve {
		bad("-transport kcp: only with -serve (name a KCP server with -addr kcp://host:port)")
	}
	if !c.Serve {
		if err := botkit.Target(c.Addr, c.AllowRemote); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// pidIndex maps player IDs to our bots. It is written once per login and
// read for every message received (over a million a second), so readers
// get an immutable map through one atomic load and writers copy it. The
// maps are sharded so that logging in 15,000 bots copies little.
type pidIndex struct {
	mu     sync.Mutex
	shards [64]atomic.Pointer[map[int32]*bot]
}

func (x *pidIndex) shard(pid int32) *atomic.Pointer[map[int32]*bot] {
	return &x.shards[uint32(pid)%uint32(len(x.shards))]
}

func (x *pidIndex) store(pid int32, b *bot) {
	x.mu.Lock()
	defer x.mu.Unlock()
	sh := x.shard(pid)
	next := map[int32]*bot{pid: b}
	if old := sh.Load(); old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	sh.Store(&next)
}

func (x *pidIndex) load(pid int32) (*bot, bool) {
	m := x.shard(pid).Load()
	if m == nil {
		return nil, false
	}
	b, ok := (*m)[pid]
	return b, ok
}

// runner is the state of one run, shared by every bot.
type runner struct {
	cfg     Config
	world   mmo.Config
	base    time.Time       // the clock behind now
	ctx     context.Context // bots act until it ends
	stripes [nStripes]stripe
	nextBot atomic.Uint64
	pids    pidIndex // for latency matching

	addr   string // the server's, kcp:// for KCP
	kcp    bool   // ... and so each bot pings as it connects
	pingID uint32

	loggedIn, online atomic.Int64
	gotLists         atomic.Int64  // bots that received their login list (202)
	disconnects      atomic.Uint64 // connections lost before the end
	dialErrs         atomic.Uint64
	ending           atomic.Bool // disconnects from here on are ours
	noticeLogged     atomic.Bool

	spawned botkit.Group // goroutines Run waits for
}

// now is the runner's monotonic clock, in nanoseconds.
func (r *runner) now() int64 { return int64(time.Since(r.base)) }

func (r *runner) counters() (c [nCounters]uint64) {
	for i := range r.stripes {
		for j := range c {
			c[j] += r.stripes[i].c[j].Load()
		}
	}
	return c
}

func (r *runner) hists(move, chat *botkit.HistSnap) {
	for i := range r.stripes {
		move.Add(&r.stripes[i].move)
		if chat != nil {
			chat.Add(&r.stripes[i].chat)
		}
	}
}

// snapshot is the state at one instant, for rates over a window.
type snapshot struct {
	at        time.Time
	c         [nCounters]uint64
	cpu, self time.Duration
}

func (r *runner) snap(cpuPID int) snapshot {
	s := snapshot{at: time.Now(), c: r.counters()}
	s.self, _ = botkit.ProcCPU(os.Getpid())
	if cpuPID > 0 {
		s.cpu, _ = botkit.ProcCPU(cpuPID)
	}
	return s
}

// Run runs the swarm for cfg.Duration and reports.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	log := slog.New(slog.DiscardHandler)
	if cfg.Log != nil {
		log = slog.New(slog.NewTextHandler(cfg.Log, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	r := &runner{cfg: cfg, world: mmo.DefaultConfig(), base: time.Now()}
	addr, cpuPID := cfg.Addr, cfg.ServerPID
	var srv *inproc
	if cfg.Serve {
		var err error
		if srv, err = startServer(cfg.Bots, log, cfg.Transport == "kcp"); err != nil {
			return nil, err
		}
		defer srv.stop()
		addr, cpuPID = srv.addr, os.Getpid()
	}
	if cpuPID > 0 {
		if _, err := botkit.ProcCPU(cpuPID); err != nil {
			return nil, fmt.Errorf("-server-pid %d: %w", cpuPID, err)
		}
	}
	r.addr = addr
	cl, err := r.newClient(log)
	if err != nil {
		return nil, err
	}
	defer cl.Close()

	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	r.ctx = runCtx
	start := r.snap(cpuPID)
	r.spawned.Go(r.progress)
	dialErr := r.dialAll(runCtx, cl, addr)
	ramped := r.snap(cpuPID)
	if dialErr == nil {
		<-runCtx.Done()
	}
	cancel()
	end := r.snap(cpuPID)
	if dialErr == nil && ctx.Err() == nil {
		t := time.NewTimer(cfg.Drain)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}

	r.ending.Store(true)
	sctx, scancel := context.WithTimeout(context.Background(), stopTimeout)
	defer scancel()
	clientErr := cl.Shutdown(sctx)
	r.spawned.Wait()
	var serverErr error
	if srv != nil {
		serverErr = srv.stop()
	}
	if dialErr != nil {
		return nil, dialErr
	}
	rep := r.report(addr, cpuPID, start, ramped, end, cl.Stats().DecodeErrors)
	if clientErr != nil {
		rep.fail("bots did not disconnect within %s: %v", stopTimeout, clientErr)
	}
	if serverErr != nil {
		rep.fail("in-process server shutdown: %v", serverErr)
	}
	return rep, nil
}

func (r *runner) newClient(log *slog.Logger) (*znet.Client, error) {
	cfg := zconf.Default()
	cfg.WorkerPoolSize = zconf.Off // handlers run on each connection's reader
	cfg.MaxConn = r.cfg.Bots + 10
	cfg.IOReadBuffSize = 16 << 10
	cfg.LogLevel = "warn"
	cl, err := znet.NewClient(cfg, znet.WithLogger(log))
	if err != nil {
		return nil, err
	}
	r.kcp, r.pingID = botkit.IsKCP(r.addr), cfg.PingMsgID
	cl.SetOnConnStart(r.onConnect)
	cl.AddRouterFunc(cfg.PingMsgID, func(ziface.IRequest) {}) // the answer to onConnect's ping
	cl.SetOnConnStop(r.onDisconnect)
	cl.AddRouterFunc(mmopb.MsgSyncPID, r.onSyncPID)
	cl.AddRouterFunc(mmopb.MsgBroadCast, r.onBroadCast)
	cl.AddRouterFunc(mmopb.MsgLeave, r.onLeave)
	cl.AddRouterFunc(mmopb.MsgSyncPlayers, r.onSyncPlayers)
	cl.AddRouterFunc(cfg.NoticeMsgID, r.onNotice)
	cl.AddRouterFunc(mmopb.MsgMmoError, r.onError)
	cl.SetNotFound(func(req ziface.IRequest) { botOf(req).count(cRecvUnknownID) })
	return cl, nil
}

// dialAll logs the bots in, spread evenly over the ramp. It fails only
// when the first bot cannot connect: the server is not there.
func (r *runner) dialAll(ctx context.Context, cl *znet.Client, addr string) error {
	interval := r.cfg.Ramp / time.Duration(r.cfg.Bots)
	t := time.NewTimer(0)
	defer t.Stop()
	begin := time.Now()
	for i := range r.cfg.Bots {
		t.Reset(time.Until(begin.Add(time.Duration(i) * interval)))
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		dctx, cancel := context.WithTimeout(ctx, dialTimeout)
		_, err := botkit.Dial(dctx, cl, addr)
		cancel()
		switch {
		case err == nil || ctx.Err() != nil:
		case i == 0:
			return err
		default:
			if r.dialErrs.Add(1) == 1 && r.cfg.Progress != nil {
				fmt.Fprintf(r.cfg.Progress, "dial failed (first of possibly more): %v\n", err)
			}
		}
	}
	return nil
}

// progress prints a line a second until the run ends.
func (r *runner) progress() {
	w := r.cfg.Progress
	if w == nil {
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	prev, prevAt := r.counters(), time.Now()
	move := new(botkit.HistSnap)
	for {
		var now time.Time
		select {
		case <-r.ctx.Done():
			return
		case now = <-t.C:
		}
		c := r.counters()
		dt := now.Sub(prevAt).Seconds()
		*move = botkit.HistSnap{}
		r.hists(move, nil)
		fmt.Fprintf(w, "[%5.1fs] online %d/%d  moves/s %.0f  recv/s %.0f  move p99 %s (n=%d)  decode errors %d\n",
			now.Sub(r.base).Seconds(), r.online.Load(), r.cfg.Bots,
			float64(c[cMovesSent]-prev[cMovesSent])/dt, float64(recvTotal(c)-recvTotal(prev))/dt,
			botkit.Ms(move.Quantile(0.99)), move.Count(), c[cUnmarshalErr]+c[cMalformed]+c[cRecvUnknownID])
		prev, prevAt = c, now
	}
}

func recvTotal(c [nCounters]uint64) (n uint64) {
	for _, v := range c[:nRecv] {
		n += v
	}
	return n
}

// inproc is the MMO server run in this process with -serve.
type inproc struct {
	srv      *znet.Server
	addr     string
	served   chan error
	stopOnce sync.Once
	err      error
}

func startServer(bots int, log *slog.Logger, kcp bool) (*inproc, error) {
	cfg := zconf.Default()
	cfg.Host = "127.0.0.1"
	cfg.MaxConn = max(cfg.MaxConn, bots+100)
	cfg.LogLevel = "warn"
	srv, err := znet.NewServer(cfg, znet.WithLogger(log))
	if err != nil {
		return nil, err
	}
	w, err := mmo.NewWorld(mmo.DefaultConfig(), log)
	if err != nil {
		return nil, err
	}
	if err := srv.Mount("mmo", w); err != nil {
		return nil, err
	}
	var l net.Listener
	if kcp {
		l, err = znet.ListenKCP(net.JoinHostPort(cfg.Host, "0"), cfg) // a free port
	} else {
		l, err = net.Listen("tcp", net.JoinHostPort(cfg.Host, "0"))
	}
	if err != nil {
		return nil, err
	}
	s := &inproc{srv: srv, addr: l.Addr().String(), served: make(chan error, 1)}
	if kcp {
		s.addr = botkit.KCPScheme + s.addr
	}
	go func() { s.served <- srv.Serve(l) }()
	return s, nil
}

func (s *inproc) stop() error {
	s.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		s.err = s.srv.Shutdown(ctx)
		if err := <-s.served; !errors.Is(err, znet.ErrServerClosed) {
			s.err = errors.Join(s.err, err)
		}
	})
	return s.err
}

// maxDuration is the longest run allowed: maxDuration, or maxSoak with
// Soak.
func (c *Config) maxDuration() time.Duration {
	if c.Soak {
		return maxSoak
	}
	return maxDuration
}
