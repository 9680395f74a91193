// Package game is zinxgame's game layer: scenes and rooms that plug into a
// znet server as ordinary routers and hooks. It never reaches into znet's
// internals; it talks to players through ziface.IConnection.
package game
