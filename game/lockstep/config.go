package lockstep

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/zinxgame/zinxgame/protocol/lspb"
)

// Config configures the lockstep service: room defaults and limits.
type Config struct {
	// Room defaults, used for every option a RoomCreate leaves at zero.
	MaxPlayers      int           // seats per room, 1-16
	TickRate        int           // frames per second, 1-120
	ReadyTimeout    time.Duration // an open room starts with those present after this
	MaxDuration     time.Duration // a match ends after this
	FramesPerPacket int           // frames sent together, 1-10
	HashInterval    int           // clients report a state hash every N frames
	// MaxRooms bounds the rooms open or running at once.
	MaxRooms int
	// MaxRoomsPerOwner bounds the rooms one player has created that are
	// still open or running, so one identity cannot take every slot
	// (ERROR_ROOM_LIMIT). 0 means 2.
	MaxRoomsPerOwner int
	// RequestRate is each connection's allowed requests per second to its
	// room (inputs, hashes, votes, ready, leave, join, create, reconnect;
	// burst: one second's worth); more get ERROR_RATE_LIMITED. 0 means 200.
	RequestRate float64
	// EmptyTimeout ends a room in which no player has been connected for
	// this long (MATCH_END_EMPTY), seats held for reconnection or not, so a
	// room nobody is in stops ticking well before ReconnectGrace runs out.
	// 0 means 10s.
	EmptyTimeout time.Duration
	// MaxHistoryBytes bounds the frames a running room keeps in memory for
	// catch-up; older frames are read from the frame store. 0 means 8 MiB
	// (a running room stays under 10 MB with its history).
	MaxHistoryBytes int
	// KeptFrameBytes bounds the bytes of frames the in-memory frame store
	// keeps (it is the default store; Redis keeps its own): ended matches
	// go oldest first, and a running match that would pass it stops being
	// recorded (its replay is then refused with ERROR_FRAMES_UNAVAILABLE).
	// 0 means 256 MiB.
	KeptFrameBytes int
	// ReconnectGrace is how long a dropped player's seat is kept.
	ReconnectGrace time.Duration
	// MaxInputBytes is the largest input accepted.
	MaxInputBytes int
	// InputRate is each player's allowed inputs per second (burst: one
	// second's worth); more are refused with ERROR_RATE_LIMITED.
	InputRate float64
	// RoomQueueLen bounds each room's queue of requests between ticks
	// (allocated with the room: about 90 bytes a slot). Between two ticks a
	// 4-player room at 10 inputs a second per player gets 2 or so.
	// When it is full, inputs are dropped (counted, ERROR_BUSY) and other
	// requests are refused with ERROR_BUSY: a flood never grows memory or
	// delays the clock.
	RoomQueueLen int
	// MaxBatchBytes bounds a frame packet and a catch-up message; keep it
	// under the server's MaxPackageSize. A frame holds at most
	// (MaxBatchBytes-32)/FramesPerPacket-32 bytes of inputs; inputs that do
	// not fit are refused with ERROR_BUSY.
	MaxBatchBytes int
	// KeptMatches is how many ended matches the in-memory store keeps for
	// replays.
	KeptMatches int
	// Shards is the number of tick goroutines; 0 means GOMAXPROCS.
	Shards int
	// MsgIDBase is the first message ID of the lockstep protocol: its IDs
	// are MsgIDBase+0 (Login) to MsgIDBase+24 (RoomJoinOrCreate), in
	// protocol.MsgLogin's order. 0 means 1000, the protocol's own IDs;
	// move it when another module of the server uses 1000-1023.
	MsgIDBase uint32
	// TickSlack lets a shard that wakes for one room also run the rooms
	// due within this much time, a little early, instead of sleeping and
	// waking again for each. Room phases are spread over the tick period,
	// so without it a shard sleeps between rooms due microseconds apart,
	// and only the Go timers' own granularity (about 1 ms on Linux)
	// bounds its wakes. With it a shard wakes at most about once per
	// TickSlack, and the rooms it runs together send their frames in one
	// burst, which the receivers' wake-ups share. Ticks are never run
	// late because of it, and their due times (and so the match's clock)
	// do not move. 0 wakes for the earliest room each time.
	TickSlack time.Duration
}

// DefaultConfig returns production defaults: 4 players at 30 Hz.
func DefaultConfig() Config {
	return Config{
		MaxPlayers: 4, TickRate: 30, ReadyTimeout: 30 * time.Second, MaxDuration: time.Hour,
		FramesPerPacket: 1, HashInterval: 30, MaxRooms: 10000, ReconnectGrace: time.Minute,
		MaxInputBytes: 256, InputRate: 60, RoomQueueLen: 128, MaxBatchBytes: 4000, KeptMatches: 1000,
		TickSlack: time.Millisecond, MsgIDBase: lspb.MsgLogin,
		MaxRoomsPerOwner: 2, RequestRate: 200, EmptyTimeout: 10 * time.Second,
		MaxHistoryBytes: 8 << 20, KeptFrameBytes: 256 << 20,
	}
}

// withDefaults fills the zero fields added after the first release, so a
// Config built by hand from an older DefaultConfig still works.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MaxRoomsPerOwner == 0 {
		c.MaxRoomsPerOwner = d.MaxRoomsPerOwner
	}
	if c.RequestRate == 0 {
		c.RequestRate = d.RequestRate
	}
	if c.EmptyTimeout == 0 {
		c.EmptyTimeout = d.EmptyTimeout
	}
	if c.MaxHistoryBytes == 0 {
		c.MaxHistoryBytes = d.MaxHistoryBytes
	}
	if c.KeptFrameBytes == 0 {
		c.KeptFrameBytes = d.KeptFrameBytes
	}
	if c.MsgIDBase == 0 {
		c.MsgIDBase = lspb.MsgLogin
	}
	return c
}

// Validate checks every field's range.
func (c *Config) Validate() error {
	var errs []error
	in := func(key string, v, lo, hi int) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("game: Lockstep.%s = %d: must be between %d and %d", key, v, lo, hi))
		}
	}
	dur := func(key string, v, lo, hi time.Duration) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("game: Lockstep.%s = %s: must be between %s and %s", key, v, lo, hi))
		}
	}
	in("MaxPlayers", c.MaxPlayers, 1, 16)
	in("TickRate", c.TickRate, 1, 120)
	dur("ReadyTimeout", c.ReadyTimeout, 0, 24*time.Hour)
	dur("MaxDuration", c.MaxDuration, time.Second, 7*24*time.Hour)
	in("FramesPerPacket", c.FramesPerPacket, 1, 10)
	in("HashInterval", c.HashInterval, 1, 100000)
	in("MaxRooms", c.MaxRooms, 1, 10_000_000)
	in("MaxRoomsPerOwner", c.MaxRoomsPerOwner, 0, 10_000_000)
	if !(c.RequestRate >= 0 && c.RequestRate <= 1e6) {
		errs = append(errs, fmt.Errorf("game: Lockstep.RequestRate = %v: must be between 0 and 1e6", c.RequestRate))
	}
	dur("EmptyTimeout", c.EmptyTimeout, 0, 24*time.Hour)
	in("MaxHistoryBytes", c.MaxHistoryBytes, 0, 1<<30)
	in("KeptFrameBytes", c.KeptFrameBytes, 0, min(1<<40, math.MaxInt)) // 2 GiB on 32-bit targets
	dur("ReconnectGrace", c.ReconnectGrace, 0, 24*time.Hour)
	in("MaxInputBytes", c.MaxInputBytes, 1, 64<<10)
	if !(c.InputRate > 0 && c.InputRate <= 10000) {
		errs = append(errs, fmt.Errorf("game: Lockstep.InputRate = %v: must be above 0 and at most 10000", c.InputRate))
	}
	in("RoomQueueLen", c.RoomQueueLen, 16, 1<<20)
	in("MaxBatchBytes", c.MaxBatchBytes, 256, 64<<20)
	in("KeptMatches", c.KeptMatches, 1, 1_000_000)
	in("Shards", c.Shards, 0, 1024)
	dur("TickSlack", c.TickSlack, 0, 10*time.Millisecond)
	if c.MsgIDBase > 1<<31 {
		errs = append(errs, fmt.Errorf("game: Lockstep.MsgIDBase = %d: must be at most %d", c.MsgIDBase, uint32(1<<31)))
	}
	if c.FramesPerPacket > 0 && c.frameBudget() < c.MaxInputBytes+inputOverhead {
		errs = append(errs, fmt.Errorf("game: Lockstep.MaxBatchBytes = %d: must hold %d frames (FramesPerPacket) of at least one input of MaxInputBytes (%d) each",
			c.MaxBatchBytes, c.FramesPerPacket, c.MaxInputBytes))
	}
	return errors.Join(errs...)
}

// A frame's inputs are bounded so that a packet of FramesPerPacket frames
// always fits in MaxBatchBytes (and so in the server's MaxPackageSize,
// which MaxBatchBytes must stay under): a flood of large inputs fills a
// frame, and what does not fit is refused, instead of making a packet the
// server cannot send. batchHead is a FrameBatch's own fields; inputOverhead
// bounds what a frame and an input add around the input's bytes.
const (
	batchHead     = 32
	inputOverhead = 32
)

// frameBudget is the most input bytes (wire-encoded) one frame may hold.
func (c *Config) frameBudget() int {
	return (c.MaxBatchBytes-batchHead)/c.FramesPerPacket - inputOverhead
}

// roomOptions fills o's zero fields with the defaults and checks them.
func (l *Service) roomOptions(o *lspb.RoomOptions) (*lspb.RoomOptions, error) {
	out := &lspb.RoomOptions{
		MaxPlayers: uint32(l.cfg.MaxPlayers), TickRate: uint32(l.cfg.TickRate),
		ReadyTimeoutMs: uint32(l.cfg.ReadyTimeout.Milliseconds()), MaxDurationS: uint32(l.cfg.MaxDuration.Seconds()),
		FramesPerPacket: uint32(l.cfg.FramesPerPacket), HashInterval: uint32(l.cfg.HashInterval),
	}
	if o != nil {
		pick := func(dst *uint32, v uint32) {
			if v != 0 {
				*dst = v
			}
		}
		pick(&out.MaxPlayers, o.MaxPlayers)
		pick(&out.TickRate, o.TickRate)
		pick(&out.ReadyTimeoutMs, o.ReadyTimeoutMs)
		pick(&out.MaxDurationS, o.MaxDurationS)
		pick(&out.FramesPerPacket, o.FramesPerPacket)
		pick(&out.HashInterval, o.HashInterval)
	}
	c := l.cfg
	c.MaxPlayers, c.TickRate = int(out.MaxPlayers), int(out.TickRate)
	c.ReadyTimeout = time.Duration(out.ReadyTimeoutMs) * time.Millisecond
	c.MaxDuration = time.Duration(out.MaxDurationS) * time.Second
	c.FramesPerPacket, c.HashInterval = int(out.FramesPerPacket), int(out.HashInterval)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return out, nil
}
