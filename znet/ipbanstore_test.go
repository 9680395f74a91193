package znet

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// memIPBans is an IPBanStore in memory, which can be made to fail or to
// be full.
type memIPBans struct {
	mu      sync.Mutex
	bans    map[netip.Prefix]IPBan
	failPut error
	failDel error
	max     int // 0: unbounded
}

func (m *memIPBans) ListIPBans(context.Context) ([]IPBan, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []IPBan
	for _, b := range m.bans {
		out = append(out, b)
	}
	return out, nil
}

func (m *memIPBans) PutIPBan(_ context.Context, ban IPBan) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failPut != nil {
		return m.failPut
	}
	if _, ok := m.bans[ban.Prefix]; !ok && m.max > 0 && len(m.bans) >= m.max {
		return fmt.Errorf("%w: the store is full", ErrTooManyBans)
	}
	if m.bans == nil {
		m.bans = map[netip.Prefix]IPBan{}
	}
	m.bans[ban.Prefix] = ban
	return nil
}

func (m *memIPBans) DeleteIPBan(_ context.Context, p netip.Prefix) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failDel != nil {
		return m.failDel
	}
	delete(m.bans, p)
	return nil
}

func (m *memIPBans) has(p string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.bans[netip.MustParsePrefix(p)]
	return ok
}

// storedServer is a server, not serving, with its IP bans in st.
func storedServer(t *testing.T, st IPBanStore) *Server {
	t.Helper()
	srv, err := NewServer(opsConfig(), WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	if err := srv.LoadIPBans(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	return srv
}

// TestIPBansLoadedFromStore: LoadIPBans takes the bans in force from the
// store, deletes the expired ones from it, writes the bans made before
// it, and refuses the banned addresses at accept.
func TestIPBansLoadedFromStore(t *testing.T) {
	now := time.Now()
	st := &memIPBans{bans: map[netip.Prefix]IPBan{
		netip.MustParsePrefix("127.0.0.1/32"): {Prefix: netip.MustParsePrefix("127.0.0.1/32"), Reason: "flood", At: now},
		netip.MustParsePrefix("10.0.0.0/8"):   {Prefix: netip.MustParsePrefix("10.0.0.0/8"), At: now.Add(-2 * time.Hour), Until: now.Add(-time.Hour)},
	}}
	cfg := opsConfig()
	ts := startServer(t, cfg, nil)
	if _, err := ts.Server.BanIP(context.Background(), netip.MustParsePrefix("192.0.2.0/24"), 0, "before the load"); err != nil {
		t.Fatal(err)
	}
	if err := ts.Server.LoadIPBans(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if st.has("10.0.0.0/8") {
		t.Error("the expired ban is still stored")
	}
	if !st.has("192.0.2.0/24") {
		t.Error("the ban made before the load was not stored")
	}
	var got []string
	for _, b := range ts.Server.IPBans() {
		got = append(got, b.Prefix.String())
	}
	if strings.Join(got, " ") != "127.0.0.1/32 192.0.2.0/24" {
		t.Fatalf("IPBans() = %v, want the stored one in force and the one made before", got)
	}
	rc := dialRaw(t, ts.addr, cfg)
	if n := rc.expectNotice(NoticeBanned); !strings.Contains(n.Reason, "flood") {
		t.Fatalf("banned notice %q, want the stored reason", n.Reason)
	}
	if err := ts.Server.LoadIPBans(context.Background(), st); err == nil {
		t.Fatal("a second LoadIPBans succeeded")
	}
}

// TestIPBanStoreWriteThrough: with a store a ban is made only once stored
// and lifted only once deleted; a store failure is a 503 and changes
// nothing; a full store is a 507.
func TestIPBanStoreWriteThrough(t *testing.T) {
	st := &memIPBans{max: 1}
	srv := storedServer(t, st)
	base := serveAdmin(t, srv)
	ban := func(ip string) (int, map[string]any) {
		code, _, body := opsCall(t, "POST", base+"/admin/bans/ip", opsToken, map[string]any{"ip": ip, "reason": "r"})
		return code, body
	}
	if code, body := ban("203.0.113.7"); code != http.StatusOK || !st.has("203.0.113.7/32") {
		t.Fatalf("ban = %d %v, stored %v", code, body, st.has("203.0.113.7/32"))
	}
	if code, body := ban("203.0.113.8"); code != http.StatusInsufficientStorage {
		t.Fatalf("a ban past the store's bound = %d %v, want 507", code, body)
	}
	if len(srv.IPBans()) != 1 {
		t.Fatalf("IPBans() = %v after the store refused one", srv.IPBans())
	}

	st.mu.Lock()
	st.failPut, st.failDel, st.max = errors.New("redis: connection refused"), errors.New("redis: connection refused"), 0
	st.mu.Unlock()
	if code, body := ban("198.51.100.1"); code != http.StatusServiceUnavailable || !strings.Contains(fmt.Sprint(body["error"]), "connection refused") {
		t.Fatalf("a ban the store failed = %d %v, want 503 with the store's error", code, body)
	}
	if _, ok := srv.ops.bans.banned(tcpAddr(netip.MustParseAddrPort("198.51.100.1:1234")), time.Now()); ok {
		t.Fatal("a ban the store failed was made")
	}
	code, _, body := opsCall(t, "DELETE", base+"/admin/bans/ip?ip=203.0.113.7", opsToken, nil)
	if code != http.StatusServiceUnavailable {
		t.Fatalf("an unban the store failed = %d %v, want 503", code, body)
	}
	if _, ok := srv.ops.bans.banned(tcpAddr(netip.MustParseAddrPort("203.0.113.7:1234")), time.Now()); !ok {
		t.Fatal("an unban the store failed lifted the ban")
	}

	st.mu.Lock()
	st.failPut, st.failDel = nil, nil
	st.mu.Unlock()
	if code, _, body := opsCall(t, "DELETE", base+"/admin/bans/ip?ip=203.0.113.7", opsToken, nil); code != http.StatusOK || st.has("203.0.113.7/32") {
		t.Fatalf("unban = %d %v, stored %v", code, body, st.has("203.0.113.7/32"))
	}
	if found, err := srv.UnbanIP(context.Background(), netip.MustParsePrefix("203.0.113.7/32")); found || err != nil {
		t.Fatalf("lifting it again = %v, %v; want false, nil", found, err)
	}
}

// TestIPBanStoreFullOfExpired: a store bounded below MaxIPBans fills with
// bans that have expired (memory forgets them, the store keeps them); a
// new ban it refuses as full is made once the expired ones are purged.
func TestIPBanStoreFullOfExpired(t *testing.T) {
	st := &memIPBans{max: 2}
	srv := storedServer(t, st)
	ctx := context.Background()
	for _, ip := range []string{"203.0.113.1/32", "203.0.113.2/32"} {
		if _, err := srv.BanIP(ctx, netip.MustParsePrefix(ip), time.Millisecond, "short"); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(5 * time.Millisecond)
	if _, err := srv.BanIP(ctx, netip.MustParsePrefix("198.51.100.9/32"), 0, "after the expired ones"); err != nil {
		t.Fatalf("a ban into a store full of expired bans: %v", err)
	}
	if !st.has("198.51.100.9/32") || st.has("203.0.113.1/32") || st.has("203.0.113.2/32") {
		t.Fatalf("stored after the purge: %v", st.bans)
	}
	// A store full of bans in force still refuses.
	if _, err := srv.BanIP(ctx, netip.MustParsePrefix("198.51.100.10/32"), 0, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.BanIP(ctx, netip.MustParsePrefix("198.51.100.11/32"), 0, ""); !errors.Is(err, ErrTooManyBans) {
		t.Fatalf("a third ban in force in a store of two = %v, want ErrTooManyBans", err)
	}
}

// TestIPBansSharedThroughTheStore: two servers on one store (two
// replicas): a ban made through one closes the other's connection from
// the address and refuses its new ones within the refresh, and lifting it
// lets them in again.
func TestIPBansSharedThroughTheStore(t *testing.T) {
	st := &memIPBans{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := NewServer(opsConfig(), WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	cfg := opsConfig()
	b := startServer(t, cfg, nil)
	for _, srv := range []*Server{a, b.Server} {
		if err := srv.LoadIPBans(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	unloaded, err := NewServer(opsConfig(), WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer unloaded.Close()
	if err := unloaded.RefreshIPBans(ctx, time.Millisecond); err == nil {
		t.Fatal("RefreshIPBans without a store returned nil")
	}
	rc := dialRaw(t, b.addr, cfg)
	connIDOf(t, b.Server, rc) // b has it
	go func() { _ = b.Server.RefreshIPBans(ctx, 20*time.Millisecond) }()

	if _, err := a.BanIP(ctx, netip.MustParsePrefix("127.0.0.0/8"), time.Hour, "through a"); err != nil {
		t.Fatal(err)
	}
	if n := rc.expectNotice(NoticeBanned); !strings.Contains(n.Reason, "through a") {
		t.Fatalf("b's connection got %q, want a's ban", n.Reason)
	}
	rc.expectClosed()
	dialRaw(t, b.addr, cfg).expectNotice(NoticeBanned)

	if found, err := a.UnbanIP(ctx, netip.MustParsePrefix("127.0.0.0/8")); !found || err != nil {
		t.Fatalf("UnbanIP = %v, %v", found, err)
	}
	waitFor(t, func() bool { return len(b.Server.IPBans()) == 0 }, "b to drop the lifted ban")
	connIDOf(t, b.Server, dialRaw(t, b.addr, cfg)) // accepted again
}
