package znet

import (
	"bytes"
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
)

// TestFlushDelay, over TCP and WebSocket: a broadcast waits out FlushDelay;
// a reply never does, and takes the waiting broadcast with it, in order; a
// kick does not wait either.
func TestFlushDelay(t *testing.T) {
	const delay = time.Second
	for _, transport := range []string{"tcp", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			cfg := testConfig()
			cfg.FlushDelay = delay
			conns := make(chan ziface.IConnection, 1)
			setup := func(s *Server) {
				s.AddRouterFunc(1, echo)
				s.SetOnConnStart(func(c ziface.IConnection) { conns <- c })
			}
			ccfg := cfg
			ccfg.FlushDelay = 0
			cl := newTestClient(t, ccfg)
			got := make(chan string, 10)
			route := func(req ziface.IRequest) { got <- string(req.GetData()) }
			cl.AddRouterFunc(1, route)
			cl.AddRouterFunc(9, route)
			cl.AddRouterFunc(cfg.NoticeMsgID, func(req ziface.IRequest) {
				n, _ := ParseNotice(req.GetData())
				got <- "notice " + n.Code
			})
			var c *Connection
			var ts *testServer
			var err error
			if transport == "tcp" {
				ts = startServer(t, cfg, setup)
				c, err = cl.Dial(context.Background(), ts.addr)
			} else {
				var url string
				ts, url = startWS(t, cfg, setup)
				c, err = cl.DialWebSocket(context.Background(), url)
			}
			if err != nil {
				t.Fatal(err)
			}
			server := <-conns
			expect := func(want string, within time.Duration, start time.Time) time.Duration {
				t.Helper()
				select {
				case s := <-got:
					d := time.Since(start)
					if s != want {
						t.Fatalf("got %q, want %q", s, want)
					}
					return d
				case <-time.After(within):
					t.Fatalf("no %q within %v", want, within)
				}
				return 0
			}

			start := time.Now()
			if _, err := ts.Broadcast(9, []byte("b1")); err != nil {
				t.Fatal(err)
			}
			if d := expect("b1", 10*time.Second, start); d < delay {
				t.Fatalf("broadcast arrived after %v; FlushDelay is %v", d, delay)
			}

			start = time.Now()
			if _, err := ts.Broadcast(9, []byte("b2")); err != nil {
				t.Fatal(err)
			}
			if err := c.SendMsg(1, []byte("echo")); err != nil {
				t.Fatal(err)
			}
			expect("b2", delay*8/10, start)
			expect("echo", delay*8/10, start)

			start = time.Now()
			if _, err := ts.Broadcast(9, []byte("b3")); err != nil {
				t.Fatal(err)
			}
			if err := ts.Kick(server.GetConnID(), "bye"); err != nil {
				t.Fatal(err)
			}
			expect("b3", delay*8/10, start)
			expect("notice "+NoticeKicked, delay*8/10, start)
			<-c.Done()
		})
	}
}

// TestFlushDelayCoalesces: frames pushed from other goroutines within the
// delay leave in one write, in order.
func TestFlushDelayCoalesces(t *testing.T) {
	var mu sync.Mutex
	var writes [][]byte
	write := func(b []byte) error {
		mu.Lock()
		defer mu.Unlock()
		writes = append(writes, bytes.Clone(b))
		return nil
	}
	pack := NewDataPack(zconf.FramingLE, 4096)
	q := newSendQueue(100, 200*time.Millisecond, write)
	var want []byte
	for i := range 10 {
		data := []byte{byte(i)}
		want, _ = pack.AppendPack(want, 1, data)
		if err := q.push(pack, 1, data); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(writes) > 0 }, "the delayed write")
	q.close()
	<-q.done
	mu.Lock()
	defer mu.Unlock()
	if len(writes) != 1 || !bytes.Equal(writes[0], want) {
		t.Fatalf("%d writes (%x); want one write of %x", len(writes), writes, want)
	}
}

// TestSendMsgNowKeepsOrder: SendMsgNow mixed with SendMsg, from another
// goroutine and from a handler mid-batch, delivers every message once, in
// order, over TCP and WebSocket.
func TestSendMsgNowKeepsOrder(t *testing.T) {
	for _, transport := range []string{"tcp", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			cfg := testConfig()
			cfg.MaxMsgChanLen = 4096 // the loop below may outrun the socket
			conns := make(chan *Connection, 1)
			setup := func(s *Server) {
				s.SetOnConnStart(func(c ziface.IConnection) { conns <- c.(*Connection) })
				s.AddRouterFunc(1, func(req ziface.IRequest) { // mid-batch: both kinds
					c := req.GetConnection().(*Connection)
					_ = c.SendMsg(2, []byte{0})
					_ = c.SendMsgNow(2, []byte{1})
					_ = c.SendMsg(2, []byte{2})
				})
			}
			cl := newTestClient(t, cfg)
			got := make(chan []byte, 5000)
			cl.AddRouterFunc(2, func(req ziface.IRequest) { got <- bytes.Clone(req.GetData()) })
			var ts *testServer
			var err error
			var c *Connection
			if transport == "tcp" {
				ts = startServer(t, cfg, setup)
				c, err = cl.Dial(context.Background(), ts.addr)
			} else {
				var url string
				ts, url = startWS(t, cfg, setup)
				c, err = cl.DialWebSocket(context.Background(), url)
			}
			if err != nil {
				t.Fatal(err)
			}
			server := <-conns
			const n = 2000
			for i := range n {
				b := binary.LittleEndian.AppendUint32(nil, uint32(i))
				if i%2 == 0 {
					err = server.SendMsgNow(2, b)
				} else {
					err = server.SendMsg(2, b)
				}
				if err != nil {
					t.Fatalf("send %d: %v", i, err)
				}
			}
			for i := range n {
				select {
				case b := <-got:
					if binary.LittleEndian.Uint32(b) != uint32(i) {
						t.Fatalf("message %d carries %d", i, binary.LittleEndian.Uint32(b))
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("message %d never arrived", i)
				}
			}
			if err := c.SendMsg(1, nil); err != nil {
				t.Fatal(err)
			}
			for want := byte(0); want < 3; want++ {
				if b := <-got; len(b) != 1 || b[0] != want {
					t.Fatalf("mid-batch reply %v, want [%d]", b, want)
				}
			}
			_ = ts
		})
	}
}
