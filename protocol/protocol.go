// Package protocol holds zinxgame's wire messages: the .proto files, the Go
// code generated from them (package pb), and the message-ID table.
//
// MMO demo (msg.proto), wire-compatible with the Zinx MMO demo clients,
// little-endian framing [DataLen][MsgID][Data]:
//
//	ID   direction        message      meaning
//	1    server->client   SyncPID      your player ID, sent on login
//	2    client->server   Talk         world chat
//	3    client->server   Position     move to this position
//	200  server->client   BroadCast    Tp 1 chat, 2 position/appear, 3 action, 4 moved
//	201  server->client   SyncPID      a player left your view or went offline
//	202  server->client   SyncPlayers  the players around you, sent on login
//
// Regenerate the Go code after editing a .proto file (needs Debian's
// protobuf-compiler; protoc-gen-go is built at the version go.mod pins):
//
//	go generate ./protocol
package protocol

//go:generate go run ./gen

// MMO demo message IDs.
const (
	MsgSyncPID     uint32 = 1
	MsgTalk        uint32 = 2
	MsgMove        uint32 = 3
	MsgBroadCast   uint32 = 200
	MsgLeave       uint32 = 201
	MsgSyncPlayers uint32 = 202
)

// BroadCast types (BroadCast.Tp).
const (
	TpChat   int32 = 1
	TpAppear int32 = 2
	TpAction int32 = 3
	TpMoved  int32 = 4
)
