package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/internal/botkit"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

// Listing under load (-fill-rooms, -list-rate, -list-conns): rooms that
// stay open and tick without a match, and a steady flood of RoomList
// requests, to see what listing costs the server's ticks. It runs on a
// client of its own, so the playing bots' counters and verdict stay
// theirs, and it can run with no playing bot at all (-bots 0).
//
// Each fill room is one connection that logs in and creates a room of
// fillSeats seats with a ready timeout longer than the run, then only
// holds it: nobody joins, nobody is ready, so the room stays open (and
// ticks, at the run's -tick-rate) until the connection closes. The list
// flood starts once every fill room is open; it is -list-rate requests a
// second in all, spread evenly over -list-conns logged-in connections,
// each connection's requests spaced evenly and the connections' phases
// staggered, so the server sees one even stream.
const (
	fillSeats = 4 // a fill room's max_players: above 1, or it would start at once
	// maxListPerConn keeps each list connection under the demo server's
	// per-connection message limit (MsgRateLimit 60/s, burst 120,
	// MsgRatePolicy disconnect: examples/lockstep and conf/lockstep.json).
	maxListPerConn = 50
	maxFillRooms   = 10000 // the server's default MaxRooms
	maxListConns   = 1000
	// maxOutstanding bounds a list connection's unanswered requests: past
	// it the connection skips its turns (counted) until replies come.
	maxOutstanding = 1024
	fillWorkers    = 64 // fill rooms being opened at once, at most
	listDrain      = time.Second
	propFlood      = "lsflood"
)

// floodWanted reports whether the run has listing load.
func (c *Config) floodWanted() bool { return c.FillRooms > 0 || c.ListRate > 0 }

// validateFlood checks the listing flags.
func (c *Config) validateFlood() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.FillRooms < 0 || c.FillRooms > maxFillRooms {
		bad("-fill-rooms %d: must be between 0 and %d", c.FillRooms, maxFillRooms)
	}
	if !(c.ListRate >= 0 && c.ListRate <= maxListPerConn*maxListConns) {
		bad("-list-rate %v: must be between 0 and %d per second", c.ListRate, maxListPerConn*maxListConns)
	}
	if c.ListRate > 0 {
		if c.ListConns < 1 || c.ListConns > maxListConns {
			bad("-list-conns %d: must be between 1 and %d with -list-rate", c.ListConns, maxListConns)
		} else if per := c.ListRate / float64(c.ListConns); per > maxListPerConn {
			bad("-list-rate %v over -list-conns %d is %.1f a connection a second: at most %d (the server's MsgRateLimit is 60); use more connections",
				c.ListRate, c.ListConns, per, maxListPerConn)
		}
	}
	return errs
}

// flood is one run's listing load.
type flood struct {
	cfg  Config
	addr string
	cl   *znet.Client
	// ending is set once the run is over: disconnects are then ours.
	ending  atomic.Bool
	spawned botkit.Group

	opened, dialErrs, lost, sendErrs, unknown    atomic.Uint64
	listsSent, replies, refused, skipped, listed atomic.Uint64
	lat                                          botkit.Hist // RoomList -> RoomListAck

	mu       sync.Mutex // guards the fields below
	errCodes map[string]uint64
	notices  map[string]uint64
	firstErr error // the first fill room that failed, for the report
}

// floodConn is one connection of the flood.
type floodConn struct {
	f    *flood
	conn *znet.Connection
	ev   chan proto.Message // LoginAck, RoomState, Error: for the opener

	mu     sync.Mutex
	sentAt []time.Time // RoomList requests not answered yet, oldest first
}

func newFlood(cfg Config, addr string, log *slog.Logger) (*flood, error) {
	zc := zconf.Default()
	zc.WorkerPoolSize = zconf.Off
	zc.MaxConn = cfg.FillRooms + cfg.ListConns + 10
	zc.HeartbeatTimeout = zconf.Disabled
	zc.FirstMessageTimeout = zconf.Disabled
	zc.LogLevel = "warn"
	cl, err := znet.NewClient(zc, znet.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("flood client: %w", err)
	}
	f := &flood{cfg: cfg, addr: addr, cl: cl, errCodes: map[string]uint64{}, notices: map[string]uint64{}}
	f.routes(zc.NoticeMsgID)
	return f, nil
}

func (f *flood) routes(noticeID uint32) {
	on := func(id uint32, h func(fc *floodConn, data []byte)) {
		f.cl.AddRouterFunc(id, func(req ziface.IRequest) {
			if v, _ := req.GetConnection().GetProperty(propFlood); v != nil {
				h(v.(*floodConn), req.GetData())
			}
		})
	}
	forward := func(m func() proto.Message) func(fc *floodConn, data []byte) {
		return func(fc *floodConn, data []byte) {
			msg := m()
			if proto.Unmarshal(data, msg) != nil {
				f.unknown.Add(1)
				return
			}
			select {
			case fc.ev <- msg:
			default: // nobody waits: a late answer
			}
		}
	}
	on(lspb.MsgLoginAck, forward(func() proto.Message { return &commonpb.LoginAck{} }))
	on(lspb.MsgRoomState, forward(func() proto.Message { return &lspb.RoomState{} }))
	on(lspb.MsgRoomListAck, f.onList)
	on(lspb.MsgError, func(fc *floodConn, data []byte) {
		m := &commonpb.Error{}
		if proto.Unmarshal(data, m) != nil {
			f.unknown.Add(1)
			return
		}
		f.mu.Lock()
		f.errCodes[m.Code.String()]++
		f.mu.Unlock()
		if m.RequestId == lspb.MsgRoomList {
			f.refused.Add(1)
			fc.answered() // an Error answers the request it refuses
			return
		}
		select {
		case fc.ev <- m:
		default:
		}
	})
	on(noticeID, func(_ *floodConn, data []byte) {
		code := "unparsable"
		if n, err := znet.ParseNotice(data); err == nil {
			code = n.Code
		}
		f.mu.Lock()
		f.notices[code]++
		f.mu.Unlock()
	})
	on(lspb.MsgPlayerEvent, func(*floodConn, []byte) {}) // a fill room's own join: expected
	on(lspb.MsgMatchStart, func(*floodConn, []byte) {})  // -fill-running: the fill room's own match
	on(lspb.MsgFrames, func(*floodConn, []byte) {})
	f.cl.SetNotFound(func(ziface.IRequest) { f.unknown.Add(1) })
	f.cl.SetOnConnStop(func(c ziface.IConnection) {
		if v, _ := c.GetProperty(propFlood); v != nil && !f.ending.Load() {
			f.lost.Add(1)
		}
	})
}

// onList times a RoomListAck against the oldest request waiting on fc:
// a connection's replies come in the order of its requests.
func (f *flood) onList(fc *floodConn, data []byte) {
	m := &lspb.RoomListAck{}
	if proto.Unmarshal(data, m) != nil {
		f.unknown.Add(1)
		return
	}
	f.replies.Add(1)
	f.listed.Add(uint64(len(m.Rooms)))
	if at, ok := fc.answered(); ok {
		f.lat.Record(time.Since(at))
	}
}

// answered pops the oldest request waiting for an answer.
func (fc *floodConn) answered() (time.Time, bool) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if len(fc.sentAt) == 0 {
		return time.Time{}, false
	}
	at := fc.sentAt[0]
	fc.sentAt = fc.sentAt[1:]
	return at, true
}

// open dials and logs in a connection of the flood.
func (f *flood) open(ctx context.Context, name string) (*floodConn, error) {
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	conn, err := botkit.Dial(dctx, f.cl, f.addr)
	cancel()
	if err != nil {
		f.dialErrs.Add(1)
		return nil, err
	}
	fc := &floodConn{f: f, conn: conn, ev: make(chan proto.Message, 4)}
	conn.SetProperty(propFlood, fc) // before Login: nothing arrives earlier
	if _, err := fc.ask(ctx, lspb.MsgLogin, &commonpb.Login{Name: name}); err != nil {
		conn.Stop()
		return nil, fmt.Errorf("login: %w", err)
	}
	return fc, nil
}

// ask sends m and waits for the answer the opener expects.
var errConnClosed = errors.New("connection closed")

func (fc *floodConn) ask(ctx context.Context, id uint32, m proto.Message) (proto.Message, error) {
	if err := fc.send(id, m); err != nil {
		return nil, err
	}
	t := time.NewTimer(replyTimeout)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-fc.conn.Done():
		return nil, errConnClosed
	case <-t.C:
		return nil, fmt.Errorf("no answer to %d within %s", id, replyTimeout)
	case got := <-fc.ev:
		if e, ok := got.(*commonpb.Error); ok {
			return nil, fmt.Errorf("server error %s answering %d: %s", e.Code, e.RequestId, e.Message)
		}
		return got, nil
	}
}

func (fc *floodConn) send(id uint32, m proto.Message) error {
	data, err := proto.Marshal(m)
	if err == nil {
		err = fc.conn.SendMsg(id, data)
	}
	if err != nil {
		fc.f.sendErrs.Add(1)
		return fmt.Errorf("sending %d: %w", id, err)
	}
	return nil
}

// fill opens the fill rooms, spread evenly over the ramp, and returns
// when every one is open or failed. It fails only when none could be
// opened and the first dial failed: the server is not there.
func (f *flood) fill(ctx context.Context) error {
	n := f.cfg.FillRooms
	if n == 0 {
		return nil
	}
	opts := &lspb.RoomOptions{
		MaxPlayers: fillSeats, TickRate: f.cfg.TickRate,
		FramesPerPacket: f.cfg.FramesPerPacket, HashInterval: f.cfg.HashInterval,
		// Longer than the run: the room never starts on its own.
		ReadyTimeoutMs: uint32((f.cfg.Duration + time.Minute).Milliseconds()),
	}
	if f.cfg.FillRunning {
		// One seat: the match starts at once and runs through the run, so
		// the room is not open, and a RoomList of open rooms finds none of
		// them. Ten frames a packet keep the fill connections' reading low.
		opts.MaxPlayers, opts.FramesPerPacket = 1, 10
		opts.MaxDurationS = uint32((f.cfg.Duration + time.Minute).Seconds())
	}
	interval := f.cfg.Ramp / time.Duration(n)
	begin := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(fillWorkers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if d := time.Until(begin.Add(time.Duration(i) * interval)); d > 0 {
					select {
					case <-ctx.Done():
						return
					case <-time.After(d):
					}
				}
				if err := f.openRoom(ctx, i, opts); err != nil && ctx.Err() == nil {
					f.mu.Lock()
					if f.firstErr == nil {
						f.firstErr = fmt.Errorf("fill room %d: %w", i, err)
					}
					f.mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if f.opened.Load() == 0 && f.dialErrs.Load() > 0 {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.firstErr
	}
	return nil
}

// openRoom opens fill room i and leaves its connection holding it.
func (f *flood) openRoom(ctx context.Context, i int, opts *lspb.RoomOptions) error {
	fc, err := f.open(ctx, fmt.Sprintf("fill-%d", i))
	if err != nil {
		return err
	}
	m, err := fc.ask(ctx, lspb.MsgRoomCreate, &lspb.RoomCreate{Options: opts})
	if err != nil {
		fc.conn.Stop()
		return fmt.Errorf("RoomCreate: %w", err)
	}
	if _, ok := m.(*lspb.RoomState); !ok {
		fc.conn.Stop()
		return fmt.Errorf("RoomCreate answered with %T, want RoomState", m)
	}
	f.opened.Add(1)
	return nil
}

// list logs in the list connections, then sends their RoomList requests
// until ctx ends, and waits up to listDrain for the last answers.
func (f *flood) list(ctx context.Context) error {
	if f.cfg.ListRate <= 0 {
		return nil
	}
	conns := make([]*floodConn, 0, f.cfg.ListConns)
	for i := range f.cfg.ListConns {
		fc, err := f.open(ctx, fmt.Sprintf("lister-%d", i))
		if err != nil {
			return fmt.Errorf("list connection %d: %w", i, err)
		}
		conns = append(conns, fc)
	}
	period := time.Duration(float64(time.Second) * float64(len(conns)) / f.cfg.ListRate)
	begin := time.Now()
	for i, fc := range conns {
		phase := period * time.Duration(i) / time.Duration(len(conns))
		f.spawned.Go(func() { fc.lister(ctx, begin.Add(phase), period) })
	}
	return nil
}

// lister sends a RoomList at first, first+period, ... until ctx ends. A
// turn missed (the goroutine ran late) is not made up: the rate is never
// exceeded, and the connection stays under the server's limit.
func (fc *floodConn) lister(ctx context.Context, first time.Time, period time.Duration) {
	t := time.NewTimer(time.Until(first))
	defer t.Stop()
	next := first
	for {
		select {
		case <-ctx.Done():
			return
		case <-fc.conn.Done():
			return
		case <-t.C:
		}
		fc.mu.Lock()
		full := len(fc.sentAt) >= maxOutstanding
		if !full {
			fc.sentAt = append(fc.sentAt, time.Now())
		}
		fc.mu.Unlock()
		if full {
			fc.f.skipped.Add(1)
		} else if fc.send(lspb.MsgRoomList, &lspb.RoomList{OpenOnly: fc.f.cfg.FillRunning}) == nil {
			fc.f.listsSent.Add(1)
		}
		now := time.Now()
		for next = next.Add(period); !next.After(now); next = next.Add(period) {
		}
		t.Reset(time.Until(next))
	}
}

// outstanding is how many list requests are still unanswered.
func (f *flood) outstanding() uint64 {
	sent, got := f.listsSent.Load(), f.replies.Load()+f.refused.Load()
	if got >= sent {
		return 0
	}
	return sent - got
}

// stop waits for the listers and the last answers, then closes every
// connection of the flood.
func (f *flood) stop() error {
	f.spawned.Wait()
	deadline := time.Now().Add(listDrain)
	for f.outstanding() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	f.ending.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	return f.cl.Shutdown(ctx)
}

// progress is the flood's part of the progress line.
func (f *flood) progress(prevSent, prevReplies uint64, dt float64) (string, uint64, uint64) {
	sent, got := f.listsSent.Load(), f.replies.Load()
	return fmt.Sprintf("  fill rooms %d/%d  lists/s %.0f replies/s %.0f", f.opened.Load(), f.cfg.FillRooms,
		float64(sent-prevSent)/dt, float64(got-prevReplies)/dt), sent, got
}

// FloodReport is the listing load's outcome.
type FloodReport struct {
	FillRooms   int               `json:"fill_rooms"`
	FillRunning bool              `json:"fill_running"`
	Opened      uint64            `json:"fill_rooms_opened"`
	ListRate    float64           `json:"list_rate_per_s"`
	ListConns   int               `json:"list_conns"`
	Seconds     float64           `json:"list_seconds"` // the list flood's window: after the ramp to the end
	ListsSent   uint64            `json:"lists_sent"`
	Replies     uint64            `json:"replies"`
	Unanswered  uint64            `json:"unanswered"`
	Skipped     uint64            `json:"skipped_backlog"` // turns skipped: maxOutstanding unanswered
	MeanListed  float64           `json:"mean_rooms_listed"`
	Latency     Latency           `json:"list_latency"`
	DialErrors  uint64            `json:"dial_errors"`
	Lost        uint64            `json:"lost_connections"`
	SendErrors  uint64            `json:"send_errors"`
	Unknown     uint64            `json:"unknown_or_undecodable"`
	Errors      map[string]uint64 `json:"errors,omitempty"`
	Notices     map[string]uint64 `json:"notices,omitempty"`
	FirstFailed string            `json:"first_fill_failure,omitempty"`
}

func (f *flood) report(listSeconds float64) *FloodReport {
	fr := &FloodReport{
		FillRooms: f.cfg.FillRooms, FillRunning: f.cfg.FillRunning, Opened: f.opened.Load(), ListRate: f.cfg.ListRate, ListConns: f.cfg.ListConns,
		Seconds: listSeconds, ListsSent: f.listsSent.Load(), Replies: f.replies.Load(), Unanswered: f.outstanding(),
		Skipped: f.skipped.Load(), Latency: summary(&f.lat), DialErrors: f.dialErrs.Load(), Lost: f.lost.Load(),
		SendErrors: f.sendErrs.Load(), Unknown: f.unknown.Load(),
	}
	if fr.Replies > 0 {
		fr.MeanListed = float64(f.listed.Load()) / float64(fr.Replies)
	}
	if fr.ListConns == 0 || fr.ListRate == 0 {
		fr.ListConns = 0
	}
	f.mu.Lock()
	if len(f.errCodes) > 0 {
		fr.Errors = maps.Clone(f.errCodes)
	}
	if len(f.notices) > 0 {
		fr.Notices = maps.Clone(f.notices)
	}
	if f.firstErr != nil {
		fr.FirstFailed = f.firstErr.Error()
	}
	f.mu.Unlock()
	return fr
}

// judge adds the flood's failures to rep: a fill room not opened, a list
// request unanswered or refused, a connection lost.
func (fr *FloodReport) judge(rep *Report) {
	if fr.Opened < uint64(fr.FillRooms) {
		rep.fail("fill rooms: %d of %d opened (%s)", fr.Opened, fr.FillRooms, fr.FirstFailed)
	}
	if fr.Unanswered > 0 || fr.Skipped > 0 {
		rep.fail("room list flood: %d requests unanswered, %d turns skipped for a backlog", fr.Unanswered, fr.Skipped)
	}
	if n := sum(fr.Errors) + sum(fr.Notices); n > 0 {
		rep.fail("listing load: %d errors %v and notices %v from the server", n, fr.Errors, fr.Notices)
	}
	if fr.Lost > 0 || fr.DialErrors > 0 || fr.SendErrors > 0 || fr.Unknown > 0 {
		rep.fail("listing load: %d connections lost, %d dial errors, %d send errors, %d unknown messages",
			fr.Lost, fr.DialErrors, fr.SendErrors, fr.Unknown)
	}
}

func (fr *FloodReport) lines(p func(format string, args ...any)) {
	if fr.FillRunning {
		p("  fill rooms    %d of %d running a 1-seat match through the run (RoomList asks for open rooms only)", fr.Opened, fr.FillRooms)
	} else {
		p("  fill rooms    %d of %d open (%d seats, nobody ready), ticking through the run", fr.Opened, fr.FillRooms, fillSeats)
	}
	if fr.ListConns == 0 {
		p("  room list     no flood (-list-rate 0)")
	} else {
		rate := 0.0
		if fr.Seconds > 0 {
			rate = float64(fr.Replies) / fr.Seconds
		}
		p("  room list     %g/s asked over %d connections: %d sent, %d answered (%.0f/s over %.1fs), %d unanswered, %d skipped; %.1f rooms a reply",
			fr.ListRate, fr.ListConns, fr.ListsSent, fr.Replies, rate, fr.Seconds, fr.Unanswered, fr.Skipped, fr.MeanListed)
		l := fr.Latency
		p("  list latency  n=%d  p50 %s  p90 %s  p99 %s  max %s", l.Count, l.P50, l.P90, l.P99, l.Max)
	}
	p("  listing load  errors %v, notices %v; %d connections lost, %d dial errors, %d send errors, %d unknown messages",
		fr.Errors, fr.Notices, fr.Lost, fr.DialErrors, fr.SendErrors, fr.Unknown)
}
