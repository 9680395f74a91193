package main

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// TestServerTicks reads a lateness histogram like the server's over HTTP,
// twice, and judges only what happened in between.
func TestServerTicks(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: latenessMetric, Help: "h",
		Buckets: []float64{1e-3, 2e-3, 5e-3}})
	reg.MustRegister(h, collectors.NewGoCollector())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/metrics"
	if err := checkMetricsURL(url, false); err != nil {
		t.Fatal(err)
	}
	g := urlGatherer(url)

	for range 50 { // before the window: late, and left out
		h.Observe(0.004)
	}
	a, err := readTicks(g)
	if err != nil {
		t.Fatal(err)
	}
	for range 985 {
		h.Observe(0.0005)
	}
	for range 10 {
		h.Observe(0.0015)
	}
	for range 5 {
		h.Observe(0.003)
	}
	b, err := readTicks(g)
	if err != nil {
		t.Fatal(err)
	}
	st, err := serverTicks(url, a, b)
	if err != nil {
		t.Fatal(err)
	}
	if st.Ticks != 1000 || st.LateOver != 5 || st.P99AtMost != 2 || !st.Met() || st.GOMAXPROCS < 1 {
		t.Fatalf("got %+v; want 1000 ticks, 5 late, p99 <= 2ms, met, GOMAXPROCS read", st)
	}
	if line := st.line(); !strings.Contains(line, "p99 <= 2ms, 5 (0.500%) later than 2.00ms") {
		t.Errorf("line %q", line)
	}
	for range 20 {
		h.Observe(0.01)
	}
	c, err := readTicks(g)
	if err != nil {
		t.Fatal(err)
	}
	if st, err = serverTicks(url, a, c); err != nil || st.Met() || st.LateOver != 25 || st.P99AtMost != -1 {
		t.Fatalf("after 20 more beyond the last bucket: %+v, %v; want 25 late, not met, p99 beyond", st, err)
	}
	if _, err := serverTicks(url, b, a); err == nil {
		t.Error("a histogram going backwards (a restarted server) was accepted")
	}

	other := prometheus.NewRegistry()
	other.MustRegister(prometheus.NewHistogram(prometheus.HistogramOpts{Name: latenessMetric, Help: "h", Buckets: []float64{1e-3, 5e-3}}))
	s1, err := readTicks(other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := serverTicks("other", s1, s1); err == nil || !strings.Contains(err.Error(), "no bucket at 2ms") {
		t.Errorf("buckets without 2 ms: %v", err)
	}
	if _, err := readTicks(prometheus.NewRegistry()); err == nil {
		t.Error("a registry without the histogram was accepted")
	}
	for _, bad := range []string{"http://10.0.0.1:9102/metrics", "https://127.0.0.1:1/metrics", "127.0.0.1:9102"} {
		if checkMetricsURL(bad, false) == nil {
			t.Errorf("-metrics %q accepted", bad)
		}
	}
	// -allow-remote lets the host be another machine's, nothing else.
	if err := checkMetricsURL("http://lockstep:9101/metrics", true); err != nil {
		t.Errorf("-allow-remote -metrics http://lockstep:9101/metrics: %v", err)
	}
	if checkMetricsURL("https://lockstep:9101/metrics", true) == nil {
		t.Error("-allow-remote -metrics https:// accepted")
	}
}
