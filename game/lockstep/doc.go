// Package lockstep is the lockstep (frame-sync) service, the room
// runtime's first Logic: players log in (package account), sit in rooms and
// play matches whose inputs the server gathers into numbered frames and
// sends to every seat, so every client simulates the same game.
//
// Each room is a room.Room of the runtime (package room), ticking on its
// sharded, drift-free scheduler; the match state is touched only by its
// tick. A match's rules are a value (Rules: start, result, desync), its
// hooks (Hooks) let a game record results, its recent frames are kept in a
// bounded history for catch-up, and its whole log goes to a
// store.FrameStore (with metadata in a store.MatchStore) for replays.
// Catch-up and replays are streamed a bounded batch at a time. Rand is the
// deterministic generator every client seeds from MatchStart.
//
// The protocol is package protocol/lspb's (IDs 1000-1023, movable with
// Config.MsgIDBase); docs/lockstep.md specifies it for client writers.
package lockstep
