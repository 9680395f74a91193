// Package mmo is the MMO demo's scene, wire-compatible with the Zinx MMO
// demo clients: a World of players on a grid map (package aoi) who see,
// chat with and follow the players in the grids around them. Mount it on
// a server with srv.Mount("mmo", w). A player may log in (message 10,
// through package account's Service) to keep its position across
// sessions, in a store.PlayerStore, and log out (13); Zinx clients play
// anonymously, as in Zinx.
//
// The protocol is package protocol/mmopb's (IDs 1-3, 10-14 and 200-202,
// movable with Config.MsgIDBase).
package mmo
