// Package game is zinxgame's game layer, in subpackages that plug into a
// znet server as modules (routers and hooks). They never reach into znet's
// internals; they talk to players through ziface.IConnection.
//
//   - game/lockstep: the lockstep (frame-sync) service, its rooms, matches,
//     frame history, replays and deterministic Rand (protocol/lspb).
//   - game/mmo: the MMO demo's World on a grid area of interest, Zinx's
//     MMO protocol (protocol/mmopb).
//   - game/account: identity: accounts and login tokens, with
//     game/account/auth (signed session tokens) and game/account/ids
//     (snowflake IDs).
//   - game/store: the records the game keeps, the store interfaces and
//     their in-memory implementations, with game/store/redisstore (the same
//     on Redis) and game/store/storetest (the table every store passes).
//
// Imports point down: lockstep and mmo use account and store; store knows
// nothing of the network or the wire. Package game itself holds no code;
// its example serves the MMO world, the lockstep rooms and an
// application's own router on one server.
package game
