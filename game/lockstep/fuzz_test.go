package lockstep

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/protocol/lspb"
)

// FuzzParseInput: the tick's own Input decoder agrees with protobuf's on
// every payload protobuf accepts (data and seq), and never panics.
func FuzzParseInput(f *testing.F) {
	for _, m := range []*lspb.Input{{}, {Data: []byte("move"), Seq: 7}, {Data: make([]byte, 300), FrameHint: 9, Seq: 1 << 31}} {
		b, _ := proto.Marshal(m)
		f.Add(b)
	}
	f.Add([]byte{0x0a, 0xff})             // a length past the end
	f.Add([]byte{0x18, 0x80, 0x80, 0x80}) // a varint cut short
	f.Fuzz(func(t *testing.T, b []byte) {
		data, seq, err := parseInput(b)
		var m lspb.Input
		perr := proto.Unmarshal(b, &m)
		if perr != nil {
			return // protobuf refuses it; ours may accept or refuse
		}
		if err != nil {
			t.Fatalf("protobuf decodes %x, parseInput refuses it: %v", b, err)
		}
		if !bytes.Equal(data, m.Data) || seq != m.Seq {
			t.Fatalf("%x: parseInput (%x, %d), protobuf (%x, %d)", b, data, seq, m.Data, m.Seq)
		}
	})
}
