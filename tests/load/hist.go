package main

import (
	"math"
	"math/bits"
	"time"
)

// histogram records round-trip times in log-linear buckets: 1 µs steps
// below 1,024 µs, then 128 buckets per power of two (under 0.8% relative
// width) up to 2^24 µs (about 16.8 s); longer values land in the last
// bucket. The exact minimum and maximum are kept besides the buckets. A
// histogram is owned by one goroutine; merge them afterwards.
type histogram struct {
	counts [numBuckets]uint64
	n      uint64
	min    time.Duration
	max    time.Duration
}

const (
	linearBuckets = 1024 // µs covered in 1 µs steps
	linearBits    = 10   // log2(linearBuckets)
	subBits       = 7
	subBuckets    = 1 << subBits // buckets per power of two above linearBuckets
	topExp        = 23           // the last power of two covered: [2^23, 2^24) µs
	numBuckets    = linearBuckets + (topExp-linearBits+1)*subBuckets
)

func bucketOf(d time.Duration) int {
	if d < 0 {
		d = 0
	}
	us := uint64(d / time.Microsecond)
	if us < linearBuckets {
		return int(us)
	}
	e := bits.Len64(us) - 1 // >= linearBits
	if e > topExp {
		return numBuckets - 1
	}
	sub := int(us>>(e-subBits)) & (subBuckets - 1)
	return linearBuckets + (e-linearBits)*subBuckets + sub
}

// bucketBounds returns the half-open range [lo, hi) of bucket i.
func bucketBounds(i int) (lo, hi time.Duration) {
	if i < linearBuckets {
		return time.Duration(i) * time.Microsecond, time.Duration(i+1) * time.Microsecond
	}
	j := i - linearBuckets
	e := linearBits + j/subBuckets
	width := uint64(1) << (e - subBits)
	l := uint64(1)<<e + uint64(j%subBuckets)*width
	return time.Duration(l) * time.Microsecond, time.Duration(l+width) * time.Microsecond
}

func (h *histogram) record(d time.Duration) {
	h.counts[bucketOf(d)]++
	if h.n == 0 || d < h.min {
		h.min = d
	}
	if d > h.max {
		h.max = d
	}
	h.n++
}

func (h *histogram) merge(o *histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
}

// percentile returns the value at quantile q (0 < q <= 1): the middle of
// the bucket holding the ceil(q*n)-th smallest value, clamped to the exact
// minimum and maximum; the largest rank is the exact maximum. It returns 0
// for an empty histogram.
func (h *histogram) percentile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(1, min(rank, h.n))
	if rank == h.n {
		return h.max
	}
	var cum uint64
	for i, c := range h.counts {
		cum += c
		if cum >= rank {
			if i == numBuckets-1 { // open-ended: the maximum is all we know
				return h.max
			}
			lo, hi := bucketBounds(i)
			v := lo + (hi-lo)/2
			return max(h.min, min(v, h.max))
		}
	}
	return h.max
}
