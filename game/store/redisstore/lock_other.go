//go:build !unix

package redisstore

import "os"

// lockFile does not lock where flock is missing: two processes must then
// be given spill files of their own (Redis.SpillFile).
func lockFile(*os.File) (unlock func(), err error) { return func() {}, nil }
