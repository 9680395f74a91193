package store

import (
	"context"
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Documents. A game keeps its own data (stats, inventory, a match's
// results) as documents: opaque bytes under a key, grouped in collections
// and owned by a player or a match. A DocStore gives them the built-in
// records' guarantees: the memory implementation is the default, and
// package game/store/redisstore's Store keeps them on Redis behind the same
// ordered write-behind queue as every other write.

// OwnerKind says what owns a document.
type OwnerKind uint8

const (
	// OwnerPlayer: the owner's ID is a player ID.
	OwnerPlayer OwnerKind = 1
	// OwnerMatch: the owner's ID is a match ID.
	OwnerMatch OwnerKind = 2
)

// String returns "player" or "match" (as in error messages).
func (k OwnerKind) String() string {
	switch k {
	case OwnerPlayer:
		return "player"
	case OwnerMatch:
		return "match"
	}
	return fmt.Sprintf("OwnerKind(%d)", uint8(k))
}

// DocOwner is a player or a match.
type DocOwner struct {
	Kind OwnerKind
	ID   uint64
}

// PlayerOwner is the player id as an owner.
func PlayerOwner(id uint64) DocOwner { return DocOwner{Kind: OwnerPlayer, ID: id} }

// MatchOwner is the match id as an owner.
func MatchOwner(id uint64) DocOwner { return DocOwner{Kind: OwnerMatch, ID: id} }

// DocRef names one document: an owner's document Key in Collection.
type DocRef struct {
	Collection string
	Owner      DocOwner
	Key        string
}

// Doc is a stored document.
type Doc struct {
	Key   string
	Value []byte
	// Version is positive, and every Put of the document through a store
	// gives it a version above every earlier one of that document, so a
	// reader can tell which of two values is newer (see the
	// implementations for what holds across processes).
	Version uint64
}

// DocStore keeps documents. Puts and deletes may be buffered (Redis
// queues them, in order, with every other write); a read sees every write
// this process made before it, queued or not. Implementations are safe for
// concurrent use.
//
// There is no compare-and-set: a buffered write is acknowledged before the
// backing store sees it, so a version check made there could not report
// its outcome to the caller, and one made in this process alone would
// guard only against this process's own writers.
type DocStore interface {
	// PutDoc stores value (copied) under ref and returns its new version.
	// It fails, storing nothing, with an error wrapping ErrDocInvalid,
	// ErrDocKeyTooLong, ErrDocCollectionTooLong, ErrDocTooLarge,
	// ErrDocOwnerFull or a store-specific error for a full store.
	PutDoc(ctx context.Context, ref DocRef, value []byte) (version uint64, err error)
	// GetDoc returns the document and true, or false when there is none.
	GetDoc(ctx context.Context, ref DocRef) (Doc, bool, error)
	// DeleteDoc removes the document; removing one that does not exist is
	// not an error.
	DeleteDoc(ctx context.Context, ref DocRef) error
	// ListDocs returns owner's documents in collection with keys after
	// after (all of them for ""), in byte order of their keys, at most
	// limit (see DocLimits.Page), and whether more follow: the next page
	// starts after the last key returned.
	ListDocs(ctx context.Context, owner DocOwner, collection, after string, limit int) ([]Doc, bool, error)
	// Flush returns once every write made before it is stored, or ctx ends.
	Flush(ctx context.Context) error
}

// Refusals, each wrapped with the detail (errors.Is finds them).
var (
	// ErrDocInvalid: an empty key or collection, a collection with other
	// than ASCII letters, digits and "_.-", a key that is not UTF-8 or
	// holds control characters, or an owner kind that is neither player
	// nor match.
	ErrDocInvalid = errors.New("game: invalid document reference")
	// ErrDocKeyTooLong: a key (or a ListDocs after) over MaxKeyLen bytes.
	ErrDocKeyTooLong = errors.New("game: document key too long")
	// ErrDocCollectionTooLong: a collection name over MaxCollectionLen bytes.
	ErrDocCollectionTooLong = errors.New("game: document collection name too long")
	// ErrDocTooLarge: a value over MaxValueSize bytes.
	ErrDocTooLarge = errors.New("game: document value too large")
	// ErrDocOwnerFull: a new document for an owner that already has
	// MaxDocsPerOwner in the collection. Overwriting one of them, or
	// deleting one first, works.
	ErrDocOwnerFull = errors.New("game: too many documents for one owner in one collection")
	// ErrDocStoreFull: the memory store holds MaxBytes already.
	ErrDocStoreFull = errors.New("game: document store full")
)

// DocLimits bounds a document store; hostile input (a client choosing
// keys, say) is normal input. A zero (or negative) field means its
// default.
type DocLimits struct {
	// MaxKeyLen bounds a key, in bytes: 128 by default.
	MaxKeyLen int
	// MaxCollectionLen bounds a collection's name, in bytes: 64 by default.
	MaxCollectionLen int
	// MaxValueSize bounds a value, in bytes: 64 KiB by default.
	MaxValueSize int
	// MaxDocsPerOwner bounds one owner's documents in one collection, and
	// so one ListDocs page: 1,000 by default.
	MaxDocsPerOwner int
	// MaxBytes bounds the document bytes a store holds in this process:
	// everything for the memory store, what is queued for Redis for
	// redisstore. 64 MiB by default.
	MaxBytes int64
}

const (
	defaultDocMaxKeyLen        = 128
	defaultDocMaxCollectionLen = 64
	defaultDocMaxValueSize     = 64 << 10
	defaultDocMaxDocsPerOwner  = 1000
	defaultDocMaxBytes         = 64 << 20
	// defaultDocPage is ListDocs' page when the limit is not positive.
	defaultDocPage = 100
)

// WithDefaults returns l with every zero or negative field set to its
// default.
func (l DocLimits) WithDefaults() DocLimits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxKeyLen, defaultDocMaxKeyLen)
	def(&l.MaxCollectionLen, defaultDocMaxCollectionLen)
	def(&l.MaxValueSize, defaultDocMaxValueSize)
	def(&l.MaxDocsPerOwner, defaultDocMaxDocsPerOwner)
	if l.MaxBytes <= 0 {
		l.MaxBytes = defaultDocMaxBytes
	}
	return l
}

// Page returns the page size ListDocs uses for limit: 100 when limit is
// not positive, at most MaxDocsPerOwner.
func (l DocLimits) Page(limit int) int {
	l = l.WithDefaults()
	if limit <= 0 {
		limit = defaultDocPage
	}
	return min(limit, l.MaxDocsPerOwner)
}

// CheckRef reports whether ref is a valid document reference within l,
// for implementations (every operation checks it first).
func (l DocLimits) CheckRef(ref DocRef) error {
	if err := l.CheckList(ref.Owner, ref.Collection, ref.Key); err != nil {
		return err
	}
	if ref.Key == "" {
		return fmt.Errorf("%w: empty key", ErrDocInvalid)
	}
	return nil
}

// CheckValue reports whether value fits within l.
func (l DocLimits) CheckValue(value []byte) error {
	l = l.WithDefaults()
	if len(value) > l.MaxValueSize {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrDocTooLarge, len(value), l.MaxValueSize)
	}
	return nil
}

// CheckList reports whether ListDocs' arguments are valid within l; after
// may be empty.
func (l DocLimits) CheckList(owner DocOwner, collection, after string) error {
	l = l.WithDefaults()
	if owner.Kind != OwnerPlayer && owner.Kind != OwnerMatch {
		return fmt.Errorf("%w: owner kind %v", ErrDocInvalid, owner.Kind)
	}
	if collection == "" {
		return fmt.Errorf("%w: empty collection", ErrDocInvalid)
	}
	if len(collection) > l.MaxCollectionLen {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrDocCollectionTooLong, len(collection), l.MaxCollectionLen)
	}
	for i := range len(collection) {
		if c := collection[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return fmt.Errorf("%w: collection %q: byte %d is %q (want letters, digits, '_', '.', '-')", ErrDocInvalid, collection, i, c)
		}
	}
	if len(after) > l.MaxKeyLen {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrDocKeyTooLong, len(after), l.MaxKeyLen)
	}
	if !utf8.ValidString(after) {
		return fmt.Errorf("%w: key %q is not UTF-8", ErrDocInvalid, after)
	}
	for _, r := range after {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: key %q holds control character %U", ErrDocInvalid, after, r)
		}
	}
	return nil
}
