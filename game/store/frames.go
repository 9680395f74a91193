package store

import (
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

// MemoryFrameStore keeps match logs in memory. It keeps every running
// match and the last maxEnded ended ones (oldest dropped first), so a
// long-running server's memory stays bounded.
type MemoryFrameStore struct {
	mu       sync.RWMutex
	logs     map[uint64]*FrameLog
	ended    []uint64 // ended matches, oldest first
	maxEnded int
}

// NewMemoryFrameStore returns a store that keeps up to maxEnded finished
// matches for replay (at least one).
func NewMemoryFrameStore(maxEnded int) *MemoryFrameStore {
	return &MemoryFrameStore{logs: make(map[uint64]*FrameLog), maxEnded: max(maxEnded, 1)}
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
	return l.Append(frame, inputs)
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
		delete(s.logs, s.ended[0])
		s.ended = s.ended[1:]
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
	l.Read(from, to, fn)
	return nil
}
