package znet

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/zinxgame/zinxgame/zconf"
)

// pingFlood is a ping flood's outcome, as its reader sees it.
type pingFlood struct {
	pongs   atomic.Int64
	notices chan Notice
	closed  chan struct{} // the read loop ended: the server closed
}

// floodPings sends n pings on ws as fast as it can (or until the server
// closes) while a reader counts the pongs and collects the notices.
func floodPings(t *testing.T, ws *websocket.Conn, cfg zconf.Config, n int) *pingFlood {
	t.Helper()
	f := &pingFlood{notices: make(chan Notice, 4), closed: make(chan struct{})}
	ws.SetPongHandler(func(string) error { f.pongs.Add(1); return nil })
	pack := NewDataPack(cfg.Framing, cfg.MaxPackageSize)
	go func() {
		defer close(f.closed)
		for {
			_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, msg, err := ws.ReadMessage()
			if err != nil {
				return
			}
			for len(msg) > 0 {
				id, data, used, err := pack.Decode(msg)
				if err != nil || used == 0 {
					return
				}
				if nt, err := ParseNotice(data); id == cfg.NoticeMsgID && err == nil {
					select {
					case f.notices <- nt:
					default:
					}
				}
				msg = msg[used:]
			}
		}
	}()
	for i := range n {
		if err := ws.WriteControl(websocket.PingMessage, []byte{byte(i)}, time.Now().Add(time.Second)); err != nil {
			break // closed by the server ("disconnect")
		}
	}
	return f
}

// TestWebSocketPingsCountAgainstMsgRateLimit: a ping flood gets no more
// pongs than the message rate limit allows, and the client is told.
func TestWebSocketPingsCountAgainstMsgRateLimit(t *testing.T) {
	cfg := testConfig()
	cfg.MsgRateLimit, cfg.MsgRateBurst = 20, 5
	_, url := startWS(t, cfg, nil)
	start := time.Now()
	ws := dialWS(t, url, nil)
	f := floodPings(t, ws, cfg, 2000)
	time.Sleep(300 * time.Millisecond) // pongs still on their way count too
	elapsed := time.Since(start)
	// The server's bucket started after start, so it cannot have allowed
	// more than this; the slack covers rounding.
	allowed := int64(cfg.MsgRateBurst) + int64(cfg.MsgRateLimit*elapsed.Seconds()) + 5
	if got := f.pongs.Load(); got > allowed || got == 0 {
		t.Fatalf("%d pongs for 2000 pings in %v; want 1 to %d (burst %d + %g/s)", got, elapsed, allowed, cfg.MsgRateBurst, cfg.MsgRateLimit)
	}
	select {
	case nt := <-f.notices:
		if nt.Code != NoticeRateLimited {
			t.Fatalf("notice %+v, want rate_limited", nt)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no rate_limited notice")
	}
	ws.Close()
	<-f.closed
}

// TestWebSocketPingFloodDisconnects: with MsgRatePolicy "disconnect" a
// ping flood ends the connection, after the notice.
func TestWebSocketPingFloodDisconnects(t *testing.T) {
	cfg := testConfig()
	cfg.MsgRateLimit, cfg.MsgRateBurst = 20, 5
	cfg.MsgRatePolicy = zconf.RateDisconnect
	ts, url := startWS(t, cfg, nil)
	ws := dialWS(t, url, nil)
	f := floodPings(t, ws, cfg, 2000)
	select {
	case <-f.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the flooding connection is still open")
	}
	if got := f.pongs.Load(); got > int64(cfg.MsgRateBurst) {
		t.Fatalf("%d pongs, want at most the burst (%d)", got, cfg.MsgRateBurst)
	}
	select {
	case nt := <-f.notices:
		if nt.Code != NoticeRateLimited {
			t.Fatalf("notice %+v, want rate_limited", nt)
		}
	default:
		t.Fatal("closed without a rate_limited notice")
	}
	waitFor(t, func() bool { return ts.Online() == 0 }, "the connection to close")
}

// TestWebSocketPingsAnsweredWithinLimit: pings under the limit, or with
// no limit, are still answered.
func TestWebSocketPingsAnsweredWithinLimit(t *testing.T) {
	cfg := testConfig() // MsgRateLimit 0: off
	_, url := startWS(t, cfg, nil)
	ws := dialWS(t, url, nil)
	f := floodPings(t, ws, cfg, 50)
	waitFor(t, func() bool { return f.pongs.Load() == 50 }, "50 pongs, have %d", f.pongs.Load())
	ws.Close()
	<-f.closed
}
