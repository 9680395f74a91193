package deploy

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/zinxgame/zinxgame/internal/redistest"
)

// live caches what the example servers expose, measured once per test
// binary: starting two servers, Redis and the bots costs seconds, and every
// check of a dashboard or rule file reads the same set.
var live struct {
	mu    sync.Mutex
	names map[string]bool
}

// liveMetrics returns every metric name the example servers (lockstep and
// mmo) expose on /metrics once they have served a little traffic: the
// family names, and for histograms and summaries also their _bucket, _sum
// and _count series, the names PromQL uses. The servers run as an operator
// runs them (the built binaries, configured through ZINX_ variables) on
// free loopback ports, with a private redis-server, lockstep with KCP on,
// and the bot binaries playing for a few seconds so labelled series exist.
func liveMetrics(t *testing.T) map[string]bool {
	t.Helper()
	live.mu.Lock()
	defer live.mu.Unlock()
	if live.names != nil {
		return live.names
	}
	rs := redistest.Start(t)
	ls := startServer(t, "lockstep", true, rs.Addr, "ZINX_NODEID=1")
	mmo := startServer(t, "mmo", false, rs.Addr, "ZINX_NODEID=2")

	// Both bot swarms at once, the lockstep one over TCP and KCP, each
	// small: the machine is shared, and a handful of players makes every
	// labelled series the dashboards read.
	bots := [][]string{
		{binary(t, "lockstep-bot"), "-addr", ls.tcp, "-bots", "4", "-players", "2",
			"-duration", "4s", "-ramp", "500ms", "-no-replay"},
		{binary(t, "lockstep-bot"), "-addr", "kcp://" + ls.kcp, "-bots", "2", "-players", "2",
			"-duration", "4s", "-ramp", "500ms", "-no-replay"},
		{binary(t, "mmo-bot"), "-addr", mmo.tcp, "-bots", "20", "-chat-rate", "30",
			"-duration", "4s", "-ramp", "500ms"},
	}
	var wg sync.WaitGroup
	errs := make([]error, len(bots))
	outs := make([][]byte, len(bots))
	for i, b := range bots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, b[0], b[1:]...)
			cmd.SysProcAttr = liveProcAttr()
			outs[i], errs[i] = cmd.CombinedOutput()
		}()
	}
	wg.Wait()
	for i, err := range errs {
		// A bot's report may fail its own targets on this shared machine
		// (exit 1); that is not this test's business. Bad flags (exit 2) or
		// a bot that could not run at all are.
		var ee *exec.ExitError
		if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
			t.Fatalf("%s: %v\n%s", strings.Join(bots[i], " "), err, outs[i])
		}
	}

	names := map[string]bool{}
	for _, s := range []*liveServer{ls, mmo} {
		fams := s.scrape(t)
		// The traffic must have reached the server, or the labelled series
		// would be missing for the wrong reason.
		if acc := fams["zinxgame_connections_accepted_total"]; acc == nil || sumValues(acc) == 0 {
			t.Fatalf("%s: no connection accepted during the bots' run; log:\n%s", s.name, s.logTail())
		}
		for name, f := range fams {
			names[name] = true
			switch f.GetType() {
			case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
				names[name+"_bucket"], names[name+"_sum"], names[name+"_count"] = true, true, true
			case dto.MetricType_SUMMARY:
				names[name+"_sum"], names[name+"_count"] = true, true
			}
		}
		s.stop(t)
	}
	live.names = names
	return names
}

func sumValues(f *dto.MetricFamily) float64 {
	var v float64
	for _, m := range f.GetMetric() {
		v += m.GetCounter().GetValue() + m.GetGauge().GetValue() + m.GetUntyped().GetValue()
	}
	return v
}

// liveServer is one example server process. Its methods are for the test's
// goroutine.
type liveServer struct {
	name           string
	cmd            *exec.Cmd
	exited         chan struct{}
	tcp, kcp, admn string

	mu  sync.Mutex
	log []string // the last lines of its log, bounded by maxLiveLog
}

// maxLiveLog bounds the log lines kept of one server.
const maxLiveLog = 200

// startServer runs the named server binary with every port picked by the
// system (the JSON log says which), the admin listener on loopback, and
// Redis at redisAddr, and waits until it serves TCP, the admin listener
// and, with kcp, KCP. It is stopped when the test ends, if not before.
func startServer(t *testing.T, name string, kcp bool, redisAddr string, env ...string) *liveServer {
	t.Helper()
	mode := "tcp"
	if kcp {
		mode = "tcp,kcp"
	}
	cmd := exec.Command(binary(t, name))
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(),
		"ZINX_HOST=127.0.0.1", "ZINX_LOGFORMAT=json", "ZINX_MODE="+mode,
		"ZINX_TCPPORT=0", "ZINX_WSPORT=0", "ZINX_KCPPORT=0", "ZINX_ADMINADDR=127.0.0.1:0",
		"ZINX_REDIS_ADDR="+redisAddr, "ZINX_REDIS_SPILLFILE="+filepath.Join(cmd.Dir, "spill"),
		"ZINX_AUTH_SECRET=deploy-live-test-secret-0123456789abcdef",
		// Every bot comes from 127.0.0.1.
		"ZINX_CONNRATEPERIP=0", "ZINX_ACCOUNT_NEWIDENTITYRATE=-1",
		"ZINX_SHUTDOWNTIMEOUT=5s")
	cmd.Env = append(cmd.Env, env...)
	cmd.SysProcAttr = liveProcAttr()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	s := &liveServer{name: name, cmd: cmd, exited: make(chan struct{})}
	t.Cleanup(func() { s.stop(t) })

	type listening struct{ transport, addr string }
	found := make(chan listening, 8)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.appendLog(line)
			var rec struct{ Msg, Transport, Addr string }
			if json.Unmarshal([]byte(line), &rec) != nil {
				continue
			}
			l := listening{rec.Transport, rec.Addr}
			if rec.Msg == "znet: admin listener" {
				l.transport = "admin"
			} else if rec.Msg != "znet: serving" {
				continue
			}
			// Never blocks: the log must keep draining, or the server
			// would stall on a full pipe.
			select {
			case found <- l:
			default:
			}
		}
		_ = cmd.Wait()
		close(s.exited)
	}()
	deadline := time.After(20 * time.Second)
	for s.tcp == "" || s.admn == "" || (kcp && s.kcp == "") {
		select {
		case l := <-found:
			switch l.transport {
			case "tcp":
				s.tcp = l.addr
			case "kcp":
				s.kcp = l.addr
			case "admin":
				s.admn = l.addr
			}
		case <-s.exited:
			t.Fatalf("%s exited before serving (%v); log:\n%s", name, cmd.ProcessState, s.logTail())
		case <-deadline:
			t.Fatalf("%s did not serve within 20s; log:\n%s", name, s.logTail())
		}
	}
	return s
}

func (s *liveServer) appendLog(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.log) == maxLiveLog {
		s.log = slices.Delete(s.log, 0, 1)
	}
	s.log = append(s.log, line)
}

func (s *liveServer) logTail() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.log, "\n")
}

// scrape reads the server's /metrics.
func (s *liveServer) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + s.admn + "/metrics")
	if err != nil {
		t.Fatalf("%s: GET /metrics: %v", s.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: GET /metrics: %s", s.name, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("%s: parsing /metrics: %v", s.name, err)
	}
	return fams
}

// stop sends SIGTERM to the server's PID and waits for its graceful exit,
// then kills it after 10s. It can be called again.
func (s *liveServer) stop(t *testing.T) {
	t.Helper()
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		t.Errorf("%s did not stop within 10s of SIGTERM; killed", s.name)
	}
}
