package znettest

import (
	"fmt"
	"net"

	kcp "github.com/xtaci/kcp-go/v5"

	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
)

// KCP for the kit: a Peer over a KCP session, and a test server that
// serves KCP too (WithKCP). KCP has no close signal, so a test cannot see
// the server close a KCP Peer by reading EOF: it checks the server side
// (Online, a disconnect hook) or the notice sent before the close; and
// the server sees a Peer's Close only as silence, after its
// HeartbeatTimeout.

// DialKCP connects a Peer to addr (host:port, UDP) over KCP, as Dial
// does over TCP, with the session settings a znet client would use
// (cfg's Kcp* keys: the MTU and FEC shards must match the server's). KCP
// has no handshake, so the dial succeeds without a server, a missing one
// shows as the first expectation timing out, and the server learns of the
// Peer only from its first frame: a test whose server speaks first (a
// greeting at connect) sends something, a ping, before expecting it.
func DialKCP(t TB, addr string, cfg zconf.Config) *Peer {
	t.Helper()
	nc, err := dialKCP(addr, cfg)
	if err != nil {
		t.Fatalf("znettest: dial %s: %v", addr, err)
		return nil
	}
	return newPeer(t, nc, cfg, "kcp "+addr)
}

// dialKCP opens a session configured as znet configures its own: stream
// mode (frames are a byte stream, not KCP messages) and no write delay.
func dialKCP(addr string, cfg zconf.Config) (net.Conn, error) {
	set := cfg.KCP()
	s, err := kcp.DialWithOptions(addr, nil, set.DataShards, set.ParityShards)
	if err != nil {
		return nil, fmt.Errorf("KCP: %w", err)
	}
	znet.ConfigureKCP(s, cfg)
	return s, nil
}

// WithKCP serves KCP as well, on a loopback UDP port picked by the
// kernel, with the config's Kcp* settings; the server's KCPAddr is then
// set.
func WithKCP() Option { return func(o *options) { o.kcp = true } }

// DialKCP connects a Peer to the server's KCP listener; the server must
// have been made WithKCP.
func (s *Server) DialKCP() *Peer {
	s.t.Helper()
	if s.KCPAddr == "" {
		s.t.Fatalf("znettest: DialKCP on a server made without WithKCP")
		return nil
	}
	return DialKCP(s.t, s.KCPAddr, s.Config)
}
