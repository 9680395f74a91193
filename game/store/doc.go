// Package store holds what the game layer persists and the interfaces it
// persists it through: player records (PlayerStore), match metadata
// (MatchStore), sessions (SessionStore) and the input logs of lockstep
// matches (FrameStore), with the in-memory implementations that are the
// defaults (MemoryStore, MemoryFrameStore). Package store/redisstore
// implements the same interfaces on Redis, and store/storetest is the table
// every implementation passes.
//
// The package knows nothing of the network or the wire: it imports neither
// znet nor aoi nor generated protobuf code, so a store can be written and
// tested on its own.
package store
