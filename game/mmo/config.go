package mmo

import (
	"errors"
	"fmt"
	"math"

	"github.com/zinxgame/zinxgame/aoi"
)

// DefaultScene names the first scene when Config.Scene is empty; player
// records saved by earlier versions name it too.
const DefaultScene = "mmo"

// Disabled switches off a limit whose zero means a default (ChatRate).
const Disabled = -1

// Config describes an MMO world: its first scene (the map fields, Zinx's
// demo map by default), the scenes a player can move to, and the limits
// every scene applies. The zero value of each field means the default its
// comment gives, except the map, whose defaults DefaultConfig fills in.
type Config struct {
	// The first scene's map and spawn area (Map).
	MinX, MaxX float32
	CntX       int
	MinZ, MaxZ float32
	CntZ       int
	// New players appear at (SpawnX + rand[0, SpawnRange), 0,
	// SpawnZ + rand[0, SpawnRange)).
	SpawnX, SpawnZ, SpawnRange float32
	// Scene names the first scene, where every player starts; "" means
	// DefaultScene.
	Scene string
	// Scenes name more scenes a player can move to with a ChangeScene
	// message (15), each on the first scene's map; WithScene gives a
	// scene a map of its own.
	Scenes []string
	// MaxChatLen is the longest chat text accepted, in characters.
	MaxChatLen int
	// MsgIDBase moves every MMO message ID up by this much (0, the
	// default, keeps Zinx's IDs 1/2/3/10/11/12/200/201/202, which Zinx's
	// demo clients need); for a server whose other modules use them.
	MsgIDBase uint32
	// TickRate is each scene's ticks per second: the moves, chats, joins
	// and leaves that arrived since the last tick are applied on it, and
	// what they cause leaves in one write per player. 0 means
	// DefaultTickRate.
	TickRate int
	// ChatRate is the chats per second one player may send, past ChatBurst;
	// more are refused with ERROR_RATE_LIMITED. 0 means 1; Disabled: no
	// limit (every chat reaches every player of the scene).
	ChatRate float64
	// ChatBurst is the chats a quiet player may send at once; 0 means 5.
	ChatBurst int
	// MaxPlayers bounds the players of one scene; a connection that
	// finds its scene full is told ERROR_ROOM_FULL and closed. 0 means
	// 20000.
	MaxPlayers int
	// QueueLen bounds the requests (moves, chats, scene changes) a scene
	// holds between two ticks; past it they are refused and counted
	// (busy). 0 means 16384.
	QueueLen int
}

// DefaultTickRate is a scene's ticks per second unless Config.TickRate
// sets another. A move waits for the next tick, and a tick's writes reach
// the players in one burst, so the period is what the coalescing costs in
// latency, and each tick costs one write per player in view of a change,
// so it is also what the coalescing saves. Under the 1,000 crowded bots,
// 40 Hz kept the move p99 at 40-51 ms against the 50 ms target, where 30 Hz
// gave 52-92 ms for about 15% less CPU (docs/performance.md, "The MMO world
// as scenes"); 20 Hz waits up to 50 ms before any work.
const DefaultTickRate = 40

// Map is a scene's map and spawn area.
type Map struct {
	MinX, MaxX float32
	CntX       int
	MinZ, MaxZ float32
	CntZ       int
	// New players appear at (SpawnX + rand[0, SpawnRange), 0,
	// SpawnZ + rand[0, SpawnRange)).
	SpawnX, SpawnZ, SpawnRange float32
}

// DefaultConfig returns the Zinx MMO demo's map and spawn area as the
// only scene, with every limit at its default.
func DefaultConfig() Config {
	return Config{
		MinX: 85, MaxX: 410, CntX: 10,
		MinZ: 75, MaxZ: 400, CntZ: 20,
		SpawnX: 160, SpawnZ: 134, SpawnRange: 50,
		Scene:      DefaultScene,
		MaxChatLen: 256,
		TickRate:   DefaultTickRate,
		ChatRate:   1, ChatBurst: 5,
		MaxPlayers: 20000,
		QueueLen:   16384,
	}
}

// withDefaults fills the zero limits.
func (c Config) withDefaults() Config {
	if c.Scene == "" {
		c.Scene = DefaultScene
	}
	if c.TickRate == 0 {
		c.TickRate = DefaultTickRate
	}
	if c.ChatRate == 0 {
		c.ChatRate = 1
	}
	if c.ChatBurst == 0 {
		c.ChatBurst = 5
	}
	if c.MaxPlayers == 0 {
		c.MaxPlayers = 20000
	}
	if c.QueueLen == 0 {
		c.QueueLen = 16384
	}
	return c
}

// Map is the first scene's map and spawn area.
func (c *Config) Map() Map {
	return Map{MinX: c.MinX, MaxX: c.MaxX, CntX: c.CntX, MinZ: c.MinZ, MaxZ: c.MaxZ, CntZ: c.CntZ,
		SpawnX: c.SpawnX, SpawnZ: c.SpawnZ, SpawnRange: c.SpawnRange}
}

// Validate checks the maps, the spawn areas and the limits.
func (c *Config) Validate() error {
	d := c.withDefaults()
	var errs []error
	if err := d.Map().validate(d.Scene); err != nil {
		errs = append(errs, err)
	}
	names := map[string]bool{}
	for _, n := range append([]string{d.Scene}, d.Scenes...) {
		if err := checkSceneName(n, names); err != nil {
			errs = append(errs, err)
		}
	}
	if c.MsgIDBase > 1<<31 {
		errs = append(errs, fmt.Errorf("game: MMO.MsgIDBase = %d: must be at most %d", c.MsgIDBase, uint32(1<<31)))
	}
	if c.MaxChatLen < 1 || c.MaxChatLen > 65536 {
		errs = append(errs, fmt.Errorf("game: MaxChatLen = %d: must be between 1 and 65536", c.MaxChatLen))
	}
	in := func(key string, v, lo, hi int) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("game: MMO.%s = %d: must be between %d and %d", key, v, lo, hi))
		}
	}
	in("TickRate", d.TickRate, 1, 1000)
	in("ChatBurst", d.ChatBurst, 1, 1_000_000)
	in("MaxPlayers", d.MaxPlayers, 1, 10_000_000)
	in("QueueLen", d.QueueLen, 1, 1<<20)
	if !(d.ChatRate == Disabled || d.ChatRate > 0 && d.ChatRate <= 1e6) {
		errs = append(errs, fmt.Errorf("game: MMO.ChatRate = %v: must be above 0 and at most 1e6, or -1 (off)", c.ChatRate))
	}
	return errors.Join(errs...)
}

func (m Map) validate(scene string) error {
	var errs []error
	if err := m.aoi().Validate(); err != nil {
		errs = append(errs, fmt.Errorf("game: MMO scene %q: %w", scene, err))
	}
	if !(m.SpawnRange >= 0) || math.IsInf(float64(m.SpawnRange), 0) {
		errs = append(errs, fmt.Errorf("game: MMO scene %q: SpawnRange = %v: must be finite and >= 0", scene, m.SpawnRange))
	}
	return errors.Join(errs...)
}

func (m Map) aoi() aoi.Config {
	return aoi.Config{MinX: m.MinX, MaxX: m.MaxX, CntX: m.CntX, MinZ: m.MinZ, MaxZ: m.MaxZ, CntZ: m.CntZ}
}

// checkSceneName checks a scene's name and that seen has not got it yet,
// then adds it.
func checkSceneName(name string, seen map[string]bool) error {
	defer func() { seen[name] = true }()
	switch {
	case name == "" || len(name) > 64:
		return fmt.Errorf("game: MMO scene name %q: must be 1-64 bytes", name)
	case seen[name]:
		return fmt.Errorf("game: MMO scene %q named twice", name)
	}
	return nil
}
