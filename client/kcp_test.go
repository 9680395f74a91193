package client

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/examples/lockstep/demo"
)

// TestSwitchTransportMidMatch: a client in a running match moves TCP ->
// KCP -> TCP with SwitchTo. Its Game steps every frame exactly once, in
// order (checkFrames), with no gap or duplicate batch (agree: a switch
// that resumed from the wrong frame would show as one or the other, the
// missing frames being asked for again or the repeated ones skipped), and
// the inputs it sends on each new transport come back in frames.
func TestSwitchTransportMidMatch(t *testing.T) {
	s := startKCPServer(t, nil)
	d := testDialer(t, Config{})
	a := dialPlayer(t, d, s.addr, "ann", "")
	b := dialPlayer(t, d, s.addr, "bob", "")
	seat(t, "switch", a, b)
	play(t, 20, a, b)
	for i, to := range []string{s.kcpURL(), s.addr} {
		if err := b.c.SwitchTo(ctxT(t), to); err != nil {
			t.Fatalf("switch %d to %s: %v", i, to, err)
		}
		if got := b.c.Addr(); got != to {
			t.Fatalf("after SwitchTo(%s), Addr() = %s", to, got)
		}
		seq, err := b.c.Input(demo.EncodeInput(1, 0))
		if err != nil {
			t.Fatalf("input after switching to %s: %v", to, err)
		}
		play(t, a.g.last()+20, a, b)
		eventually(t, "the input sent after the switch to come back in a frame", 10*time.Second, func() bool {
			b.g.mu.Lock()
			defer b.g.mu.Unlock()
			for _, got := range b.g.ownSeqs {
				if got == seq {
					return true
				}
			}
			return false
		})
	}
	a.g.checkFrames(t, "a")
	b.g.checkFrames(t, "b")
	agree(t, a, b)
	if st := b.c.Stats(); st.Reconnects != 2 || st.ReconnectsFailed != 0 {
		t.Fatalf("Reconnects %d, failed %d; want the two switches, resumed", st.Reconnects, st.ReconnectsFailed)
	}
	if b.g.starts != 1 {
		t.Fatalf("Game.Start called %d times, want once: a switch resumes the match", b.g.starts)
	}
}

// TestKCPDeadAfter: KCP has no close, so a client over KCP learns that
// its server vanished only from its silence. The server's packets go
// through a relay that is then cut, as a process killed or a path broken
// would: the client takes the connection for lost after DeadAfter and
// reconnects. Before the cut the client idles for several DeadAfters and
// is not dropped: its pings' answers are what the server sends.
func TestKCPDeadAfter(t *testing.T) {
	s := startKCPServer(t, nil)
	relay := newUDPRelay(t, s.kcpAddr)
	const dead = 1500 * time.Millisecond // generous: a loaded -race run may stall a pong for hundreds of ms
	d := testDialer(t, Config{KeepAlive: 100 * time.Millisecond, DeadAfter: dead,
		Backoff: Backoff{Attempts: 2, Min: 50 * time.Millisecond, Max: 100 * time.Millisecond}})
	p := dialPlayer(t, d, "kcp://"+relay.addr(), "ann", "")

	time.Sleep(2 * dead) // idle, but for the keep-alive
	if p.sawState(StateReconnecting) {
		t.Fatal("a healthy idle KCP client was taken for lost")
	}
	if p.c.RTT() <= 0 {
		t.Fatalf("RTT = %v after the pings", p.c.RTT())
	}

	relay.cut()
	cutAt := time.Now()
	eventually(t, "StateReconnecting after the server went silent", dead+10*time.Second, func() bool {
		return p.sawState(StateReconnecting)
	})
	// The last pong may have come a keep-alive before the cut; nothing
	// else can make the client give up sooner.
	if took := time.Since(cutAt); took < dead-200*time.Millisecond {
		t.Fatalf("taken for lost %v after the cut, before DeadAfter %v", took, dead)
	}
}

// udpRelay forwards one client's UDP packets to a server and the server's
// back, until cut: then it drops everything, both ways, as a vanished
// server would.
type udpRelay struct {
	front, back *net.UDPConn
	client      atomic.Pointer[net.UDPAddr]
	dropped     atomic.Bool
	wg          sync.WaitGroup
}

func newUDPRelay(t *testing.T, target string) *udpRelay {
	t.Helper()
	front, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ta, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		t.Fatal(err)
	}
	back, err := net.DialUDP("udp", nil, ta)
	if err != nil {
		t.Fatal(err)
	}
	r := &udpRelay{front: front, back: back}
	r.wg.Add(2)
	go func() {
		defer r.wg.Done()
		buf := make([]byte, 64<<10)
		for {
			n, from, err := front.ReadFromUDP(buf)
			if err != nil {
				return
			}
			r.client.Store(from)
			if !r.dropped.Load() {
				_, _ = back.Write(buf[:n])
			}
		}
	}()
	go func() {
		defer r.wg.Done()
		buf := make([]byte, 64<<10)
		for {
			n, err := back.Read(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if to := r.client.Load(); err == nil && to != nil && !r.dropped.Load() {
				_, _ = front.WriteToUDP(buf[:n], to)
			}
		}
	}()
	t.Cleanup(func() {
		_ = front.Close()
		_ = back.Close()
		r.wg.Wait()
	})
	return r
}

func (r *udpRelay) addr() string { return r.front.LocalAddr().String() }

func (r *udpRelay) cut() { r.dropped.Store(true) }
