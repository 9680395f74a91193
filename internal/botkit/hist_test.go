package botkit

import (
	"strings"
	"testing"
	"time"
)

func TestHistQuantiles(t *testing.T) {
	var h Hist
	for v := 0; v < 100_000; v++ {
		h.Record(time.Duration(v) * time.Microsecond)
	}
	var s HistSnap
	s.Add(&h)
	for _, q := range []float64{0.5, 0.9, 0.99} {
		got := float64(s.Quantile(q) / time.Microsecond)
		want := q * 100_000
		if got < want || got > want*1.04 {
			t.Errorf("quantile %v = %v µs, want %v within the 3.1%% bucket width", q, got, want)
		}
	}
	if s.Max() != 99_999*time.Microsecond || s.Quantile(1) != s.Max() || s.Count() != 100_000 {
		t.Errorf("max %s, quantile(1) %s, count %d", s.Max(), s.Quantile(1), s.Count())
	}
}

func TestLoopback(t *testing.T) {
	for _, a := range []string{"127.0.0.1:1", "127.9.9.9:1", "[::1]:1", "localhost:1", "kcp://127.0.0.1:1"} {
		if err := Loopback(a); err != nil {
			t.Errorf("Loopback(%q) = %v", a, err)
		}
	}
	for _, a := range []string{"10.0.0.1:1", "example.com:1", "127.0.0.1", "kcp://10.0.0.1:1"} {
		if Loopback(a) == nil {
			t.Errorf("Loopback(%q) accepted", a)
		}
	}
}

// TestTarget: without allowRemote it is Loopback, naming the opt-in in its
// refusal; with it, any host:port passes and a malformed address does not.
func TestTarget(t *testing.T) {
	err := Target("10.0.0.1:1", false)
	if err == nil || !strings.Contains(err.Error(), "only loopback") || !strings.Contains(err.Error(), "-allow-remote") {
		t.Errorf("Target(10.0.0.1:1, false) = %v, want a loopback-only refusal naming -allow-remote", err)
	}
	if err := Target("127.0.0.1:1", false); err != nil {
		t.Errorf("Target(127.0.0.1:1, false) = %v", err)
	}
	for _, a := range []string{"10.0.0.1:1", "lockstep:8999", "kcp://mmo:9001", "127.0.0.1:1"} {
		if err := Target(a, true); err != nil {
			t.Errorf("Target(%q, true) = %v", a, err)
		}
	}
	for _, a := range []string{"lockstep", ":8999", "lockstep:", "kcp://"} {
		if Target(a, true) == nil {
			t.Errorf("Target(%q, true) accepted", a)
		}
	}
}

func TestHistBucketBounds(t *testing.T) {
	for i := 1; i < histBuckets; i++ {
		if bucketOf(bucketHigh(i-1)+1) != i || bucketOf(bucketHigh(i)) != i {
			t.Fatalf("bucket %d: bounds [%d, %d] do not map back", i, bucketHigh(i-1)+1, bucketHigh(i))
		}
	}
}
