// Package pongpb is the pong example's protocol: the Go code generated from
// pong.proto, and the message IDs (ids.go, 5000-5025). Login, LoginAck,
// Error, Logout and LogoutAck are package commonpb's messages, sent here as
// 5000-5004. Regenerate the code with `go generate ./examples/pong/...`.
package pongpb

//go:generate go run github.com/zinxgame/zinxgame/protocol/gen .
