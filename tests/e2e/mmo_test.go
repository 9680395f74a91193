package e2e

import (
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/game/mmo"
	"github.com/zinxgame/zinxgame/protocol/mmopb"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// mmoClient is a test player: a znettest.Peer and the player ID the world
// gave it.
type mmoClient struct {
	t   *testing.T
	p   *znettest.Peer
	pid int32
}

// event is a message reduced to what the scenario checks.
type event struct {
	id  uint32
	tp  int32
	pid int32
}

func (e event) String() string { return fmt.Sprintf("{id %d tp %d pid %d}", e.id, e.tp, e.pid) }

// kcpHeartbeat is the HeartbeatTimeout of the MMO server over KCP: the
// server sees a KCP peer's Close only as this much silence (KCP has no
// close signal), so it is short; the scenario's players ping at every
// step (pings are skipped by until) so that only the one gone is cut.
const kcpHeartbeat = 3 * time.Second

// startMMO serves the MMO world over TCP, WebSocket and KCP on loopback
// ports and returns a dial function for the chosen transport ("tcp",
// "websocket" or "kcp").
func startMMO(t *testing.T, transport string) (*mmo.World, func() *znettest.Peer) {
	t.Helper()
	wc := mmo.DefaultConfig()
	wc.SpawnRange = 0          // everyone appears at (160, 134): grid column 2, row 3
	wc.ChatRate = mmo.Disabled // every step ends with a chat barrier
	w, err := mmo.NewWorld(wc, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	cfg := zconf.Default()
	if transport == "kcp" {
		cfg.HeartbeatTimeout = kcpHeartbeat
	}
	ts := znettest.NewServer(t, cfg, func(srv *znet.Server) {
		if err := srv.Mount("mmo", w); err != nil {
			t.Fatal(err)
		}
	}, znettest.WithWebSocket(), znettest.WithKCP())
	switch transport {
	case "websocket":
		return w, ts.DialWebSocket
	case "kcp":
		return w, ts.DialKCP
	}
	return w, ts.Dial
}

// joinMMO connects a player; its first message (the ping's answer
// aside) names its player ID.
func joinMMO(t *testing.T, dial func() *znettest.Peer) *mmoClient {
	t.Helper()
	m := &mmoClient{t: t, p: dial()}
	// A KCP server learns of a session from its first packet (KCP has no
	// handshake): the ping is it. Its answer may come before SyncPID (the
	// world sends that from its own goroutine).
	m.ping()
	for {
		id, data := m.next()
		if id == zconf.Default().PingMsgID {
			continue
		}
		var sync mmopb.SyncPID
		if id != mmopb.MsgSyncPID {
			t.Fatalf("first message %d, want SyncPID (%d)", id, mmopb.MsgSyncPID)
		}
		if err := proto.Unmarshal(data, &sync); err != nil {
			t.Fatal(err)
		}
		m.pid = sync.PID
		return m
	}
}

func (m *mmoClient) next() (uint32, []byte) {
	m.t.Helper()
	return m.p.Recv()
}

func (m *mmoClient) send(id uint32, msg proto.Message) {
	m.t.Helper()
	m.p.SendProto(id, msg)
}

// ping keeps the player clear of the server's HeartbeatTimeout; the
// answer is skipped by until.
func (m *mmoClient) ping() {
	m.t.Helper()
	m.p.Send(zconf.Default().PingMsgID, nil)
}

func (m *mmoClient) move(x, z float32) {
	m.send(mmopb.MsgMove, &mmopb.Position{X: x, Z: z})
}

// until returns the events received before the chat text barrier.
func (m *mmoClient) until(barrier string) []event {
	m.t.Helper()
	var got []event
	for {
		id, data := m.next()
		e := event{id: id}
		switch id {
		case zconf.Default().PingMsgID:
			continue // a ping's answer
		case mmopb.MsgBroadCast:
			var b mmopb.BroadCast
			if err := proto.Unmarshal(data, &b); err != nil {
				m.t.Fatal(err)
			}
			if b.Tp == mmopb.TpChat && b.GetContent() == barrier {
				return got
			}
			e.tp, e.pid = b.Tp, b.PID
		case mmopb.MsgLeave:
			var s mmopb.SyncPID
			if err := proto.Unmarshal(data, &s); err != nil {
				m.t.Fatal(err)
			}
			e.pid = s.PID
		case mmopb.MsgSyncPlayers:
			var s mmopb.SyncPlayers
			if err := proto.Unmarshal(data, &s); err != nil {
				m.t.Fatal(err)
			}
			for _, p := range s.Ps {
				got = append(got, event{id: id, pid: p.PID})
			}
			continue
		}
		got = append(got, e)
	}
}

// step runs action, then a chat barrier from actor, and checks what each
// client received in between. The world applies one change at a time and
// each connection's messages arrive in order, so everything the action
// caused arrives before the barrier.
func step(t *testing.T, name string, actor *mmoClient, action func(), want map[*mmoClient][]event, all ...*mmoClient) {
	t.Helper()
	for _, c := range all {
		c.ping()
	}
	action()
	barrier := "barrier: " + name
	actor.send(mmopb.MsgTalk, &mmopb.Talk{Content: barrier})
	for _, c := range all {
		got := c.until(barrier)
		w := want[c]
		less := func(a, b event) int {
			return int(a.id)*1e6 + int(a.tp)*1e3 + int(a.pid) - (int(b.id)*1e6 + int(b.tp)*1e3 + int(b.pid))
		}
		slices.SortFunc(got, less)
		slices.SortFunc(w, less)
		if !slices.Equal(got, w) {
			t.Fatalf("%s: player %d got %v, want %v", name, c.pid, got, w)
		}
	}
}

func TestMMOScenario(t *testing.T) {
	for _, tr := range []string{"tcp", "websocket", "kcp"} {
		t.Run(tr, func(t *testing.T) { mmoScenario(t, tr) })
	}
}

func mmoScenario(t *testing.T, transport string) {
	world, dial := startMMO(t, transport)

	appear := func(pid int32) event { return event{id: mmopb.MsgBroadCast, tp: mmopb.TpAppear, pid: pid} }
	moved := func(pid int32) event { return event{id: mmopb.MsgBroadCast, tp: mmopb.TpMoved, pid: pid} }
	leave := func(pid int32) event { return event{id: mmopb.MsgLeave, pid: pid} }
	chat := func(pid int32) event { return event{id: mmopb.MsgBroadCast, tp: mmopb.TpChat, pid: pid} }
	around := func(pid int32) event { return event{id: mmopb.MsgSyncPlayers, pid: pid} }

	// C logs in alone and walks to the far corner.
	c := joinMMO(t, dial)
	step(t, "C alone", c, func() { c.move(400, 395) }, map[*mmoClient][]event{c: {appear(c.pid)}}, c)

	// A logs in: its own appear, and an empty 202 (C is out of view).
	a := joinMMO(t, dial)
	step(t, "A joins", a, func() {}, map[*mmoClient][]event{a: {appear(a.pid)}, c: {}}, a, c)

	// B logs in next to A: B's 202 lists exactly A, A sees B appear, C nothing.
	b := joinMMO(t, dial)
	step(t, "B joins", b, func() {}, map[*mmoClient][]event{
		b: {appear(b.pid), around(a.pid)},
		a: {appear(b.pid)},
		c: {},
	}, a, b, c)

	// World chat reaches everyone, the sender too.
	step(t, "chat", a, func() { a.send(mmopb.MsgTalk, &mmopb.Talk{Content: "hello world"}) }, map[*mmoClient][]event{
		a: {chat(a.pid)}, b: {chat(a.pid)}, c: {chat(a.pid)},
	}, a, b, c)

	// A moves inside its grid: only B, its neighbour, hears of it.
	step(t, "A moves in view", a, func() { a.move(165, 136) }, map[*mmoClient][]event{
		a: {}, b: {moved(a.pid)}, c: {},
	}, a, b, c)

	// A walks out of B's view: 201 both ways.
	step(t, "A leaves B", a, func() { a.move(400, 80) }, map[*mmoClient][]event{
		a: {leave(b.pid)}, b: {leave(a.pid)}, c: {},
	}, a, b, c)

	// A walks into C's view: they see each other appear.
	step(t, "A meets C", a, func() { a.move(400, 380) }, map[*mmoClient][]event{
		a: {appear(c.pid)}, b: {}, c: {appear(a.pid)},
	}, a, b, c)

	// Off-map and NaN moves: clamped onto the edge (C still sees A), and
	// refused with an Error (12) to A.
	nan := float32(0)
	nan /= nan
	step(t, "A clamps", a, func() { a.move(1e9, 1e9); a.move(nan, 100) }, map[*mmoClient][]event{
		a: {{id: mmopb.MsgMmoError}}, b: {}, c: {moved(a.pid)},
	}, a, b, c)

	// A disconnects: C, who could see A, gets 201; B does not. Over KCP the
	// server notices only A's silence, after kcpHeartbeat, while B and C
	// keep pinging.
	a.p.Close()
	var pinged time.Time
	znettest.Eventually(t, func() bool {
		if time.Since(pinged) > 200*time.Millisecond {
			b.ping()
			c.ping()
			pinged = time.Now()
		}
		return world.Len() == 2
	}, "the server to notice A leaving")
	step(t, "A leaves", c, func() {}, map[*mmoClient][]event{b: {}, c: {leave(a.pid)}}, b, c)
}
