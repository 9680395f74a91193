package lspb

// Lockstep message IDs.
const (
	MsgLogin            uint32 = 1000
	MsgLoginAck         uint32 = 1001
	MsgRoomCreate       uint32 = 1002
	MsgRoomJoin         uint32 = 1003
	MsgRoomLeave        uint32 = 1004
	MsgRoomList         uint32 = 1005
	MsgRoomListAck      uint32 = 1006
	MsgReady            uint32 = 1007
	MsgRoomState        uint32 = 1008
	MsgPlayerEvent      uint32 = 1009
	MsgMatchStart       uint32 = 1010
	MsgInput            uint32 = 1011
	MsgFrames           uint32 = 1012
	MsgHashReport       uint32 = 1013
	MsgDesync           uint32 = 1014
	MsgReconnect        uint32 = 1015
	MsgCatchUp          uint32 = 1016
	MsgMatchEnd         uint32 = 1017
	MsgMatchResult      uint32 = 1018
	MsgError            uint32 = 1019
	MsgReplay           uint32 = 1020
	MsgReplayStart      uint32 = 1021
	MsgLogout           uint32 = 1022
	MsgLogoutAck        uint32 = 1023
	MsgRoomJoinOrCreate uint32 = 1024
)
