// Package mmo is the MMO demo's world, wire-compatible with the Zinx MMO
// demo clients: a World of scenes (maps, package aoi's grids) on which
// players see, chat with and follow the players in the grids around them.
// Each scene is a room of the room runtime (package room): a player's
// requests are applied on its scene's tick, in order, and each tick's
// messages to one player leave in one write. Mount a World on a server
// with srv.Mount("mmo", w).
//
// An application adds its own messages (Handle), enter, leave and tick
// hooks (OnEnter, OnLeave, OnTick), and reaches players from anywhere
// through World.Player, Send, Where, InView and Do. A player may log in
// (message 10, through package account's Service) to keep its position
// and scene across sessions, in a store.PlayerStore; Zinx clients play
// anonymously, as in Zinx.
//
// The protocol is package protocol/mmopb's (IDs 1-3, 10-16 and 200-202,
// movable with Config.MsgIDBase).
package mmo
