package pongpb

// The pong example's message IDs; see pong.proto for the table.
const (
	MsgLogin        uint32 = 5000
	MsgLoginAck     uint32 = 5001
	MsgLoginError   uint32 = 5002
	MsgLogout       uint32 = 5003
	MsgLogoutAck    uint32 = 5004
	MsgPlay         uint32 = 5010
	MsgRejoin       uint32 = 5011
	MsgMove         uint32 = 5012
	MsgStatsRequest uint32 = 5013
	MsgError        uint32 = 5020
	MsgJoined       uint32 = 5021
	MsgMatchStart   uint32 = 5022
	MsgState        uint32 = 5023
	MsgMatchEnd     uint32 = 5024
	MsgStats        uint32 = 5025
)
