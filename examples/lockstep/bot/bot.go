package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zinxgame/zinxgame/client"
	"github.com/zinxgame/zinxgame/examples/lockstep/demo"
	"github.com/zinxgame/zinxgame/protocol/lspb"
)

// bot is one simulated player, on the client package: its goroutine (run)
// logs in, takes a seat, sends inputs and now and then drops its
// connection (Redial); the client reconnects, resumes the seat and hands
// every frame, once and in order, to the bot's Game (game.go), on the
// client's event goroutine. The two sides share the bot's state under mu.
type bot struct {
	r       *runner
	idx     int
	rm      *room
	creator bool
	name    string
	c       *client.Lockstep // set once dialled
	wake    chan struct{}    // a callback -> run: something arrived
	resumed chan struct{}    // a callback -> run: the match's MatchStart came back after a reconnection
	endCh   chan struct{}    // closed at MatchEnd
	rng     *rand.Rand       // run's only
	player  uint64           // run's only: the account, from the first login

	mu        sync.Mutex // guards the fields below
	gen       uint32     // connections so far: inputs are timed on the one they were sent on
	redialing bool       // the bot itself is replacing the connection
	slot      uint32     // our seat
	roomID    uint64     // from RoomState
	seated    map[uint64]bool
	maxSeat   uint32 // the room's max_players
	started   bool   // our match started (first MatchStart)
	ended     bool   // ... and ended (MatchEnd)
	matchID   uint64
	seed      uint64
	sim       *demo.Sim
	fly       inflight
	ring      hashRing
	voted     bool
	vote      []byte
	// A reconnection under way: its MatchStart came at reconnectAt, and
	// the first live frame after it ends the catch-up.
	catchingUp  bool
	reconnectAt int64
	// After a server restart (restart.go): rejoining until the new
	// match starts; everDialled and everStarted keep the run's counts
	// per bot, however many matches it plays.
	rejoining   bool
	everDialled bool
	everStarted bool

	lastFrame  atomic.Uint32 // the last frame applied: the vote's frame
	bytes      atomic.Uint64 // received, frame heads included
	matchBytes atomic.Uint64 // received from the first MatchStart to the end of the run
	matchAt    atomic.Int64  // runner clock of the first MatchStart; 0 before
}

var errNoSeat = errors.New("the server holds no seat for the bot any more")

func newBot(r *runner, idx int, rm *room) *bot {
	return &bot{
		r: r, idx: idx, rm: rm, creator: idx%r.cfg.Players == 0,
		name: "bot-" + strconv.Itoa(idx), wake: make(chan struct{}, 1), resumed: make(chan struct{}, 1),
		endCh:  make(chan struct{}),
		rng:    rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		seated: map[uint64]bool{},
	}
}

// notify wakes run (it looks at the shared state itself).
func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// run is the bot's life: take a seat, play until the run ends.
func (b *bot) run(ctx context.Context) {
	for {
		if err := b.join(ctx); err != nil {
			b.mu.Lock()
			rejoining := b.rejoining
			b.mu.Unlock()
			switch {
			case ctx.Err() != nil:
			case rejoining:
				b.r.add(cRejoinFailed, 1)
				b.r.botFailed(refusal("rejoining after a server restart", err), err)
			case b.idx != 0 || b.c != nil: // bot-0 failing to connect at all ends the run with its error
				b.r.botFailed(refusal("joining a match", err), err)
			}
			return
		}
		b.play(ctx)
		if !b.shutdownEnded(ctx) {
			return
		}
		again, err := b.rejoin(ctx)
		if err != nil {
			b.r.add(cRejoinFailed, 1)
			b.r.botFailed(refusal("rejoining after a server restart", err), err)
			return
		}
		if !again {
			b.r.add(cTooLate, 1)
			return
		}
	}
}

// dial connects and logs in (the client does both).
func (b *bot) dial(ctx context.Context) error {
	dctx, cancel := context.WithTimeout(ctx, dialTimeout+replyTimeout)
	start := time.Now()
	c, err := b.r.d.DialLockstep(dctx, b.r.addr, client.Player{Name: b.name}, b.handler())
	cancel()
	if err == nil {
		b.r.login.Record(time.Since(start))
	}
	b.mu.Lock()
	first := !b.everDialled
	b.mu.Unlock()
	if b.idx == 0 && first {
		b.r.firstDial <- err
	}
	if err != nil {
		if first {
			b.r.dialErrs.Add(1)
		}
		return err
	}
	b.mu.Lock()
	b.c, b.gen, b.everDialled = c, 1, true
	b.mu.Unlock()
	b.player = c.PlayerID()
	if first {
		b.r.loggedIn.Add(1)
	}
	return nil
}

// join logs in, creates or joins the group's room, sends Ready once the
// room is full, and waits for MatchStart.
func (b *bot) join(ctx context.Context) error {
	if b.creator {
		defer b.rm.publish(0) // the joiners stop waiting if we fail (no-op once published)
	}
	b.mu.Lock()
	rejoining := b.rejoining
	b.mu.Unlock()
	dial := b.dial
	if rejoining {
		dial = b.dialRetrying
	}
	if err := dial(ctx); err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, replyTimeout)
	defer cancel()
	if b.creator {
		st, err := b.c.Create(rctx, b.r.roomOptions(), "")
		if err == nil && st.GetRoom().GetRoomId() == 0 {
			err = errors.New("RoomState with room_id 0")
		}
		if err != nil {
			return fmt.Errorf("RoomCreate: %w", err)
		}
		b.rm.publish(st.Room.RoomId)
		if b.idx == 0 {
			b.listRooms(rctx, st.Room.RoomId)
		}
	} else {
		id, err := b.rm.wait(ctx)
		if err == nil {
			_, err = b.c.Join(rctx, id)
		}
		if err != nil {
			return fmt.Errorf("RoomJoin: %w", err)
		}
	}
	// Ready once every seat is taken: a server may start a room whose
	// present players are all ready, and a lone creator would be.
	for ready := false; ; {
		b.mu.Lock()
		started, full := b.started, b.fullLocked()
		if started && b.rejoining {
			b.rejoining = false
			b.r.add(cRejoined, 1)
		}
		b.mu.Unlock()
		if started {
			return nil
		}
		if full && !ready {
			if err := b.c.Ready(true); err != nil {
				b.r.add(cSendErr, 1)
				return err
			}
			ready = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-b.c.Done():
			return fmt.Errorf("waiting for MatchStart: %w", b.c.Err())
		case <-b.wake:
		}
	}
}

// fullLocked reports whether every seat of the bot's room is taken, as far
// as the bot has heard; call it with mu held. A Create or Join returns as
// soon as its answer arrives, before the event goroutine has applied the
// RoomState: until then the bot counts the seats it asked for (Players),
// never 0, or a creator found its empty room "full", sent Ready, and the
// server started the match with it alone (the joiners then got
// ERROR_ROOM_CLOSED: the flake of TestRunServe and TestRunServeRedis).
func (b *bot) fullLocked() bool {
	seats := b.maxSeat
	if seats == 0 {
		seats = uint32(b.r.cfg.Players)
	}
	return uint32(len(b.seated)) >= seats
}

// listRooms checks RoomList once a run: the room just created is listed.
func (b *bot) listRooms(ctx context.Context, id uint64) {
	result := func(ok bool, format string, args ...any) {
		b.r.mu.Lock()
		b.r.listOK, b.r.roomList = ok, fmt.Sprintf(format, args...)
		b.r.mu.Unlock()
	}
	ack, err := b.c.List(ctx, &lspb.RoomList{})
	if err != nil {
		result(false, "RoomList: %v", err)
		return
	}
	for _, ri := range ack.Rooms {
		if ri.RoomId == id {
			result(true, "ok: %d rooms listed, bot-0's room %d among them (%s, %d players)",
				len(ack.Rooms), id, ri.Status, ri.Players)
			return
		}
	}
	result(false, "RoomListAck: %d rooms listed, not bot-0's room %d", len(ack.Rooms), id)
}

// play sends inputs at InputRate and, with ReconnectProb a second, drops
// the connection and reconnects, until the run or the match ends.
func (b *bot) play(ctx context.Context) {
	cfg := b.r.cfg
	now := time.Now()
	var inputEvery time.Duration
	var nextInput time.Time
	if cfg.InputRate > 0 {
		inputEvery = time.Duration(float64(time.Second) / cfg.InputRate)
		nextInput = now.Add(time.Duration(b.rng.Int64N(int64(inputEvery))))
	}
	var nextCheck, nextSwitch time.Time
	if cfg.ReconnectProb > 0 {
		nextCheck = now.Add(time.Duration(b.rng.Int64N(int64(time.Second))))
	}
	if b.r.switchAddr != "" {
		nextSwitch = now.Add(b.switchDelay())
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := nextInput
		if next.IsZero() || (!nextCheck.IsZero() && nextCheck.Before(next)) {
			next = nextCheck
		}
		if next.IsZero() || (!nextSwitch.IsZero() && nextSwitch.Before(next)) {
			next = nextSwitch
		}
		var fire <-chan time.Time
		if !next.IsZero() {
			timer.Reset(time.Until(next))
			fire = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-b.c.Done(): // the client gave up: counted by its OnState
			return
		case <-b.endCh:
			return
		case now = <-fire:
		}
		if !nextInput.IsZero() && !now.Before(nextInput) {
			b.input()
			nextInput = later(nextInput.Add(inputEvery), now)
		}
		if !nextSwitch.IsZero() && !now.Before(nextSwitch) {
			nextSwitch = now.Add(b.switchDelay())
			if time.Until(b.r.deadline) > b.r.quiet() {
				if err := b.switchTransport(ctx); err != nil {
					if ctx.Err() == nil {
						b.r.add(cSwitchesFailed, 1)
						b.r.botFailed("switching transport", err)
					}
					return
				}
			}
		}
		if !nextCheck.IsZero() && !now.Before(nextCheck) {
			nextCheck = later(nextCheck.Add(time.Second), now)
			if b.rng.Float64() < cfg.ReconnectProb && time.Until(b.r.deadline) > b.r.quiet() {
				if err := b.reconnect(ctx); err != nil {
					if ctx.Err() == nil {
						b.r.add(cReconnectsFailed, 1)
						b.r.botFailed(refusal("reconnecting", err), err)
					}
					return
				}
			}
		}
	}
}

// later keeps a schedule from bursting to catch up after a stall.
func later(next, now time.Time) time.Time {
	if next.Before(now) {
		return now
	}
	return next
}

// input sends a random (dx, dy), remembering when, to time its frame. An
// input the client refuses (its connection is down) is counted and
// skipped: the bot goes on.
func (b *bot) input() {
	dx, dy := int8(b.rng.IntN(3)-1), int8(b.rng.IntN(3)-1)
	b.mu.Lock()
	defer b.mu.Unlock() // held across the send: the frame carrying it must find it waiting
	if b.ended {
		return // the match is over (play returns at its next wake-up)
	}
	seq, err := b.c.Input(demo.EncodeInput(dx, dy))
	if err != nil {
		b.r.add(cSendErr, 1)
		return
	}
	if b.fly.push(sent{seq: seq, at: b.r.now(), gen: b.gen}) {
		b.r.add(cInputsExpired, 1)
	}
	b.r.add(cInputsSent, 1)
}

// reconnect drops the connection, stays offline for a while (Offline/2 to
// Offline) and has the client dial again, log in with the token and send
// Reconnect with the last frame applied. It returns once MatchStart is
// back; the Game checks what follows (catch-up from exactly the next
// frame, then live frames with no gap) with the client's counters.
func (b *bot) reconnect(ctx context.Context) error {
	b.r.add(cReconnects, 1)
	var off time.Duration
	if o := b.r.cfg.Offline; o > 0 {
		off = o/2 + time.Duration(b.rng.Int64N(int64(o/2)+1))
	}
	err := b.replace(ctx, off+dialTimeout+replyTimeout, "Reconnect", func(rctx context.Context) error {
		if err := b.c.Redial(rctx, off); err != nil {
			return err
		}
		if b.c.PlayerID() != b.player {
			return fmt.Errorf("login with the token: player %d, want %d", b.c.PlayerID(), b.player)
		}
		return nil
	})
	if err == nil {
		b.r.add(cReconnectsOK, 1)
	}
	return err
}

// replace swaps the bot's connection with dial (a Redial or a SwitchTo)
// and waits, within timeout, for the match to be resumed on the new one:
// what reconnect and switchTransport share. Inputs sent before it belong
// to the old connection. run's goroutine only.
func (b *bot) replace(ctx context.Context, timeout time.Duration, what string, dial func(context.Context) error) error {
	b.mu.Lock()
	b.redialing = true
	b.gen++
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.redialing = false
		b.mu.Unlock()
	}()
	select {
	case <-b.resumed: // a stale signal from an earlier replacement
	default:
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := dial(rctx); err != nil {
		return err
	}
	select {
	case <-b.resumed:
	case <-b.endCh:
	case <-rctx.Done():
		if b.c.Room() == nil || b.c.Match() == nil {
			return errNoSeat
		}
		return fmt.Errorf("%s: no MatchStart within %s", what, replyTimeout)
	}
	return nil
}

// roomOptions are the RoomCreate options of the run.
func (r *runner) roomOptions() *lspb.RoomOptions {
	return &lspb.RoomOptions{
		MaxPlayers: uint32(r.cfg.Players), TickRate: r.cfg.TickRate,
		FramesPerPacket: r.cfg.FramesPerPacket, HashInterval: r.cfg.HashInterval,
	}
}
