package zconf

// The memory bounds' defaults. They are resolved here, not written into
// Default, so that zero keeps meaning "the default" in a Config built by
// hand or loaded from an older file, and the send queue's default follows
// MaxPackageSize.
const (
	// DefaultMaxSendQueueBytes is MaxSendQueueBytes' default (four of the
	// largest frames, if packets near 1 MiB make that more). The largest legitimate burst is a lockstep player
	// reconnecting to a long match: its catch-up is queued at once, about
	// 2 MB for an hour of four players sending ten inputs a second, and a
	// slow link drains it slowly. It is also what MaxMsgChanLen's 1,024
	// frames of Zinx's default 4 KiB packets allowed before.
	DefaultMaxSendQueueBytes = 4 << 20
	// DefaultMaxQueuedBytes is MaxQueuedBytes' default: 64 MiB of bytes
	// held at the default GOGC. Reading players hold little (an echo load
	// of 1,000 connections with 8 requests of 64 bytes in flight holds
	// under 1 MiB; an MMO player's 20 ms of coalesced broadcasts, about
	// 1 KiB), so MaxConn's 12,000 players can each fall 5 KiB behind at
	// once, or 16 reconnecting players each take a full 4 MiB catch-up,
	// before anyone is cut; and under the non-reading attack the server's
	// RSS rises by about this much (tests/nonread).
	DefaultMaxQueuedBytes int64 = 256 << 20
)

// SendQueueLimit is the byte bound of each connection's send queue that
// MaxSendQueueBytes means: its value, the default for 0 (4 MiB, or four
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
