// Package durability holds the black-box tests of "acknowledged means
// durable" (docs/persistence.md, Durability): they build the lockstep and
// MMO example servers, run them as real processes on fixed loopback ports
// against a private redis-server (internal/redistest, with its append-only
// file fsynced on every write), play real clients against them (package
// client for lockstep, the MMO wire protocol by hand), then crash or stop
// them and read Redis directly (go-redis) and through a restarted server.
//
//   - TestKillNineLoop kills -9 the lockstep server at a random point of
//     the flush interval, again and again, in sync and in async mode. In
//     sync mode no acknowledged record may be missing afterwards; in async
//     mode only those acknowledged within one FlushInterval (plus a stated
//     margin) of the kill may be, and they are counted. Matches running at
//     the kill must come back ended with MATCH_END_INTERRUPTED, and their
//     players must hear so when they log in again.
//   - TestSigtermWithRedisDown stops the servers with SIGTERM while Redis is
//     down: they must exit 0 with the writes in the spill file, and after
//     Redis and the server are back nothing acknowledged is missing.
//   - TestExitNonZeroWhenNotSpilled: when the writes can be neither stored
//     nor spilled, SIGTERM exits non-zero and the log counts the writes lost.
//   - TestVerifierCatchesLosses is the harness's negative control: records
//     deleted from Redis by hand must be reported.
//
// The full kill loop runs 20 iterations per mode. -short, or
// ZINX_KILLTEST_ITERATIONS=N, changes that for a local run:
//
//	go test -timeout 600s ./tests/durability
//	go test -timeout 300s -short ./tests/durability
//	ZINX_KILLTEST_ITERATIONS=5 go test -timeout 300s -run KillNine -v ./tests/durability
package durability
