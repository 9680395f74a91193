package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/znet"
)

// Game is a lockstep game's simulation, driven by the client.
type Game interface {
	// Start begins a new match. A reconnection that resumes the match
	// does not call it again; a client that first hears of the match on
	// resuming a seat (a restarted process with its token) does, and then
	// gets every frame from the first.
	Start(m *lspb.MatchStart)
	// Step applies one frame. Every frame comes once, in order, catch-up
	// included.
	Step(f Frame)
	// Hash is the state hash after the last Step. The client asks for it
	// every hash_interval frames (MatchStart) and reports it.
	Hash() uint64
}

// Frame is one frame of a match: the inputs the server relayed for it, in
// arrival order (none for an empty frame).
type Frame struct {
	Number  uint32
	Inputs  []FrameInput
	CatchUp bool      // it came in a catch-up batch (1016), not live
	At      time.Time // when its batch arrived
	// HashDue says the server expects a HashReport after this live frame
	// (Number is a multiple of hash_interval; catch-up frames are past
	// judging). A Game's hash is reported by the client; a Frames()
	// reader calls ReportHash itself.
	HashDue bool
}

// FrameInput is one player's input in a frame.
type FrameInput struct {
	Slot uint32
	Data []byte
	Seq  uint32 // the sender's sequence number (Input returned it)
}

// State is where a client's connection stands.
type State int

const (
	StateConnected    State = iota + 1 // logged in (the first time)
	StateReconnecting                  // the connection dropped; reconnecting
	StateResumed                       // logged in again; the match, if any, is resuming
	StateClosed                        // closed for good: Err says why
)

func (s State) String() string {
	switch s {
	case StateConnected:
		return "connected"
	case StateReconnecting:
		return "reconnecting"
	case StateResumed:
		return "resumed"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Handler is what a Lockstep tells its game. Every field is optional. The
// callbacks run on one goroutine per client, one at a time, in the order
// the messages arrived; they may call the client's methods, but a
// callback that blocks holds back the ones after it (and, once the queue
// between them is full, the connection).
type Handler struct {
	Game          Game // nil: frames go to Frames()
	OnRoomState   func(*lspb.RoomState)
	OnPlayerEvent func(*lspb.PlayerEvent)
	OnMatchStart  func(m *lspb.MatchStart, resumed bool)
	OnDesync      func(*lspb.Desync)
	OnMatchEnd    func(*lspb.MatchEnd)
	// OnError gets the server's errors that no request waits for (a
	// refused input, a refused hash report).
	OnError  func(*commonpb.Error)
	OnNotice func(znet.Notice)
	// OnState follows the connection: err is why it dropped
	// (StateReconnecting), ErrNoSeat when a resumed login found the seat
	// gone (StateResumed), or why it closed (StateClosed). A resumed login
	// whose match ended meanwhile (the server that ran it stopped: the
	// server answers MatchEnd with MATCH_END_INTERRUPTED) gets OnMatchEnd
	// and then StateResumed with no error.
	OnState func(s State, err error)
	// OnMessage, unlike the others, runs on the connection's reader, for
	// every message as it arrives (size is its payload's): a tap for
	// counters and traffic figures. It must be quick and must not call
	// the client.
	OnMessage func(id uint32, size int)
}

// Lockstep is one player's connection to a lockstep server. Its methods
// are safe for concurrent use.
type Lockstep struct {
	d     *Dialer
	ownD  bool // d was made for this client: closed with it
	addr  string
	name  string
	h     Handler
	log   *slog.Logger
	stats stats

	events  chan event    // reader -> event goroutine
	frames  chan Frame    // Frames(), when h.Game is nil
	closing chan struct{} // closed when the client starts closing
	done    chan struct{} // closed when it has closed
	evDone  chan struct{} // closed when the event goroutine returned

	gen          atomic.Uint32 // the current link's
	seq          atomic.Uint32 // the last input's sequence number
	last         atomic.Uint32 // the last frame processed
	received     atomic.Uint32 // the last frame taken in order (queued for processing or processed)
	rtt          atomic.Int64
	kicked       atomic.Bool
	banned       atomic.Bool  // a "banned" notice: no reconnecting
	retryAfter   atomic.Int64 // a shutdown notice's hint, for the next reconnection
	reconnecting atomic.Bool
	manual       atomic.Bool // Redial is replacing the connection
	noSeat       atomic.Bool // the last login found the match's seat gone

	roomMu sync.Mutex // one room request at a time: their answers look alike

	mu       sync.Mutex // guards the fields below
	link     *link
	waiters  []*waiter
	playerID uint64
	token    string
	limits   *commonpb.Limits
	room     *lspb.RoomState
	match    *lspb.MatchStart
	ended    bool // match ended (MatchEnd)
	closed   bool
	err      error

	ms matchState // the event goroutine's
}

// DialLockstep connects to a lockstep server with a Dialer of its own
// (Config{}): see Dialer.DialLockstep.
func DialLockstep(ctx context.Context, addr string, p Player, h Handler) (*Lockstep, error) {
	d, err := NewDialer(Config{})
	if err != nil {
		return nil, err
	}
	c, err := d.dialLockstep(ctx, addr, p, h, true)
	if err != nil {
		_ = d.Close()
		return nil, err
	}
	return c, nil
}

// DialLockstep connects to the lockstep server at addr (host:port for
// TCP, tls://host:port, kcp://host:port for KCP, or a ws:// or wss:// URL;
// Net's Kcp* settings apply to KCP), logs in as p and
// returns once the server has answered (LoginAck). When the server holds a
// seat for p (a token of a player who dropped), the client resumes it at
// once: the match's frames are caught up from the first. Safe for
// concurrent use.
func (d *Dialer) DialLockstep(ctx context.Context, addr string, p Player, h Handler) (*Lockstep, error) {
	return d.dialLockstep(ctx, addr, p, h, false)
}

func (d *Dialer) dialLockstep(ctx context.Context, addr string, p Player, h Handler, own bool) (*Lockstep, error) {
	c := d.newLockstep(addr, p, h, own)
	go c.loop()
	if err := c.connect(ctx, false); err != nil {
		c.shut(err)
		return nil, err
	}
	c.push(event{state: StateConnected})
	if d.cfg.KeepAlive > 0 {
		go c.keepAlive(d.cfg.KeepAlive)
	}
	return c, nil
}

func (d *Dialer) newLockstep(addr string, p Player, h Handler, own bool) *Lockstep {
	c := &Lockstep{
		d: d, ownD: own, addr: addr, name: p.Name, h: h, log: d.cfg.Logger.With("player", p.Name),
		events: make(chan event, eventQueue), closing: make(chan struct{}), done: make(chan struct{}),
		evDone: make(chan struct{}), token: p.Token,
	}
	if h.Game == nil {
		c.frames = make(chan Frame, eventQueue)
	}
	return c
}

// connect dials a new link, logs in with the token and, when the server
// holds a seat, resumes it (Reconnect from the last frame taken).
func (c *Lockstep) connect(ctx context.Context, again bool) error {
	c.mu.Lock()
	addr := c.addr
	c.mu.Unlock()
	conn, err := c.d.dial(ctx, addr)
	if err != nil {
		return err
	}
	l := &link{c: c, conn: conn, gen: c.gen.Add(1)}
	l.heard.Store(time.Now().UnixNano())
	c.d.attach(conn, l)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		conn.Stop()
		return ErrClosed
	}
	c.link = l
	token, had, playing := c.token, c.playerID, c.match != nil && !c.ended
	c.mu.Unlock()
	m, err := c.request(ctx, l, lspb.MsgLogin, &commonpb.Login{Name: c.name, Token: token},
		func(id uint32, _ proto.Message) bool { return id == lspb.MsgLoginAck })
	if err != nil {
		conn.Stop()
		return fmt.Errorf("client: login: %w", l.refused(err))
	}
	ack := m.(*commonpb.LoginAck)
	if ack.PlayerId == 0 || ack.Token == "" {
		conn.Stop()
		return errors.New("client: login: LoginAck without a player ID or token")
	}
	if again && had != 0 && ack.PlayerId != had {
		conn.Stop()
		return fmt.Errorf("client: login: the token logged in as player %d, not %d: %w", ack.PlayerId, had, ErrNoSeat)
	}
	c.mu.Lock()
	c.playerID, c.token, c.limits = ack.PlayerId, ack.Token, ack.Limits
	c.mu.Unlock()
	if ack.RoomId == 0 {
		c.noSeat.Store(again && playing)
		l.ready.Store(true)
		return nil
	}
	_, err = c.request(ctx, l, lspb.MsgReconnect, &lspb.Reconnect{LastFrame: c.received.Load()},
		func(id uint32, _ proto.Message) bool { return id == lspb.MsgRoomState })
	switch {
	case Code(err) == commonpb.ErrorCode_ERROR_NO_SEAT:
		// After a MatchEnd (MATCH_END_INTERRUPTED: the server that ran the
		// match stopped), the match is over, which OnMatchEnd tells: the
		// seat was not lost.
		c.noSeat.Store(again && playing && !l.ended.Load())
	case err != nil:
		conn.Stop()
		return fmt.Errorf("client: resuming the seat in room %d: %w", ack.RoomId, err)
	default:
		c.noSeat.Store(false)
	}
	l.ready.Store(true)
	return nil
}

// current returns the link in use, or an error when there is none.
func (c *Lockstep) current() (*link, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	if c.link == nil || !c.link.ready.Load() {
		return nil, errLost
	}
	return c.link, nil
}

// PlayerID is the player's account ID (LoginAck.player_id).
func (c *Lockstep) PlayerID() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.playerID
}

// Token is the player's current token; keep it to resume the identity
// (and a held seat) in a later process.
func (c *Lockstep) Token() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token
}

// Limits are the limits the server announced at the last login (input
// size and rate, packet size, reconnect grace); nil if it sent none.
func (c *Lockstep) Limits() *commonpb.Limits {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.limits
}

// Room is the last RoomState received; nil before any.
func (c *Lockstep) Room() *lspb.RoomState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.room
}

// Match is the match being played (its MatchStart); nil before one.
func (c *Lockstep) Match() *lspb.MatchStart {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.match
}

// LastFrame is the last frame the game processed (0 before any).
func (c *Lockstep) LastFrame() uint32 { return c.last.Load() }

// RTT is the last round-trip time measured by the keep-alive pings; 0
// before the first pong.
func (c *Lockstep) RTT() time.Duration { return time.Duration(c.rtt.Load()) }

// Frames delivers the frames, in order, when the Handler has no Game; it
// is nil otherwise. Read it promptly: while it is full, the client stops
// reading the connection. It is never closed; select on Done too.
func (c *Lockstep) Frames() <-chan Frame { return c.frames }

func isRoomState(id uint32, _ proto.Message) bool { return id == lspb.MsgRoomState }

// roomRequest is a request answered by RoomState.
func (c *Lockstep) roomRequest(ctx context.Context, id uint32, m proto.Message) (*lspb.RoomState, error) {
	c.roomMu.Lock()
	defer c.roomMu.Unlock()
	l, err := c.current()
	if err != nil {
		return nil, err
	}
	r, err := c.request(ctx, l, id, m, isRoomState)
	if err != nil {
		return nil, err
	}
	return r.(*lspb.RoomState), nil
}

// Create creates a room with opts (nil: the server's defaults) and label
// and takes its first seat.
func (c *Lockstep) Create(ctx context.Context, opts *lspb.RoomOptions, label string) (*lspb.RoomState, error) {
	return c.roomRequest(ctx, lspb.MsgRoomCreate, &lspb.RoomCreate{Options: opts, Label: label})
}

// Join takes a seat in room roomID.
func (c *Lockstep) Join(ctx context.Context, roomID uint64) (*lspb.RoomState, error) {
	return c.roomRequest(ctx, lspb.MsgRoomJoin, &lspb.RoomJoin{RoomId: roomID})
}

// JoinOrCreate takes a seat in the oldest open room with label (any room
// for an empty label) or, when there is none, in a new room with opts and
// label. The server decides atomically, so players looking at once meet
// in one room.
func (c *Lockstep) JoinOrCreate(ctx context.Context, label string, opts *lspb.RoomOptions) (*lspb.RoomState, error) {
	return c.roomRequest(ctx, lspb.MsgRoomJoinOrCreate, &lspb.RoomJoinOrCreate{Options: opts, Label: label})
}

// List asks for a page of rooms.
func (c *Lockstep) List(ctx context.Context, q *lspb.RoomList) (*lspb.RoomListAck, error) {
	l, err := c.current()
	if err != nil {
		return nil, err
	}
	if q == nil {
		q = &lspb.RoomList{}
	}
	r, err := c.request(ctx, l, lspb.MsgRoomList, q, func(id uint32, _ proto.Message) bool { return id == lspb.MsgRoomListAck })
	if err != nil {
		return nil, err
	}
	return r.(*lspb.RoomListAck), nil
}

// Leave gives up the player's seat and returns once the server has freed
// it.
func (c *Lockstep) Leave(ctx context.Context) error {
	c.roomMu.Lock()
	defer c.roomMu.Unlock()
	l, err := c.current()
	if err != nil {
		return err
	}
	me := c.PlayerID()
	_, err = c.request(ctx, l, lspb.MsgRoomLeave, &lspb.RoomLeave{}, func(id uint32, m proto.Message) bool {
		e, ok := m.(*lspb.PlayerEvent)
		return ok && e.Kind == lspb.PlayerEventKind_PLAYER_LEFT && e.Player.GetPlayerId() == me
	})
	return err
}

// sendNow sends m on the current link.
func (c *Lockstep) sendNow(id uint32, m proto.Message) error {
	l, err := c.current()
	if err != nil {
		return err
	}
	return l.send(id, m)
}

// Ready tells the room the player is ready (or not) to start.
func (c *Lockstep) Ready(ready bool) error {
	return c.sendNow(lspb.MsgReady, &lspb.Ready{Ready: ready})
}

// Input sends data for the frame being assembled and returns its
// sequence number, which comes back in the frame that carries it
// (FrameInput.Seq). An input sent while the connection is down is not
// queued: it is refused with an error, since a late input would land in
// a later frame than the player meant.
func (c *Lockstep) Input(data []byte) (uint32, error) {
	l, err := c.current()
	if err != nil {
		return 0, err
	}
	seq := c.seq.Add(1)
	return seq, l.send(lspb.MsgInput, &lspb.Input{Data: data, FrameHint: c.last.Load(), Seq: seq})
}

// Vote sends the player's view of the match result; the match ends when a
// majority of the connected players send the same bytes.
func (c *Lockstep) Vote(result []byte) error {
	return c.sendNow(lspb.MsgMatchResult, &lspb.MatchResult{Result: result})
}

// ReportHash reports the state hash after frame; a Game's hashes are
// reported by the client itself.
func (c *Lockstep) ReportHash(frame uint32, hash uint64) error {
	return c.sendNow(lspb.MsgHashReport, &lspb.HashReport{Frame: frame, Hash: hash})
}

// Logout ends the player's session on the server (the token stops
// working) and closes the client.
func (c *Lockstep) Logout(ctx context.Context) error {
	l, err := c.current()
	if err == nil {
		_, err = c.request(ctx, l, lspb.MsgLogout, &commonpb.Logout{}, func(id uint32, _ proto.Message) bool { return id == lspb.MsgLogoutAck })
	}
	c.shut(ErrClosed)
	return err
}

// Close closes the connection; the seat, if any, is held for the
// server's reconnect grace. It does not wait for the callbacks to finish
// (Done does).
func (c *Lockstep) Close() error {
	c.shut(ErrClosed)
	return nil
}

// Done is closed once the client has closed, after its last callback.
func (c *Lockstep) Done() <-chan struct{} { return c.done }

// Err says why the client closed: ErrClosed after Close, ErrKicked, or the
// last reconnection's error once the Backoff gave up; nil while open.
func (c *Lockstep) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}
