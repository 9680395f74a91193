package redisstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// A spilled write's payload:
//
//	version u8 (1) · kind u8 · copy u8 (1: a copy of a write also sent from memory) · seq, id, frame: uvarint · expire: varint
//	key, data, run: uvarint length + bytes · ended u8 · fields: uvarint count, each length + bytes
//	doc: u8 0, or 1 · hash, field: length + bytes · version: uvarint · base u8 · flags u8 (create 1, match 2)
//
// Field values are stored as the bytes Redis would get for them (numbers
// in decimal), so a replayed HSET writes the same hash.

const spillVersion = 1

var errBadRecord = errors.New("redisstore: malformed spill record")

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// fieldBytes is a hash field's value as Redis stores it.
func fieldBytes(b []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		return appendBytes(b, []byte(x))
	case []byte:
		return appendBytes(b, x)
	case uint64:
		return appendBytes(b, strconv.AppendUint(nil, x, 10))
	case uint32:
		return appendBytes(b, strconv.AppendUint(nil, uint64(x), 10))
	case int:
		return appendBytes(b, strconv.AppendInt(nil, int64(x), 10))
	case int64:
		return appendBytes(b, strconv.AppendInt(nil, x, 10))
	default:
		return appendBytes(b, fmt.Append(nil, x))
	}
}

// encodeOp appends o's payload to b.
func encodeOp(b []byte, o *op) []byte {
	var dup byte
	if o.spilled == spillCopy {
		dup = 1
	}
	b = append(b, spillVersion, byte(o.kind), dup)
	b = binary.AppendUvarint(b, o.seq)
	b = binary.AppendUvarint(b, o.id)
	b = binary.AppendUvarint(b, uint64(o.frame))
	b = binary.AppendVarint(b, o.expire)
	b = appendBytes(b, []byte(o.key))
	b = appendBytes(b, o.data)
	b = appendBytes(b, []byte(o.run))
	var ended byte
	if o.ended {
		ended = 1
	}
	b = append(b, ended)
	b = binary.AppendUvarint(b, uint64(len(o.fields)))
	for _, f := range o.fields {
		b = fieldBytes(b, f)
	}
	if o.doc == nil {
		return append(b, 0)
	}
	d := o.doc
	b = append(b, 1)
	b = appendBytes(b, []byte(d.hash))
	b = appendBytes(b, []byte(d.field))
	b = binary.AppendUvarint(b, d.version)
	var flags byte
	if d.create {
		flags |= 1
	}
	if d.match {
		flags |= 2
	}
	return append(b, byte(d.base), flags)
}

// decoder state for decodeOp: the first error sticks.
type opReader struct {
	b   []byte
	err error
}

func (r *opReader) fail() {
	if r.err == nil {
		r.err = errBadRecord
	}
	r.b = nil
}

func (r *opReader) byte() byte {
	if len(r.b) < 1 {
		r.fail()
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *opReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *opReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// bytes returns a copy: the payload's buffer is reused.
func (r *opReader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	v := append([]byte(nil), r.b[:n]...)
	r.b = r.b[n:]
	return v
}

// decodeOp reads a payload written by encodeOp; the result shares no
// memory with it.
func decodeOp(p []byte) (op, error) {
	r := opReader{b: p}
	if v := r.byte(); r.err == nil && v != spillVersion {
		return op{}, fmt.Errorf("%w: version %d", errBadRecord, v)
	}
	var o op
	kind := r.byte()
	if r.err == nil && int(kind) >= len(kindNames) {
		return op{}, fmt.Errorf("%w: write kind %d", errBadRecord, kind)
	}
	o.kind = opKind(kind)
	o.spilled = spillOwn
	switch r.byte() {
	case 0:
	case 1:
		o.spilled = spillCopy
	default:
		r.fail()
	}
	o.seq = r.uvarint()
	o.id = r.uvarint()
	frame := r.uvarint()
	if frame > 1<<32-1 {
		r.fail()
	}
	o.frame = uint32(frame)
	o.expire = r.varint()
	o.key = string(r.bytes())
	o.data = r.bytes()
	o.run = string(r.bytes())
	switch r.byte() {
	case 0:
	case 1:
		o.ended = true
	default:
		r.fail()
	}
	n := r.uvarint()
	if n > uint64(len(r.b)) { // each field takes at least a byte
		r.fail()
	}
	if n > 0 && r.err == nil {
		o.fields = make([]any, 0, n)
		for range n {
			o.fields = append(o.fields, r.bytes())
		}
	}
	switch r.byte() {
	case 0:
	case 1:
		d := &docOp{hash: string(r.bytes()), field: string(r.bytes()), version: r.uvarint()}
		base, flags := r.byte(), r.byte()
		if base > byte(basePresent) || flags > 3 {
			r.fail()
		}
		d.base, d.create, d.match = docBase(base), flags&1 != 0, flags&2 != 0
		o.doc = d
	default:
		r.fail()
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail()
	}
	if r.err == nil && (o.kind == opDocPut || o.kind == opDocDel) != (o.doc != nil) {
		return op{}, fmt.Errorf("%w: document details do not match a %s write", errBadRecord, kindNames[o.kind])
	}
	if r.err != nil {
		return op{}, r.err
	}
	return o, nil
}
