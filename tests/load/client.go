package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zinxgame/zinxgame/znet"
)

// Error kinds counted by the load client.
const (
	errDial     = iota // could not connect
	errRead            // read failed or the server closed the connection
	errWrite           // write failed
	errMismatch        // an echo did not match what was sent next
	errTimeout         // no echo before the deadline
	numErrKinds
)

var errKindNames = [numErrKinds]string{"dial", "read", "write", "mismatch", "timeout"}

// dialTimeout bounds one connection attempt.
const dialTimeout = 5 * time.Second

// defaultGrace is how long after the measured window a connection may
// still wait for an echo before it counts as a timeout. It is also what
// bounds a run against a server that stopped answering.
const defaultGrace = 3 * time.Second

// counter is a per-connection message count read by the progress printer,
// padded so that connections do not share cache lines.
type counter struct {
	n atomic.Uint64
	_ [56]byte
}

// loadRun is one measurement: N connections against one address.
type loadRun struct {
	o      *options
	dial   *dialer
	pack   *znet.DataPack
	ctx    context.Context
	base   time.Time     // the run's time origin
	mStart time.Duration // the measured window, from base
	mEnd   time.Duration
	hard   time.Time // connections give up at this time

	counts   []counter
	up       atomic.Int64 // connections open now
	dialed   atomic.Int64 // connections that were opened
	errs     [numErrKinds]atomic.Uint64
	errMu    sync.Mutex
	firstErr string
	pid      int           // the server process, 0 when unknown
	late     atomic.Uint64 // rate mode: echoes slower than goalRateP99US
}

// connOut is what one connection measured inside the window.
type connOut struct {
	hist *histogram
	msgs uint64
	sent uint64     // rate mode: messages sent in the window
	lag  *histogram // rate mode: how late sends were against their schedule
}

func newLoadRun(ctx context.Context, o *options, m measurement, d *dialer) *loadRun {
	return &loadRun{
		o:      o,
		dial:   d,
		pack:   znet.NewDataPack(o.Framing, o.MaxPackageSize),
		ctx:    ctx,
		base:   time.Now(),
		counts: make([]counter, o.Conns),
	}
}

// runLoad runs the load client (in-flight or rate mode) against one
// server and returns its measurement. pid, when not 0, is the server's
// process, whose CPU time and system calls are sampled at the start and
// end of the measured window.
func runLoad(ctx context.Context, o *options, m measurement, run int, d *dialer, pid int) Result {
	lr := newLoadRun(ctx, o, m, d)
	lr.pid = pid
	lr.mStart = o.Ramp + o.Warmup
	lr.mEnd = lr.mStart + o.Duration
	lr.hard = lr.base.Add(lr.mEnd + o.grace)

	outs := make([]connOut, o.Conns)
	var wg sync.WaitGroup
	for i := range o.Conns {
		if o.Rate > 0 {
			wg.Go(func() { outs[i] = lr.rateConn(i) })
		} else {
			wg.Go(func() { outs[i] = lr.conn(i) })
		}
	}
	stopProgress := lr.progress(m.label(), run, lr.phase)
	allDone := make(chan struct{})
	usages := lr.sampleUsage(pid, allDone)
	wg.Wait()
	end := time.Since(lr.base)
	close(allDone)
	stopProgress()
	u := <-usages

	var total, lag histogram
	var msgs, sent uint64
	for _, out := range outs {
		if out.hist != nil {
			total.merge(out.hist)
		}
		if out.lag != nil {
			lag.merge(out.lag)
		}
		msgs += out.msgs
		sent += out.sent
	}
	window := min(end, lr.mEnd) - lr.mStart
	res := Result{
		Target:    m.Target,
		Transport: m.Transport,
		Run:       run,
		Addr:      d.target(),
		Conns:     o.Conns,
		ConnsUp:   int(lr.dialed.Load()),
		Inflight:  o.Inflight,
		Payload:   o.Payload,
		Messages:  msgs,
		Seconds:   max(window, 0).Seconds(),
		P50US:     us(total.percentile(0.50)),
		P90US:     us(total.percentile(0.90)),
		P99US:     us(total.percentile(0.99)),
		MaxUS:     us(total.max),
	}
	if res.Seconds > 0 {
		res.MsgsPerSec = float64(msgs) / res.Seconds
	}
	if o.Rate > 0 {
		res.Inflight = 0
		res.Rate = o.Rate
		res.Sent = sent
		res.SendLagP99US = us(lag.percentile(0.99))
	}
	if u.client.ok && u.span > 0 {
		res.ClientCPU = u.client.cpu.Seconds() / u.span.Seconds()
	}
	res.OtherCPU = u.other
	if u.server.ok && u.span > 0 && msgs > 0 {
		// The counters cover [mStart, mEnd] exactly; so does msgs.
		res.ServerCPU = u.server.cpu.Seconds() / u.span.Seconds()
		res.ServerUSPerMsg = us(u.server.cpu) / float64(msgs)
		res.ServerReadsPerMsg = float64(u.server.reads) / float64(msgs)
		res.ServerWritesPerMsg = float64(u.server.write) / float64(msgs)
	}
	lr.addErrors(&res)
	return res
}

// addErrors copies the run's error counts into res.
func (lr *loadRun) addErrors(res *Result) {
	for k := range numErrKinds {
		if n := lr.errs[k].Load(); n > 0 {
			if res.ErrorKinds == nil {
				res.ErrorKinds = make(map[string]uint64)
			}
			res.ErrorKinds[errKindNames[k]] = n
			res.Errors += n
		}
	}
	lr.errMu.Lock()
	res.FirstError = lr.firstErr
	lr.errMu.Unlock()
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// windowUsage is the resources used during the measured window.
type windowUsage struct {
	span           time.Duration
	server, client usage
	other          float64 // cores the rest of the machine used
}

// sampleUsage samples the server process pid and this process at the start
// and at the end of the measured window and sends the differences. It
// sends a zero value when the run ends before the window does.
func (lr *loadRun) sampleUsage(pid int, done <-chan struct{}) <-chan windowUsage {
	ch := make(chan windowUsage, 1)
	go func() {
		var w windowUsage
		defer func() { ch <- w }()
		wait := func(until time.Duration) bool {
			t := time.NewTimer(until - time.Since(lr.base))
			defer t.Stop()
			select {
			case <-t.C:
				return true
			case <-done:
				return false
			case <-lr.ctx.Done():
				return false
			}
		}
		if !wait(lr.mStart) {
			return
		}
		t0, s0, c0 := time.Since(lr.base), usage{}, selfUsage()
		if pid > 0 {
			s0 = procUsage(pid)
		}
		m0 := sampleCPU(t0, pid)
		if !wait(lr.mEnd) {
			return
		}
		t1, s1, c1 := time.Since(lr.base), usage{}, selfUsage()
		if pid > 0 {
			s1 = procUsage(pid)
		}
		w.other = otherCores(m0, sampleCPU(t1, pid))
		w.span = t1 - t0
		if c0.ok && c1.ok {
			w.client = usage{ok: true, cpu: c1.cpu - c0.cpu}
		}
		if s0.ok && s1.ok {
			w.server = usage{ok: true, cpu: s1.cpu - s0.cpu, reads: s1.reads - s0.reads, write: s1.write - s0.write}
		}
	}()
	return ch
}

// fail counts an error, unless the run was interrupted (then errors are
// expected and say nothing about the server).
func (lr *loadRun) fail(kind int, err error) {
	if lr.ctx.Err() != nil {
		return
	}
	lr.errs[kind].Add(1)
	lr.errMu.Lock()
	if lr.firstErr == "" {
		lr.firstErr = errKindNames[kind] + ": " + err.Error()
	}
	lr.errMu.Unlock()
}

func (lr *loadRun) ioFail(kind int, err error) {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		kind = errTimeout
	}
	lr.fail(kind, err)
}

// fillPayload writes the payload for sequence number seq: the number's
// little-endian bytes, then bytes derived from it, so that any reordering,
// loss or corruption shows as a mismatch.
func fillPayload(p []byte, seq uint64) {
	for i := range p {
		if i < 8 {
			p[i] = byte(seq >> (8 * i))
		} else {
			p[i] = byte(seq*31) + byte(i)
		}
	}
}

// open waits for connection i's turn in the ramp and dials it. On success
// the connection counts as up until the returned close is called; its
// deadline is the run's hard deadline, and an interrupt unblocks it.
func (lr *loadRun) open(i int) (nc net.Conn, closeConn func(), ok bool) {
	o := lr.o
	if o.Ramp > 0 && o.Conns > 1 {
		at := lr.base.Add(o.Ramp * time.Duration(i) / time.Duration(o.Conns))
		t := time.NewTimer(time.Until(at))
		select {
		case <-t.C:
		case <-lr.ctx.Done():
			t.Stop()
			return nil, nil, false
		}
	}
	dctx, cancel := context.WithDeadline(lr.ctx, lr.hard)
	nc, err := lr.dial.dial(dctx, i)
	cancel()
	if err != nil {
		lr.fail(errDial, err)
		return nil, nil, false
	}
	lr.dialed.Add(1)
	lr.up.Add(1)
	_ = nc.SetDeadline(lr.hard)
	stop := context.AfterFunc(lr.ctx, func() { _ = nc.SetDeadline(time.Now()) })
	return nc, func() {
		stop()
		_ = nc.Close()
		lr.up.Add(-1)
	}, true
}

// conn runs one connection: it keeps Inflight requests outstanding, one
// goroutine reading echoes and writing the next requests in batches.
func (lr *loadRun) conn(i int) connOut {
	o := lr.o
	nc, closeConn, ok := lr.open(i)
	if !ok {
		return connOut{}
	}
	defer closeConn()

	m := o.Inflight
	frameLen := znet.HeadLen + o.Payload
	br := bufio.NewReaderSize(nc, max(4096, frameLen))
	wbuf := make([]byte, 0, m*frameLen)
	payload := make([]byte, o.Payload)
	want := make([]byte, o.Payload)
	stamps := make([]time.Duration, m) // send times, FIFO by sequence number
	var sent, stamped, recvd uint64
	h := new(histogram)
	var msgs uint64
	cnt := &lr.counts[i].n

	appendNext := func() {
		fillPayload(payload, sent)
		wbuf, _ = lr.pack.AppendPack(wbuf, echoMsgID, payload) // size checked by options.validate
		sent++
	}
	flush := func() error {
		now := time.Since(lr.base)
		for ; stamped < sent; stamped++ {
			stamps[stamped%uint64(m)] = now
		}
		_, err := nc.Write(wbuf)
		wbuf = wbuf[:0]
		return err
	}

	for range m {
		appendNext()
	}
	if err := flush(); err != nil {
		lr.ioFail(errWrite, err)
		return connOut{hist: h}
	}
	for {
		p, err := br.Peek(frameLen)
		if err != nil {
			if id, data, n, _ := lr.pack.Decode(p); n > 0 && id != echoMsgID {
				err = fmt.Errorf("%w (after a message ID %d: %q)", err, id, data)
			}
			if err == io.EOF && time.Since(lr.base) >= lr.mEnd {
				return connOut{hist: h, msgs: msgs}
			}
			lr.ioFail(errRead, err)
			return connOut{hist: h, msgs: msgs}
		}
		now := time.Since(lr.base)
		id, data, n, derr := lr.pack.Decode(p)
		fillPayload(want, recvd)
		if derr != nil || n != frameLen || id != echoMsgID || !bytes.Equal(data, want) {
			if derr == nil && n == 0 {
				derr = errors.New("frame length differs from the request's")
			}
			lr.fail(errMismatch, fmt.Errorf("echo #%d: message ID %d, %d bytes, decode error %v", recvd, id, len(data), derr))
			return connOut{hist: h, msgs: msgs}
		}
		_, _ = br.Discard(frameLen)
		rtt := now - stamps[recvd%uint64(m)]
		recvd++
		cnt.Add(1)
		if now >= lr.mStart && now < lr.mEnd {
			h.record(rtt)
			msgs++
		}
		if now >= lr.mEnd {
			return connOut{hist: h, msgs: msgs}
		}
		appendNext()
		if br.Buffered() < frameLen {
			if err := flush(); err != nil {
				lr.ioFail(errWrite, err)
				return connOut{hist: h, msgs: msgs}
			}
		}
	}
}

// phase names the part of the run that time t (from base) is in.
func (lr *loadRun) phase(t time.Duration) string {
	switch {
	case t < lr.o.Ramp:
		return "ramp"
	case t < lr.mStart:
		return "warmup"
	case t >= lr.mEnd:
		return "drain"
	}
	return "measure"
}

// progress prints a line every o.progressEvery until the returned function
// is called. phase names the part of the run an interval was mostly in.
func (lr *loadRun) progress(target string, run int, phase func(time.Duration) string) (stop func()) {
	every := lr.o.progressEvery
	if every <= 0 || lr.o.progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		var prev, prevLate uint64
		prevAt := time.Duration(0)
		prevCPU := sampleCPU(0, lr.pid)
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			now := time.Since(lr.base)
			var sum uint64
			for i := range lr.counts {
				sum += lr.counts[i].n.Load()
			}
			rate := float64(sum-prev) / (now - prevAt).Seconds()
			var errs uint64
			for k := range lr.errs {
				errs += lr.errs[k].Load()
			}
			var extra string
			if lr.o.Rate > 0 {
				late := lr.late.Load()
				extra += fmt.Sprintf("  over %s %d", fmtUS(goalRateP99US), late-prevLate)
				prevLate = late
			}
			if c := sampleCPU(now, lr.pid); c.ok && prevCPU.ok {
				span := (c.at - prevCPU.at).Seconds()
				extra += fmt.Sprintf("  cores: server %.2f client %.2f other %.2f",
					(c.server-prevCPU.server).Seconds()/span, (c.client-prevCPU.client).Seconds()/span, otherCores(prevCPU, c))
				prevCPU = c
			}
			fmt.Fprintf(lr.o.progress, "%-12s run %d/%d  %6.1fs  %-7s  %9.0f msgs/s  conns %d/%d  errors %d%s\n",
				target, run, lr.o.Runs, now.Seconds(), phase((prevAt+now)/2), rate, lr.up.Load(), lr.o.Conns, errs, extra)
			prev, prevAt = sum, now
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}
