package znet

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"

	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
)

// recordRemotes returns a function that waits for the next connection's
// RemoteAddr, as OnConnStart sees it.
func recordRemotes(t *testing.T, s *Server) func() string {
	ch := make(chan string, 16)
	s.SetOnConnStart(func(c ziface.IConnection) { ch <- c.RemoteAddr().String() })
	return func() string {
		t.Helper()
		select {
		case r := <-ch:
			return r
		case <-time.After(10 * time.Second):
			t.Fatal("no connection started")
			return ""
		}
	}
}

func v1Header(src string, port int) []byte {
	family := "TCP4"
	if strings.Contains(src, ":") {
		family = "TCP6"
	}
	dst := "127.0.0.1"
	if family == "TCP6" {
		dst = "::1"
	}
	return []byte("PROXY " + family + " " + src + " " + dst + " " + strconv.Itoa(port) + " 8999\r\n")
}

func v2Header(t testing.TB, src string) []byte {
	t.Helper()
	ap := netip.MustParseAddrPort(src)
	dst := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8999}
	if ap.Addr().Is6() {
		dst = &net.TCPAddr{IP: net.IPv6loopback, Port: 8999}
	}
	b, err := proxyproto.HeaderProxyFromAddrs(2, net.TCPAddrFromAddrPort(ap), dst).Format()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func v2Local(t testing.TB) []byte {
	t.Helper()
	b, err := (&proxyproto.Header{Version: 2, Command: proxyproto.LOCAL, TransportProtocol: proxyproto.UNSPEC}).Format()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func proxyConfig(mode string, trusted ...string) zconf.Config {
	cfg := testConfig()
	cfg.ProxyProtocol, cfg.TrustedProxies = mode, trusted
	return cfg
}

// dialProxied connects as a proxy would: header first, then the client's
// frames. together sends the header and a first frame in one write.
func dialProxied(t *testing.T, addr string, cfg zconf.Config, header []byte, together bool) *rawConn {
	t.Helper()
	c := dialRaw(t, addr, cfg)
	frame, _ := c.pack.AppendPack(nil, 1, []byte("hi"))
	if together {
		c.write(append(bytes.Clone(header), frame...))
	} else {
		c.write(header)
		time.Sleep(10 * time.Millisecond)
		c.write(frame)
	}
	return c
}

func expectEcho(t *testing.T, c *rawConn) {
	t.Helper()
	if id, data := c.recv(); id != 1 || string(data) != "hi" {
		t.Fatalf("got %d %q, want the echo", id, data)
	}
}

// TestProxyProtocolSetsRemoteAddr: a PROXY header (v1 or v2) from a
// trusted proxy names the client for RemoteAddr, the logs and the per-IP
// limit: two clients behind one proxy have separate buckets.
func TestProxyProtocolSetsRemoteAddr(t *testing.T) {
	cfg := proxyConfig(zconf.ProxyRequired, "127.0.0.0/8")
	cfg.ConnRatePerIP, cfg.ConnRateExempt = 1, []string{} // limit loopback too (nil means exempt it)
	var remote func() string
	ts := startServer(t, cfg, func(s *Server) { s.AddRouterFunc(1, echo); remote = recordRemotes(t, s) })

	for _, tc := range []struct {
		header   []byte
		together bool
		want     string
	}{
		{v1Header("203.0.113.7", 5555), true, "203.0.113.7:5555"},
		{v2Header(t, "203.0.113.8:6666"), false, "203.0.113.8:6666"},
		{v1Header("2001:db8::1", 7777), false, "[2001:db8::1]:7777"},
		{v2Header(t, "[2001:db8::2]:8888"), true, "[2001:db8::2]:8888"},
	} {
		c := dialProxied(t, ts.addr, cfg, tc.header, tc.together)
		expectEcho(t, c)
		if got := remote(); got != tc.want {
			t.Fatalf("RemoteAddr %s, want %s", got, tc.want)
		}
	}
	// The same clients again: each has used its bucket; the proxy has not.
	for _, h := range [][]byte{v1Header("203.0.113.7", 5556), v2Header(t, "203.0.113.8:6667")} {
		c := dialProxied(t, ts.addr, cfg, h, true)
		c.expectNotice(NoticeRateLimited)
		c.expectClosed()
	}
	if st := ts.Stats(); st.ConnsRefusedIP != 2 || st.ConnsAccepted != 4 {
		t.Fatalf("refused by IP %d, accepted %d; want 2 and 4", st.ConnsRefusedIP, st.ConnsAccepted)
	}
	ts.logs.waitLog(t, "remote=203.0.113.7:5556")
}

// TestProxyProtocolExemptAppliesToRealAddress: ConnRateExempt is matched
// against the client's address, not the proxy's: the loopback exemption no
// longer lets everyone behind a local proxy through.
func TestProxyProtocolExemptAppliesToRealAddress(t *testing.T) {
	cfg := proxyConfig(zconf.ProxyOptional, "127.0.0.0/8")
	cfg.ConnRatePerIP, cfg.ConnRateExempt = 1, []string{"127.0.0.0/8", "203.0.113.0/24"}
	ts := startServer(t, cfg, func(s *Server) { s.AddRouterFunc(1, echo) })
	for i := range 3 {
		expectEcho(t, dialProxied(t, ts.addr, cfg, v1Header("203.0.113.7", 5000+i), true))
	}
	expectEcho(t, dialProxied(t, ts.addr, cfg, v1Header("198.51.100.7", 6000), true))
	c := dialProxied(t, ts.addr, cfg, v2Header(t, "198.51.100.7:6001"), true)
	c.expectNotice(NoticeRateLimited)
}

// TestProxyProtocolUntrustedRefused: a PROXY header from a peer outside
// TrustedProxies closes the connection, on the connection's own
// goroutine; without one, "optional" serves the peer directly and
// "required" closes it.
func TestProxyProtocolUntrustedRefused(t *testing.T) {
	t.Run("optional", func(t *testing.T) {
		cfg := proxyConfig(zconf.ProxyOptional, "10.0.0.0/8")
		var remote func() string
		ts := startServer(t, cfg, func(s *Server) { s.AddRouterFunc(1, echo); remote = recordRemotes(t, s) })
		for _, h := range [][]byte{v1Header("203.0.113.7", 5555), v2Header(t, "203.0.113.7:5555")} {
			c := dialProxied(t, ts.addr, cfg, h, true)
			if id, data, err := c.tryRecv(); err == nil && id == 1 {
				t.Fatalf("echo %q through a header from an untrusted peer", data)
			}
			remote() // it was admitted (by its socket address) before it read anything
		}
		ts.logs.waitLog(t, "PROXY header from a peer outside TrustedProxies")
		c := dialRaw(t, ts.addr, cfg)
		c.send(1, []byte("hi"))
		expectEcho(t, c)
		if got := remote(); !strings.HasPrefix(got, "127.0.0.1:") {
			t.Fatalf("RemoteAddr %s, want the socket's", got)
		}
	})
	t.Run("required", func(t *testing.T) {
		cfg := proxyConfig(zconf.ProxyRequired, "10.0.0.0/8")
		ts := startServer(t, cfg, func(s *Server) { s.AddRouterFunc(1, echo) })
		for _, h := range [][]byte{nil, v1Header("203.0.113.7", 5555)} {
			c := dialProxied(t, ts.addr, cfg, h, true)
			c.expectClosed()
		}
		ts.logs.waitLog(t, "not in TrustedProxies, and ProxyProtocol is required")
		if st := ts.Stats(); st.ConnsAccepted != 0 {
			t.Fatalf("accepted %d, want 0", st.ConnsAccepted)
		}
	})
}

// TestProxyProtocolTrustedWithoutHeader: a trusted peer without a header
// is served by its own address with "optional" and closed with
// "required"; a LOCAL header (the proxy's health check) keeps the
// proxy's address.
func TestProxyProtocolTrustedWithoutHeader(t *testing.T) {
	cfg := proxyConfig(zconf.ProxyOptional, "127.0.0.0/8")
	var remote func() string
	ts := startServer(t, cfg, func(s *Server) { s.AddRouterFunc(1, echo); remote = recordRemotes(t, s) })
	expectEcho(t, dialProxied(t, ts.addr, cfg, nil, true))
	if got := remote(); !strings.HasPrefix(got, "127.0.0.1:") {
		t.Fatalf("RemoteAddr %s, want the socket's", got)
	}

	cfg = proxyConfig(zconf.ProxyRequired, "127.0.0.0/8")
	ts = startServer(t, cfg, func(s *Server) { s.AddRouterFunc(1, echo); remote = recordRemotes(t, s) })
	bad := dialProxied(t, ts.addr, cfg, []byte("PROXY TCP4 not-an-ip 127.0.0.1 1 2\r\n"), true)
	bad.expectClosed()
	ts.logs.waitLog(t, "bad PROXY header") // the first refusal; the next second's are counted, not logged
	dialProxied(t, ts.addr, cfg, nil, true).expectClosed()
	expectEcho(t, dialProxied(t, ts.addr, cfg, v2Local(t), true))
	if got := remote(); !strings.HasPrefix(got, "127.0.0.1:") {
		t.Fatalf("RemoteAddr after LOCAL %s, want the socket's", got)
	}
}

// TestProxyProtocolSilentPeer: a trusted peer that sends no header does
// not hold up other connections, and is closed after HandshakeTimeout.
func TestProxyProtocolSilentPeer(t *testing.T) {
	cfg := proxyConfig(zconf.ProxyRequired, "127.0.0.0/8")
	cfg.HandshakeTimeout = time.Minute
	ts := startServer(t, cfg, func(s *Server) { s.AddRouterFunc(1, echo) })
	for range 5 {
		dialIdle(t, ts.addr)
	}
	expectEcho(t, dialProxied(t, ts.addr, cfg, v1Header("203.0.113.7", 5555), true))

	cfg.HandshakeTimeout = 200 * time.Millisecond
	ts = startServer(t, cfg, nil)
	silent := dialRaw(t, ts.addr, cfg)
	silent.expectClosed()
	partial := dialRaw(t, ts.addr, cfg)
	partial.write([]byte("PROXY TCP4 203.0.113.7"))
	partial.expectClosed()
}

// TestProxyProtocolBeforeTLS: Start reads the header before the TLS
// handshake, so a TLS client behind a proxy is served by its own address.
func TestProxyProtocolBeforeTLS(t *testing.T) {
	ts := startTLS(t, func(c *zconf.Config) {
		c.ProxyProtocol, c.TrustedProxies = zconf.ProxyRequired, []string{"127.0.0.0/8"}
	})
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Write(v2Header(t, "203.0.113.7:5555")); err != nil {
		t.Fatal(err)
	}
	tc := tls.Client(nc, ts.cert.ClientConfig())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		t.Fatalf("TLS handshake behind the header: %v", err)
	}
	pack := ts.DataPack()
	frame, _ := pack.AppendPack(nil, 1, []byte("hi"))
	if _, err := tc.Write(frame); err != nil {
		t.Fatal(err)
	}
	_ = tc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if id, data, err := newFrameReader(pack, tc, 4096).next(); err != nil || id != 1 || string(data) != "hi" {
		t.Fatalf("echo %d %q, %v", id, data, err)
	}
	if got := serverConn(t, ts.Server).RemoteAddr().String(); got != "203.0.113.7:5555" {
		t.Fatalf("RemoteAddr %s, want 203.0.113.7:5555", got)
	}
}

// FuzzReadProxyHeader: the header decoder never panics, reads nothing
// from a stream without a header, reads at most a header's worth of
// bytes, and names a usable address or none.
func FuzzReadProxyHeader(f *testing.F) {
	for _, s := range []string{
		"PROXY TCP4 203.0.113.7 127.0.0.1 5555 8999\r\n",
		"PROXY TCP6 2001:db8::1 ::1 5555 8999\r\nand the client's bytes",
		"PROXY UNKNOWN\r\n",
		"PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 99999 1\r\n",
		"PROXY TCP4 203.0.113.7 127.0.0.1 5555",
		"PROXY " + strings.Repeat("x", 200) + "\r\n",
		"PROXYjunk\r\n",
		"\x0d\x0a\x0d\x0a\x00\x0d\x0a\x51\x55\x49\x54\x0a",
		"\x0d\x0a\x0d\x0a\x00\x0d\x0a\x51\x55\x49\x54\x0a\x21\x11\xff\xff",
		"\x16\x03\x01\x00\xa5", // a TLS ClientHello
		"\x05\x00\x00\x00\x01\x00\x00\x00hello",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Add(v2Header(f, "203.0.113.7:5555"))
	f.Add(v2Header(f, "[2001:db8::1]:5555"))
	f.Add(v2Local(f))
	udp, _ := proxyproto.HeaderProxyFromAddrs(2, &net.UDPAddr{IP: net.IPv4(1, 2, 3, 4), Port: 1}, &net.UDPAddr{IP: net.IPv4(5, 6, 7, 8), Port: 2}).Format()
	f.Add(udp)
	unix, _ := proxyproto.HeaderProxyFromAddrs(2, &net.UnixAddr{Net: "unix", Name: "/a"}, &net.UnixAddr{Net: "unix", Name: "/b"}).Format()
	f.Add(unix)
	tlv := proxyproto.HeaderProxyFromAddrs(2, &net.TCPAddr{IP: net.IPv4(1, 2, 3, 4), Port: 1}, &net.TCPAddr{IP: net.IPv4(5, 6, 7, 8), Port: 2})
	_ = tlv.SetTLVs([]proxyproto.TLV{{Type: proxyproto.PP2_TYPE_AUTHORITY, Value: []byte("example.com")}})
	withTLV, _ := tlv.Format()
	f.Add(withTLV)

	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		br := bufio.NewReaderSize(r, proxyBufSize)
		addr, err := readProxyHeader(br)
		unread := r.Len() + br.Buffered()
		switch {
		case errors.Is(err, errNoProxyHeader):
			if unread != len(data) {
				t.Fatalf("no header, yet %d bytes consumed", len(data)-unread)
			}
		case err == nil:
			if used := len(data) - unread; used > 16+int(proxyproto.MaxV2HeaderSize) {
				t.Fatalf("a header of %d bytes", used)
			}
			if addr != nil {
				ta, ok := addr.(*net.TCPAddr)
				if !ok || !ta.AddrPort().Addr().IsValid() || ta.AddrPort().Addr().Is4In6() {
					t.Fatalf("address %#v", addr)
				}
			}
		}
	})
}

// FuzzSniffer: however the stream is split into reads, the check finds a
// PROXY signature exactly when the stream begins with one.
func FuzzSniffer(f *testing.F) {
	f.Add([]byte("PROXY TCP4 1.2.3.4"), uint8(3))
	f.Add(v2Header(f, "203.0.113.7:5555"), uint8(7))
	f.Add([]byte("PROXYTCP4"), uint8(0))
	f.Add([]byte("\x0d\x0a\x0d\x0a\x00\x0d\x0a\x51\x55\x49\x54"), uint8(11))
	f.Add([]byte("\x16\x03\x01"), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, cut uint8) {
		k := min(int(cut), len(data))
		var s sniffer
		got := s.feed(data[:k]) || s.feed(data[k:])
		want := bytes.HasPrefix(data, sigV1) || bytes.HasPrefix(data, proxyproto.SIGV2)
		if got != want {
			t.Fatalf("sniffed %v, want %v for %q split at %d", got, want, data, k)
		}
	})
}
