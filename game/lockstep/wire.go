package lockstep

import (
	"google.golang.org/protobuf/encoding/protowire"
)

// Frame history. A frame's inputs are kept as the protobuf encoding of
// FrameInputs.inputs (repeated SlotInput, field 2), exactly the bytes that
// go on the wire, so building a FrameBatch, live or for catch-up, copies
// bytes and encodes nothing. A frame without inputs is not stored at all:
// the log holds busy frames only, each costing its inputs plus a few bytes
// of frame number and length.

// Wire encoding of frame batches (see FrameBatch in lockstep.proto).

// appendSlotInput appends one SlotInput as a FrameInputs.inputs element.
func appendSlotInput(b []byte, slot uint32, data []byte, seq uint32) []byte {
	size := 0
	if slot != 0 {
		size += 1 + protowire.SizeVarint(uint64(slot))
	}
	if len(data) > 0 {
		size += 1 + protowire.SizeBytes(len(data))
	}
	if seq != 0 {
		size += 1 + protowire.SizeVarint(uint64(seq))
	}
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(size))
	if slot != 0 {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(slot))
	}
	if len(data) > 0 {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendBytes(b, data)
	}
	if seq != 0 {
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(seq))
	}
	return b
}

// batchWriter builds one FrameBatch message.
type batchWriter struct {
	b     []byte
	first uint32
}

// begin starts a batch of count frames from first.
func (w *batchWriter) begin(first, count uint32) {
	w.b = w.b[:0]
	w.first = first
	w.b = protowire.AppendTag(w.b, 1, protowire.VarintType)
	w.b = protowire.AppendVarint(w.b, uint64(first))
	w.b = protowire.AppendTag(w.b, 2, protowire.VarintType)
	w.b = protowire.AppendVarint(w.b, uint64(count))
}

// busy adds a frame with inputs (stored as in the log).
func (w *batchWriter) busy(frame uint32, inputs []byte) {
	off := frame - w.first
	size := len(inputs)
	if off != 0 {
		size += 1 + protowire.SizeVarint(uint64(off))
	}
	w.b = protowire.AppendTag(w.b, 3, protowire.BytesType)
	w.b = protowire.AppendVarint(w.b, uint64(size))
	if off != 0 {
		w.b = protowire.AppendTag(w.b, 1, protowire.VarintType)
		w.b = protowire.AppendVarint(w.b, uint64(off))
	}
	w.b = append(w.b, inputs...)
}
