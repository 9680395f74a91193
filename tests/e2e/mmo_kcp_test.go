package e2e

import (
	"testing"

	"github.com/zinxgame/zinxgame/protocol/mmopb"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// TestMMOBinaryServesKCP: the MMO example run with ZINX_MODE=kcp serves
// KCP on the port ZINX_KCPPORT picks, names it in its serving log line,
// and its players chat; a SIGTERM sends them the shutdown notice (KCP
// cannot show them the close itself).
func TestMMOBinaryServesKCP(t *testing.T) {
	p := startBinary(t, "mmo", []string{"ZINX_MODE=kcp", "ZINX_KCPPORT=0"})
	if p.transport != "kcp" {
		t.Fatalf("serving %s over %q, want kcp", p.addr, p.transport)
	}
	cfg := zconf.Default()
	dial := func() *znettest.Peer { return znettest.DialKCP(t, p.addr, cfg) }
	a, b := joinMMO(t, dial), joinMMO(t, dial)
	if a.pid == b.pid {
		t.Fatalf("two players with ID %d", a.pid)
	}
	a.send(mmopb.MsgTalk, &mmopb.Talk{Content: "over kcp"})
	a.until("over kcp")
	b.until("over kcp")
	p.stop(t)
	for _, m := range []*mmoClient{a, b} {
		m.p.ExpectNotice(znet.NoticeShutdown)
	}
}
