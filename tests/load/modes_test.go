package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// quick returns options for a short in-process run.
func quick(t *testing.T) options {
	t.Helper()
	o := defaultOptions()
	o.progress = nil
	o.launch = launchInProcess
	o.Duration = 300 * time.Millisecond
	o.Warmup = 100 * time.Millisecond
	return o
}

// checkSane asserts what every measurement must show: no errors, every
// connection open, messages, ordered percentiles.
func checkSane(t *testing.T, o options, r Result) {
	t.Helper()
	if r.Errors != 0 {
		t.Errorf("%s: %d errors %v, first: %s", r.label(), r.Errors, r.ErrorKinds, r.FirstError)
	}
	if r.ConnsUp != o.Conns {
		t.Errorf("%s: %d of %d connections opened", r.label(), r.ConnsUp, o.Conns)
	}
	if r.Messages == 0 || r.MsgsPerSec <= 0 {
		t.Errorf("%s: %d messages, %.0f msgs/s; want some", r.label(), r.Messages, r.MsgsPerSec)
	}
	if !(0 < r.P50US && r.P50US <= r.P90US && r.P90US <= r.P99US && r.P99US <= r.MaxUS) {
		t.Errorf("%s: percentiles out of order: p50 %v p90 %v p99 %v max %v", r.label(), r.P50US, r.P90US, r.P99US, r.MaxUS)
	}
}

func TestWebSocket(t *testing.T) {
	o := quick(t)
	o.Conns, o.Inflight = 20, 4
	o.Target, o.Transport = targetFramework, transportWS
	rep, err := run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(rep.Runs))
	}
	r := rep.Runs[0]
	checkSane(t, o, r)
	if r.Transport != transportWS || !strings.HasPrefix(r.Addr, "ws://127.0.0.1:") {
		t.Errorf("transport %q, addr %q; want ws and a ws:// URL", r.Transport, r.Addr)
	}
	if rep.Ratio != nil || rep.WSRatio != nil {
		t.Errorf("ratios without a second measurement: %+v %+v", rep.Ratio, rep.WSRatio)
	}
}

// -transport both measures the framework over TCP and WebSocket (and the
// baseline over TCP) in one run, alternating, and compares them.
func TestBothTransports(t *testing.T) {
	o := quick(t)
	o.Conns, o.Inflight = 10, 4
	o.Transport, o.Runs = transportBoth, 2
	rep, err := run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, r := range rep.Runs {
		labels = append(labels, r.label())
		checkSane(t, o, r)
	}
	want := []string{"baseline", "framework", "framework-ws", "baseline", "framework", "framework-ws"}
	if !slices.Equal(labels, want) {
		t.Fatalf("runs %v, want %v", labels, want)
	}
	ws, tcp := rep.Summary[2], rep.Summary[1]
	if rep.WSRatio == nil || len(rep.WSRatio.PerRun) != 2 {
		t.Fatalf("ws/tcp ratio = %+v", rep.WSRatio)
	}
	if want := ws.MsgsPerSec / tcp.MsgsPerSec; math.Abs(rep.WSRatio.MsgsPerSec-want) > 1e-9 {
		t.Errorf("ws/tcp msgs/s ratio = %v, want %v", rep.WSRatio.MsgsPerSec, want)
	}
	if rep.WSRatio.MsgsPerSecGoal != goalWSMsgsRatio || rep.Ratio == nil || rep.Ratio.MsgsPerSecGoal != goalMsgsRatio {
		t.Errorf("goals: ws %+v, framework/baseline %+v", rep.WSRatio, rep.Ratio)
	}
	var out bytes.Buffer
	rep.print(&out)
	if !strings.Contains(out.String(), "framework ws/tcp (medians): msgs/s") {
		t.Errorf("report lacks the ws/tcp ratio:\n%s", out.String())
	}
}

// Rate mode: 50 connections at 5 messages per second for 1 s send about
// 250 messages in the window, every one echoed and counted.
func TestRateMode(t *testing.T) {
	var progress syncBuffer
	o := quick(t)
	o.Conns, o.Rate = 50, 5
	o.Duration, o.Warmup, o.Ramp = time.Second, 200*time.Millisecond, 200*time.Millisecond
	o.Target, o.Transport = targetFramework, transportBoth
	o.progress, o.progressEvery = &progress, 200*time.Millisecond
	rep, err := run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Mode != modeRate || len(rep.Runs) != 2 {
		t.Fatalf("mode %q, %d runs; want rate, 2", rep.Mode, len(rep.Runs))
	}
	for _, r := range rep.Runs {
		checkSane(t, o, r)
		if want := float64(o.Conns) * o.Rate * o.Duration.Seconds(); math.Abs(float64(r.Sent)-want) > float64(o.Conns) {
			t.Errorf("%s: %d sent in the window, want %.0f +- %d", r.label(), r.Sent, want, o.Conns)
		}
		if r.Messages != r.Sent {
			t.Errorf("%s: %d echoes of %d messages sent in the window", r.label(), r.Messages, r.Sent)
		}
		if math.Abs(r.Seconds-o.Duration.Seconds()) > 0.05 {
			t.Errorf("%s: measured %.3fs, want about %s", r.label(), r.Seconds, o.Duration)
		}
		if r.Rate != o.Rate || r.SendLagP99US <= 0 {
			t.Errorf("%s: rate %v, send lag p99 %v", r.label(), r.Rate, r.SendLagP99US)
		}
	}
	if rep.WSRatio == nil || rep.WSRatio.MsgsPerSecGoal != 0 {
		t.Errorf("rate mode ws/tcp ratio = %+v; want one without a throughput goal", rep.WSRatio)
	}
	if p := progress.String(); !strings.Contains(p, "ramp") || !strings.Contains(p, "measure") {
		t.Errorf("progress lacks phases:\n%s", p)
	}
	var out bytes.Buffer
	rep.print(&out)
	if !strings.Contains(out.String(), "sent in the window") {
		t.Errorf("report lacks the rate line:\n%s", out.String())
	}
}

// Idle mode against real server processes (this test binary re-executed
// with -serve): 50 connections over 3 source addresses, pinging; RSS is
// read from /proc.
func TestIdleMode(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	o := quick(t)
	o.launch = nil // child processes
	o.Idle, o.Conns, o.Sources = true, 50, 3
	o.Heartbeat, o.Ramp, o.Warmup, o.Duration = 100*time.Millisecond, 100*time.Millisecond, 200*time.Millisecond, 400*time.Millisecond
	o.ReadBuf = 1024
	o.MemProfile = filepath.Join(t.TempDir(), "heap")
	rep, err := run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Mode != modeIdle || len(rep.Runs) != 2 {
		t.Fatalf("mode %q, %d runs; want idle, 2", rep.Mode, len(rep.Runs))
	}
	for _, r := range rep.Runs {
		checkSane(t, o, r)
		// Every connection pings every 100 ms over the 400 ms hold.
		if min := uint64(o.Conns * 2); r.Messages < min {
			t.Errorf("%s: %d pongs in the hold, want at least %d", r.label(), r.Messages, min)
		}
		if r.ServerRSSBeforeKB <= 0 || r.ServerRSSAfterKB <= 0 || r.ServerRSSEndKB <= 0 || r.ClientRSSAfterKB <= 0 {
			t.Errorf("%s: RSS before %d, after %d, end %d kB, client %d kB; want all > 0",
				r.label(), r.ServerRSSBeforeKB, r.ServerRSSAfterKB, r.ServerRSSEndKB, r.ClientRSSAfterKB)
		}
		if r.ServerRSSPerConn == 0 || r.ServerGoroutinesPerConn < 0.9 || r.ServerGoroutinesPerConn > 1.5 {
			t.Errorf("%s: RSS per connection %.0f B, goroutines per connection %.2f; want one goroutine each",
				r.label(), r.ServerRSSPerConn, r.ServerGoroutinesPerConn)
		}
		if r.ServerHeapPerConn <= 0 || r.ServerStackPerConn <= 0 {
			t.Errorf("%s: heap %.0f B, stacks %.0f B per connection; want the runtime's figures", r.label(), r.ServerHeapPerConn, r.ServerStackPerConn)
		}
	}
	if _, err := os.Stat(o.MemProfile + "-framework-run1.pprof"); err != nil {
		t.Errorf("no heap profile: %v", err)
	}
	var out bytes.Buffer
	rep.print(&out)
	for _, want := range []string{"srv RSS/conn", "heap in use", "server RSS per connection"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	path := filepath.Join(t.TempDir(), "idle.json")
	if err := rep.writeJSON(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Mode    string           `json:"mode"`
		Sources int              `json:"sources"`
		Runs    []map[string]any `json:"runs"`
	}
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.Mode != modeIdle || back.Sources != 3 || len(back.Runs) != 2 || back.Runs[1]["server_rss_per_conn_bytes"] == nil {
		t.Errorf("JSON report lacks the idle fields: %s", data)
	}
}

// -sources K spreads connections over 127.0.0.1 to 127.0.0.K.
func TestSources(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	seen := map[string]int{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			mu.Lock()
			seen[host]++
			mu.Unlock()
			c.Close()
		}
	}()
	d := &dialer{transport: transportTCP, addr: ln.Addr().String(), sources: 3}
	for i := range 6 {
		c, err := d.dial(context.Background(), i)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		mu.Lock()
		n := seen["127.0.0.1"] + seen["127.0.0.2"] + seen["127.0.0.3"]
		got := len(seen)
		mu.Unlock()
		if n == 6 && got == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("source addresses seen: %v; want 127.0.0.1-3 twice each", seen)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNewOptionsValidate(t *testing.T) {
	bad := map[string]func(*options){
		"non-loopback addr": func(o *options) { o.Target, o.Addr = targetFramework, "10.1.2.3:8999" },
		"hostname addr":     func(o *options) { o.Target, o.Addr = targetFramework, "example.com:8999" },
		"non-loopback ws url": func(o *options) {
			o.Target, o.Transport, o.WSURL = targetFramework, transportWS, "ws://192.168.1.1:9000/"
		},
		"wss url": func(o *options) {
			o.Target, o.Transport, o.WSURL = targetFramework, transportWS, "wss://127.0.0.1:9000/"
		},
		"ws addr without url":  func(o *options) { o.Target, o.Transport, o.Addr = targetFramework, transportBoth, "127.0.0.1:8999" },
		"baseline over ws":     func(o *options) { o.Target, o.Transport = targetBaseline, transportWS },
		"bad transport":        func(o *options) { o.Transport = "udp" },
		"rate and idle":        func(o *options) { o.Rate, o.Idle = 1, true },
		"rate too low":         func(o *options) { o.Rate = 0.01 },
		"rate payload small":   func(o *options) { o.Rate, o.Payload = 1, 8 },
		"heartbeat too long":   func(o *options) { o.Idle, o.Heartbeat = true, time.Minute },
		"sources 0":            func(o *options) { o.Sources = 0 },
		"sources 300":          func(o *options) { o.Sources = 300 },
		"read buffer tiny":     func(o *options) { o.ReadBuf = 100 },
		"too many conns":       func(o *options) { o.Conns = maxConns + 1 },
		"memprofile, not idle": func(o *options) { o.MemProfile = "x" },
	}
	for name, mutate := range bad {
		o := defaultOptions()
		mutate(&o)
		if o.validate() == nil {
			t.Errorf("%s: validate accepted %+v", name, o)
		}
	}
	good := []func(*options){
		func(o *options) { o.Target, o.Addr = targetFramework, "127.0.0.5:8999" },
		func(o *options) { o.Target, o.Addr = targetFramework, "[::1]:8999" },
		func(o *options) {
			o.Target, o.Transport, o.WSURL = targetFramework, transportWS, "ws://127.0.0.1:9000/ws"
		},
		func(o *options) { o.Rate, o.Transport = 1, transportBoth },
		func(o *options) { o.Idle, o.Sources, o.Conns = true, 4, maxConns },
	}
	for i, mutate := range good {
		o := defaultOptions()
		mutate(&o)
		if err := o.validate(); err != nil {
			t.Errorf("case %d: %v", i, err)
		}
	}
	o, err := parseFlags([]string{"-idle", "-conns", "500", "-sources", "2", "-heartbeat", "5s", "-read-buf", "1024", "-transport", "both"})
	if err != nil || !o.Idle || o.Sources != 2 || o.Heartbeat != 5*time.Second || o.ReadBuf != 1024 || o.Transport != transportBoth {
		t.Errorf("parseFlags = %+v, %v", o, err)
	}
}

func TestPreflight(t *testing.T) {
	lo, hi, ok := portRange()
	if !ok {
		t.Skip("no ephemeral port range to read")
	}
	per := hi - lo + 1
	if err := checkPorts(per+1, 1); err == nil || !strings.Contains(err.Error(), "-sources 2") {
		t.Errorf("%d connections from one source: %v; want a refusal suggesting -sources 2", per+1, err)
	}
	if err := checkPorts(per+1, 2); err != nil {
		t.Errorf("%d connections from two sources: %v", per+1, err)
	}
	if _, err := raiseFDLimit(math.MaxInt); err == nil || !strings.Contains(err.Error(), "open-file limit") {
		t.Errorf("an impossible descriptor count: %v; want a refusal", err)
	}
	if n, err := raiseFDLimit(64); err != nil || n < 64 {
		t.Errorf("64 descriptors: limit %d, %v", n, err)
	}
}
