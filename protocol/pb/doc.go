// Package pb is the Go code generated from protocol/*.proto; regenerate it
// with `go generate ./protocol`. See package protocol for the message IDs.
package pb
