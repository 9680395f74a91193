// Package lockstep is the lockstep (frame-sync) service: players log in,
// sit in rooms and play matches whose inputs the server gathers into
// numbered frames and sends to every seat, so every client simulates the
// same game. Service holds the players and rooms; mount it on a server with
// srv.Mount("lockstep", s). Each Room ticks on a shared, drift-free
// scheduler, and its state is touched only by its tick. The package also
// keeps each match's frame history for reconnection catch-up and replays
// (through a store.FrameStore and store.MatchStore), checks the clients'
// state hashes, votes on results, and offers Rand, the deterministic
// generator every client seeds from MatchStart.
//
// The protocol is package protocol/lspb's (IDs 1000-1021, movable with
// Config.MsgIDBase); login goes through package account.
package lockstep
