package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The test binary is also the server child process of launchChild, as
// the load tool is its own.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "-serve" {
		os.Exit(childMain(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// launchInProcess starts the servers as goroutines of the test, through
// the same startServer the child process uses.
func launchInProcess(_ context.Context, o *options, m measurement, _ int) (*served, error) {
	srv, err := startServer(m.Target, o.serverConfig(m))
	if err != nil {
		return nil, err
	}
	return &served{addr: srv.Addr, wsURL: srv.WSURL, kcpAddr: srv.KCPAddr, stop: func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Stop(ctx)
	}}, nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunBothTargets(t *testing.T) {
	for _, framing := range []string{"le", "be"} {
		t.Run(framing, func(t *testing.T) {
			var progress syncBuffer
			o := defaultOptions()
			o.Conns = 10
			o.Inflight = 4
			o.Duration = 500 * time.Millisecond
			o.Warmup = 200 * time.Millisecond
			o.Framing = framing
			o.progress = &progress
			o.progressEvery = 100 * time.Millisecond
			o.launch = launchInProcess
			if framing == "be" {
				o.Duration, o.Warmup = 200*time.Millisecond, 50*time.Millisecond
			}

			rep, err := run(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Runs) != 2 || rep.Runs[0].Target != targetBaseline || rep.Runs[1].Target != targetFramework {
				t.Fatalf("runs = %+v, want baseline then framework", rep.Runs)
			}
			if len(rep.Summary) != 2 {
				t.Fatalf("summary has %d entries, want 2", len(rep.Summary))
			}
			for _, r := range rep.Runs {
				if r.Messages == 0 || r.MsgsPerSec <= 0 {
					t.Errorf("%s: %d messages, %.0f msgs/s; want some", r.Target, r.Messages, r.MsgsPerSec)
				}
				if r.Errors != 0 {
					t.Errorf("%s: %d errors %v, first: %s", r.Target, r.Errors, r.ErrorKinds, r.FirstError)
				}
				if r.ConnsUp != o.Conns {
					t.Errorf("%s: %d of %d connections opened", r.Target, r.ConnsUp, o.Conns)
				}
				if !(0 < r.P50US && r.P50US <= r.P90US && r.P90US <= r.P99US && r.P99US <= r.MaxUS) {
					t.Errorf("%s: percentiles out of order: p50 %v p90 %v p99 %v max %v", r.Target, r.P50US, r.P90US, r.P99US, r.MaxUS)
				}
				if math.Abs(r.Seconds-o.Duration.Seconds()) > 0.05 {
					t.Errorf("%s: measured %.3fs, want about %s", r.Target, r.Seconds, o.Duration)
				}
			}
			b, f := rep.Runs[0], rep.Runs[1]
			if rep.Ratio == nil {
				t.Fatal("no ratios")
			}
			if want := f.MsgsPerSec / b.MsgsPerSec; rep.Ratio.MsgsPerSec != want {
				t.Errorf("msgs/s ratio = %v, want %v", rep.Ratio.MsgsPerSec, want)
			}
			if want := f.P99US / b.P99US; rep.Ratio.P99 != want {
				t.Errorf("p99 ratio = %v, want %v", rep.Ratio.P99, want)
			}
			if len(rep.Ratio.PerRun) != 1 || rep.Ratio.PerRun[0].MsgsPerSec != rep.Ratio.MsgsPerSec {
				t.Errorf("per-run ratios = %+v", rep.Ratio.PerRun)
			}

			if p := progress.String(); !strings.Contains(p, "msgs/s") || !strings.Contains(p, "measure") {
				t.Errorf("progress output lacks lines:\n%s", p)
			}
			var out bytes.Buffer
			rep.print(&out)
			for _, want := range []string{"baseline", "framework", "framework/baseline", "p99"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("report lacks %q:\n%s", want, out.String())
				}
			}
			path := filepath.Join(t.TempDir(), "r.json")
			if err := rep.writeJSON(path); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var back Report
			if err := json.Unmarshal(data, &back); err != nil {
				t.Fatal(err)
			}
			if back.Ratio == nil || back.Ratio.MsgsPerSec != rep.Ratio.MsgsPerSec || len(back.Runs) != 2 {
				t.Errorf("JSON report does not round-trip: %s", data)
			}
		})
	}
}

// A server that accepts but never answers makes connections time out at
// the end of the grace period instead of hanging the tool; a server that
// closes connections shows as read errors. Both are counted.
func TestBrokenServers(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}()
	// 64-byte payloads exceed this server's MaxPackageSize of 8, so it
	// closes every connection.
	closing, err := startServer(targetBaseline, serverConfig{Listen: "127.0.0.1:0", Framing: "le", MaxPackageSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer closing.Stop(context.Background())

	for _, c := range []struct {
		addr, kind string
	}{{silent.Addr().String(), "timeout"}, {closing.Addr, "read"}} {
		o := defaultOptions()
		o.Conns, o.Inflight = 3, 2
		o.Duration, o.Warmup, o.grace = 100*time.Millisecond, 0, 200*time.Millisecond
		o.Addr, o.Target = c.addr, targetBaseline
		o.progress = nil
		start := time.Now()
		rep, err := run(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: run took %s", c.kind, d)
		}
		if r := rep.Runs[0]; r.Errors != 3 || r.ErrorKinds[c.kind] != 3 || r.Messages != 0 || r.FirstError == "" {
			t.Errorf("%s: errors = %d %v (%s), messages = %d; want 3 %s errors", c.kind, r.Errors, r.ErrorKinds, r.FirstError, r.Messages, c.kind)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	bad := []func(*options){
		func(o *options) { o.Duration = 6 * time.Minute },
		func(o *options) { o.Duration = 0 },
		func(o *options) { o.Conns = 0 },
		func(o *options) { o.Inflight = 0 },
		func(o *options) { o.Payload = o.MaxPackageSize + 1 },
		func(o *options) { o.Target = "nginx" },
		func(o *options) { o.Framing = "xx" },
		func(o *options) { o.Addr = "127.0.0.1:1" }, // with target both
	}
	for i, mutate := range bad {
		o := defaultOptions()
		mutate(&o)
		if o.validate() == nil {
			t.Errorf("case %d: validate accepted %+v", i, o)
		}
	}
	if o := defaultOptions(); o.validate() != nil {
		t.Errorf("defaults rejected: %v", o.validate())
	}
	o, err := parseFlags([]string{"-conns", "7", "-duration", "2s", "-target", "framework", "-framing", "be"})
	if err != nil || o.Conns != 7 || o.Duration != 2*time.Second || o.Target != "framework" || o.Framing != "be" {
		t.Errorf("parseFlags = %+v, %v", o, err)
	}
	if _, err := parseFlags([]string{"-duration", "10m"}); err == nil {
		t.Error("-duration 10m accepted")
	}
}

func TestHistogramPercentiles(t *testing.T) {
	// 1..100 µs, each once: linear buckets, exact to the microsecond.
	var h histogram
	for v := 1; v <= 100; v++ {
		h.record(time.Duration(v) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Microsecond}, {0.9, 90 * time.Microsecond}, {0.99, 99 * time.Microsecond}, {1, 100 * time.Microsecond}} {
		got := h.percentile(c.q)
		if d := got - c.want; d < 0 || d > time.Microsecond {
			t.Errorf("1..100us: p%v = %v, want %v (+1us)", c.q*100, got, c.want)
		}
	}

	// 1..100,000 µs (up to 100 ms): log buckets, within 1%.
	var g histogram
	for v := 1; v <= 100_000; v++ {
		g.record(time.Duration(v) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.9, 90 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {0.001, 100 * time.Microsecond}} {
		got := g.percentile(c.q)
		if math.Abs(float64(got-c.want)) > 0.01*float64(c.want)+float64(time.Microsecond) {
			t.Errorf("1us..100ms: p%v = %v, want %v (1%%)", c.q*100, got, c.want)
		}
	}
	if g.max != 100*time.Millisecond || g.percentile(1) != 100*time.Millisecond || g.n != 100_000 {
		t.Errorf("max = %v, p100 = %v, n = %d", g.max, g.percentile(1), g.n)
	}

	// Skewed data and merging: 990 fast values and 10 slow ones spread
	// over two histograms.
	var a, b histogram
	for range 990 {
		a.record(200 * time.Microsecond)
	}
	for range 10 {
		b.record(3 * time.Second)
	}
	b.record(20 * time.Second) // past the last bucket: max stays exact
	a.merge(&b)
	if a.n != 1001 {
		t.Fatalf("merged n = %d", a.n)
	}
	if p := a.percentile(0.5); p < 200*time.Microsecond || p > 201*time.Microsecond {
		t.Errorf("p50 = %v, want 200us", p)
	}
	if p := a.percentile(0.98); p < 200*time.Microsecond || p > 201*time.Microsecond {
		t.Errorf("p98 = %v, want 200us (rank 981 of 1001)", p)
	}
	if p := a.percentile(0.99); math.Abs(float64(p-3*time.Second)) > 0.01*float64(3*time.Second) {
		t.Errorf("p99 = %v, want 3s (rank 991 of 1001)", p)
	}
	if a.max != 20*time.Second || a.percentile(1) != 20*time.Second || a.min != 200*time.Microsecond {
		t.Errorf("max = %v, p100 = %v, min = %v", a.max, a.percentile(1), a.min)
	}

	var empty histogram
	if empty.percentile(0.99) != 0 {
		t.Error("empty histogram: nonzero percentile")
	}
}

func TestBuckets(t *testing.T) {
	// Every bucket's bounds map back to it, and buckets tile the range.
	for i := range numBuckets {
		lo, hi := bucketBounds(i)
		if bucketOf(lo) != i || (i < numBuckets-1 && bucketOf(hi-time.Microsecond) != i) {
			t.Fatalf("bucket %d [%v, %v) maps to %d and %d", i, lo, hi, bucketOf(lo), bucketOf(hi-time.Microsecond))
		}
		if i > 0 {
			if _, prevHi := bucketBounds(i - 1); prevHi != lo {
				t.Fatalf("gap between bucket %d and %d", i-1, i)
			}
		}
		if i >= linearBuckets && float64(hi-lo)/float64(lo) > 1.0/subBuckets+1e-9 {
			t.Fatalf("bucket %d is %v wide at %v", i, hi-lo, lo)
		}
	}
	if _, hi := bucketBounds(numBuckets - 1); hi < 10*time.Second {
		t.Fatalf("buckets end at %v, below 10s", hi)
	}
}
