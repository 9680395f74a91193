package main

import (
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/protocol/mmopb"
)

// checkBroadCast fails t unless decodeBroadCast and proto.Unmarshal agree
// on b: both fail, or both succeed with the same fields.
func checkBroadCast(t *testing.T, b []byte) {
	t.Helper()
	var want mmopb.BroadCast
	werr := proto.Unmarshal(b, &want)
	var got broadCast
	gerr := decodeBroadCast(b, &got)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("% x: proto.Unmarshal error %v, decodeBroadCast error %v", b, werr, gerr)
	}
	if werr != nil {
		return
	}
	if got.PID != want.PID || got.Tp != want.Tp {
		t.Fatalf("% x: PID, Tp = %d, %d; proto says %d, %d", b, got.PID, got.Tp, want.PID, want.Tp)
	}
	switch d := want.Data.(type) {
	case nil:
		if got.Data != 0 {
			t.Fatalf("% x: oneof %d; proto says none", b, got.Data)
		}
	case *mmopb.BroadCast_Content:
		if got.Data != dataContent || string(got.Content) != d.Content {
			t.Fatalf("% x: oneof %d %q; proto says Content %q", b, got.Data, got.Content, d.Content)
		}
	case *mmopb.BroadCast_ActionData:
		if got.Data != dataAction || got.Action != d.ActionData {
			t.Fatalf("% x: oneof %d %d; proto says ActionData %d", b, got.Data, got.Action, d.ActionData)
		}
	case *mmopb.BroadCast_P:
		p := d.P
		wantP := [4]float32{p.GetX(), p.GetY(), p.GetZ(), p.GetV()}
		if got.Data != dataP {
			t.Fatalf("% x: oneof %d; proto says P", b, got.Data)
		}
		for i := range wantP {
			if math.Float32bits(got.P[i]) != math.Float32bits(wantP[i]) {
				t.Fatalf("% x: P = %v; proto says %v", b, got.P, wantP)
			}
		}
	}
}

func broadCastSeeds() [][]byte {
	seeds := [][]byte{
		nil,
		{0x08},                      // a tag with no value
		{0x00, 0x01},                // field number 0
		{0x1a, 0x02, 0xff, 0xfe},    // Content not UTF-8
		{0x22, 0x05, 0x0d, 1, 2, 3}, // Position cut short
		{0x0a, 0x01, 0x00},          // field 1 as bytes: unknown, skipped
		{0x0b, 0x0c},                // an empty group
		{0x0c},                      // an end-group with no start
	}
	for _, m := range []*mmopb.BroadCast{
		{PID: 7, Tp: 1, Data: &mmopb.BroadCast_Content{Content: "bot 7 12"}},
		{PID: -1, Tp: 2, Data: &mmopb.BroadCast_P{P: &mmopb.Position{X: 160.5, Y: 0, Z: 134.25, V: 1}}},
		{PID: 1 << 30, Tp: 4, Data: &mmopb.BroadCast_P{P: &mmopb.Position{}}},
		{PID: 3, Tp: 3, Data: &mmopb.BroadCast_ActionData{ActionData: -5}},
		{Tp: 99},
	} {
		b, err := proto.Marshal(m)
		if err != nil {
			panic(err)
		}
		seeds = append(seeds, b)
	}
	// The last oneof member wins; a second P merges into the first.
	p1, _ := proto.Marshal(&mmopb.BroadCast{Data: &mmopb.BroadCast_P{P: &mmopb.Position{X: 1, Z: 2}}})
	p2, _ := proto.Marshal(&mmopb.BroadCast{Data: &mmopb.BroadCast_P{P: &mmopb.Position{Y: 3}}})
	c, _ := proto.Marshal(&mmopb.BroadCast{Data: &mmopb.BroadCast_Content{Content: "x"}})
	seeds = append(seeds, append(append([]byte{}, p1...), p2...), append(append(append([]byte{}, p1...), c...), p2...))
	return seeds
}

func TestDecodeBroadCastMatchesProto(t *testing.T) {
	for _, b := range broadCastSeeds() {
		checkBroadCast(t, b)
	}
}

func FuzzDecodeBroadCast(f *testing.F) {
	for _, b := range broadCastSeeds() {
		f.Add(b)
	}
	f.Fuzz(checkBroadCast)
}

func BenchmarkDecodeBroadCast(b *testing.B) {
	data, _ := proto.Marshal(&mmopb.BroadCast{PID: 42, Tp: 4, Data: &mmopb.BroadCast_P{P: &mmopb.Position{X: 160.5, Z: 134.25}}})
	b.Run("proto.Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		var m mmopb.BroadCast
		for b.Loop() {
			if err := proto.Unmarshal(data, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decodeBroadCast", func(b *testing.B) {
		b.ReportAllocs()
		var m broadCast
		for b.Loop() {
			if err := decodeBroadCast(data, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
