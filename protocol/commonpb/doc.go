// Package commonpb holds the messages both products share (Login, LoginAck,
// Error and its ErrorCode): the Go code generated from common.proto. They
// have no message IDs of their own; each product gives them one, in its
// ids.go: lspb.MsgLogin, lspb.MsgLoginAck and lspb.MsgError (1000, 1001,
// 1019), mmopb.MsgMmoLogin, mmopb.MsgMmoLoginAck and mmopb.MsgMmoError
// (10, 11, 12). Regenerate the code with `go generate ./protocol`.
package commonpb
