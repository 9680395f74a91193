package account

import (
	"net"
	"testing"
	"time"
)

// TestIPLimitsBounded: the per-IP limiters are bounded by MaxTrackedIPs,
// the least recently used dropped first, and one IP's burst is its own.
func TestIPLimitsBounded(t *testing.T) {
	l := newIPLimits(0.001, 2, 100)
	now := time.Now()
	for i := range 1000 {
		l.allow(&net.TCPAddr{IP: net.IPv4(10, 0, byte(i>>8), byte(i)), Port: 1}, now)
	}
	if n := l.tracked(); n != 100 {
		t.Fatalf("%d limiters after 1,000 IPs, want the bound of 100", n)
	}
	a := &net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 5}
	b := &net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.1"), Port: 6} // the same IP, v4-mapped
	if !l.allow(a, now) || !l.allow(b, now) || l.allow(a, now) {
		t.Fatal("want a burst of 2 for one IP, however it is written")
	}
	if !l.allow(&net.TCPAddr{IP: net.ParseIP("192.0.2.2")}, now) {
		t.Fatal("another IP was limited by the first's burst")
	}
}
