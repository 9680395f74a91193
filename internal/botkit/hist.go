// Package botkit holds what the bot swarms (examples/mmo/bot,
// examples/lockstep/bot) share: a lock-free latency histogram, durations
// that read as milliseconds in JSON, a process's CPU time from /proc, and
// the loopback-only address check every load tool makes.
package botkit

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// A log-linear latency histogram in the spirit of HdrHistogram, counting
// microseconds: values below 2*histSub are exact, and every power of two
// above is split into histSub equal buckets, so a bucket's width is at most
// 1/histSub (3.1%) of its values. Values from 2^histMaxLen µs (about 12
// days) up share the last bucket. Recording is one atomic add, so a writer
// and a concurrent reader (the progress line) need no lock.
const (
	histSubBits = 5
	histSub     = 1 << histSubBits // buckets per power of two
	histLinear  = 2 * histSub      // values below are exact
	histMaxLen  = 40               // bit length of the largest distinct value
	histBuckets = histLinear + (histMaxLen-histSubBits-1)*histSub
)

// Hist is a latency histogram; the zero value is ready. Safe for
// concurrent Record and Add.
type Hist struct {
	counts [histBuckets]atomic.Uint64
	max    atomic.Uint64
}

// bucketOf returns the bucket of v µs.
func bucketOf(v uint64) int {
	if v < histLinear {
		return int(v)
	}
	if v >= 1<<histMaxLen {
		return histBuckets - 1
	}
	e := bits.Len64(v) - histSubBits - 1 // v>>e is in [histSub, 2*histSub)
	return histLinear + (e-1)*histSub + int(v>>e) - histSub
}

// bucketHigh is the largest value that falls into bucket i.
func bucketHigh(i int) uint64 {
	if i < histLinear {
		return uint64(i)
	}
	e := (i-histLinear)/histSub + 1
	sub := uint64((i-histLinear)%histSub + histSub)
	return (sub+1)<<e - 1
}

// Record adds one latency.
func (h *Hist) Record(d time.Duration) {
	v := uint64(max(d, 0) / time.Microsecond)
	h.counts[bucketOf(v)].Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// HistSnap is a plain copy of one or more histograms, merged.
type HistSnap struct {
	counts [histBuckets]uint64
	n, max uint64
}

// Add merges h into s.
func (s *HistSnap) Add(h *Hist) {
	for i := range h.counts {
		c := h.counts[i].Load()
		s.counts[i] += c
		s.n += c
	}
	s.max = max(s.max, h.max.Load())
}

// Quantile returns the value at quantile q (0..1): the upper bound of the
// bucket holding the ceil(q*n)-th value, never above the exact maximum.
func (s *HistSnap) Quantile(q float64) time.Duration {
	if s.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(s.n)))
	rank = min(max(rank, 1), s.n)
	var seen uint64
	for i, c := range s.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(bucketHigh(i), s.max)) * time.Microsecond
		}
	}
	return time.Duration(s.max) * time.Microsecond
}

// Count is the number of values merged.
func (s *HistSnap) Count() uint64 { return s.n }

// Max is the largest value merged.
func (s *HistSnap) Max() time.Duration { return time.Duration(s.max) * time.Microsecond }
