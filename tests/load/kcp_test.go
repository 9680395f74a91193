package main

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// The in-flight mode over KCP, servers in this process: -target both
// measures the framework only (the baseline has no KCP), and every echo
// comes back in order.
func TestKCPInflight(t *testing.T) {
	o := quick(t)
	o.Conns, o.Inflight = 10, 4
	o.Transport = transportKCP
	rep, err := run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 1 {
		t.Fatalf("%d runs, want 1 (the framework over KCP)", len(rep.Runs))
	}
	r := rep.Runs[0]
	checkSane(t, o, r)
	if r.label() != "framework-kcp" || !strings.HasPrefix(r.Addr, "127.0.0.1:") {
		t.Errorf("label %q, addr %q; want framework-kcp at a loopback address", r.label(), r.Addr)
	}
}

// Idle mode over TCP and KCP in one run, against real server processes
// at GOMAXPROCS 1: both report sane memory and CPU figures, no errors,
// and the KCP/TCP comparison.
func TestKCPIdle(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	o := quick(t)
	o.launch = nil // child processes
	o.Target, o.Transport, o.ServerProcs = targetFramework, "tcp,kcp", 1
	o.Idle, o.Conns, o.Sources = true, 8, 2
	o.Heartbeat, o.Ramp, o.Warmup, o.Duration = 100*time.Millisecond, 50*time.Millisecond, 200*time.Millisecond, 600*time.Millisecond
	rep, err := run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, r := range rep.Runs {
		labels = append(labels, r.label())
	}
	if !slices.Equal(labels, []string{"framework", "framework-kcp"}) {
		t.Fatalf("measurements %v, want framework then framework-kcp", labels)
	}
	for _, r := range rep.Runs {
		checkSane(t, o, r)
		// A ping every 100 ms over the 600 ms hold.
		if min := uint64(o.Conns * 3); r.Messages < min {
			t.Errorf("%s: %d pongs in the hold, want at least %d", r.label(), r.Messages, min)
		}
		if r.ServerRSSBeforeKB <= 0 || r.ServerRSSAfterKB <= 0 {
			t.Errorf("%s: server RSS before %d, after %d kB; want both > 0", r.label(), r.ServerRSSBeforeKB, r.ServerRSSAfterKB)
		}
		// One core at most (GOMAXPROCS 1), with room for the 10 ms
		// resolution of /proc's CPU times over a short hold.
		if r.ServerCPU < 0 || r.ServerCPU > 1.5 || r.ServerUSPerConnS < 0 || r.ClientCPU < 0 {
			t.Errorf("%s: server %.3f cores, %.2f us/s per connection, client %.3f cores; want non-negative, the server within one core",
				r.label(), r.ServerCPU, r.ServerUSPerConnS, r.ClientCPU)
		}
		if want := r.ServerCPU * 1e6 / float64(r.ConnsUp); r.ServerUSPerConnS != want {
			t.Errorf("%s: %.2f us/s per connection, want %.2f (cores / connections)", r.label(), r.ServerUSPerConnS, want)
		}
	}
	if rep.KCPIdle == nil || rep.KCPIdle.RSSPerConn == 0 || rep.KCPIdle.CPUPerConn < 0 {
		t.Errorf("KCP/TCP idle ratios %+v; want both measured", rep.KCPIdle)
	}
	var out bytes.Buffer
	rep.print(&out)
	for _, want := range []string{"srv us/s/conn", "framework kcp/tcp idle", "server GOMAXPROCS 1", "no target over KCP"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestKCPOptions(t *testing.T) {
	bad := map[string]func(*options){
		"baseline over kcp":        func(o *options) { o.Target, o.Transport = targetBaseline, transportKCP },
		"baseline over ws,kcp":     func(o *options) { o.Target, o.Transport = targetBaseline, "ws,kcp" },
		"unknown in a list":        func(o *options) { o.Transport = "tcp,udp" },
		"empty list item":          func(o *options) { o.Transport = "tcp," },
		"kcp without -kcp-addr":    func(o *options) { o.Target, o.Transport, o.Addr = targetFramework, "tcp,kcp", "127.0.0.1:8999" },
		"tcp without -addr":        func(o *options) { o.Target, o.Transport, o.KCPAddr = targetFramework, "tcp,kcp", "127.0.0.1:9001" },
		"non-loopback kcp address": func(o *options) { o.Target, o.Transport, o.KCPAddr = targetFramework, transportKCP, "10.0.0.1:9001" },
	}
	for name, mutate := range bad {
		o := defaultOptions()
		mutate(&o)
		if o.validate() == nil {
			t.Errorf("%s: validate accepted %+v", name, o)
		}
	}
	o := defaultOptions()
	o.Target, o.Transport = targetBaseline, transportKCP
	if err := o.validate(); err == nil || !strings.Contains(err.Error(), "TCP only") {
		t.Errorf("the baseline over KCP: %v; want a refusal saying it speaks TCP only", err)
	}

	o, err := parseFlags([]string{"-idle", "-transport", "tcp,kcp", "-server-procs", "1"})
	if err != nil {
		t.Fatal(err)
	}
	want := []measurement{{targetBaseline, transportTCP}, {targetFramework, transportTCP}, {targetFramework, transportKCP}}
	if got := o.measurements(); !slices.Equal(got, want) || o.ServerProcs != 1 {
		t.Errorf("-transport tcp,kcp: measurements %v, server procs %d; want %v, 1", got, o.ServerProcs, want)
	}
	o, err = parseFlags([]string{"-target", "framework", "-transport", "kcp", "-kcp-addr", "127.0.0.1:9001"})
	if err != nil || !o.external() || o.measurements()[0].Transport != transportKCP {
		t.Errorf("an external KCP server: %+v, %v", o, err)
	}
	for in, want := range map[string][]string{
		"both":         {transportTCP, transportWS},
		"kcp, tcp":     {transportKCP, transportTCP},
		"tcp,both,kcp": {transportTCP, transportWS, transportKCP},
	} {
		if got, err := parseTransports(in); err != nil || !slices.Equal(got, want) {
			t.Errorf("parseTransports(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}
