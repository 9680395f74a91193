package room

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

// TypeOptions are a room type's defaults.
type TypeOptions struct {
	// TickRate is the type's ticks per second; 0 means Config.TickRate.
	// A room's Init may set its own (Room.SetTickRate).
	TickRate int
	// Capacity is the type's members per room; 0 means Config.MaxMembers.
	Capacity int
	// QueueLen bounds the queue of requests between two ticks of each room
	// of the type (ErrBusy when full); 0 means Config.QueueLen. A room
	// whose members send many inputs a tick (an MMO scene: every player's
	// moves) needs more than a match of a few players.
	QueueLen int
}

type roomType struct {
	name    string
	factory Factory
	opts    TypeOptions
}

// membership is where a player is, as the manager sees it: the room it
// joined (or is joining) and the connection it joined with.
type membership struct {
	room    *Room
	conn    ziface.IConnection
	pending bool // the join is queued and not yet applied
}

// Manager runs rooms: it registers room types, creates rooms, routes
// players' requests to their room's queue and runs every room's tick on
// its scheduler. Mount it on a server (srv.Mount("rooms", m)) so that a
// closed connection is a member's drop and the server's shutdown ends
// every room; game modules that own their manager mount it from their own
// Mount. All methods are safe for concurrent use.
type Manager struct {
	cfg   Config
	log   *slog.Logger
	sched *tickScheduler
	met   *metrics
	newID func() (uint64, error)
	seq   atomic.Uint64

	// propKey and rateKey name this manager's connection properties: the
	// player a connection joined as, and its request limiter. They die
	// with the connection, so nothing is kept for a player who is gone.
	propKey, rateKey string

	mu       sync.RWMutex
	types    map[string]*roomType
	rooms    map[uint64]*Room
	members  map[uint64]*membership
	owners   map[uint64]int // rooms per owner, while they run
	creating int            // rooms reserved but not yet added
	index    index
	jocMu    sync.Mutex // serializes JoinOrCreate
	manual   []*Room    // Config.Manual: the rooms Step ticks
	stepBuf  []*Room
	closed   bool
	stopOnce sync.Once
}

// Option configures NewManager.
type Option func(*Manager)

// WithIDs numbers rooms with next (a snowflake generator's Next, say); by
// default rooms are numbered from a counter seeded with the clock.
func WithIDs(next func() (uint64, error)) Option { return func(m *Manager) { m.newID = next } }

// WithMetrics registers the runtime's metrics on reg: tick lateness and
// duration, rooms by type, rooms ended by type and reason, logic panics,
// and refused requests by reason.
func WithMetrics(reg prometheus.Registerer) Option {
	return func(m *Manager) { m.met.reg = reg }
}

// NewManager validates cfg (zero fields take their defaults) and starts
// the tick scheduler. log nil means slog.Default().
func NewManager(cfg Config, log *slog.Logger, opts ...Option) (*Manager, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	m := &Manager{cfg: cfg, log: log, types: make(map[string]*roomType), rooms: make(map[uint64]*Room),
		members: make(map[uint64]*membership), owners: make(map[uint64]int), index: newIndex()}
	m.propKey = fmt.Sprintf("zinxgame.room.%p.player", m)
	m.rateKey = fmt.Sprintf("zinxgame.room.%p.rate", m)
	m.met = newMetrics()
	m.seq.Store(uint64(time.Now().UnixMilli()) << 16)
	for _, o := range opts {
		o(m)
	}
	if m.met.reg != nil {
		if err := m.met.register(m); err != nil {
			return nil, fmt.Errorf("room: registering metrics: %w", err)
		}
	}
	shards := cfg.Shards
	if shards == 0 {
		shards = runtime.GOMAXPROCS(0)
	}
	slack := max(cfg.TickSlack, 0)
	m.sched = newTickScheduler(shards, slack)
	return m, nil
}

// Config is the manager's configuration, defaults filled in.
func (m *Manager) Config() Config { return m.cfg }

// Register adds a room type. Registering a name twice is an error.
func (m *Manager) Register(name string, f Factory, o TypeOptions) error {
	if name == "" || f == nil {
		return fmt.Errorf("room: a room type needs a name and a factory")
	}
	if o.TickRate < 0 || o.TickRate > 1000 || o.Capacity < 0 {
		return fmt.Errorf("room: type %q: tick rate %d or capacity %d out of range", name, o.TickRate, o.Capacity)
	}
	if o.QueueLen < 0 || o.QueueLen > 1<<20 {
		return fmt.Errorf("room: type %q: QueueLen = %d: must be between 0 and %d", name, o.QueueLen, 1<<20)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.types[name]; ok {
		return fmt.Errorf("room: type %q is registered already", name)
	}
	m.types[name] = &roomType{name: name, factory: f, opts: o}
	m.met.initType(name)
	return nil
}

// Mount registers the manager's disconnect hook (a member's connection
// closing is a drop) and its shutdown work (every room ends with
// EndShutdown while the players are still connected).
func (m *Manager) Mount(mnt *znet.Mount) error {
	mnt.OnDisconnect(m.onDisconnect)
	mnt.OnShutdown(m.Shutdown)
	return nil
}

// allow charges one request to conn's limiter.
func (m *Manager) allow(conn ziface.IConnection) error {
	if conn == nil {
		return nil
	}
	var lim *rate.Limiter
	if v, ok := conn.GetProperty(m.rateKey); ok {
		lim = v.(*rate.Limiter)
	} else {
		lim = rate.NewLimiter(rate.Limit(m.cfg.RequestRate), int(m.cfg.RequestRate)+1)
		conn.SetProperty(m.rateKey, lim)
	}
	if !lim.Allow() {
		m.met.refused.WithLabelValues("rate_limited").Inc()
		return ErrRateLimited
	}
	return nil
}

func (m *Manager) nextID() uint64 {
	if m.newID != nil {
		if id, err := m.newID(); err == nil {
			return id
		} else {
			m.log.Error("room: the ID generator refused; numbering from the manager's counter", "err", err)
		}
	}
	return m.seq.Add(1)
}

// Create makes a room of type typ: its logic's Init runs with opts, then
// the room starts ticking. If owner.ID is not 0, the room counts against
// the owner's Config.MaxRoomsPerOwner and the owner joins it as its first
// member (JoinAttempt, then Join, on the first tick); done, if not nil, is
// called on the room's tick with the join's outcome, as for Join. A room with no owner
// is the server's (an MMO scene, say). label is the room's first label.
func (m *Manager) Create(typ, label string, opts any, owner Join, done func(error)) (*Room, error) {
	if err := m.allow(owner.Conn); err != nil {
		return nil, err
	}
	return m.create(typ, label, opts, owner, done)
}

func (m *Manager) create(typ, label string, opts any, owner Join, done func(error)) (*Room, error) {
	if len(label) > m.cfg.MaxLabelBytes {
		return nil, fmt.Errorf("%w: label of %d bytes, at most %d", ErrTooLarge, len(label), m.cfg.MaxLabelBytes)
	}
	id := m.nextID()
	m.mu.Lock()
	t := m.types[typ]
	err := m.canCreate(t, owner.ID)
	if err != nil {
		m.mu.Unlock()
		return nil, err
	}
	m.creating++
	if owner.ID != 0 {
		m.owners[owner.ID]++
		m.members[owner.ID] = &membership{conn: owner.Conn, pending: true}
	}
	m.mu.Unlock()

	r := m.newRoom(t, id, owner.ID, label)
	var initErr error
	r.call(func() { initErr = r.logic.Init(r, opts) })
	if initErr == nil && r.ending {
		initErr = fmt.Errorf("room: type %q's Init ended the room", typ)
	}
	m.mu.Lock()
	m.creating--
	if initErr != nil || m.closed {
		if owner.ID != 0 {
			m.dropOwner(owner.ID)
			delete(m.members, owner.ID)
		}
		m.mu.Unlock()
		if initErr == nil {
			initErr = ErrClosed
		}
		return nil, initErr
	}
	m.rooms[id] = r
	r.indexed = true
	if owner.ID != 0 {
		m.members[owner.ID].room = r
		r.taken = 1
	}
	m.index.add(r)
	m.mu.Unlock()
	m.met.created.WithLabelValues(typ).Inc()
	if owner.ID != 0 {
		m.setPlayer(owner.Conn, owner.ID)
		_ = r.enqueue(event{kind: evJoin, join: &pendingJoin{j: owner, done: done}}, true)
	}
	if r.period == 0 {
		r.period = time.Second / time.Duration(m.cfg.TickRate)
		if t.opts.TickRate != 0 {
			r.period = time.Second / time.Duration(t.opts.TickRate)
		}
	}
	if m.cfg.Manual {
		m.mu.Lock()
		m.manual = append(m.manual, r)
		m.mu.Unlock()
		return r, nil
	}
	m.sched.add(r, r.period)
	return r, nil
}

// Step ticks every room of a Config.Manual manager once, on the caller's
// goroutine, as if the tick were due at now, and returns how many rooms
// are left. Call it from one goroutine at a time; it does nothing for a
// scheduled manager.
func (m *Manager) Step(now time.Time) int {
	m.mu.RLock()
	m.stepBuf = append(m.stepBuf[:0], m.manual...)
	m.mu.RUnlock()
	ended := false
	for _, r := range m.stepBuf {
		if !r.tick(now) {
			ended = true
		}
	}
	if !ended {
		return len(m.stepBuf)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.manual = slices.DeleteFunc(m.manual, func(r *Room) bool { return r.ended.Load() })
	return len(m.manual)
}

// canCreate checks the bounds of a new room; call it with mu held.
func (m *Manager) canCreate(t *roomType, owner uint64) error {
	switch {
	case m.closed:
		return ErrClosed
	case t == nil:
		return ErrUnknownType
	case len(m.rooms)+m.creating >= m.cfg.MaxRooms:
		m.met.refused.WithLabelValues("too_many_rooms").Inc()
		return fmt.Errorf("%w (%d)", ErrTooManyRooms, m.cfg.MaxRooms)
	case owner != 0 && m.members[owner] != nil:
		return ErrAlreadyInRoom
	case owner != 0 && m.owners[owner] >= m.cfg.MaxRoomsPerOwner:
		m.met.refused.WithLabelValues("owner_limit").Inc()
		return fmt.Errorf("%w (%d)", ErrOwnerLimit, m.cfg.MaxRoomsPerOwner)
	}
	return nil
}

func (m *Manager) newRoom(t *roomType, id, owner uint64, label string) *Room {
	capacity := m.cfg.MaxMembers
	if t.opts.Capacity != 0 {
		capacity = t.opts.Capacity
	}
	queueLen := m.cfg.QueueLen
	if t.opts.QueueLen != 0 {
		queueLen = t.opts.QueueLen
	}
	r := &Room{m: m, id: id, typ: t.name, owner: owner, logic: t.factory(), open: true, capacity: capacity, label: label,
		events: make(chan event, queueLen), members: make(map[uint64]*member), now: time.Now()}
	r.log = m.log.With("room", id, "type", t.name)
	return r
}

// dropOwner counts one room less for owner; call it with mu held.
func (m *Manager) dropOwner(owner uint64) {
	if m.owners[owner]--; m.owners[owner] <= 0 {
		delete(m.owners, owner)
	}
}

// Shutdown ends every room (EndShutdown) at its next tick and waits until
// all have ended or ctx ends, then stops the scheduler; it reports the
// rooms that had not ended. New rooms and joins are refused with ErrClosed
// from the start. Later calls only wait again. A Config.Manual manager's
// rooms are ticked by Shutdown itself, on the caller's goroutine.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	rooms := make([]*Room, 0, len(m.rooms))
	for _, r := range m.rooms {
		rooms = append(rooms, r)
	}
	m.mu.Unlock()
	for _, r := range rooms {
		_ = r.enqueue(event{kind: evShutdown}, true)
	}
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for m.Rooms() > 0 && ctx.Err() == nil {
		if m.cfg.Manual {
			m.Step(time.Now()) // nobody else ticks them: the shutdown does
			continue
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	m.stopOnce.Do(m.sched.stop)
	if n := m.Rooms(); n > 0 {
		return fmt.Errorf("room: %d rooms had not ended when the shutdown ended: %w", n, ctx.Err())
	}
	return nil
}

// Close is Shutdown bounded by two seconds, for a manager not mounted on a
// server.
func (m *Manager) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return m.Shutdown(ctx)
}
