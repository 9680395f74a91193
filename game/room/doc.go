// Package room is the room runtime: the engine a game's own room logic runs
// on. A game implements Logic (Init, JoinAttempt, Join, Leave, Input, Tick,
// End, Signal) and registers it by type name with a Manager; the manager
// creates rooms by type, routes players' requests to their room's bounded
// queue, and runs every room's tick on a few scheduler shards.
//
// The engine owns the loop and the game owns the rules. Every Logic method
// of a room is called on that room's tick, one call at a time, so game code
// takes no locks; it acts only through its *Room handle (send, broadcast,
// kick, end, timers, label and metadata for listings) and must not block.
//
// Every queue is bounded, and each states what happens when it is full:
//   - A room's request queue (Config.QueueLen, or its type's
//     TypeOptions.QueueLen) refuses a request (an input, a leave, a
//     rejoin, a signal) with ErrBusy; the request is not applied, and the
//     caller tells its client.
//   - Each connection's requests to room queues are rate limited
//     (Config.RequestRate); over the rate a request is refused with
//     ErrRateLimited.
//   - Joins, drops and the shutdown are control events: they are never
//     refused for space, and are bounded by the room's capacity (a join
//     holds a reserved seat from the request until the room applies it).
//   - Rooms are bounded per server (Config.MaxRooms) and per owner
//     (Config.MaxRoomsPerOwner): ErrTooManyRooms and ErrOwnerLimit.
//
// Listings come from an index the manager keeps as rooms change (type,
// label, open or not), so a List costs the size of its page, not the number
// of rooms. JoinOrCreate fills an open room of a type and label, or makes
// one.
package room
