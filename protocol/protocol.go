// Package protocol documents zinxgame's wire messages and regenerates their
// code. Each product has its package, holding its .proto file, the Go code
// generated from it and its message IDs (ids.go):
//
//	commonpb  common.proto    Login, LoginAck, Logout, LogoutAck, Error: shared, with no IDs of their own
//	lspb      lockstep.proto  lockstep (frame sync), IDs 1000-1099
//	mmopb     msg.proto       the Zinx MMO demo, IDs 1-3, 10-14, 200-202
//
// MMO demo (mmopb, msg.proto), wire-compatible with the Zinx MMO demo
// clients, little-endian framing [DataLen][MsgID][Data]:
//
//	ID   direction        message      meaning
//	1    server->client   SyncPID      your player ID, sent on login
//	2    client->server   Talk         world chat
//	3    client->server   Position     move to this position
//	200  server->client   BroadCast    Tp 1 chat, 2 position/appear, 3 action, 4 moved
//	201  server->client   SyncPID      a player left your view or went offline
//	202  server->client   SyncPlayers  the players around you, sent on login
//
// zinxgame's additions (Zinx clients never send 10 or 13 and so never see
// 11, 12 or 14; they play anonymously, as in Zinx):
//
//	10   client->server   Login        (common.proto) log in: a new identity, or a token to resume one
//	11   server->client   LoginAck     (common.proto) your account ID and token; your saved position follows
//	12   server->client   Error        (common.proto) the login failed (then the connection closes)
//	13   client->server   Logout       (common.proto) end my session: the token stops working
//	14   server->client   LogoutAck    (common.proto) the session is ended; the connection closes
//
// Lockstep (frame sync, lspb, lockstep.proto; Login, LoginAck and Error are
// common.proto's), IDs 1000-1099:
//
//	ID    direction        message       meaning
//	1000  client->server   Login         name, and a token to resume an identity
//	1001  server->client   LoginAck      player ID, token, a room holding your seat, the limits
//	1002  client->server   RoomCreate    create a room (options) and sit in it
//	1003  client->server   RoomJoin      take a seat in a room
//	1004  client->server   RoomLeave     leave the room
//	1005  client->server   RoomList      list rooms (open only, or all)
//	1006  server->client   RoomListAck   the rooms
//	1007  client->server   Ready         ready or not
//	1008  server->client   RoomState     your room and seat (after create, join, reconnect)
//	1009  server->client   PlayerEvent   a player joined, left, disconnected, reconnected, got ready
//	1010  server->client   MatchStart    match ID, seed, tick rate, seats, start frame
//	1011  client->server   Input         opaque input bytes, frame hint, sequence number
//	1012  server->client   FrameBatch    live frames: [slot, bytes] inputs per frame
//	1013  client->server   HashReport    state hash after a frame
//	1014  server->client   Desync        the slots whose hash differs from the majority
//	1015  client->server   Reconnect     resume from the frame after last_frame
//	1016  server->client   FrameBatch    catch-up frames (then live ones follow, no gap)
//	1017  server->client   MatchEnd      the match is over: reason, result
//	1018  client->server   MatchResult   my view of the result
//	1019  server->client   Error         a request failed: code, message, request ID, input seq
//	1020  client->server   ReplayRequest send me an ended match
//	1021  server->client   ReplayStart   the match's seed and seats; 1016 batches and MatchEnd follow
//	1022  client->server   Logout        (common.proto) end my session: the token stops working
//	1023  server->client   LogoutAck     (common.proto) the session is ended; the connection closes
//	1024  client->server   RoomJoinOrCreate  join an open room with the label, or create one
//
// Kicks and shutdowns arrive as znet notices (zconf NoticeMsgID, JSON).
//
// The proto packages are zinxgame.common, zinxgame.lockstep and
// zinxgame.mmo; those names are not on the wire, only the message IDs and
// the field numbers are.
//
// Regenerate the Go code after editing a .proto file (needs Debian's
// protobuf-compiler; protoc-gen-go is built at the version go.mod pins):
//
//	go generate ./protocol
package protocol

//go:generate go run ./gen
