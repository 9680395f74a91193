// Package lspb is the lockstep (frame-sync) protocol: the Go code generated
// from lockstep.proto, and the message IDs (ids.go, 1000-1023). Login,
// LoginAck, Error, Logout and LogoutAck are package commonpb's messages,
// sent here as 1000, 1001, 1019, 1022 and 1023. Regenerate the code with `go generate ./protocol`; see
// package protocol for the ID table.
package lspb
