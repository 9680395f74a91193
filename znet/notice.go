package znet

import (
	"encoding/json"
	"fmt"
)

// Notice codes sent by the framework under Config.NoticeMsgID.
const (
	NoticeServerFull = "server_full"
	NoticeKicked     = "kicked"
	NoticeShutdown   = "shutdown"
	// NoticeRateLimited: too many messages (MsgRateLimit) or too many new
	// connections from one address (ConnRatePerIP).
	NoticeRateLimited = "rate_limited"
	// NoticeTimeout: the connection was silent for HeartbeatTimeout, or
	// sent no whole message within FirstMessageTimeout.
	NoticeTimeout = "timeout"
	// NoticeOverloaded: the server ran short of memory for its clients
	// (MaxQueuedBytes) and closed the connections holding the most.
	NoticeOverloaded = "overloaded"
	// NoticeTooSlow: the client let its send queue fill (MaxMsgChanLen,
	// MaxSendQueueBytes). It is offered without waiting: a client that
	// does not read seldom gets it.
	NoticeTooSlow = "too_slow"
	// NoticeBanned: an operator banned the client's address (refused at
	// accept, or closed when the ban was made) or its player (refused at
	// login, or kicked). RetryAfterMs is the time left of a timed ban.
	NoticeBanned = "banned"
	// NoticeMaintenance: the server is in maintenance (SetMaintenance):
	// a new login is refused; players already in keep playing.
	NoticeMaintenance = "maintenance"
	// NoticeAnnouncement: an operator's broadcast (POST /admin/broadcast);
	// Reason is the message to show.
	NoticeAnnouncement = "announcement"
)

// Notice is the payload of a server notice: a machine-readable code and a
// reason a client can show to its player. JSON, so any client (Unity, a
// browser, a mini-game) can read it without our protobuf files.
type Notice struct {
	Code   string `json:"code"`
	Reason string `json:"reason"`
	// RetryAfterMs, when set, is how long a client should wait before
	// reconnecting (a shutdown's ReconnectAfter).
	RetryAfterMs int64 `json:"retry_after_ms,omitempty"`
}

func (n Notice) encode() []byte {
	b, err := json.Marshal(n)
	if err != nil {
		// Two strings always marshal.
		panic(err)
	}
	return b
}

// ParseNotice decodes a notice payload.
func ParseNotice(data []byte) (Notice, error) {
	var n Notice
	if err := json.Unmarshal(data, &n); err != nil {
		return Notice{}, fmt.Errorf("znet: bad notice: %w", err)
	}
	return n, nil
}
