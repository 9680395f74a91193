// Package mmopb is the MMO demo's protocol, wire-compatible with the Zinx
// MMO demo clients: the Go code generated from msg.proto, the message IDs
// and the BroadCast types (ids.go). Login, LoginAck, Error, Logout and
// LogoutAck are package commonpb's messages, sent here as 10, 11, 12, 13
// and 14. Regenerate the code with
// `go generate ./protocol`; see package protocol for the ID table.
package mmopb
