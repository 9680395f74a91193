package e2e

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/protocol"
	"github.com/zinxgame/zinxgame/protocol/pb"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
)

// TestMMODefaultsCutAFlooder: the MMO example started with no config file
// rate-limits a chat flooder and disconnects it, while a player beside it
// keeps playing. (Its rate limit once came only from conf/mmo.json.)
func TestMMODefaultsCutAFlooder(t *testing.T) {
	p := startBinary(t, "mmo", []string{"ZINX_MODE=tcp"}) // no -c; TCP only, so no fixed WebSocket port
	cl, inbox := mmoClients(t, 1)
	dial := func(cl *znet.Client) (*znet.Connection, error) { return cl.Dial(context.Background(), p.addr) }
	bystander := joinMMO(t, cl, dial, inbox)

	nc, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	cfg := zconf.Default()
	pack := znet.NewDataPack(cfg.Framing, cfg.MaxPackageSize)
	talk, _ := proto.Marshal(&pb.Talk{Content: "spam"})
	var flood []byte
	for range 500 {
		flood, _ = pack.AppendPack(flood, protocol.MsgTalk, talk)
	}
	if _, err := nc.Write(flood); err != nil {
		t.Fatal(err)
	}
	// The flooder reads: it is cut for its rate, not for a full queue.
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var notice string
	buf, err := io.ReadAll(nc)
	for len(buf) > 0 {
		id, data, n, derr := pack.Decode(buf)
		if derr != nil || n == 0 {
			break
		}
		if id == cfg.NoticeMsgID {
			if nt, perr := znet.ParseNotice(data); perr == nil {
				notice = nt.Code
			}
		}
		buf = buf[n:]
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the flooder is still connected after 500 chats at once (notice %q); log:\n%s", notice, p.logs())
	}
	if notice != znet.NoticeRateLimited {
		t.Fatalf("the flooder was closed with notice %q, want %q", notice, znet.NoticeRateLimited)
	}

	// The bystander still plays: its chat comes back to it.
	bystander.send(protocol.MsgTalk, &pb.Talk{Content: "still here"})
	bystander.until("still here")
	select {
	case <-bystander.conn.Done():
		t.Fatal("the bystander was disconnected")
	default:
	}
	p.stop(t)
}
