// Package commonpb holds the messages both products share (Login, LoginAck
// and its Limits, Logout, LogoutAck, Error and its ErrorCode): the Go code
// generated from common.proto. They have no message IDs of their own; each
// product gives them one, in its ids.go: lspb.MsgLogin, lspb.MsgLoginAck,
// lspb.MsgError, lspb.MsgLogout and lspb.MsgLogoutAck (1000, 1001, 1019,
// 1022, 1023), mmopb.MsgMmoLogin, mmopb.MsgMmoLoginAck, mmopb.MsgMmoError,
// mmopb.MsgMmoLogout and mmopb.MsgMmoLogoutAck (10, 11, 12, 13, 14).
// Regenerate the code with `go generate ./protocol`.
package commonpb
