package znettest_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// scripted serves: message 1 is echoed; 2 is answered with 5, 6 and 7;
// 3 kicks the sender with reason "bye"; 4 is answered with 200 frames at
// once.
func scripted(t znettest.TB) *znettest.Server {
	return znettest.NewServer(t, znettest.Config(), func(s *znet.Server) {
		_ = s.Handle(1, echo)
		_ = s.Handle(2, func(req ziface.IRequest) {
			for id := uint32(5); id <= 7; id++ {
				_ = req.GetConnection().SendMsg(id, []byte(fmt.Sprint(id)))
			}
		})
		_ = s.Handle(3, func(req ziface.IRequest) {
			_ = req.GetConnection().(*znet.Connection).Kick("bye")
		})
		_ = s.Handle(4, func(req ziface.IRequest) {
			for i := range 200 {
				_ = req.GetConnection().SendMsg(8, []byte(fmt.Sprint(i)))
			}
		})
	}, znettest.WithWebSocket())
}

// both runs f with a TCP and a WebSocket peer.
func both(t *testing.T, f func(t *testing.T, p *znettest.Peer)) {
	ts := scripted(t)
	t.Run("tcp", func(t *testing.T) { f(t, znettest.Dial(t, ts.Addr, ts.Config)) })
	t.Run("websocket", func(t *testing.T) { f(t, znettest.DialWebSocket(t, ts.URL, ts.Config)) })
}

func TestPeerExpectations(t *testing.T) {
	both(t, func(t *testing.T, p *znettest.Peer) {
		p.Send(2, nil)
		p.Expect(5)
		if got := p.ExpectSkip(7); string(got) != "7" {
			t.Fatalf("ExpectSkip(7) = %q", got)
		}
		p.SendProto(1, wrapperspb.String("proto"))
		var s wrapperspb.StringValue
		p.ExpectProto(1, &s)
		if s.Value != "proto" {
			t.Fatalf("ExpectProto: %q", s.Value)
		}
		p.Send(4, nil)
		for i := range 200 {
			if got := p.Expect(8); string(got) != fmt.Sprint(i) {
				t.Fatalf("frame %d of a batch: %q", i, got)
			}
		}
		p.ExpectSilence(20 * time.Millisecond)
		p.Send(3, nil)
		if n := p.ExpectNotice(znet.NoticeKicked); n.Reason != "bye" {
			t.Fatalf("kick notice %+v", n)
		}
		p.ExpectClosed()
	})
}

// fail runs f on a peer of a fresh scripted server under a fake TB and
// returns what it reported.
func fail(t *testing.T, websocket bool, f func(p *znettest.Peer)) string {
	t.Helper()
	ft := runFake(func(ft *fakeT) {
		ts := scripted(ft)
		p := ts.Dial()
		if websocket {
			p = ts.DialWebSocket()
		}
		p.Timeout = time.Second // the replies arrive well within it, even on a loaded machine
		f(p)
		ft.Errorf("the expectation returned")
	})
	got := ft.failures()
	if strings.Contains(got, "returned") {
		t.Fatalf("a failed expectation did not stop the test: %q", got)
	}
	return got
}

func TestPeerFailureMessages(t *testing.T) {
	for _, ws := range []bool{false, true} {
		for _, c := range []struct {
			name string
			f    func(p *znettest.Peer)
			want string
		}{
			{"Expect gets another ID", func(p *znettest.Peer) { p.Send(1, []byte("hi")); p.Expect(3) },
				`want message 3, got message 1 (2 bytes: "hi")`},
			{"Expect gets nothing", func(p *znettest.Peer) { p.Expect(3) }, "want message 3, got none within 1s"},
			{"ExpectSkip never sees it", func(p *znettest.Peer) { p.Send(2, nil); p.ExpectSkip(9) },
				`3 others skipped, the last message 7 (1 bytes: "7")`},
			{"ExpectNotice with another code", func(p *znettest.Peer) { p.Send(3, nil); p.ExpectNotice(znet.NoticeRateLimited) },
				`want notice "rate_limited", got notice "kicked" (bye)`},
			{"ExpectProto that does not unmarshal", func(p *znettest.Peer) {
				p.Send(1, []byte{0xff})
				p.ExpectProto(1, &wrapperspb.StringValue{})
			}, "does not unmarshal as *wrapperspb.StringValue"},
			{"ExpectClosed on an open connection", func(p *znettest.Peer) { p.Send(2, nil); p.ExpectClosed() },
				"still open after 1s, want it closed by the server (3 messages meanwhile"},
			{"ExpectSilence gets a message", func(p *znettest.Peer) { p.Send(1, []byte("x")); p.ExpectSilence(5 * time.Second) },
				`want silence for 5s, got message 1`},
			{"ExpectSilence sees a close", func(p *znettest.Peer) {
				p.Send(3, nil)
				p.ExpectNotice(znet.NoticeKicked)
				p.ExpectSilence(5 * time.Second)
			}, "want silence for 5s on an open connection"},
		} {
			t.Run(fmt.Sprintf("%s/websocket=%v", c.name, ws), func(t *testing.T) {
				t.Parallel() // several wait out their Timeout
				if got := fail(t, ws, c.f); !strings.Contains(got, c.want) {
					t.Fatalf("reported %q; want it to contain %q", got, c.want)
				}
			})
		}
	}
}

// A read that times out halfway through a frame keeps the half: the next
// expectation gets the frame whole.
func TestPeerTimeoutKeepsHalfFrames(t *testing.T) {
	ours, theirs := net.Pipe()
	t.Cleanup(func() { theirs.Close() })
	cfg := znettest.Config()
	p := znettest.NewPeer(t, ours, cfg)
	frame, _ := znet.NewDataPack(cfg.Framing, cfg.MaxPackageSize).AppendPack(nil, 9, []byte("payload"))
	wrote := make(chan error, 1)
	go func() {
		_, err := theirs.Write(frame[:5])
		wrote <- err
	}()
	p.ExpectSilence(20 * time.Millisecond) // half a head is not a message
	if err := <-wrote; err != nil {
		t.Fatal(err) // the half was read: it is in the peer's buffer
	}
	go func() {
		_, err := theirs.Write(frame[5:])
		wrote <- err
	}()
	if got := p.Expect(9); string(got) != "payload" {
		t.Fatalf("frame after a timeout: %q", got)
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
}
