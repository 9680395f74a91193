package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/zinxgame/zinxgame/examples/lockstep/demo"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/znet"
)

// bot is one simulated player. Its own goroutine (run) logs in, takes a
// seat, sends inputs and reconnects; its connection's handlers (on the
// connection's reader goroutine, WorkerPoolSize Off) apply the frames to its
// simulation. A reconnection replaces the connection, so the two sides
// share the bot's state under mu, and the handlers tell the goroutine what
// arrived through ev.
type bot struct {
	r       *runner
	idx     int
	rm      *room
	creator bool
	name    string
	ev      chan event    // handler -> run: something arrived
	endCh   chan struct{} // closed at MatchEnd
	rng     *rand.Rand    // run's only
	seq     uint32        // run's only: the last input's sequence number
	ids     loginIDs      // run's only
	gen     uint32        // run's only: connections made so far

	mu      sync.Mutex // guards the fields below
	sess    *session   // the connection in use; nil while reconnecting
	slot    uint32     // our seat
	roomID  uint64     // from RoomState
	seated  map[uint64]bool
	maxSeat uint32 // the room's max_players
	started bool   // our match started (first MatchStart)
	ended   bool   // ... and ended (MatchEnd)
	matchID uint64
	seed    uint64
	hashInt uint32 // hash_interval
	sim     *demo.Sim
	fs      frameSeq
	broken  bool // a gap: the state is no longer the room's
	fly     inflight
	ring    hashRing
	voted   bool
	vote    []byte
	// A reconnection under way: Reconnect was sent at reconnectAt, and the
	// first live frame after it ends the catch-up.
	catchingUp  bool
	reconnectAt int64

	lastFrame  atomic.Uint32 // the last frame applied: frame_hint, and the vote's frame
	bytes      atomic.Uint64 // received, frame heads included
	matchBytes atomic.Uint64 // received from the first MatchStart to the end of the run
	matchAt    atomic.Int64  // runner clock of the first MatchStart; 0 before
}

type loginIDs struct {
	playerID uint64
	token    string
}

// session is one connection of a bot.
type session struct {
	b       *bot
	conn    *znet.Connection
	gen     uint32
	resumed bool // MatchStart arrived on this connection (under b.mu)
}

// event tells run that a message arrived on s.
type event struct {
	s   *session
	id  uint32
	msg proto.Message
}

var errConnClosed = errors.New("connection closed")

func newBot(r *runner, idx int, rm *room) *bot {
	return &bot{
		r: r, idx: idx, rm: rm, creator: idx%r.cfg.Players == 0,
		name: "bot-" + strconv.Itoa(idx), ev: make(chan event, 64), endCh: make(chan struct{}),
		rng:    rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		seated: map[uint64]bool{},
	}
}

// run is the bot's life: take a seat, play until the run ends.
func (b *bot) run(ctx context.Context) {
	if err := b.join(ctx); err != nil {
		// bot-0 failing to connect at all ends the run with its error.
		if ctx.Err() == nil && (b.idx != 0 || b.gen > 0) {
			b.r.botFailed("joining a match", err)
		}
		return
	}
	b.play(ctx)
}

// connect dials a new connection and makes it the bot's.
func (b *bot) connect(ctx context.Context) (*session, error) {
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	conn, err := b.r.cl.Dial(dctx, b.r.addr)
	cancel()
	if b.idx == 0 && b.gen == 0 {
		b.r.firstDial <- err
	}
	if err != nil {
		b.r.dialErrs.Add(1)
		return nil, err
	}
	b.mu.Lock()
	b.gen++
	s := &session{b: b, conn: conn, gen: b.gen}
	b.sess = s
	b.mu.Unlock()
	// Nothing arrives before Login: the property is set in time.
	conn.SetProperty(propSession, s)
	return s, nil
}

func (b *bot) send(s *session, id uint32, m proto.Message) error {
	data, err := proto.Marshal(m)
	if err == nil {
		err = s.conn.SendMsg(id, data)
	}
	if err != nil {
		b.r.add(cSendErr, 1)
		return fmt.Errorf("sending %d: %w", id, err)
	}
	return nil
}

// await waits for message want on s (0: any message), an Error, the end
// of ctx or of the connection, or timeout (0: none).
func (b *bot) await(ctx context.Context, s *session, want uint32, timeout time.Duration) (proto.Message, error) {
	var expire <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expire = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.conn.Done():
			return nil, errConnClosed
		case <-expire:
			return nil, fmt.Errorf("no answer (%d) within %s", want, timeout)
		case ev := <-b.ev:
			if ev.s != s {
				continue
			}
			if ev.id == lspb.MsgError {
				e := ev.msg.(*commonpb.Error)
				return nil, fmt.Errorf("server error %s answering %d: %s", e.Code, e.RequestId, e.Message)
			}
			if want == 0 || ev.id == want {
				return ev.msg, nil
			}
		}
	}
}

// login sends Login (with a token to resume) and waits for LoginAck.
func (b *bot) login(ctx context.Context, s *session, token string) (*commonpb.LoginAck, error) {
	if err := b.send(s, lspb.MsgLogin, &commonpb.Login{Name: b.name, Token: token}); err != nil {
		return nil, err
	}
	m, err := b.await(ctx, s, lspb.MsgLoginAck, replyTimeout)
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	ack := m.(*commonpb.LoginAck)
	if ack.PlayerId == 0 || ack.Token == "" {
		return nil, fmt.Errorf("login: LoginAck without player_id or token")
	}
	return ack, nil
}

// join logs in, creates or joins the group's room, sends Ready once the
// room is full, and waits for MatchStart.
func (b *bot) join(ctx context.Context) error {
	if b.creator {
		defer b.rm.publish(0) // the joiners stop waiting if we fail (no-op once published)
	}
	s, err := b.connect(ctx)
	if err != nil {
		return err
	}
	ack, err := b.login(ctx, s, "")
	if err != nil {
		return err
	}
	b.ids = loginIDs{playerID: ack.PlayerId, token: ack.Token}
	b.r.loggedIn.Add(1)
	if b.creator {
		err = b.send(s, lspb.MsgRoomCreate, &lspb.RoomCreate{Options: b.r.roomOptions()})
		if err == nil {
			_, err = b.await(ctx, s, lspb.MsgRoomState, replyTimeout)
		}
		b.mu.Lock()
		id := b.roomID
		b.mu.Unlock()
		if err == nil && id == 0 {
			err = errors.New("RoomState with room_id 0")
		}
		if err != nil {
			return fmt.Errorf("RoomCreate: %w", err)
		}
		b.rm.publish(id)
		if b.idx == 0 {
			b.listRooms(ctx, s, id)
		}
	} else {
		id, err := b.rm.wait(ctx)
		if err == nil {
			err = b.send(s, lspb.MsgRoomJoin, &lspb.RoomJoin{RoomId: id})
		}
		if err == nil {
			_, err = b.await(ctx, s, lspb.MsgRoomState, replyTimeout)
		}
		if err != nil {
			return fmt.Errorf("RoomJoin: %w", err)
		}
	}
	// Ready once every seat is taken: a server may start a room whose
	// present players are all ready, and a lone creator would be.
	for ready := false; ; {
		b.mu.Lock()
		started, full := b.started, uint32(len(b.seated)) >= b.maxSeat
		b.mu.Unlock()
		if started {
			return nil
		}
		if full && !ready {
			if err := b.send(s, lspb.MsgReady, &lspb.Ready{Ready: true}); err != nil {
				return err
			}
			ready = true
		}
		if _, err := b.await(ctx, s, 0, 0); err != nil {
			return fmt.Errorf("waiting for MatchStart: %w", err)
		}
	}
}

// listRooms checks RoomList once a run: the room just created is listed.
func (b *bot) listRooms(ctx context.Context, s *session, id uint64) {
	result := func(ok bool, format string, args ...any) {
		b.r.mu.Lock()
		b.r.listOK, b.r.roomList = ok, fmt.Sprintf(format, args...)
		b.r.mu.Unlock()
	}
	if err := b.send(s, lspb.MsgRoomList, &lspb.RoomList{}); err != nil {
		result(false, "RoomList: %v", err)
		return
	}
	m, err := b.await(ctx, s, lspb.MsgRoomListAck, replyTimeout)
	if err != nil {
		result(false, "RoomList: %v", err)
		return
	}
	rooms := m.(*lspb.RoomListAck).Rooms
	for _, ri := range rooms {
		if ri.RoomId == id {
			result(true, "ok: %d rooms listed, bot-0's room %d among them (%s, %d players)",
				len(rooms), id, ri.Status, ri.Players)
			return
		}
	}
	result(false, "RoomListAck: %d rooms listed, not bot-0's room %d", len(rooms), id)
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
	var nextCheck time.Time
	if cfg.ReconnectProb > 0 {
		nextCheck = now.Add(time.Duration(b.rng.Int64N(int64(time.Second))))
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		b.mu.Lock()
		s := b.sess
		b.mu.Unlock()
		next := nextInput
		if next.IsZero() || (!nextCheck.IsZero() && nextCheck.Before(next)) {
			next = nextCheck
		}
		var fire <-chan time.Time
		if !next.IsZero() {
			timer.Reset(time.Until(next))
			fire = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-s.conn.Done(): // lost: counted by onDisconnect
			return
		case <-b.endCh:
			return
		case <-b.ev: // nothing to wait for: the handlers did the work
			timer.Stop()
			continue
		case now = <-fire:
		}
		if !nextInput.IsZero() && !now.Before(nextInput) {
			if b.input(s) != nil {
				return
			}
			nextInput = later(nextInput.Add(inputEvery), now)
		}
		if !nextCheck.IsZero() && !now.Before(nextCheck) {
			nextCheck = later(nextCheck.Add(time.Second), now)
			if b.rng.Float64() < cfg.ReconnectProb && time.Until(b.r.deadline) > b.r.quiet() {
				if err := b.reconnect(ctx); err != nil {
					if ctx.Err() == nil {
						b.r.add(cReconnectsFailed, 1)
						b.r.botFailed("reconnecting", err)
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

// input sends a random (dx, dy), remembering when, to time its frame.
func (b *bot) input(s *session) error {
	dx, dy := int8(b.rng.IntN(3)-1), int8(b.rng.IntN(3)-1)
	b.seq++
	b.mu.Lock()
	if b.fly.push(sent{seq: b.seq, at: b.r.now(), gen: s.gen}) {
		b.r.add(cInputsExpired, 1)
	}
	b.mu.Unlock()
	hint := b.lastFrame.Load()
	err := b.send(s, lspb.MsgInput, &lspb.Input{Data: demo.EncodeInput(dx, dy), FrameHint: hint, Seq: b.seq})
	if err == nil {
		b.r.add(cInputsSent, 1)
	}
	return err
}

// reconnect drops the connection, stays offline for a while (Offline/2 to
// Offline), dials a new one, logs in with the token and sends Reconnect
// with the last frame applied. The handlers check what
// follows: MatchStart again, catch-up frames from exactly the next frame,
// then live frames with no gap. It returns once MatchStart is back.
func (b *bot) reconnect(ctx context.Context) error {
	b.r.add(cReconnects, 1)
	b.mu.Lock()
	old := b.sess
	b.sess = nil // from here, the old connection's messages are stale
	last := b.fs.last()
	b.mu.Unlock()
	old.conn.Stop()
	select {
	case <-old.conn.Done():
	case <-time.After(stopTimeout):
		return errors.New("the old connection did not close")
	}
	if off := b.r.cfg.Offline; off > 0 {
		t := time.NewTimer(off/2 + time.Duration(b.rng.Int64N(int64(off/2)+1)))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	s, err := b.connect(ctx)
	if err != nil {
		return err
	}
	ack, err := b.login(ctx, s, b.ids.token)
	if err != nil {
		return err
	}
	if ack.PlayerId != b.ids.playerID {
		return fmt.Errorf("login with the token: player %d, want %d", ack.PlayerId, b.ids.playerID)
	}
	if ack.RoomId == 0 {
		return errors.New("login with the token: LoginAck.room_id 0, no seat held")
	}
	b.ids.token = ack.Token
	b.mu.Lock()
	b.catchingUp, b.reconnectAt = true, b.r.now()
	b.mu.Unlock()
	if err := b.send(s, lspb.MsgReconnect, &lspb.Reconnect{LastFrame: last}); err != nil {
		return err
	}
	if _, err := b.await(ctx, s, lspb.MsgMatchStart, replyTimeout); err != nil {
		return fmt.Errorf("Reconnect: %w", err)
	}
	b.r.add(cReconnectsOK, 1)
	return nil
}

// roomOptions are the RoomCreate options of the run.
func (r *runner) roomOptions() *lspb.RoomOptions {
	return &lspb.RoomOptions{
		MaxPlayers: uint32(r.cfg.Players), TickRate: r.cfg.TickRate,
		FramesPerPacket: r.cfg.FramesPerPacket, HashInterval: r.cfg.HashInterval,
	}
}
