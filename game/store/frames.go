package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"sync"
)

// FrameStore keeps the input log of every match, for reconnection catch-up
// and replays. MemoryFrameStore is the default; a persistent store (Redis)
// implements the same interface. Methods are called from room tick
// goroutines and must be safe for concurrent use.
type FrameStore interface {
	// AppendFrame records the inputs of a busy frame. Frames of a match
	// arrive in increasing order; empty frames are never appended.
	AppendFrame(matchID uint64, frame uint32, inputs []byte) error
	// EndMatch records that the match ended after lastFrame.
	EndMatch(matchID uint64, lastFrame uint32) error
	// ReadFrames calls fn for each busy frame in [from, to], in order,
	// until fn returns false. inputs is valid only during the call.
	ReadFrames(matchID uint64, from, to uint32, fn func(frame uint32, inputs []byte) bool) error
}

// ErrNoMatch is returned for a match a store does not hold.
var ErrNoMatch = errors.New("game: no such match")

// ErrFramesLost is returned by ReadFrames for a match whose frames the
// store could not all keep (MemoryFrameStore over its byte bound): a
// replay or catch-up from it would have holes, so it is refused whole.
var ErrFramesLost = errors.New("game: the match's frames were not all kept")

// ErrStoreFull is returned by AppendFrame when the store is at its bound.
var ErrStoreFull = errors.New("game: the frame store is full")

// FrameLog is one match's busy frames: a byte log of
// uvarint(frame) uvarint(len) inputs, with a sparse index for seeking.
// The zero value is an empty log. It is not safe for concurrent use: its
// owner (a room's tick, or a store's mutex) serializes the calls.
type FrameLog struct {
	buf   []byte
	index []logMark // every logIndexEvery-th busy frame
	n     int       // busy frames
	last  uint32    // the last busy frame appended
	ended bool
	end   uint32
}

type logMark struct {
	frame uint32
	off   int
}

const logIndexEvery = 64

// Append adds a busy frame; frames must come in increasing order.
func (l *FrameLog) Append(frame uint32, inputs []byte) error {
	if l.n > 0 && frame <= l.last {
		return fmt.Errorf("game: frame %d appended after frame %d", frame, l.last)
	}
	if l.n%logIndexEvery == 0 {
		l.index = append(l.index, logMark{frame: frame, off: len(l.buf)})
	}
	if g := l.growth(len(inputs)); g > 0 {
		nb := make([]byte, len(l.buf), cap(l.buf)+g)
		copy(nb, l.buf)
		l.buf = nb
	}
	l.buf = binary.AppendUvarint(l.buf, uint64(frame))
	l.buf = binary.AppendUvarint(l.buf, uint64(len(inputs)))
	l.buf = append(l.buf, inputs...)
	l.n++
	l.last = frame
	return nil
}

// Read calls fn for each busy frame in [from, to], in order, until fn
// returns false; inputs is valid only during the call.
func (l *FrameLog) Read(from, to uint32, fn func(frame uint32, inputs []byte) bool) {
	// Start at the last index mark at or before from.
	i := sort.Search(len(l.index), func(i int) bool { return l.index[i].frame > from })
	off := 0
	if i > 0 {
		off = l.index[i-1].off
	}
	for off < len(l.buf) {
		f, n := binary.Uvarint(l.buf[off:])
		off += n
		size, n := binary.Uvarint(l.buf[off:])
		off += n
		frame := uint32(f)
		if frame > to {
			return
		}
		if frame >= from && !fn(frame, l.buf[off:off+int(size)]) {
			return
		}
		off += int(size)
	}
}

// Bytes is the memory the log holds.
func (l *FrameLog) Bytes() int { return cap(l.buf) + len(l.index)*16 }

// growth is the bytes appending inputs adds to the buffer's capacity: 0
// when it fits, else what it needs and a quarter of the log more, so
// appends stay amortized O(1) and a store can tell in advance what an
// append will cost.
func (l *FrameLog) growth(inputs int) int {
	need := 2*binary.MaxVarintLen32 + inputs
	if len(l.buf)+need <= cap(l.buf) {
		return 0
	}
	return len(l.buf) + need + len(l.buf)/4 - cap(l.buf)
}

// MemoryFrameStore keeps match logs in memory. It keeps every running
// match and the last maxEnded ended ones (oldest dropped first), within a
// bound on the bytes of all logs: past it, ended matches go oldest first,
// and when only running matches are left, the frame that does not fit is
// refused (ErrStoreFull) and its match is marked lost (ErrFramesLost on
// reads), so memory stays bounded whatever the players send.
type MemoryFrameStore struct {
	mu       sync.RWMutex
	logs     map[uint64]*FrameLog
	lost     map[uint64]bool // matches with a refused frame
	ended    []uint64        // ended matches, oldest first
	maxEnded int
	maxBytes int
	bytes    int
}

// NewMemoryFrameStore returns a store that keeps up to maxEnded finished
// matches for replay (at least one), with no bound on bytes.
func NewMemoryFrameStore(maxEnded int) *MemoryFrameStore {
	return NewBoundedMemoryFrameStore(maxEnded, 0)
}

// NewBoundedMemoryFrameStore is NewMemoryFrameStore holding at most
// maxBytes of frames (0 for no bound).
func NewBoundedMemoryFrameStore(maxEnded, maxBytes int) *MemoryFrameStore {
	return &MemoryFrameStore{logs: make(map[uint64]*FrameLog), lost: make(map[uint64]bool),
		maxEnded: max(maxEnded, 1), maxBytes: maxBytes}
}

// Bytes is the memory the store's logs hold. Safe for concurrent use.
func (s *MemoryFrameStore) Bytes() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.bytes
}

// dropOldestEnded forgets the oldest ended match; false when none is left.
func (s *MemoryFrameStore) dropOldestEnded() bool {
	if len(s.ended) == 0 {
		return false
	}
	id := s.ended[0]
	s.ended[0] = 0
	s.ended = s.ended[1:]
	if l := s.logs[id]; l != nil {
		s.bytes -= l.Bytes()
	}
	delete(s.logs, id)
	delete(s.lost, id)
	return true
}

func (s *MemoryFrameStore) AppendFrame(matchID uint64, frame uint32, inputs []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.logs[matchID]
	if l == nil {
		l = &FrameLog{}
		s.logs[matchID] = l
	}
	if l.ended {
		return fmt.Errorf("game: match %d has ended", matchID)
	}
	if s.lost[matchID] {
		return fmt.Errorf("%w: match %d is no longer recorded", ErrStoreFull, matchID)
	}
	if s.maxBytes > 0 {
		cost := l.growth(len(inputs)) + 16
		for s.bytes+cost > s.maxBytes && s.dropOldestEnded() {
		}
		if s.bytes+cost > s.maxBytes {
			s.lost[matchID] = true
			return fmt.Errorf("%w: %d bytes held; match %d is no longer recorded", ErrStoreFull, s.bytes, matchID)
		}
	}
	before := l.Bytes()
	err := l.Append(frame, inputs)
	s.bytes += l.Bytes() - before
	return err
}

func (s *MemoryFrameStore) EndMatch(matchID uint64, lastFrame uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.logs[matchID]
	if l == nil {
		l = &FrameLog{} // a match with no input at all
		s.logs[matchID] = l
	}
	if l.ended {
		return nil
	}
	l.ended, l.end = true, lastFrame
	s.ended = append(s.ended, matchID)
	for len(s.ended) > s.maxEnded {
		s.dropOldestEnded()
	}
	return nil
}

func (s *MemoryFrameStore) ReadFrames(matchID uint64, from, to uint32, fn func(uint32, []byte) bool) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	l := s.logs[matchID]
	if l == nil {
		return fmt.Errorf("%w: %d", ErrNoMatch, matchID)
	}
	if s.lost[matchID] {
		return fmt.Errorf("%w: match %d", ErrFramesLost, matchID)
	}
	l.Read(from, to, fn)
	return nil
}

// LastFrame returns the last busy frame kept for the match
// (store.FrameRecovery). Safe for concurrent use.
func (s *MemoryFrameStore) LastFrame(_ context.Context, matchID uint64) (uint32, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	l := s.logs[matchID]
	if l == nil || l.n == 0 {
		return 0, false, nil
	}
	return l.last, true, nil
}
