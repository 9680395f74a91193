// Package client is zinxgame's Go client: it speaks the servers' protocols
// so a game, a bot or a test does not hand-write framing, login,
// keep-alive, reconnection and catch-up.
//
// A Dialer holds what many connections share (framing, routes, one network
// client); DialLockstep makes one player's connection to a lockstep server
// and logs it in. The returned Lockstep keeps itself alive: it pings (and
// so measures the round-trip time), reconnects by itself with backoff and
// jitter when the connection drops, logs in again with its token and
// catches its match up from the last frame it processed, so a Game sees
// every frame once, in order, whatever the network did.
//
// The wire format and the flow are in docs/clients.md, for clients in other
// languages; client/js is the browser client.
package client
