package znet

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/zinxgame/zinxgame/zconf"
)

func xff(v ...string) http.Header { return http.Header{"X-Forwarded-For": v} }

// TestWebSocketForwardedForFromTrustedProxy: from a trusted proxy, the
// right-most X-Forwarded-For address that is not itself a trusted proxy
// is the client, for RemoteAddr and the per-IP limit; addresses the
// client wrote left of it are ignored.
func TestWebSocketForwardedForFromTrustedProxy(t *testing.T) {
	cfg := testConfig()
	cfg.TrustedProxies = []string{"127.0.0.0/8"}
	cfg.ConnRatePerIP, cfg.ConnRateExempt = 1, []string{} // limit loopback too (nil means exempt it)
	var remote func() string
	ts, url := startWS(t, cfg, func(s *Server) { s.AddRouterFunc(1, echo); remote = recordRemotes(t, s) })
	for _, tc := range []struct {
		header http.Header
		want   string
	}{
		{xff("203.0.113.7"), "203.0.113.7:0"},
		{xff("198.51.100.1, 203.0.113.8"), "203.0.113.8:0"},        // the left one is the client's own claim
		{xff("203.0.113.9", "127.0.0.9"), "203.0.113.9:0"},         // a second trusted proxy appended itself
		{xff("[2001:db8::1]:4711"), "[2001:db8::1]:4711"},          // a proxy that writes ports
		{xff("garbage, 203.0.113.10,127.0.0.2"), "203.0.113.10:0"}, // garbage left of the client is never read
		{nil, "127.0.0.1:"}, // no header: the proxy itself
	} {
		echoWS(t, url, cfg, tc.header)
		if got := remote(); !strings.HasPrefix(got, tc.want) {
			t.Fatalf("XFF %q: RemoteAddr %s, want %s", tc.header.Values("X-Forwarded-For"), got, tc.want)
		}
	}
	// Each client has used its one connection a minute; the proxy has
	// used its own (the request without the header) too.
	expectNoticeWS(t, url, cfg, xff("203.0.113.7"), NoticeRateLimited)
	expectNoticeWS(t, url, cfg, nil, NoticeRateLimited)
	echoWS(t, url, cfg, xff("203.0.113.11"))
	if st := ts.Stats(); st.ConnsRefusedIP != 2 {
		t.Fatalf("refused by IP %d, want 2", st.ConnsRefusedIP)
	}
	ts.logs.waitLog(t, "remote=203.0.113.7:0")
}

// TestWebSocketForwardedForUntrustedIgnored: from anyone else the header
// is ignored, so it cannot buy a client a fresh per-IP bucket.
func TestWebSocketForwardedForUntrustedIgnored(t *testing.T) {
	cfg := testConfig()
	cfg.TrustedProxies = []string{"10.0.0.0/8"}
	cfg.ConnRatePerIP, cfg.ConnRateExempt = 1, []string{} // limit loopback too (nil means exempt it)
	var remote func() string
	_, url := startWS(t, cfg, func(s *Server) { s.AddRouterFunc(1, echo); remote = recordRemotes(t, s) })
	echoWS(t, url, cfg, xff("203.0.113.7"))
	if got := remote(); !strings.HasPrefix(got, "127.0.0.1:") {
		t.Fatalf("RemoteAddr %s, want the socket's", got)
	}
	expectNoticeWS(t, url, cfg, xff("203.0.113.8"), NoticeRateLimited)
}

// TestWebSocketForwardedForExempt: ConnRateExempt applies to the address
// the proxy names.
func TestWebSocketForwardedForExempt(t *testing.T) {
	cfg := testConfig()
	cfg.TrustedProxies = []string{"127.0.0.0/8"}
	cfg.ConnRatePerIP, cfg.ConnRateExempt = 1, []string{"127.0.0.0/8", "203.0.113.0/24"}
	_, url := startWS(t, cfg, func(s *Server) { s.AddRouterFunc(1, echo) })
	for range 3 {
		echoWS(t, url, cfg, xff("203.0.113.7"))
	}
	echoWS(t, url, cfg, xff("198.51.100.7"))
	expectNoticeWS(t, url, cfg, xff("198.51.100.7"), NoticeRateLimited)
}

func TestForwardedFor(t *testing.T) {
	trusted := newTrustedNets([]string{"10.0.0.0/8", "127.0.0.0/8", "fd00::/8"})
	for _, tc := range []struct {
		values []string
		want   string // "" for none
	}{
		{nil, ""},
		{[]string{""}, ""},
		{[]string{"203.0.113.7"}, "203.0.113.7:0"},
		{[]string{" 203.0.113.7 , 10.1.2.3 "}, "203.0.113.7:0"},
		{[]string{"1.1.1.1,203.0.113.7", "10.0.0.1"}, "203.0.113.7:0"},
		{[]string{"10.0.0.2, 10.0.0.1"}, "10.0.0.2:0"},    // all trusted: the left-most
		{[]string{"unknown, 10.0.0.1"}, "10.0.0.1:0"},     // the walk ends at garbage
		{[]string{"203.0.113.7, unknown"}, ""},            // nothing usable where it counts
		{[]string{"::ffff:203.0.113.7"}, "203.0.113.7:0"}, // one bucket per client
		{[]string{"[2001:db8::1]:443, fd00::1"}, "[2001:db8::1]:443"},
		{[]string{"fe80::1%eth0"}, "[fe80::1]:0"},
		{[]string{strings.Repeat("10.0.0.1,", 100) + "10.0.0.9"}, "10.0.0.1:0"}, // bounded walk
	} {
		ap, ok := trusted.forwardedFor(tc.values)
		got := ""
		if ok {
			got = ap.String()
		}
		if got != tc.want {
			t.Errorf("forwardedFor(%q) = %q, want %q", tc.values, got, tc.want)
		}
	}
}

// FuzzForwardedFor: the header parser never panics, and what it returns
// is an address written in the header: the right-most one, when that one
// is an untrusted address.
func FuzzForwardedFor(f *testing.F) {
	for _, s := range []string{
		"203.0.113.7", "1.1.1.1, 203.0.113.7, 10.0.0.1", "unknown", "", ",,,", "[2001:db8::1]:443",
		"fe80::1%eth0, 10.0.0.1", "::ffff:1.2.3.4", "10.0.0.1, 10.0.0.2", "1.2.3.4:99999", "[::1]", "  ,  1.2.3.4",
	} {
		f.Add(s, "")
		f.Add(s, "10.0.0.1")
	}
	trusted := newTrustedNets(zconf.Default().ConnRateExempt)
	trusted = append(trusted, netip.MustParsePrefix("10.0.0.0/8"))
	f.Fuzz(func(t *testing.T, a, b string) {
		values := []string{a, b}
		ap, ok := trusted.forwardedFor(values)
		joined := a + "," + b
		if ok {
			if !ap.Addr().IsValid() || ap.Addr().Is4In6() || ap.Addr().Zone() != "" {
				t.Fatalf("address %v", ap)
			}
			found := false
			for _, e := range strings.Split(joined, ",") {
				if hop, good := parseHop(strings.TrimSpace(e)); good && hop == ap {
					found = true
				}
			}
			if !found {
				t.Fatalf("%v is not in %q", ap, joined)
			}
		}
		entries := strings.Split(joined, ",")
		for i := len(entries) - 1; i >= 0; i-- {
			e := strings.TrimSpace(entries[i])
			if e == "" {
				continue
			}
			if hop, good := parseHop(e); good && !trusted.contains(hop.Addr()) && (!ok || hop != ap) {
				t.Fatalf("right-most entry %v is untrusted, got %v (%v)", hop, ap, ok)
			}
			break
		}
	})
}
