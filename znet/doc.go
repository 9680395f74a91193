// Package znet implements zinxgame's network core: a TCP server and client
// that speak Zinx's frames, route messages by ID to routers or handler
// funcs, run each connection's messages in arrival order on a shared worker
// pool, and write with one batched syscall per wake-up.
//
// A message travels: accept (refused over MaxConn with a notice) -> read
// (length checked against MaxPackageSize before allocation) -> route (unknown
// IDs counted, logged once per connection) -> work (the connection's mailbox
// on the worker pool; blocking work via IConnection.Async) -> write (the
// connection's bounded send queue, drained by one writer) -> close (one
// idempotent path that runs OnConnStop exactly once).
package znet

import "errors"

var (
	// ErrServerClosed is returned by Serve and friends after Shutdown or Stop.
	ErrServerClosed = errors.New("znet: server closed")
	// ErrConnClosed is returned when sending on a closed connection.
	ErrConnClosed = errors.New("znet: connection closed")
	// ErrSendQueueFull is returned when a connection's send queue is full;
	// the connection is closed, since its client has stopped reading.
	ErrSendQueueFull = errors.New("znet: send queue full")
	// ErrPacketTooLarge is returned for payloads over MaxPackageSize.
	ErrPacketTooLarge = errors.New("znet: packet too large")
	// ErrShortHead is returned by Unpack for a head under HeadLen bytes.
	ErrShortHead = errors.New("znet: short frame head")
	// ErrBlockingPoolFull is returned by Async when every blocking worker
	// is busy.
	ErrBlockingPoolFull = errors.New("znet: blocking pool full")
)
