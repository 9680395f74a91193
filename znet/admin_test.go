package znet

import (
	"context"
	"encoding/binary"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zinxgame/zinxgame/ziface"
)

// httpGet returns the status and body of GET url.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	cl := &http.Client{Timeout: 10 * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// metricValue finds one sample in a Prometheus text exposition.
func metricValue(t *testing.T, body, name string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no sample %s in /metrics:\n%s", name, body)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestAdminEndpoints: /metrics moves with traffic, /healthz answers,
// /readyz is false while a shutdown drains and the admin listener stays
// up until the shutdown completes; pprof only when switched on.
func TestAdminEndpoints(t *testing.T) {
	cfg := testConfig()
	cfg.Mode = "tcp"
	cfg.AdminAddr = "127.0.0.1:0"
	cfg.AdminPprof = true
	release := make(chan struct{})
	srv, err := NewServer(cfg, WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	srv.AddRouterFunc(1, echo)
	srv.AddRouterFunc(2, func(ziface.IRequest) { <-release }) // holds the drain open
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	admin := "http://" + srv.AdminAddr().String()
	if code, body := httpGet(t, admin+"/healthz"); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Fatalf("/healthz = %d %q", code, body)
	}
	if code, _ := httpGet(t, admin+"/readyz"); code != 200 {
		t.Fatalf("/readyz = %d before shutdown", code)
	}
	srv.SetReady(false)
	if code, _ := httpGet(t, admin+"/readyz"); code != 503 {
		t.Fatalf("/readyz = %d after SetReady(false)", code)
	}
	srv.SetReady(true)

	c := dialRaw(t, srv.Addr().String(), cfg)
	_, before := httpGet(t, admin+"/metrics")
	label := `{server="zinxgame"}`
	in0 := metricValue(t, before, "zinxgame_messages_received_total"+label)
	for range 20 {
		c.send(1, []byte("0123456789"))
		c.recv()
	}
	_, after := httpGet(t, admin+"/metrics")
	if d := metricValue(t, after, "zinxgame_messages_received_total"+label) - in0; d != 20 {
		t.Fatalf("messages_received_total moved by %v, want 20", d)
	}
	if v := metricValue(t, after, "zinxgame_bytes_sent_total"+label); v < 20*18 {
		t.Fatalf("bytes_sent_total = %v, want at least 20 frames of 18 bytes", v)
	}
	if v := metricValue(t, after, "zinxgame_connections"+label); v != 1 {
		t.Fatalf("connections = %v, want 1", v)
	}
	if !strings.Contains(after, `zinxgame_handler_duration_seconds_count{msg_id="1",server="zinxgame"}`) {
		t.Fatalf("no handler histogram for message 1:\n%s", after)
	}
	if code, _ := httpGet(t, admin+"/debug/pprof/"); code != 200 {
		t.Fatalf("pprof = %d with AdminPprof on", code)
	}

	c.send(2, nil)
	time.Sleep(50 * time.Millisecond) // the handler is blocked now
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(context.Background()) }()
	waitFor(t, func() bool { code, _ := httpGet(t, admin+"/readyz"); return code == 503 }, "/readyz to fail during the drain")
	if code, _ := httpGet(t, admin+"/healthz"); code != 200 {
		t.Fatalf("/healthz = %d during the drain", code)
	}
	_, draining := httpGet(t, admin+"/metrics")
	if v := metricValue(t, draining, "zinxgame_ready"+label); v != 0 {
		t.Fatalf("ready gauge = %v during the drain", v)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	cl := &http.Client{Timeout: time.Second}
	if _, err := cl.Get(admin + "/healthz"); err == nil {
		t.Fatal("admin listener still up after the shutdown completed")
	}
}

func TestAdminPprofOffByDefault(t *testing.T) {
	cfg := testConfig()
	ts := startServer(t, cfg, nil)
	rec := &statusRecorder{header: http.Header{}}
	req, _ := http.NewRequest("GET", "/debug/pprof/", nil)
	ts.AdminHandler().ServeHTTP(rec, req)
	if rec.code != 404 {
		t.Fatalf("pprof answered %d with AdminPprof off", rec.code)
	}
}

type statusRecorder struct {
	header http.Header
	code   int
}

func (r *statusRecorder) Header() http.Header         { return r.header }
func (r *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *statusRecorder) WriteHeader(code int)        { r.code = code }

// TestServerPing: the server pings every connection; a raw client sees the
// ping, a znet.Client answers it by itself without its routers seeing it,
// and the round trip lands in the metrics.
func TestServerPing(t *testing.T) {
	cfg := testConfig()
	cfg.ServerPingInterval = 40 * time.Millisecond
	reg := prometheus.NewRegistry()
	srv, err := NewServer(cfg, WithLogger(discardLogger()), WithMetrics(reg))
	if err != nil {
		t.Fatal(err)
	}
	srv.AddRouterFunc(1, echo)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())

	raw := dialRaw(t, srv.Addr().String(), cfg)
	id, data := raw.recv()
	if id != cfg.ServerPingMsgID || len(data) != 8 {
		t.Fatalf("got %d % x; want a ping (%d) with an 8-byte time", id, data, cfg.ServerPingMsgID)
	}
	if sent := time.UnixMicro(int64(binary.LittleEndian.Uint64(data))); time.Since(sent) > 10*time.Second || time.Since(sent) < 0 {
		t.Fatalf("ping time %v is not the server's send time", sent)
	}

	cl := newTestClient(t, cfg)
	var routed atomic.Int32
	cl.SetNotFound(func(req ziface.IRequest) { routed.Add(1) })
	if _, err := cl.Dial(context.Background(), srv.Addr().String()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		mfs, _ := reg.Gather()
		for _, mf := range mfs {
			if mf.GetName() == "zinxgame_ping_rtt_seconds" && mf.GetMetric()[0].GetHistogram().GetSampleCount() >= 2 {
				return true
			}
		}
		return false
	}, "two timed pongs")
	if n := routed.Load(); n != 0 {
		t.Fatalf("%d pings reached the client's routers", n)
	}
}
