package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
)

// Idle mode: N connections that only keep themselves alive. Each sends a
// ping (PingMsgID, which the framework answers itself and the baseline
// echoes) as soon as it is open, within FirstMessageTimeout, then every
// -heartbeat, and waits for the pong. The server process's RSS is read
// before any connection opens, once all are open and have settled
// (-warmup), and at the end of the hold (-duration); the difference per
// connection is the figure. The server's CPU time over the hold, per
// second and per connection, is the other one: what keeping a connection
// alive costs while it does nothing, which over KCP is mostly the
// session's internal clock. Errors are connections that the server closed
// or that stopped answering pings.

// pongTimeout bounds the wait for one pong.
const pongTimeout = 10 * time.Second

// Idle phases, for the progress lines.
const (
	idleOpen = iota
	idleSettle
	idleHold
	idleClose
)

var idlePhaseNames = [...]string{"open", "settle", "hold", "close"}

// runIdle runs idle mode against one server.
func runIdle(ctx context.Context, o *options, m measurement, run int, d *dialer, srv *served) Result {
	// The opening of every connection is bounded by the ramp plus a dial
	// and a WebSocket handshake; the run by that, the settling, the hold
	// and a grace period.
	openBy := o.Ramp + 2*dialTimeout
	before := sampleMem(srv)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lr := newLoadRun(rctx, o, m, d)
	lr.pid = srv.pid
	lr.hard = lr.base.Add(openBy + o.Warmup + o.Duration + o.grace)
	stopAt := time.AfterFunc(time.Until(lr.hard), cancel)
	defer stopAt.Stop()

	res := Result{
		Target: m.Target, Transport: m.Transport, Run: run, Addr: d.target(),
		Conns: o.Conns, Payload: o.PingPayload, HeartbeatS: o.Heartbeat.Seconds(),
	}

	var phase atomic.Int32
	var hold atomic.Bool // pongs count while set
	var attempted atomic.Int64
	outs := make([]connOut, o.Conns)
	var wg sync.WaitGroup
	for i := range o.Conns {
		wg.Go(func() { outs[i] = lr.idleConn(i, &attempted, &hold) })
	}
	stopProgress := lr.progress(m.label(), run, func(time.Duration) string {
		return idlePhaseNames[phase.Load()]
	})
	defer stopProgress()

	sleep := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-rctx.Done():
			return false
		}
	}
	for attempted.Load() < int64(o.Conns) && time.Since(lr.base) < openBy && sleep(20*time.Millisecond) {
	}
	res.OpenSeconds = time.Since(lr.base).Seconds()
	phase.Store(idleSettle)
	var after, end memSample
	var holdFrom, holdTo time.Duration
	var cpu0, cpu1 cpuSample
	if sleep(o.Warmup) {
		after = sampleMem(srv)
		res.ConnsUp = int(lr.up.Load())
		phase.Store(idleHold)
		holdFrom = time.Since(lr.base)
		// After the memory sample, whose heap figures and profile the
		// server spends CPU on: the hold's CPU is the connections' only.
		cpu0 = sampleCPU(holdFrom, srv.pid)
		hold.Store(true)
		if sleep(o.Duration) {
			hold.Store(false)
			holdTo = time.Since(lr.base)
			cpu1 = sampleCPU(holdTo, srv.pid)
			end = sampleMem(srv)
		}
	}
	hold.Store(false)
	phase.Store(idleClose)
	interrupted := ctx.Err() != nil
	cancel() // the connections close; errors from here on are not counted
	wg.Wait()

	var total histogram
	for _, out := range outs {
		if out.hist != nil {
			total.merge(out.hist)
		}
		res.Messages += out.msgs
	}
	if holdTo > holdFrom {
		res.Seconds = (holdTo - holdFrom).Seconds()
		res.MsgsPerSec = float64(res.Messages) / res.Seconds
	} else if !interrupted {
		lr.fail(errTimeout, fmt.Errorf("the hold did not complete within the run's bound %s", lr.hard.Sub(lr.base)))
	}
	res.P50US, res.P90US, res.P99US, res.MaxUS = us(total.percentile(0.5)), us(total.percentile(0.9)), us(total.percentile(0.99)), us(total.max)
	res.setMem(before, after, end)
	res.setIdleCPU(cpu0, cpu1)
	lr.addErrors(&res)
	return res
}

// idleConn opens connection i, then pings at once and every heartbeat
// until the run stops. It counts the pongs (and records their round
// trips) while hold is set.
func (lr *loadRun) idleConn(i int, attempted *atomic.Int64, hold *atomic.Bool) connOut {
	nc, closeConn, ok := lr.open(i)
	attempted.Add(1)
	if !ok {
		return connOut{}
	}
	defer closeConn()
	id := zconf.Default().PingMsgID
	payload := make([]byte, lr.o.PingPayload)
	frame := make([]byte, 0, znet.HeadLen+len(payload))
	pong := make([]byte, znet.HeadLen+len(payload))
	h := new(histogram)
	var msgs uint64
	cnt := &lr.counts[i].n
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	next := time.Since(lr.base)
	for seq := uint64(0); ; seq++ {
		fillPayload(payload, seq)
		frame, _ = lr.pack.AppendPack(frame[:0], id, payload)
		sent := time.Since(lr.base)
		dl := time.Now().Add(pongTimeout)
		if dl.After(lr.hard) {
			dl = lr.hard
		}
		_ = nc.SetDeadline(dl)
		if _, err := nc.Write(frame); err != nil {
			lr.ioFail(errWrite, err)
			return connOut{hist: h, msgs: msgs}
		}
		if _, err := io.ReadFull(nc, pong); err != nil {
			lr.ioFail(errRead, fmt.Errorf("waiting for pong #%d: %w", seq, err))
			return connOut{hist: h, msgs: msgs}
		}
		rtt := time.Since(lr.base) - sent
		gotID, data, n, derr := lr.pack.Decode(pong)
		if derr != nil || n != len(pong) || gotID != id || !bytes.Equal(data, payload) {
			lr.fail(errMismatch, fmt.Errorf("pong #%d: message ID %d, %d bytes, decode error %v", seq, gotID, len(data), derr))
			return connOut{hist: h, msgs: msgs}
		}
		cnt.Add(1)
		if hold.Load() {
			h.record(rtt)
			msgs++
		}
		next += lr.o.Heartbeat
		t.Reset(next - time.Since(lr.base))
		select {
		case <-t.C:
		case <-lr.ctx.Done():
			return connOut{hist: h, msgs: msgs}
		}
	}
}

// setIdleCPU fills the CPU figures of the hold from its first and last
// samples: cores, and the server's microseconds of CPU per second per
// connection, the idle cost that a heartbeat and a transport's timers
// make. They stay 0 when the server process is unknown (in-process
// servers, or no /proc).
func (r *Result) setIdleCPU(a, b cpuSample) {
	if !a.ok || !b.ok || b.at <= a.at {
		return
	}
	span := (b.at - a.at).Seconds()
	r.ServerCPU = (b.server - a.server).Seconds() / span
	r.ClientCPU = (b.client - a.client).Seconds() / span
	r.OtherCPU = otherCores(a, b)
	if r.ConnsUp > 0 {
		r.ServerUSPerConnS = r.ServerCPU * 1e6 / float64(r.ConnsUp)
	}
}

// memSample is the memory of the server process and of this one at one
// moment; zero fields are unknown.
type memSample struct {
	serverRSS, clientRSS int64 // bytes
	slab                 int64 // the kernel's slab, machine-wide, bytes
	gomem                goMem
	gomemOK              bool
}

func sampleMem(srv *served) memSample {
	var s memSample
	if srv.pid > 0 {
		s.serverRSS = procStatusKB(fmt.Sprintf("/proc/%d/status", srv.pid), "VmRSS") * 1024
	}
	s.clientRSS = procStatusKB("/proc/self/status", "VmRSS") * 1024
	s.slab = procStatusKB("/proc/meminfo", "Slab") * 1024
	if srv.memStats != nil {
		m, err := srv.memStats()
		if err == nil {
			s.gomem, s.gomemOK = m, true
		} else {
			fmt.Fprintln(os.Stderr, "load:", err)
		}
	}
	return s
}

// procStatusKB reads a "Key:   123 kB" line of a /proc file; 0 when it
// cannot.
func procStatusKB(path, key string) int64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for line := range bytes.Lines(data) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok || string(k) != key {
			continue
		}
		var n int64
		if _, err := fmt.Sscanf(string(bytes.TrimSpace(v)), "%d", &n); err != nil {
			return 0
		}
		return n
	}
	return 0
}

// setMem fills the idle figures of r from the samples before any
// connection, after all are open, and at the end of the hold.
func (r *Result) setMem(before, after, end memSample) {
	r.ServerRSSBeforeKB = before.serverRSS / 1024
	r.ServerRSSAfterKB = after.serverRSS / 1024
	r.ServerRSSEndKB = end.serverRSS / 1024
	r.ClientRSSBeforeKB = before.clientRSS / 1024
	r.ClientRSSAfterKB = after.clientRSS / 1024
	n := float64(r.ConnsUp)
	if n == 0 || after.clientRSS == 0 {
		return
	}
	if before.serverRSS > 0 && after.serverRSS > 0 {
		r.ServerRSSPerConn = float64(after.serverRSS-before.serverRSS) / n
	}
	r.ClientRSSPerConn = float64(after.clientRSS-before.clientRSS) / n
	if before.slab > 0 && after.slab > 0 {
		r.KernelSlabPerConn = float64(after.slab-before.slab) / n
	}
	if before.gomemOK && after.gomemOK {
		b, a := before.gomem, after.gomem
		r.ServerHeapPerConn = float64(int64(a.HeapInuse)-int64(b.HeapInuse)) / n
		r.ServerStackPerConn = float64(int64(a.StackInuse)-int64(b.StackInuse)) / n
		r.ServerFreeHeldPerConn = float64(int64(a.HeapIdle-a.HeapReleased)-int64(b.HeapIdle-b.HeapReleased)) / n
		r.ServerGoroutinesPerConn = float64(a.Goroutines-b.Goroutines) / n
	}
}
