package main

// frameSeq checks that a bot's frames arrive gapless and in order: each
// batch must start at the frame after the last one seen. A batch that
// starts later leaves a gap (frames never received); one that starts
// earlier repeats frames already applied. Either is an error of the server.
type frameSeq struct {
	next uint32 // the frame expected next

	gaps, gapFrames uint64 // batches starting late; frames skipped
	dups, dupFrames uint64 // batches starting early; frames repeated
}

// start expects frame first next.
func (q *frameSeq) start(first uint32) { q.next = first }

// last is the last frame seen (first-1 before any).
func (q *frameSeq) last() uint32 { return q.next - 1 }

// accept records a batch of count frames from first. It returns the frames
// to apply, [from, from+n), and how many frames the batch skipped (a gap:
// they never arrived) or repeated (already applied: not applied again).
// After a gap the batch is still applied, though the state it builds on
// is incomplete.
func (q *frameSeq) accept(first, count uint32) (from, n, skipped, repeated uint32) {
	end := first + count // exclusive
	switch {
	case first > q.next:
		skipped = first - q.next
		q.gaps++
		q.gapFrames += uint64(skipped)
	case first < q.next:
		repeated = min(q.next, end) - first
		q.dups++
		q.dupFrames += uint64(repeated)
		if end <= q.next {
			return q.next, 0, 0, repeated
		}
		first = q.next
	}
	q.next = end
	return first, end - first, skipped, repeated
}

// sent is one input waiting for the frame that carries it.
type sent struct {
	seq uint32
	at  int64  // runner clock
	gen uint32 // the connection it was sent on (reconnections count up)
}

// inflightSize bounds the inputs remembered: 25 s at 10 inputs a second.
const inflightSize = 256

// inflight is a bot's inputs not yet seen in a frame, oldest first. The
// server relays one connection's inputs in the order sent, so the bot's
// own (slot, seq) pairs come back in seq order: when seq comes back, every
// older input still waiting is lost (the server never relayed it).
type inflight struct {
	buf     [inflightSize]sent
	head, n int
}

// push adds s; expired says the oldest input was pushed out unanswered.
func (f *inflight) push(s sent) (expired bool) {
	if f.n == inflightSize {
		f.head = (f.head + 1) % inflightSize
		f.n--
		expired = true
	}
	f.buf[(f.head+f.n)%inflightSize] = s
	f.n++
	return expired
}

// match finds seq. It returns the input and how many older inputs it
// drops as lost, split by whether they were sent on connection gen (the
// current one) or an earlier one (lost with a dropped connection). ok is
// false when seq is not waiting (never sent, or already seen: a
// duplicate); nothing is dropped then.
func (f *inflight) match(seq, gen uint32) (s sent, lostNow, lostOld int, ok bool) {
	for i := 0; i < f.n; i++ {
		if f.buf[(f.head+i)%inflightSize].seq == seq {
			ok = true
			s = f.buf[(f.head+i)%inflightSize]
			for j := 0; j < i; j++ {
				if f.buf[(f.head+j)%inflightSize].gen == gen {
					lostNow++
				} else {
					lostOld++
				}
			}
			f.head = (f.head + i + 1) % inflightSize
			f.n -= i + 1
			return s, lostNow, lostOld, true
		}
	}
	return sent{}, 0, 0, false
}

// hashRing remembers the state hash after each of the last hashRingSize
// frames, for the result vote.
const hashRingSize = 128

type hashRing struct {
	frames [hashRingSize]uint32
	hashes [hashRingSize]uint64
}

func (r *hashRing) put(frame uint32, h uint64) {
	r.frames[frame%hashRingSize], r.hashes[frame%hashRingSize] = frame, h
}

func (r *hashRing) get(frame uint32) (uint64, bool) {
	i := frame % hashRingSize
	return r.hashes[i], r.frames[i] == frame && frame != 0
}
