// Package lspb is the lockstep (frame-sync) protocol: the Go code generated
// from lockstep.proto, and the message IDs (ids.go, 1000-1021). Login,
// LoginAck and Error are package commonpb's messages, sent here as 1000,
// 1001 and 1019. Regenerate the code with `go generate ./protocol`; see
// package protocol for the ID table.
package lspb
