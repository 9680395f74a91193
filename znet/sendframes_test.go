package znet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
)

// seqFrames packs count frames of msgID carrying the sequence numbers
// from, from+1, ... into buf[:0].
func seqFrames(pack *DataPack, buf []byte, msgID uint32, from, count int) []byte {
	buf = buf[:0]
	for i := range count {
		buf, _ = pack.AppendPack(buf, msgID, binary.LittleEndian.AppendUint32(nil, uint32(from+i)))
	}
	return buf
}

// sendSeq sends the sequence numbers from..from+7 to c: three by one
// SendFramesNow, one by SendMsg, three more by SendFramesNow, one by
// SendMsg. After each SendFramesNow it scribbles over buf, as a caller
// reusing its buffer right away does. It returns the buffer and the next
// number.
func sendSeq(t *testing.T, c *Connection, pack *DataPack, buf []byte, from int) ([]byte, int) {
	for _, at := range []int{from, from + 4} {
		buf = seqFrames(pack, buf, 2, at, 3)
		if err := c.SendFramesNow(buf, 3); err != nil {
			t.Errorf("SendFramesNow %d..%d: %v", at, at+2, err)
		}
		for i := range buf {
			buf[i] = 0xff // a head announcing 4 GiB: the reader would fail on it
		}
		if err := c.SendMsg(2, binary.LittleEndian.AppendUint32(nil, uint32(at+3))); err != nil {
			t.Errorf("SendMsg %d: %v", at+3, err)
		}
	}
	return buf, from + 8
}

// TestSendFramesNowKeepsOrder, over TCP and WebSocket: frames sent by
// SendFramesNow, between SendMsg calls, from another goroutine and from a
// handler mid-batch, arrive once each, intact and in order, although the
// caller overwrites its buffer as soon as each call returns.
func TestSendFramesNowKeepsOrder(t *testing.T) {
	for _, transport := range []string{"tcp", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			cfg := testConfig()
			cfg.MaxMsgChanLen = 1 << 16 // the loop below may outrun the socket
			cfg.MaxSendQueueBytes = 64 << 20
			conns := make(chan *Connection, 1)
			var handlerBuf []byte
			setup := func(s *Server) {
				s.SetOnConnStart(func(c ziface.IConnection) { conns <- c.(*Connection) })
				s.AddRouterFunc(1, func(req ziface.IRequest) { // mid-batch: the queue holds the frames
					handlerBuf, _ = sendSeq(t, req.GetConnection().(*Connection), s.DataPack(), handlerBuf, 1_000_000)
				})
			}
			var ts *testServer
			var next func() (uint32, []byte)
			var ask func()
			if transport == "tcp" {
				ts = startServer(t, cfg, setup)
				raw := dialRaw(t, ts.addr, cfg)
				next, ask = raw.recv, func() { raw.send(1, nil) }
			} else {
				var url string
				ts, url = startWS(t, cfg, setup)
				ws := dialWS(t, url, nil)
				var pending [][2]any
				next = func() (uint32, []byte) {
					t.Helper()
					for len(pending) == 0 {
						pending = readWS(t, ws, ts.DataPack())
					}
					f := pending[0]
					pending = pending[1:]
					return f[0].(uint32), []byte(f[1].(string))
				}
				ask = func() {
					frame, _ := ts.DataPack().AppendPack(nil, 1, nil)
					if err := ws.WriteMessage(websocket.BinaryMessage, frame); err != nil {
						t.Fatal(err)
					}
				}
			}
			server := <-conns
			expect := func(from, to int) {
				t.Helper()
				for i := from; i < to; i++ {
					id, data := next()
					if id != 2 || len(data) != 4 || binary.LittleEndian.Uint32(data) != uint32(i) {
						t.Fatalf("frame %d: id %d payload %x", i, id, data)
					}
				}
			}
			const rounds = 400
			var buf []byte
			seq := 0
			for range rounds {
				buf, seq = sendSeq(t, server, ts.DataPack(), buf, seq)
			}
			expect(0, seq)
			ask()
			expect(1_000_000, 1_000_008)
			if sent, _ := server.sendq.counts(); sent != rounds*8+8 {
				t.Fatalf("the queue counted %d frames, want %d", sent, rounds*8+8)
			}
		})
	}
}

// TestSendFramesNowCountsFrames: the queue counts a call's frames one by
// one, and after a partial write it counts the frames still (partly)
// queued, as for frames pushed one at a time.
func TestSendFramesNowCountsFrames(t *testing.T) {
	pack := NewDataPack(zconf.FramingLE, 4096)
	var mu sync.Mutex
	var rest []byte
	q := newSendQueue(100, 0, func(b []byte) error {
		mu.Lock()
		defer mu.Unlock()
		rest = append(rest, b...)
		return nil
	})
	q.pack = pack
	var taken []byte
	q.tryWrite = func(b []byte) int {
		n := min(len(b), 2*(HeadLen+4)+HeadLen/2) // two frames and half a head
		taken = append(taken, b[:n]...)
		return n
	}
	q.mu.Lock() // hold the writer goroutine off until the counts are read
	q.writing = true
	q.mu.Unlock()
	frames := seqFrames(pack, nil, 7, 0, 5)
	if err := q.pushFramesNow(frames, 5); err != nil {
		t.Fatal(err)
	}
	q.mu.Lock()
	n, sent, stalled := q.n, q.sent, q.stalled
	q.writing = false
	q.mu.Unlock()
	if n != 3 || sent != 5 || !stalled {
		t.Fatalf("after a write of 2.5 frames of 5: %d queued, %d counted, stalled %v; want 3, 5, true", n, sent, stalled)
	}
	q.close()
	<-q.done
	mu.Lock()
	defer mu.Unlock()
	if got := append(taken, rest...); !bytes.Equal(got, frames) {
		t.Fatalf("wrote %x, want %x", got, frames)
	}
	if err := q.pushFramesNow(frames, 5); !errors.Is(err, ErrConnClosed) {
		t.Fatalf("pushFramesNow after close = %v, want ErrConnClosed", err)
	}
}

// TestSendFramesNowQueueFull: frames over MaxSendQueueBytes are refused
// with ErrSendQueueFull and the connection is cut as too slow, as SendMsg
// does.
func TestSendFramesNowQueueFull(t *testing.T) {
	cfg := testConfig()
	cfg.MaxSendQueueBytes = 64 << 10
	conns := make(chan *Connection, 1)
	ts := startServer(t, cfg, func(s *Server) {
		s.SetOnConnStart(func(c ziface.IConnection) { conns <- c.(*Connection) })
	})
	raw := dialRaw(t, ts.addr, cfg)
	server := <-conns
	var frames []byte
	for range 20 {
		frames, _ = ts.DataPack().AppendPack(frames, 2, make([]byte, 4<<10))
	}
	if err := server.SendFramesNow(frames, 20); !errors.Is(err, ErrSendQueueFull) {
		t.Fatalf("SendFramesNow of %d bytes, bound %d = %v; want ErrSendQueueFull", len(frames), cfg.MaxSendQueueBytes, err)
	}
	// The notice is offered to the socket without blocking, and skipped
	// while the writer goroutine is busy: it comes, as too_slow, or the
	// connection just closes.
	for {
		id, data, err := raw.tryRecv()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
				break
			}
			t.Fatalf("want a too_slow notice or the connection closed: %v", err)
		}
		if id == zconf.Default().NoticeMsgID {
			if n, err := ParseNotice(data); err != nil || n.Code != NoticeTooSlow {
				t.Fatalf("notice %q (%v); want %q", data, err, NoticeTooSlow)
			}
		}
	}
	<-server.Done()
	ts.logs.waitLog(t, "send queue full")
	if s := ts.Stats(); s.SendQueueFull != 1 {
		t.Fatalf("SendQueueFull = %d, want 1", s.SendQueueFull)
	}
}

// TestSendFramesNowArguments: empty frames are a no-op, a count below one
// is refused, and a closed connection refuses frames with ErrConnClosed.
func TestSendFramesNowArguments(t *testing.T) {
	cfg := testConfig()
	conns := make(chan *Connection, 1)
	ts := startServer(t, cfg, func(s *Server) {
		s.SetOnConnStart(func(c ziface.IConnection) { conns <- c.(*Connection) })
	})
	raw := dialRaw(t, ts.addr, cfg)
	server := <-conns
	frame, _ := ts.DataPack().AppendPack(nil, 2, []byte("x"))
	if err := server.SendFramesNow(nil, 0); err != nil {
		t.Fatalf("SendFramesNow(nil, 0) = %v, want nil", err)
	}
	if err := server.SendFramesNow(frame, 0); err == nil {
		t.Fatal("SendFramesNow with a count of 0 = nil, want an error")
	}
	if sent, _ := server.sendq.counts(); sent != 0 {
		t.Fatalf("the refused calls queued %d frames", sent)
	}
	if err := server.SendFramesNow(frame, 1); err != nil {
		t.Fatal(err)
	}
	if id, data := raw.recv(); id != 2 || string(data) != "x" {
		t.Fatalf("got %d %q", id, data)
	}
	raw.nc.Close()
	select {
	case <-server.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the connection did not close after the client left")
	}
	if err := server.SendFramesNow(frame, 1); !errors.Is(err, ErrConnClosed) {
		t.Fatalf("SendFramesNow after close = %v, want ErrConnClosed", err)
	}
}
