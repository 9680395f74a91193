package redisstore

import (
	"reflect"
	"testing"
)

// sample writes of every kind, as the store queues them.
func sampleOps() []op {
	return []op{
		{seq: 1, kind: opFrame, id: 7, frame: 42, data: []byte{1, 2, 3}},
		{seq: 2, kind: opEnd, id: 7, frame: 99, key: "p:match:7"},
		{seq: 3, kind: opPlayer, id: 3, key: "p:player:3", fields: []any{"name", "ann", "x", "1.5", "updated", ""}},
		{seq: 4, kind: opMatch, id: 7, key: "p:match:7", fields: []any{"id", uint64(7), "tick", uint32(30), "players", []byte(`[{"slot":0}]`)},
			run: "p:running:2", ended: true},
		{seq: 5, kind: opSession, key: "p:session:abc", fields: []any{"player", uint64(9)}, expire: 1_700_000_000_123},
		{seq: 6, kind: opRevoke, key: "p:session:abc", spilled: spillCopy},
		{seq: 7, kind: opDocPut, key: "h\x00f", data: []byte("v"), doc: &docOp{hash: "h", field: "f", version: 1 << 60, base: baseAbsent, create: true, match: true}},
		{seq: 8, kind: opDocDel, key: "h\x00g", doc: &docOp{hash: "h", field: "g", base: basePresent}},
	}
}

// A payload decodes to the write that was encoded, with field values as
// the bytes Redis gets.
func TestSpillCodecRoundTrip(t *testing.T) {
	for _, o := range sampleOps() {
		got, err := decodeOp(encodeOp(nil, &o))
		if err != nil {
			t.Fatalf("%s: %v", kindNames[o.kind], err)
		}
		want := o
		if want.spilled != spillCopy {
			want.spilled = spillOwn
		}
		if want.fields != nil {
			want.fields = make([]any, len(o.fields))
			for i, f := range o.fields {
				v := fieldBytes(nil, f)[1:] // the value without its length prefix (all short)
				if len(v) == 0 {
					v = nil
				}
				want.fields[i] = v
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\n got %+v\nwant %+v", kindNames[o.kind], got, want)
		}
	}
}

// FuzzDecodeOp: any bytes decode to a write or an error, never a panic,
// and a write that decodes encodes to a payload that decodes to it again
// (not always the same bytes: a varint may have been written long).
func FuzzDecodeOp(f *testing.F) {
	for _, o := range sampleOps() {
		f.Add(encodeOp(nil, &o))
	}
	f.Add([]byte{})
	f.Add([]byte{spillVersion, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, p []byte) {
		o, err := decodeOp(p)
		if err != nil {
			return
		}
		again, err := decodeOp(encodeOp(nil, &o))
		if err != nil || !reflect.DeepEqual(again, o) {
			t.Fatalf("read %+v from %x; re-encoded, %+v (%v)", o, p, again, err)
		}
	})
}
