package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// chromium finds the browser: missing, the test is skipped, or fails in CI
// (CI=true), where .ci/run installs it.
func chromium(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium is needed for the browser test: %v (apt-get install chromium)", err)
		}
		t.Skipf("chromium not found (%v); apt-get install chromium, or CI=true makes this a failure", err)
	}
	return chromiumPath
}

// pageView is window.zinxgameDemo.
type pageView struct {
	State          string     `json:"state"`
	Name           string     `json:"name"`
	Frame          uint32     `json:"frame"`
	Slot           int        `json:"slot"`
	RoomID         string     `json:"roomId"`
	MatchID        string     `json:"matchId"`
	Resumed        int        `json:"resumed"`
	Desyncs        int        `json:"desyncs"`
	HashesReported int        `json:"hashesReported"`
	Hashes         []pageHash `json:"hashes"`
	RTTMs          float64    `json:"rttMs"`
	InputsSent     int        `json:"inputsSent"`
	InputLatencyMs []float64  `json:"inputLatencyMs"`
	MatchEnded     bool       `json:"matchEnded"`
	Notice         string     `json:"notice"`
	Error          *string    `json:"error"`
}

type pageHash struct {
	Frame uint32 `json:"frame"`
	Hash  string `json:"hash"`
}

func readView(ctx context.Context) (pageView, error) {
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.zinxgameDemo ?? null)`))
	if err != nil {
		return pageView{}, err
	}
	var v pageView
	if raw == "null" {
		return v, nil
	}
	return v, json.Unmarshal([]byte(raw), &v)
}

// waitView polls the page until ok holds, failing on a page error or when
// ctx ends.
func waitView(ctx context.Context, t *testing.T, what string, ok func(pageView) bool) pageView {
	t.Helper()
	var v pageView
	for {
		var err error
		v, err = readView(ctx)
		if err == nil && ok(v) {
			return v
		}
		if v.Error != nil && v.State == "error" {
			t.Fatalf("%s: the page failed: %s", what, *v.Error)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: timed out (last read error %v); page state %+v", what, err, v)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// loads records what the page fetched over HTTP: the bytes on the wire
// (headers included) of each request that finished.
type loads struct {
	mu    sync.Mutex
	urls  map[network.RequestID]string
	bytes map[string]float64
}

func (l *loads) listen(ev any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		if strings.HasPrefix(ev.Request.URL, "http") {
			l.urls[ev.RequestID] = ev.Request.URL
		}
	case *network.EventLoadingFinished:
		if u, ok := l.urls[ev.RequestID]; ok {
			l.bytes[u] += ev.EncodedDataLength
		}
	}
}

func (l *loads) take() map[string]float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.bytes
	l.bytes = map[string]float64{}
	return out
}

// TestDemoPageInARoom plays one room: 3 Go bots and the page (?auto=1) in
// headless Chromium, for at least 300 frames with a reload of the page in
// the middle.
func TestDemoPageInARoom(t *testing.T) {
	path := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 170*time.Second)
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ts := startServer(t, log)
	bots, roomID := startBots(ctx, t, ts.tcpAddr, 3)

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// Containers have a small /dev/shm, which crashes Chromium when full.
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1000, 900),
		chromedp.UserDataDir(t.TempDir()),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	defer cancelBrowser()
	ld := &loads{urls: map[network.RequestID]string{}, bytes: map[string]float64{}}
	if err := chromedp.Listen(bctx, ld.listen); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", path, err)
	}
	if _, err := chromedp.Call(bctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}

	const name = "web"
	url := fmt.Sprintf("%s?auto=1&room=%d&name=%s", ts.pageURL, roomID, name)
	if err := chromedp.Do(bctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("opening %s: %v", url, err)
	}
	first := waitView(bctx, t, "the match running on the page", func(v pageView) bool {
		return v.Slot >= 0 && v.Frame >= 150 && v.HashesReported > 0
	})
	pageLoad := ld.take()
	tokenJS := `localStorage.getItem("zinxgame.token.` + name + `") ?? ""`
	token, err := chromedp.Run(bctx, chromedp.Evaluate[string](tokenJS))
	if err != nil {
		t.Fatal(err)
	}
	if token == "" {
		t.Fatal("no token in localStorage")
	}
	t.Logf("page: slot %d of room %s at frame %d; reloading", first.Slot, first.RoomID, first.Frame)

	if err := chromedp.Do(bctx, chromedp.Reload()); err != nil {
		t.Fatalf("reloading: %v", err)
	}
	resumed := waitView(bctx, t, "the page resuming its seat", func(v pageView) bool {
		return v.Resumed > 0 && v.Frame > first.Frame
	})
	if resumed.Slot != first.Slot || resumed.MatchID != first.MatchID || resumed.RoomID != first.RoomID {
		t.Fatalf("after the reload: slot %d match %s room %s, before: slot %d match %s room %s",
			resumed.Slot, resumed.MatchID, resumed.RoomID, first.Slot, first.MatchID, first.RoomID)
	}
	token2, err := chromedp.Run(bctx, chromedp.Evaluate[string](tokenJS))
	if err != nil {
		t.Fatal(err)
	}
	if token2 != token {
		t.Errorf("the reload changed the stored token")
	}
	t.Logf("page: resumed slot %d at frame %d", resumed.Slot, resumed.Frame)

	// At least 100 timed inputs after the reload (10 a second), 300 in
	// all, and 300 frames: over 300 inputs the p99 is the fourth slowest,
	// so one scheduling stall of the shared machine (a few inputs late
	// together) does not decide it.
	const inputs = 300
	final := waitView(bctx, t, "300 frames and 300 timed inputs", func(v pageView) bool {
		return v.Frame >= max(300, resumed.Frame+60) && len(v.InputLatencyMs) >= max(100, inputs-len(first.InputLatencyMs))
	})

	if first.Desyncs != 0 {
		t.Errorf("page: %d desyncs before the reload", first.Desyncs)
	}
	if final.Desyncs != 0 || final.MatchEnded {
		t.Errorf("page: %d desyncs, match ended %v", final.Desyncs, final.MatchEnded)
	}
	if final.HashesReported == 0 {
		t.Error("page: no hash reported after the reload")
	}
	for i, b := range bots {
		if n := b.desyncCount(); n != 0 {
			t.Errorf("bot %d: %d desyncs", i, n)
		}
		if b.game.hashesReported() == 0 {
			t.Errorf("bot %d reported no hash", i)
		}
	}
	// The page's hashes against each bot's, frame by frame: before the
	// reload and after it.
	compared := 0
	for _, ph := range slices.Concat(first.Hashes, final.Hashes) {
		for i, b := range bots {
			h, ok := b.game.hashAt(ph.Frame)
			if !ok {
				continue
			}
			if strconv.FormatUint(h, 10) != ph.Hash {
				t.Errorf("frame %d: page hash %s, bot %d %d", ph.Frame, ph.Hash, i, h)
			}
			compared++
		}
	}
	if compared < 3*5 {
		t.Errorf("only %d page hashes compared with the bots'", compared)
	}
	t.Logf("hashes: page reported %d+%d, compared %d with the bots'; frame %d", first.HashesReported, final.HashesReported, compared, final.Frame)

	t.Logf("page: RTT %.2f ms", final.RTTMs)
	// Before the reload and after it: the page starts a new list.
	verdict := judgeLatency(t, ts.ls.TickRate, slices.Concat(first.InputLatencyMs, final.InputLatencyMs), botLatencies(bots, nil))
	if verdict != "" && !raceDetector {
		// A breach is measured once more over as many inputs: the shared
		// machine stalls a window now and then (the page's processes more
		// than the Go bots' goroutines, under the same load), while a page
		// that adds latency of its own does so in every window.
		t.Logf("%s; measuring another %d inputs", verdict, inputs)
		mark := botMarks(bots)
		again := waitView(bctx, t, fmt.Sprintf("%d more timed inputs", inputs), func(v pageView) bool {
			return len(v.InputLatencyMs) >= len(final.InputLatencyMs)+inputs
		})
		verdict = judgeLatency(t, ts.ls.TickRate, again.InputLatencyMs[len(again.InputLatencyMs)-inputs:], botLatencies(bots, mark))
	}
	switch {
	case verdict == "":
	case raceDetector:
		t.Logf("%s; not judged: built with -race (raceDetector)", verdict)
	default:
		t.Error(verdict)
	}

	// An operator's broadcast shows on the page.
	const announcement = "the server restarts at 14:00"
	req := httptest.NewRequest(http.MethodPost, "/admin/broadcast", strings.NewReader(`{"message": "`+announcement+`"}`))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	rec := httptest.NewRecorder()
	ts.admin.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("POST /admin/broadcast = %d %s", rec.Code, rec.Body)
	}
	waitView(bctx, t, "the announcement on the page", func(v pageView) bool { return v.Notice == "announcement: "+announcement })
	shown, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById("notice").textContent`))
	if err != nil || shown != announcement {
		t.Errorf("the page shows %q (%v), want the announcement %q", shown, err, announcement)
	}

	png, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	shot := filepath.Join(artifactDir(t), "lockstep-demo.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(shot)
	t.Logf("screenshot: %s", abs)

	reportTransfer(ctx, t, pageLoad)
}

// judgeLatency judges the page's input→frame times against the Go bots'
// in the same room over the same seconds, timed the same way: "" when the
// page's p99 is within bounds, else why not.
//
// A frame is due at most one tick after an input, so on a quiet machine
// the p99 is within a tick plus 10 ms for the network, the server and the
// page's own work. A busy machine stalls the server's ticks and the
// network for the bots as much as for the page: the page then passes when
// it adds at most those 10 ms to the bots' p99.
func judgeLatency(t *testing.T, tickRate int, page, bots []float64) string {
	t.Helper()
	if len(bots) < 100 {
		t.Fatalf("the bots timed %d inputs, want at least 100 for a baseline", len(bots))
	}
	page, bots = slices.Sorted(slices.Values(page)), slices.Sorted(slices.Values(bots))
	p99, botP99 := percentile(page, 0.99), percentile(bots, 0.99)
	t.Logf("page input→frame at %d Hz over %d inputs: p50 %.1f ms, p99 %.1f ms, max %.1f ms; slowest %.1f",
		tickRate, len(page), percentile(page, 0.5), p99, page[len(page)-1], page[max(0, len(page)-5):])
	t.Logf("bots' input→frame over %d inputs: p50 %.1f ms, p99 %.1f ms, max %.1f ms",
		len(bots), percentile(bots, 0.5), botP99, bots[len(bots)-1])
	limit := 1000/float64(tickRate) + 10
	bound := max(limit, botP99+10)
	t.Logf("judged: page p99 %.1f ms against max(one tick + 10 ms = %.1f, bots' p99 + 10 ms = %.1f) = %.1f ms", p99, limit, botP99+10, bound)
	if p99 <= bound {
		return ""
	}
	return fmt.Sprintf("input→frame p99 %.1f ms over %.1f ms: the page adds %.1f ms to the bots' p99 %.1f ms in the same room, and is over one tick + 10 ms (%.1f ms)",
		p99, bound, p99-botP99, botP99, limit)
}

// botMarks is how many inputs each bot has timed so far.
func botMarks(bots []*bot) []int {
	marks := make([]int, len(bots))
	for i, b := range bots {
		marks[i] = b.game.clock.timed()
	}
	return marks
}

// botLatencies is the bots' input→frame times since marks (nil: all).
func botLatencies(bots []*bot, marks []int) []float64 {
	var all []float64
	for i, b := range bots {
		from := 0
		if marks != nil {
			from = marks[i]
		}
		all = append(all, b.game.clock.since(from)...)
	}
	return all
}

// percentile is the q-quantile of sorted, the nearest rank below.
func percentile(sorted []float64, q float64) float64 {
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*q))]
}

// reportTransfer logs what the page's first load fetched: the browser's
// bytes on the wire, and each resource's body fetched again, gzipped and
// not.
func reportTransfer(ctx context.Context, t *testing.T, load map[string]float64) {
	t.Helper()
	var wire float64
	urls := make([]string, 0, len(load))
	for u, n := range load {
		wire += n
		urls = append(urls, u)
	}
	slices.Sort(urls)
	// DisableCompression: the transport neither asks for gzip itself nor
	// unzips, so the bytes read are the bytes sent.
	hc := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 10 * time.Second}
	var gz, plain int
	for _, u := range urls {
		for _, enc := range []string{"gzip", "identity"} {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Accept-Encoding", enc)
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			n, err := io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %v %v", u, resp.Status, err)
			}
			if enc == "gzip" {
				gz += int(n)
			} else {
				plain += int(n)
			}
		}
	}
	if len(urls) < 5 {
		t.Errorf("the page loaded %d resources over HTTP: %v", len(urls), urls)
	}
	t.Logf("page load: %d resources, %.0f bytes on the wire (headers included), bodies %d bytes gzipped, %d bytes plain (%s)",
		len(urls), wire, gz, plain, fmt.Sprintf("%.0f%%", 100*float64(gz)/float64(plain)))
}
