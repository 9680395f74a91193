package store

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
)

// docOverhead is what a memory document costs beyond its collection, key
// and value bytes, as counted against MaxBytes: so a flood of empty
// documents under many owners is bounded too.
const docOverhead = 64

// MemoryDocStore is a DocStore in memory, bounded by its DocLimits
// (MaxBytes counts every document's collection, key and value, plus 64
// bytes each). Its zero value is ready to use, with the default limits.
// Writes are immediate and Flush does nothing. Versions count the store's
// writes: 1, 2, 3, and so on. Safe for concurrent use.
type MemoryDocStore struct {
	limits DocLimits // set before use only

	mu      sync.Mutex
	sets    map[docSet]map[string]memDoc
	bytes   int64
	version uint64
}

// docSet is one owner's collection.
type docSet struct {
	owner      DocOwner
	collection string
}

type memDoc struct {
	value   []byte
	version uint64
}

var _ DocStore = (*MemoryDocStore)(nil)

// NewMemoryDocStore returns an empty store bounded by l (zero fields mean
// their defaults).
func NewMemoryDocStore(l DocLimits) *MemoryDocStore {
	return &MemoryDocStore{limits: l.WithDefaults()}
}

// Limits returns the store's limits, defaults filled in.
func (s *MemoryDocStore) Limits() DocLimits { return s.limits.WithDefaults() }

func docCost(collection, key string, value []byte) int64 {
	return int64(len(collection) + len(key) + len(value) + docOverhead)
}

// PutDoc stores a copy of value. It fails with ErrDocOwnerFull for a new
// document of an owner at MaxDocsPerOwner in the collection, and with
// ErrDocStoreFull when the store would hold more than MaxBytes.
func (s *MemoryDocStore) PutDoc(_ context.Context, ref DocRef, value []byte) (uint64, error) {
	l := s.Limits()
	if err := l.CheckRef(ref); err != nil {
		return 0, err
	}
	if err := l.CheckValue(value); err != nil {
		return 0, err
	}
	value = bytes.Clone(value)
	if value == nil {
		value = []byte{}
	}
	set := docSet{ref.Owner, ref.Collection}
	s.mu.Lock()
	defer s.mu.Unlock()
	docs := s.sets[set]
	old, had := docs[ref.Key]
	if !had && len(docs) >= l.MaxDocsPerOwner {
		return 0, fmt.Errorf("%w: %v %d has %d documents in %q (MaxDocsPerOwner)",
			ErrDocOwnerFull, ref.Owner.Kind, ref.Owner.ID, len(docs), ref.Collection)
	}
	grow := docCost(ref.Collection, ref.Key, value)
	if had {
		grow -= docCost(ref.Collection, ref.Key, old.value)
	}
	if s.bytes+grow > l.MaxBytes {
		return 0, fmt.Errorf("%w: it holds %d bytes, this write needs %d more (MaxBytes %d)",
			ErrDocStoreFull, s.bytes, grow, l.MaxBytes)
	}
	if docs == nil {
		if s.sets == nil {
			s.sets = make(map[docSet]map[string]memDoc)
		}
		docs = make(map[string]memDoc)
		s.sets[set] = docs
	}
	s.version++
	docs[ref.Key] = memDoc{value: value, version: s.version}
	s.bytes += grow
	return s.version, nil
}

// GetDoc returns a copy of the document.
func (s *MemoryDocStore) GetDoc(_ context.Context, ref DocRef) (Doc, bool, error) {
	if err := s.Limits().CheckRef(ref); err != nil {
		return Doc{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.sets[docSet{ref.Owner, ref.Collection}][ref.Key]
	if !ok {
		return Doc{}, false, nil
	}
	return Doc{Key: ref.Key, Value: bytes.Clone(d.value), Version: d.version}, true, nil
}

// DeleteDoc removes the document and frees its bytes.
func (s *MemoryDocStore) DeleteDoc(_ context.Context, ref DocRef) error {
	if err := s.Limits().CheckRef(ref); err != nil {
		return err
	}
	set := docSet{ref.Owner, ref.Collection}
	s.mu.Lock()
	defer s.mu.Unlock()
	docs := s.sets[set]
	d, ok := docs[ref.Key]
	if !ok {
		return nil
	}
	delete(docs, ref.Key)
	if len(docs) == 0 {
		delete(s.sets, set)
	}
	s.bytes -= docCost(ref.Collection, ref.Key, d.value)
	return nil
}

// ListDocs returns copies of a page of owner's documents in collection.
// It sorts the owner's keys (at most MaxDocsPerOwner) on every call.
func (s *MemoryDocStore) ListDocs(_ context.Context, owner DocOwner, collection, after string, limit int) ([]Doc, bool, error) {
	l := s.Limits()
	if err := l.CheckList(owner, collection, after); err != nil {
		return nil, false, err
	}
	limit = l.Page(limit)
	s.mu.Lock()
	defer s.mu.Unlock()
	docs := s.sets[docSet{owner, collection}]
	keys := make([]string, 0, len(docs))
	for k := range docs {
		if k > after {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	more := len(keys) > limit
	keys = keys[:min(len(keys), limit)]
	out := make([]Doc, len(keys))
	for i, k := range keys {
		d := docs[k]
		out[i] = Doc{Key: k, Value: bytes.Clone(d.value), Version: d.version}
	}
	return out, more, nil
}

// Bytes is what the store holds, as counted against MaxBytes.
func (s *MemoryDocStore) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// Flush does nothing: memory writes are immediate.
func (s *MemoryDocStore) Flush(context.Context) error { return nil }
