package client

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/protocol/lspb"
)

// FuzzReceive feeds arbitrary server messages to a client in a match: it
// must neither panic nor step a frame twice or out of order.
func FuzzReceive(f *testing.F) {
	seed, _ := proto.Marshal(batchOf(1, 3, 0, 2))
	f.Add(lspb.MsgFrames, seed)
	f.Add(lspb.MsgCatchUp, seed)
	ms, _ := proto.Marshal(&lspb.MatchStart{MatchId: 7, StartFrame: 1})
	f.Add(lspb.MsgMatchStart, ms)
	f.Add(uint32(65535), []byte(`{"code":"shutdown","retry_after_ms":5}`))
	f.Add(lspb.MsgError, []byte{8, 4, 24, 0xeb, 7})
	c, g, l, _ := sequencer(f)
	f.Fuzz(func(t *testing.T, id uint32, data []byte) {
		l.receive(id, data)
		for len(c.events) > 0 {
			c.handle(<-c.events)
		}
		for i := 1; i < len(g.frames); i++ {
			if g.frames[i] != g.frames[i-1]+1 {
				t.Fatalf("stepped %d after %d", g.frames[i], g.frames[i-1])
			}
		}
	})
}
