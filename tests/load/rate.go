package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"sync/atomic"
	"time"

	"github.com/zinxgame/zinxgame/znet"
)

// Rate mode: each connection sends o.Rate messages per second on a fixed
// schedule, whatever the echoes do. The loop is open: a slow server cannot
// slow the senders down and so hide its latency. Each message carries its
// sequence number and its send time; the reader checks every echo against
// the sequence and records its round trip.

// rateState is what a connection's writer and reader share.
type rateState struct {
	total atomic.Uint64 // messages written + 1, once the writer is done; 0 before
	recvd atomic.Uint64 // echoes received
	stop  chan struct{} // closed by the reader when it gives up
}

// finished reports whether the writer is done and every message it wrote
// has been echoed.
func (st *rateState) finished() bool {
	t := st.total.Load()
	return t > 0 && st.recvd.Load() == t-1
}

// fillStamped writes the payload of message seq sent at time at: the
// sequence number, the send time, then bytes derived from the sequence
// number (see fillPayload).
func fillStamped(p []byte, seq uint64, at time.Duration) {
	fillPayload(p, seq)
	binary.LittleEndian.PutUint64(p[8:stampLen], uint64(at))
}

// phaseOf spreads connection i's first send over the period (a golden
// ratio sequence), so that connections opened together do not all send in
// the same millisecond.
func phaseOf(i int, period time.Duration) time.Duration {
	_, frac := math.Modf(float64(i) * 0.6180339887498949)
	return time.Duration(frac * float64(period))
}

// rateConn runs one connection in rate mode.
func (lr *loadRun) rateConn(i int) connOut {
	nc, closeConn, ok := lr.open(i)
	if !ok {
		return connOut{}
	}
	defer closeConn()
	period := time.Duration(float64(time.Second) / lr.o.Rate)
	first := time.Since(lr.base) + phaseOf(i, period)
	st := &rateState{stop: make(chan struct{})}
	wout := make(chan connOut, 1)
	go func() { wout <- lr.rateWriter(nc, st, first, period) }()
	out := lr.rateReader(nc, i, st)
	w := <-wout
	out.sent, out.lag = w.sent, w.lag
	return out
}

// rateWriter sends a message at first, first+period, ... until the end of
// the measured window. It counts the messages sent inside the window and
// how late each send was against its schedule (a late client, not a slow
// server).
func (lr *loadRun) rateWriter(nc net.Conn, st *rateState, next, period time.Duration) connOut {
	lag := new(histogram)
	var seq, sent uint64
	defer func() {
		st.total.Store(seq + 1)
		if st.finished() {
			_ = nc.SetReadDeadline(time.Now()) // the reader may be waiting for nothing
		}
	}()
	payload := make([]byte, lr.o.Payload)
	buf := make([]byte, 0, znet.HeadLen+lr.o.Payload)
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for next < lr.mEnd {
		if wait := next - time.Since(lr.base); wait > 0 {
			t.Reset(wait)
			select {
			case <-t.C:
			case <-st.stop:
				return connOut{sent: sent, lag: lag}
			case <-lr.ctx.Done():
				return connOut{sent: sent, lag: lag}
			}
		}
		now := time.Since(lr.base)
		fillStamped(payload, seq, now)
		buf, _ = lr.pack.AppendPack(buf[:0], echoMsgID, payload) // size checked by options.validate
		if _, err := nc.Write(buf); err != nil {
			lr.ioFail(errWrite, err)
			return connOut{sent: sent, lag: lag}
		}
		seq++
		if now >= lr.mStart && now < lr.mEnd {
			sent++
			lag.record(now - next)
		}
		next += period
	}
	// Hold the connection open to the end of the window, which the
	// throughput and the CPU samples cover.
	if wait := lr.mEnd - time.Since(lr.base); wait > 0 {
		t.Reset(wait)
		select {
		case <-t.C:
		case <-st.stop:
		case <-lr.ctx.Done():
		}
	}
	return connOut{sent: sent, lag: lag}
}

// rateReader reads echoes until every message the writer sent has come
// back, and records the round trips of those sent inside the window.
func (lr *loadRun) rateReader(nc net.Conn, i int, st *rateState) connOut {
	defer close(st.stop)
	frameLen := znet.HeadLen + lr.o.Payload
	br := bufio.NewReaderSize(nc, max(1024, 2*frameLen))
	want := make([]byte, lr.o.Payload)
	h := new(histogram)
	var msgs, recvd uint64
	cnt := &lr.counts[i].n
	for !st.finished() {
		p, err := br.Peek(frameLen)
		if err != nil {
			if st.finished() {
				break
			}
			if id, data, n, _ := lr.pack.Decode(p); n > 0 && id != echoMsgID {
				err = fmt.Errorf("%w (after a message ID %d: %q)", err, id, data)
			}
			lr.ioFail(errRead, fmt.Errorf("%d echoes received: %w", recvd, err))
			break
		}
		now := time.Since(lr.base)
		id, data, n, derr := lr.pack.Decode(p)
		if derr == nil && n == frameLen && id == echoMsgID {
			fillPayload(want, recvd)
			copy(want[8:stampLen], data[8:stampLen]) // the send time
		}
		if derr != nil || n != frameLen || id != echoMsgID || !bytes.Equal(data, want) {
			if derr == nil && n == 0 {
				derr = errors.New("frame length differs from the request's")
			}
			lr.fail(errMismatch, fmt.Errorf("echo #%d: message ID %d, %d bytes, decode error %v", recvd, id, len(data), derr))
			break
		}
		at := time.Duration(binary.LittleEndian.Uint64(data[8:stampLen]))
		_, _ = br.Discard(frameLen)
		recvd++
		st.recvd.Store(recvd)
		cnt.Add(1)
		if now-at > goalRateP99US*time.Microsecond {
			lr.late.Add(1)
		}
		if at >= lr.mStart && at < lr.mEnd {
			h.record(now - at)
			msgs++
		}
	}
	return connOut{hist: h, msgs: msgs}
}
