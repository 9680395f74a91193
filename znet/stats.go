package znet

import "sync/atomic"

// stats counts the events an operator must be able to see. Per-message
// counters are left to the metrics layer so the hot path stays free of
// shared atomics.
type stats struct {
	accepted           atomic.Uint64
	refused            atomic.Uint64 // MaxConn
	refusedIP          atomic.Uint64 // ConnRatePerIP
	refusedBanned      atomic.Uint64 // an IP ban (ipbans.go)
	rateLimited        atomic.Uint64 // messages over MsgRateLimit
	unknownMsgs        atomic.Uint64
	decodeErrors       atomic.Uint64
	panics             atomic.Uint64
	sendQueueFull      atomic.Uint64
	heartbeatTimeouts  atomic.Uint64
	tlsHandshakeErrors atomic.Uint64
}

// Stats is a snapshot of a server's or client's counters.
type Stats struct {
	// ConnsActive is the number of open connections.
	ConnsActive int
	// ConnsAccepted counts connections admitted since start.
	ConnsAccepted uint64
	// ConnsRefused counts connections refused because MaxConn was reached.
	ConnsRefused uint64
	// ConnsRefusedIP counts connections refused by the per-IP rate limit.
	ConnsRefusedIP uint64
	// ConnsRefusedBanned counts connections refused because an IP ban
	// covers their address.
	ConnsRefusedBanned uint64
	// RateLimited counts messages over a connection's MsgRateLimit.
	RateLimited uint64
	// UnknownMsgs counts messages whose ID had no route.
	UnknownMsgs uint64
	// DecodeErrors counts connections closed for a bad frame.
	DecodeErrors uint64
	// Panics counts recovered panics in handlers, hooks and Async work.
	Panics uint64
	// SendQueueFull counts connections closed because they stopped reading:
	// their send queue reached MaxMsgChanLen or MaxSendQueueBytes.
	SendQueueFull uint64
	// OverBudgetCuts counts connections closed because the server held
	// MaxQueuedBytes for its clients and they held the most.
	OverBudgetCuts uint64
	// QueuedBytes is what the server holds for its clients now (send
	// queues and received messages waiting for a handler), as counted
	// against MaxQueuedBytes: exact to within 4 KiB per connection holding
	// any. QueuedBytesPeak is the most it has held, and QueuedBytesLimit
	// what it may hold (a quarter of MaxQueuedBytes at GOGC 100; see
	// zconf's MaxQueuedBytes). All are 0 on a
	// client, or with MaxQueuedBytes off.
	QueuedBytes, QueuedBytesPeak, QueuedBytesLimit int64
	// HeartbeatTimeouts counts connections closed for going silent or for
	// sending no whole message in time.
	HeartbeatTimeouts uint64
	// TLSHandshakeErrors counts TLS connections closed because their
	// handshake failed or timed out (a plain-TCP client on the TLS port,
	// a certificate the client refused, a scanner). WSS handshakes are
	// net/http's and are only logged.
	TLSHandshakeErrors uint64
	// ReadyMailboxes is the number of connections waiting for a worker.
	ReadyMailboxes int
}

// Stats returns a snapshot of the counters.
func (e *engine) Stats() Stats {
	s := Stats{
		ConnsActive:        e.mgr.Len(),
		ConnsAccepted:      e.stats.accepted.Load(),
		ConnsRefused:       e.stats.refused.Load(),
		ConnsRefusedIP:     e.stats.refusedIP.Load(),
		ConnsRefusedBanned: e.stats.refusedBanned.Load(),
		RateLimited:        e.stats.rateLimited.Load(),
		UnknownMsgs:        e.stats.unknownMsgs.Load(),
		DecodeErrors:       e.stats.decodeErrors.Load(),
		Panics:             e.stats.panics.Load(),
		SendQueueFull:      e.stats.sendQueueFull.Load(),
		HeartbeatTimeouts:  e.stats.heartbeatTimeouts.Load(),
		TLSHandshakeErrors: e.stats.tlsHandshakeErrors.Load(),
		OverBudgetCuts:     e.budget.overBudgetCuts(),
	}
	s.QueuedBytes, s.QueuedBytesPeak, s.QueuedBytesLimit = e.budget.queuedBytes()
	if e.sched != nil {
		s.ReadyMailboxes = e.sched.depth()
	}
	return s
}
