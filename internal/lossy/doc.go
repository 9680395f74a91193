// Package lossy emulates a bad network between two loopback endpoints, for
// tests and measurements on machines where netem (tc qdisc ... netem) is not
// available.
//
// UDPProxy relays datagrams between clients and a target, each datagram
// subject to loss, delay, jitter and reordering (a Profile). TCPProxy accepts
// kernel TCP connections and carries each across the lossy hop with a real
// TCP implementation, gVisor's netstack: two in-process stacks joined by a
// lossy packet link, so retransmission, RTO, SACK and head-of-line blocking
// are those of a genuine TCP, not a model. Kernel TCP is used only on the
// two loopback legs at either end, which see no loss.
//
// Both proxies share one link engine (link.go): per direction, a heap of
// packets ordered by due time and one goroutine delivering them, with a
// bounded queue that drops and counts on overflow, as a router would.
//
// Loopback only: every listen and target address must be a literal loopback
// IP (127.0.0.0/8 or ::1), or "localhost"; anything else is refused, so a
// test can never send its traffic off the machine.
package lossy
