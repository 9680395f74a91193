package mmo

import (
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/game/room"
	"github.com/zinxgame/zinxgame/protocol/mmopb"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// TestChatStormCutsTheFlooderNotTheReaders is the MMO demo's chat flood:
// one player sends world chat as fast as it can and never reads, a few
// players never read, and the rest read everything at once. Every chat is
// copied to every player, so every send queue fills at the flood's rate,
// the flooder's own too. The queues that fill are the ones nobody drains:
// the flooder and the non-readers are cut, and every reader stays. (Send
// queues once bounded frames only, counted the flooder's own leftover
// bytes as one frame and counted frames held back by FlushDelay as if the
// client had refused them, so the readers were cut and the flooder
// stayed.)
//
// The storm needs chat without a rate: by default (Config.ChatRate) the
// flood never reaches the other players; TestChatFloodIsRateLimited checks
// that.
func TestChatStormCutsTheFlooderNotTheReaders(t *testing.T) {
	const readers, slow = 20, 3
	wc := DefaultConfig()
	wc.ChatRate = Disabled
	cfg := zconf.Default()
	cfg.FirstMessageTimeout = zconf.Disabled // the readers only read; under -race the storm may outlast it
	cfg.LogLevel = "warn"
	// Nor the room runtime's request rate per connection.
	w, err := NewWorld(wc, discardLog(), WithRoomConfig(room.Config{RequestRate: 1e6}))
	if err != nil {
		t.Fatal(err)
	}
	ts := znettest.NewServer(t, cfg, func(srv *znet.Server) {
		if err := srv.Mount("mmo", w); err != nil {
			t.Fatal(err)
		}
	})
	srv, addr := ts.Server, ts.Addr
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	var cut atomic.Int32 // readers whose connection ended
	for range readers {
		c := dial()
		go func() {
			_, _ = io.Copy(io.Discard, c)
			cut.Add(1)
		}()
	}
	var idle []net.Conn
	for range slow {
		idle = append(idle, dial())
	}
	flooder := dial()
	znettest.Eventually(t, func() bool { return w.Len() == readers+slow+1 }, "every player to join")

	pack := znet.NewDataPack(cfg.Framing, cfg.MaxPackageSize)
	talk, err := proto.Marshal(&mmopb.Talk{Content: strings.Repeat("spam ", 40)})
	if err != nil {
		t.Fatal(err)
	}
	var burst []byte
	for len(burst) < 64<<10 {
		burst, _ = pack.AppendPack(burst, mmopb.MsgTalk, talk)
	}
	// Flood until the server cuts the flooder (its writes fail) or the
	// bound passes; either way every non-reader must be gone then.
	deadline := time.Now().Add(20 * time.Second)
	_ = flooder.SetWriteDeadline(deadline)
	for {
		if _, err := flooder.Write(burst); err != nil {
			t.Logf("the flooder's write failed: %v", err)
			break
		}
	}
	znettest.Eventually(t, func() bool { return w.Len() <= readers }, "the flooder and the non-readers to be cut")
	time.Sleep(100 * time.Millisecond) // let a reader that was cut see its EOF
	if n := cut.Load(); n > 0 {
		t.Fatalf("%d of %d readers were cut; stats %+v", n, readers, srv.Stats()) // the log follows
	}
	if n := w.Len(); n != readers {
		t.Fatalf("%d players left, want the %d readers; stats %+v", n, readers, srv.Stats())
	}
	for i, c := range append(idle, flooder) {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.Copy(io.Discard, c); err != nil && isTimeout(err) {
			t.Errorf("non-reader %d: still open after the storm", i)
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
