package e2e

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/protocol/mmopb"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// TestMMODefaultsCutAFlooder: the MMO example started with no config file
// rate-limits a chat flooder and disconnects it, while a player beside it
// keeps playing. (Its rate limit once came only from conf/mmo.json.)
func TestMMODefaultsCutAFlooder(t *testing.T) {
	p := startBinary(t, "mmo", []string{"ZINX_MODE=tcp"}) // no -c; TCP only, so no fixed WebSocket port
	cfg := zconf.Default()
	dial := func() *znettest.Peer { return znettest.Dial(t, p.addr, cfg) }
	bystander := joinMMO(t, dial)

	flooder := dial()
	talk, _ := proto.Marshal(&mmopb.Talk{Content: "spam"})
	pack := znet.NewDataPack(cfg.Framing, cfg.MaxPackageSize)
	var flood []byte
	for range 500 {
		flood, _ = pack.AppendPack(flood, mmopb.MsgTalk, talk)
	}
	flooder.Write(flood)
	// The flooder reads everything: it is cut for its rate, not for a
	// full send queue.
	flooder.ExpectNotice(znet.NoticeRateLimited)
	flooder.ExpectClosed()

	// The bystander still plays: its chat comes back to it.
	bystander.send(mmopb.MsgTalk, &mmopb.Talk{Content: "still here"})
	bystander.until("still here")
	p.stop(t)
}
