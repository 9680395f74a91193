package lockstep

import (
	"encoding/binary"
	"sort"
	"sync"
)

// history is a running match's recent busy frames, bounded by bytes: a
// list of segments, each a byte log of uvarint(frame) uvarint(len) inputs
// (the inputs as they go on the wire). When the log is over its bound the
// oldest segment goes whole, so trimming never copies; frames older than
// the oldest segment kept come from the frame store.
//
// The room's tick appends; catch-up streams read from other goroutines, a
// bounded chunk at a time, so a read holds the lock for one chunk only.
type history struct {
	mu       sync.RWMutex
	segs     []*segment
	bytes    int    // bytes held, in all segments
	maxBytes int    // the bound; at least two segments' worth is kept
	keptFrom uint32 // the first frame the history answers for (1 until a trim)
	last     uint32 // the last busy frame appended
}

type segment struct {
	first, last uint32 // busy frames in it
	buf         []byte
}

// segBytes is the size a segment grows to before the next one starts. A
// frame's inputs are bounded far below it (Config.frameBudget).
const segBytes = 64 << 10

func newHistory(maxBytes int) *history {
	return &history{maxBytes: max(maxBytes, 2*segBytes), keptFrom: 1}
}

// append records a busy frame; frames arrive in increasing order.
func (h *history) append(frame uint32, inputs []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	need := 2*binary.MaxVarintLen32 + len(inputs)
	var s *segment
	if n := len(h.segs); n > 0 && len(h.segs[n-1].buf)+need <= segBytes {
		s = h.segs[n-1]
	} else {
		s = &segment{first: frame, buf: make([]byte, 0, min(max(need, 512), segBytes))}
		h.segs = append(h.segs, s)
		h.bytes += cap(s.buf)
	}
	before := cap(s.buf)
	s.buf = binary.AppendUvarint(s.buf, uint64(frame))
	s.buf = binary.AppendUvarint(s.buf, uint64(len(inputs)))
	s.buf = append(s.buf, inputs...)
	s.last = frame
	h.last = frame
	h.bytes += cap(s.buf) - before
	for h.bytes > h.maxBytes && len(h.segs) > 1 {
		old := h.segs[0]
		h.bytes -= cap(old.buf)
		h.segs[0] = nil
		h.segs = h.segs[1:]
		h.keptFrom = old.last + 1
	}
}

// held is the bytes the history holds.
func (h *history) held() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.bytes
}

// from is the first frame the history answers for: busy frames before it
// were trimmed (ask the frame store).
func (h *history) from() uint32 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.keptFrom
}

// read calls fn for each busy frame in [from, to], in order, until fn
// returns false. It returns false, calling fn for nothing, when frames
// from from on are no longer all held (from is before keptFrom): read them
// from the frame store. fn runs with the read lock held: it must copy what
// it keeps and not block.
func (h *history) read(from, to uint32, fn func(frame uint32, inputs []byte) bool) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if from < h.keptFrom {
		return false
	}
	i := sort.Search(len(h.segs), func(i int) bool { return h.segs[i].last >= from })
	for ; i < len(h.segs); i++ {
		s := h.segs[i]
		if s.first > to {
			return true
		}
		for off := 0; off < len(s.buf); {
			f, n := binary.Uvarint(s.buf[off:])
			off += n
			size, n := binary.Uvarint(s.buf[off:])
			off += n
			frame := uint32(f)
			if frame > to {
				return true
			}
			if frame >= from && !fn(frame, s.buf[off:off+int(size)]) {
				return true
			}
			off += int(size)
		}
	}
	return true
}
