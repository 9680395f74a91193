package main

import (
	"errors"
	"math"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// broadCast is a decoded mmopb.BroadCast. The bots receive over a million of
// these a second at the target load; proto.Unmarshal allocates the oneof
// wrapper and the Position on every one, which made the bots, not the
// server, the bottleneck they were measuring. decodeBroadCast reads the same
// wire format with no allocation; TestDecodeBroadCastMatchesProto and
// FuzzDecodeBroadCast hold it to proto.Unmarshal's results.
type broadCast struct {
	PID, Tp int32
	Data    int // which oneof field is set: 0 none, dataContent, dataP, dataAction
	Content []byte
	P       [4]float32 // X, Y, Z, V
	Action  int32
}

const (
	dataContent = 3 // the oneof's field numbers
	dataP       = 4
	dataAction  = 5
)

var errWire = errors.New("bot: malformed protobuf")

// decodeBroadCast decodes b into m with proto3 semantics: unknown fields
// and known fields with another wire type are skipped, the last value of a
// scalar wins, the last oneof member wins, and a repeated Position merges.
// m.Content aliases b.
func decodeBroadCast(b []byte, m *broadCast) error {
	*m = broadCast{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num > protowire.MaxValidNumber {
			return errWire
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.VarintType, num == 2 && typ == protowire.VarintType,
			num == dataAction && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return errWire
			}
			b = b[n:]
			switch num {
			case 1:
				m.PID = int32(v)
			case 2:
				m.Tp = int32(v)
			default:
				m.Data, m.Content, m.Action = dataAction, nil, int32(v)
			}
		case num == dataContent && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 || !utf8.Valid(v) {
				return errWire
			}
			b = b[n:]
			m.Data, m.Content, m.Action = dataContent, v, 0
		case num == dataP && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return errWire
			}
			b = b[n:]
			if m.Data != dataP {
				m.Data, m.Content, m.Action, m.P = dataP, nil, 0, [4]float32{}
			}
			if err := decodePosition(v, &m.P); err != nil {
				return err
			}
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return errWire
			}
			b = b[n:]
		}
	}
	return nil
}

// decodePosition merges an mmopb.Position's fields 1-4 (floats) into p.
func decodePosition(b []byte, p *[4]float32) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num > protowire.MaxValidNumber {
			return errWire
		}
		b = b[n:]
		if num >= 1 && num <= 4 && typ == protowire.Fixed32Type {
			v, n := protowire.ConsumeFixed32(b)
			if n < 0 {
				return errWire
			}
			b = b[n:]
			p[num-1] = math.Float32frombits(v)
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return errWire
		}
		b = b[n:]
	}
	return nil
}
