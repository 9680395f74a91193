// Package game is zinxgame's game layer: game state that plugs into a znet
// server as ordinary routers and hooks (today the MMO World). It never
// reaches into znet's internals; it talks to players through
// ziface.IConnection.
package game
