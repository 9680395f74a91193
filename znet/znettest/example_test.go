package znettest_test

import (
	"fmt"

	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// In a test, t is the *testing.T. An Example has none, so these use
// exampleT, which prints what would fail a test.
func ExampleNewServer() {
	t := newExampleT()
	defer t.finish()

	ts := znettest.NewServer(t, znettest.Config(), func(s *znet.Server) {
		_ = s.Handle(1, func(req ziface.IRequest) {
			_ = req.GetConnection().SendMsg(2, append([]byte("hello, "), req.GetData()...))
		})
	})
	p := ts.Dial()
	p.Send(1, []byte("player"))
	fmt.Printf("%s\n", p.Expect(2))
	// Output: hello, player
}

func ExampleWithWebSocket() {
	t := newExampleT()
	defer t.finish()

	ts := znettest.NewServer(t, znettest.Config(), func(s *znet.Server) {
		_ = s.Handle(1, func(req ziface.IRequest) {
			_ = req.GetConnection().(*znet.Connection).Kick("no cheating")
		})
	}, znettest.WithWebSocket())
	p := ts.DialWebSocket()
	p.Send(1, nil)
	n := p.ExpectNotice(znet.NoticeKicked)
	p.ExpectClosed()
	fmt.Println(n.Code+":", n.Reason)
	// Output: kicked: no cheating
}

// A handler tested with no network, as with httptest.ResponseRecorder.
func ExampleRecorder() {
	greet := func(req ziface.IRequest) {
		name, _ := req.GetConnection().GetProperty("name")
		_ = req.GetConnection().SendMsg(2, fmt.Appendf(nil, "hello, %v", name))
	}

	conn := znettest.NewRecorder()
	conn.SetProperty("name", "ann")
	greet(znettest.NewRequest(conn, 1, nil))
	for _, m := range conn.Sent() {
		fmt.Printf("%d %s\n", m.MsgID, m.Data)
	}
	// Output: 2 hello, ann
}

// exampleT is the TB of these examples: Fatalf panics (an example runs
// on the test binary's main goroutine, which must not Goexit), and finish
// runs the cleanups.
type exampleT struct{ fakeT }

func newExampleT() *exampleT { return &exampleT{} }

func (t *exampleT) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("FAIL: "+format, args...))
}

func (t *exampleT) Errorf(format string, args ...any) {
	fmt.Printf("FAIL: "+format+"\n", args...)
	t.fakeT.Errorf(format, args...)
}

func (t *exampleT) Logf(format string, args ...any) { fmt.Printf(format+"\n", args...) }

// finish runs the cleanups, last registered first, as a test's end does.
func (t *exampleT) finish() {
	for {
		t.mu.Lock()
		n := len(t.cleanups)
		if n == 0 {
			t.mu.Unlock()
			return
		}
		c := t.cleanups[n-1]
		t.cleanups = t.cleanups[:n-1]
		t.mu.Unlock()
		c()
	}
}
