package room

import (
	"errors"
	"fmt"
	"time"
)

// Config bounds a Manager. The zero value is a valid configuration: every
// zero field means the default its comment gives.
type Config struct {
	// Shards is the number of tick goroutines; 0 means GOMAXPROCS.
	Shards int
	// TickSlack lets a shard that wakes for one room also run the rooms
	// due within this much time, a little early, so its wakes per second
	// are bounded by the slack rather than by the number of rooms. Due
	// times (a match's clock) do not move. 0 means 1ms; Disabled (a
	// negative value) wakes for the earliest room each time.
	TickSlack time.Duration
	// MaxRooms bounds the rooms of the manager at once; 0 means 10000.
	MaxRooms int
	// MaxRoomsPerOwner bounds the rooms one player has created and that
	// are still running, so one identity cannot take every slot; 0 means
	// 2.
	MaxRoomsPerOwner int
	// QueueLen bounds each room's queue of requests between two ticks
	// (inputs, leaves, rejoins, signals); a full queue refuses with
	// ErrBusy. 0 means 128. A room type can set its own
	// (TypeOptions.QueueLen).
	QueueLen int
	// RequestRate is each connection's allowed requests per second to
	// room queues (inputs, leaves, joins, creations; burst: one second's
	// worth); over it a request is refused with ErrRateLimited. 0 means
	// 200.
	RequestRate float64
	// EmptyTimeout ends a room (EndEmpty) in which no member has been
	// connected for this long, held seats or not. 0 means 10s; Disabled
	// keeps empty rooms until their logic ends them.
	EmptyTimeout time.Duration
	// TickRate is a room's ticks per second unless its type or its logic
	// sets another; 0 means 30.
	TickRate int
	// MaxMembers is a room's capacity unless its logic sets another
	// (Room.SetCapacity); 0 means 16.
	MaxMembers int
	// MaxLabelBytes bounds a room's label; 0 means 128.
	MaxLabelBytes int
	// MaxMetadataBytes bounds a room's listing metadata; 0 means 1024.
	MaxMetadataBytes int
	// MaxTimers bounds the timers one room has pending; 0 means 256.
	MaxTimers int
	// MaxListed bounds a page of List; 0 means 64.
	MaxListed int
	// Manual leaves the rooms off the scheduler: they tick only when
	// Manager.Step is called, on the caller's goroutine, with the time it
	// gives. For tests and benchmarks that drive rooms frame by frame.
	Manual bool
}

// Disabled switches off a duration whose zero means a default.
const Disabled = -1

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.MaxRooms, 10000)
	def(&c.MaxRoomsPerOwner, 2)
	def(&c.QueueLen, 128)
	def(&c.TickRate, 30)
	def(&c.MaxMembers, 16)
	def(&c.MaxLabelBytes, 128)
	def(&c.MaxMetadataBytes, 1024)
	def(&c.MaxTimers, 256)
	def(&c.MaxListed, 64)
	if c.RequestRate == 0 {
		c.RequestRate = 200
	}
	if c.TickSlack == 0 {
		c.TickSlack = time.Millisecond
	}
	if c.EmptyTimeout == 0 {
		c.EmptyTimeout = 10 * time.Second
	}
	return c
}

// Validate checks the ranges of a config with its defaults filled in.
func (c Config) Validate() error {
	var errs []error
	in := func(key string, v, lo, hi int) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("room: %s = %d: must be between %d and %d", key, v, lo, hi))
		}
	}
	in("Shards", c.Shards, 0, 1024)
	in("MaxRooms", c.MaxRooms, 1, 10_000_000)
	in("MaxRoomsPerOwner", c.MaxRoomsPerOwner, 1, 10_000_000)
	in("QueueLen", c.QueueLen, 1, 1<<20)
	in("TickRate", c.TickRate, 1, 1000)
	in("MaxMembers", c.MaxMembers, 1, 1<<20)
	in("MaxLabelBytes", c.MaxLabelBytes, 1, 64<<10)
	in("MaxMetadataBytes", c.MaxMetadataBytes, 1, 1<<20)
	in("MaxTimers", c.MaxTimers, 1, 1<<20)
	in("MaxListed", c.MaxListed, 1, 10000)
	if !(c.RequestRate > 0 && c.RequestRate <= 1e6) {
		errs = append(errs, fmt.Errorf("room: RequestRate = %v: must be above 0 and at most 1e6", c.RequestRate))
	}
	if c.TickSlack > 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("room: TickSlack = %s: must be at most 10ms", c.TickSlack))
	}
	return errors.Join(errs...)
}

// Errors of the manager's calls. A caller maps them to its protocol's
// codes; each says what was refused and why.
var (
	ErrUnknownType   = errors.New("room: no such room type")
	ErrRoomNotFound  = errors.New("room: no such room")
	ErrRoomClosed    = errors.New("room: the room is not taking players")
	ErrRoomEnded     = errors.New("room: the room has ended")
	ErrRoomFull      = errors.New("room: the room is full")
	ErrAlreadyInRoom = errors.New("room: the player is already in a room")
	ErrNotInRoom     = errors.New("room: the player is not in a room")
	ErrNoSeat        = errors.New("room: no seat is held for the player")
	ErrBusy          = errors.New("room: the room's queue is full")
	ErrRateLimited   = errors.New("room: too many requests")
	ErrTooManyRooms  = errors.New("room: the server has its most rooms")
	ErrOwnerLimit    = errors.New("room: the player has created its most rooms")
	ErrTooLarge      = errors.New("room: label or metadata over its bound")
	ErrTooManyTimers = errors.New("room: too many timers")
	ErrClosed        = errors.New("room: the manager has shut down")
	ErrNotConnected  = errors.New("room: the player is not connected")
	ErrDisconnected  = errors.New("room: the player's connection closed before its join was applied")
)
