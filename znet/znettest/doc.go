// Package znettest is the test kit of zinxgame, what net/http/httptest is to
// net/http: everything a test of a znet server, a module or a handler needs,
// so that no package writes its own copy.
//
//   - NewServer serves a *znet.Server on loopback ports (TCP, WebSocket
//     with WithWebSocket, KCP with WithKCP) for the length of a test. Its logs are kept in a
//     bounded buffer and printed only when the test fails, and it shuts down
//     gracefully when the test ends, failing the test when the shutdown
//     does not go cleanly.
//   - Peer is a hand-driven client over TCP, WebSocket or KCP: it sends exactly
//     the frames (or bytes) a test wants and reads with expectations
//     (Expect, ExpectSkip, ExpectProto, ExpectNotice, ExpectClosed,
//     ExpectSilence), each bounded in time and failing the test with a
//     message that says what arrived instead.
//   - Recorder is an ziface.IConnection with no network, and NewRequest an
//     ziface.IRequest on it, for unit tests of handlers and hooks: it
//     records what is sent, its properties, Stop and Kick, as
//     httptest.ResponseRecorder records a response.
//
// The helpers take a TB, which *testing.T, *testing.B and *testing.F
// satisfy. Config returns the configuration tests start from: loopback,
// small pools, debug logs.
package znettest
