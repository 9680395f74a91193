package znettest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

func TestRecorderRecordsCopies(t *testing.T) {
	r := znettest.NewRecorder()
	buf := []byte("first")
	if err := r.SendMsg(7, buf); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXX") // a handler reusing its buffer
	_ = r.SendMsg(8, nil)
	sent := r.Sent()
	if len(sent) != 2 || sent[0].MsgID != 7 || string(sent[0].Data) != "first" || sent[1].MsgID != 8 {
		t.Fatalf("sent %+v", sent)
	}
	if got := r.SentTo(7); len(got) != 1 || string(got[0]) != "first" {
		t.Fatalf("SentTo(7) = %q", got)
	}
	if last, ok := r.Last(); !ok || last.MsgID != 8 {
		t.Fatalf("Last = %+v, %v", last, ok)
	}
	r.Reset()
	if msgs, _ := r.Count(); msgs != 0 || len(r.Sent()) != 0 {
		t.Fatalf("after Reset: %d counted, %d kept", msgs, len(r.Sent()))
	}
}

// Like a real connection, a Recorder refuses what the framing would.
func TestRecorderRefusesOversizeAndClosed(t *testing.T) {
	cfg := znettest.Config()
	cfg.MaxPackageSize = 4
	r := znettest.NewRecorder(znettest.WithConfig(cfg))
	if err := r.SendMsg(1, []byte("12345")); !errors.Is(err, znet.ErrPacketTooLarge) {
		t.Fatalf("5 bytes over a max of 4: %v", err)
	}
	r.Stop()
	r.Stop()
	if err := r.SendMsg(1, nil); !errors.Is(err, znet.ErrConnClosed) {
		t.Fatalf("send after Stop: %v", err)
	}
	if err := r.Async(func(context.Context) { t.Error("work ran after Stop") }, nil); !errors.Is(err, znet.ErrConnClosed) {
		t.Fatalf("Async after Stop: %v", err)
	}
	select {
	case <-r.Done():
	default:
		t.Fatal("Done open after Stop")
	}
	if r.Context().Err() == nil || !r.Stopped() {
		t.Fatal("context not cancelled by Stop")
	}
	if msgs, _ := r.Count(); msgs != 0 {
		t.Fatalf("%d refused messages counted", msgs)
	}
}

func TestRecorderKick(t *testing.T) {
	r := znettest.NewRecorder()
	var k interface{ Kick(string) error } = r // how game code reaches Kick
	if err := k.Kick("cheating"); err != nil {
		t.Fatal(err)
	}
	reason, ok := r.Kicked()
	if !ok || reason != "cheating" || !r.Stopped() {
		t.Fatalf("Kicked = %q, %v; stopped %v", reason, ok, r.Stopped())
	}
	notices := r.SentTo(znettest.Config().NoticeMsgID)
	if len(notices) != 1 {
		t.Fatalf("%d notices sent", len(notices))
	}
	n, err := znet.ParseNotice(notices[0])
	if err != nil || n.Code != znet.NoticeKicked || n.Reason != "cheating" {
		t.Fatalf("notice %+v, %v", n, err)
	}
	var raw map[string]any
	if json.Unmarshal(notices[0], &raw) != nil || raw["code"] != "kicked" {
		t.Fatalf("notice on the wire %s", notices[0])
	}
}

// The record is bounded; the count is not.
func TestRecorderKeepsTheNewest(t *testing.T) {
	r := znettest.NewRecorder(znettest.WithKeep(10))
	for i := range 25 {
		_ = r.SendMsg(uint32(i), []byte("ab"))
	}
	sent := r.Sent()
	if len(sent) == 0 || len(sent) > 10 || sent[len(sent)-1].MsgID != 24 {
		t.Fatalf("kept %d, the last %+v; want at most 10, up to message 24", len(sent), sent[len(sent)-1])
	}
	for i := 1; i < len(sent); i++ {
		if sent[i].MsgID != sent[i-1].MsgID+1 {
			t.Fatalf("kept messages out of order: %+v", sent)
		}
	}
	if msgs, bytes := r.Count(); msgs != 25 || bytes != 50 {
		t.Fatalf("Count = %d, %d; want 25, 50", msgs, bytes)
	}
	counter := znettest.NewRecorder(znettest.WithKeep(0))
	_ = counter.SendMsg(1, []byte("x"))
	if msgs, _ := counter.Count(); msgs != 1 || len(counter.Sent()) != 0 {
		t.Fatalf("WithKeep(0): %d counted, %d kept", msgs, len(counter.Sent()))
	}
}

type guarded struct {
	znet.BaseRouter
	handled bool
}

func (g *guarded) PreHandle(req ziface.IRequest) {
	if _, ok := req.GetConnection().GetProperty("player"); !ok {
		_ = req.GetConnection().SendMsg(99, []byte("log in first"))
		req.Abort()
	}
}

func (g *guarded) Handle(ziface.IRequest) { g.handled = true }

// A Request's Abort stops a router chain as the server's does.
func TestRequestAbort(t *testing.T) {
	g := &guarded{}
	h := znet.RouterHandler(g)
	r := znettest.NewRecorder()
	req := znettest.NewRequest(r, 5, nil)
	h(req)
	if !req.Aborted() || g.handled {
		t.Fatalf("aborted %v, handled %v; want the chain stopped", req.Aborted(), g.handled)
	}
	if got := r.SentTo(99); len(got) != 1 {
		t.Fatalf("refusal sent %d times", len(got))
	}
	r.SetProperty("player", 1)
	req = znettest.NewRequest(r, 5, nil)
	h(req)
	if req.Aborted() || !g.handled {
		t.Fatalf("logged in: aborted %v, handled %v", req.Aborted(), g.handled)
	}
}

func TestRecorderAsyncRunsInOrder(t *testing.T) {
	r := znettest.NewRecorder()
	var order []string
	err := r.Async(func(ctx context.Context) {
		if ctx.Err() != nil {
			t.Error("work's context already done")
		}
		order = append(order, "work")
	}, func() { order = append(order, "then") })
	if err != nil || fmt.Sprint(order) != "[work then]" {
		t.Fatalf("Async = %v, ran %v", err, order)
	}
}

// Handlers on many connections may share one recorder (a broadcast test);
// run with -race.
func TestRecorderIsConcurrencySafe(t *testing.T) {
	r := znettest.NewRecorder()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				_ = r.SendMsg(uint32(g), []byte{byte(i)})
				r.SetProperty(fmt.Sprint(g), i)
				_, _ = r.GetProperty(fmt.Sprint(g))
				_ = r.Sent()
			}
		})
	}
	wg.Wait()
	if msgs, _ := r.Count(); msgs != 800 {
		t.Fatalf("%d messages counted, want 800", msgs)
	}
	if v, ok := r.GetProperty("3"); !ok || v != 99 {
		t.Fatalf("property 3 = %v, %v", v, ok)
	}
	r.RemoveProperty("3")
	if _, ok := r.GetProperty("3"); ok {
		t.Fatal("property 3 still there after RemoveProperty")
	}
}

func TestRecorderConnection(t *testing.T) {
	r := znettest.NewRecorder(znettest.WithConnID(42))
	r.Start()
	if r.GetConnID() != 42 || !r.Started() || r.RemoteAddr().String() != "127.0.0.1:50000" {
		t.Fatalf("id %d, started %v, remote %v", r.GetConnID(), r.Started(), r.RemoteAddr())
	}
	nc := r.GetConnection()
	if nc.RemoteAddr() != r.RemoteAddr() {
		t.Fatal("net.Conn's address differs")
	}
	if _, err := nc.Write([]byte("x")); err == nil {
		t.Fatal("writing a Recorder's net.Conn succeeded")
	}
	if znet.ServerOf(r) != nil {
		t.Fatal("a Recorder has a server")
	}
}
