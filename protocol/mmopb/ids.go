package mmopb

// MMO demo message IDs.
const (
	MsgSyncPID     uint32 = 1
	MsgTalk        uint32 = 2
	MsgMove        uint32 = 3
	MsgBroadCast   uint32 = 200
	MsgLeave       uint32 = 201
	MsgSyncPlayers uint32 = 202

	MsgMmoLogin     uint32 = 10
	MsgMmoLoginAck  uint32 = 11
	MsgMmoError     uint32 = 12
	MsgMmoLogout    uint32 = 13
	MsgMmoLogoutAck uint32 = 14

	// zinxgame's additions: a move to another scene and its answer.
	MsgChangeScene  uint32 = 15
	MsgSceneChanged uint32 = 16
)

// BroadCast types (BroadCast.Tp).
const (
	TpChat   int32 = 1
	TpAppear int32 = 2
	TpAction int32 = 3
	TpMoved  int32 = 4
)
