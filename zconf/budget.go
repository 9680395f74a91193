package zconf

// The memory bounds' defaults. They are resolved here, not written into
// Default, so that zero keeps meaning "the default" in a Config built by
// hand or loaded from an older file, and the send queue's default follows
// MaxPackageSize.
const (
	// DefaultMaxSendQueueBytes is MaxSendQueueBytes' default for
	// packets of up to 256 KiB. A client that reads is seldom more than a
	// few KiB behind: the heaviest legitimate burst measured, an MMO
	// player arriving in a crowd (a 202 list per 100 players and an
	// appear per player), is tens of KiB. The kernel's socket buffer
	// takes the first MiBs of a slow moment, so a client that is a
	// further MiB behind is not reading.
	DefaultMaxSendQueueBytes = 1 << 20
	// DefaultMaxQueuedBytes is MaxQueuedBytes' default: 64 full send
	// queues, or the in-flight data of thousands of reading players (an
	// echo load of 1,000 connections with 8 requests of 64 bytes in
	// flight holds under 1 MiB).
	DefaultMaxQueuedBytes int64 = 64 << 20
)

// SendQueueLimit is the byte bound of each connection's send queue that
// MaxSendQueueBytes means: its value, the default for 0 (1 MiB, or four
// of the largest frames if that is more), or 0 when it is off (negative).
func (c Config) SendQueueLimit() int {
	switch {
	case c.MaxSendQueueBytes < 0:
		return 0
	case c.MaxSendQueueBytes > 0:
		return c.MaxSendQueueBytes
	}
	return max(DefaultMaxSendQueueBytes, 4*(c.MaxPackageSize+8))
}

// QueuedBytesLimit is the server-wide budget MaxQueuedBytes means: its
// value, the default for 0, or 0 when it is off (negative).
func (c Config) QueuedBytesLimit() int64 {
	switch {
	case c.MaxQueuedBytes < 0:
		return 0
	case c.MaxQueuedBytes > 0:
		return c.MaxQueuedBytes
	}
	return DefaultMaxQueuedBytes
}
