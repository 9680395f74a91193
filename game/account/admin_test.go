package account_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/game/account"
	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/game/store/redisstore"
	"github.com/zinxgame/zinxgame/internal/redistest"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

const adminToken = "account-admin-token-0123456789"

// startAdmin is start with the operator endpoints on, served over HTTP on
// loopback; it returns the env and the admin base URL.
func startAdmin(t *testing.T, cfg account.Config) (*env, string) {
	t.Helper()
	zc := znettest.Config()
	zc.AdminToken = adminToken
	e := start(t, cfg, nil, zc)
	hs := httptest.NewServer(e.ts.Server.AdminHandler())
	t.Cleanup(hs.Close)
	return e, hs.URL
}

func adminCall(t *testing.T, method, url string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %d %q is not JSON", method, url, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

func player(base string, id uint64, what string) string {
	return base + "/admin/players/" + strconv.FormatUint(id, 10) + what
}

func TestAdminKickPlayer(t *testing.T) {
	e, base := startAdmin(t, account.Config{})
	p := e.ts.Dial()
	ack := e.login(p, "ann", "")
	code, body := adminCall(t, "POST", player(base, ack.PlayerId, "/kick"), map[string]any{"reason": "afk"})
	if code != 200 {
		t.Fatalf("kick = %d %v", code, body)
	}
	if n := p.ExpectNotice(znet.NoticeKicked); n.Reason != "afk" {
		t.Fatalf("kicked notice %+v, want reason afk", n)
	}
	p.ExpectClosed()
	waitUntil(t, func() bool { return e.svc.Conn(ack.PlayerId) == nil }, "the player to go offline")
	if code, _ := adminCall(t, "POST", player(base, ack.PlayerId, "/kick"), map[string]any{}); code != http.StatusNotFound {
		t.Fatalf("kicking an offline player = %d, want 404", code)
	}
	if code, _ := adminCall(t, "POST", base+"/admin/players/abc/kick", map[string]any{}); code != http.StatusBadRequest {
		t.Fatalf("a bad player ID = %d, want 400", code)
	}
	e.ts.WaitLog("operator action", "action=player_kick")
}

// TestAdminBanPlayer: a ban kicks the player with a banned notice; its
// token then logs in no more (notice, ERROR_TOKEN_REVOKED, close) until
// the ban is lifted; the list shows it.
func TestAdminBanPlayer(t *testing.T) {
	e, base := startAdmin(t, account.Config{})
	p := e.ts.Dial()
	ack := e.login(p, "bob", "")
	code, body := adminCall(t, "POST", player(base, ack.PlayerId, "/ban"), map[string]any{"duration": "24h", "reason": "cheating"})
	if code != 200 || body["kicked"] != true {
		t.Fatalf("ban = %d %v, want 200 and kicked", code, body)
	}
	if n := p.ExpectNotice(znet.NoticeBanned); !strings.Contains(n.Reason, "cheating") || n.RetryAfterMs <= 0 {
		t.Fatalf("banned notice %+v", n)
	}
	p.ExpectClosed()

	again := e.ts.Dial()
	again.SendProto(testProto.Login, &commonpb.Login{Name: "bob", Token: ack.Token})
	if n := again.ExpectNotice(znet.NoticeBanned); !strings.Contains(n.Reason, "cheating") {
		t.Fatalf("the refused login's notice %+v", n)
	}
	expectError(t, again, commonpb.ErrorCode_ERROR_TOKEN_REVOKED)
	again.ExpectClosed()

	code, body = adminCall(t, "GET", base+"/admin/players/bans", nil)
	bans, _ := body["bans"].([]any)
	if code != 200 || len(bans) != 1 || bans[0].(map[string]any)["player_id"] != strconv.FormatUint(ack.PlayerId, 10) {
		t.Fatalf("list = %d %v", code, body)
	}
	if code, body := adminCall(t, "DELETE", player(base, ack.PlayerId, "/ban"), nil); code != 200 {
		t.Fatalf("unban = %d %v", code, body)
	}
	if code, _ := adminCall(t, "DELETE", player(base, ack.PlayerId, "/ban"), nil); code != http.StatusNotFound {
		t.Fatalf("a second unban = %d, want 404", code)
	}
	back := e.ts.Dial()
	if got := e.login(back, "bob", ack.Token); got.PlayerId != ack.PlayerId {
		t.Fatalf("after the unban the token logs in as %d, want %d", got.PlayerId, ack.PlayerId)
	}
	// An offline player can be banned too.
	if code, body := adminCall(t, "POST", player(base, 424242, "/ban"), map[string]any{}); code != 200 || body["kicked"] != false {
		t.Fatalf("banning an offline player = %d %v", code, body)
	}
}

func TestPlayerBansBounded(t *testing.T) {
	e, base := startAdmin(t, account.Config{MaxBans: 2})
	for id := uint64(1); id <= 2; id++ {
		if code, body := adminCall(t, "POST", player(base, id, "/ban"), map[string]any{}); code != 200 {
			t.Fatalf("ban %d = %d %v", id, code, body)
		}
	}
	code, body := adminCall(t, "POST", player(base, 3, "/ban"), map[string]any{})
	if code != http.StatusInsufficientStorage || !strings.Contains(body["error"].(string), "MaxBans") {
		t.Fatalf("a third ban with MaxBans 2 = %d %v, want 507", code, body)
	}
	if code, _ := adminCall(t, "POST", player(base, 2, "/ban"), map[string]any{"reason": "again"}); code != 200 {
		t.Fatalf("re-banning a banned player at the bound = %d, want 200", code)
	}
	if _, err := e.svc.BanPlayer(context.Background(), 4, 0, ""); !errors.Is(err, account.ErrTooManyBans) {
		t.Fatalf("BanPlayer past the bound = %v, want ErrTooManyBans", err)
	}
}

// TestPlayerBansSurviveRestart: bans kept in the Redis document store are
// there for a new service (a restarted server) over a new connection;
// expired ones are dropped at the load.
func TestPlayerBansSurviveRestart(t *testing.T) {
	rs := redistest.Start(t)
	rc := zconf.DefaultRedis()
	rc.Addr = rs.Addr
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	open := func() (*account.Service, redisstore.Stores) {
		st, err := redisstore.Open(ctx, rc, log, nil)
		if err != nil {
			t.Fatal(err)
		}
		svc, err := account.New(account.Config{}, nil, log)
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.LoadBans(ctx, st.Docs); err != nil {
			t.Fatal(err)
		}
		return svc, st
	}
	svc, st := open()
	if _, err := svc.BanPlayer(ctx, 77, 0, "forever"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.BanPlayer(ctx, 78, 100*time.Millisecond, "briefly"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.BanPlayer(ctx, 79, 0, "lifted"); err != nil {
		t.Fatal(err)
	}
	if ok, err := svc.UnbanPlayer(ctx, 79); !ok || err != nil {
		t.Fatalf("UnbanPlayer = %v %v", ok, err)
	}
	if err := st.Close(ctx); err != nil { // flushes the queue to Redis
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond) // 78's ban expires

	svc2, st2 := open()
	defer st2.Close(ctx)
	if ban, ok := svc2.Banned(77); !ok || ban.Reason != "forever" {
		t.Fatalf("after the restart Banned(77) = %+v %v, want the ban", ban, ok)
	}
	for _, id := range []uint64{78, 79} {
		if _, ok := svc2.Banned(id); ok {
			t.Errorf("after the restart %d is banned", id)
		}
	}
	docs, _, err := st2.Docs.ListDocs(ctx, store.PlayerOwner(0), account.BanCollection, "", 0)
	if err != nil || len(docs) != 1 || docs[0].Key != "77" {
		t.Fatalf("ban documents after the load = %v %v, want 77's only", docs, err)
	}
}

// TestMaintenanceLogin: in maintenance a new identity is refused with the
// notice and ERROR_UNAVAILABLE, as is a token of a player who was not
// playing; a player logged in plays on, and one who dropped during the
// maintenance comes back.
func TestMaintenanceLogin(t *testing.T) {
	e, base := startAdmin(t, account.Config{NewIdentityRate: account.Disabled})
	stay := e.ts.Dial()
	e.login(stay, "stay", "")
	drop := e.ts.Dial()
	dropAck := e.login(drop, "drop", "")
	_, absentToken, err := e.svc.Accounts().NewAccount(context.Background(), "absent") // issued, never played here
	if err != nil {
		t.Fatal(err)
	}

	if code, body := adminCall(t, "POST", base+"/admin/maintenance", map[string]any{"on": true, "reason": "back at 14:00"}); code != 200 {
		t.Fatalf("maintenance on = %d %v", code, body)
	}
	drop.Close() // drops during the maintenance: it may come back
	waitUntil(t, func() bool { return e.svc.Conn(dropAck.PlayerId) == nil }, "the dropped player to go offline")
	for _, token := range []string{"", absentToken} {
		p := e.ts.Dial()
		p.SendProto(testProto.Login, &commonpb.Login{Name: "new", Token: token})
		if n := p.ExpectNotice(znet.NoticeMaintenance); !strings.Contains(n.Reason, "back at 14:00") {
			t.Fatalf("maintenance notice %+v", n)
		}
		if m := expectError(t, p, commonpb.ErrorCode_ERROR_UNAVAILABLE); !strings.Contains(m.Message, "maintenance") {
			t.Fatalf("the Error says %q", m.Message)
		}
		p.ExpectClosed()
	}
	stay.Send(whoAmI, nil)
	if got := stay.ExpectSkip(whoAmI); string(got) != "stay" {
		t.Fatalf("the logged-in player's route answers %q", got)
	}
	back := e.ts.Dial()
	if got := e.login(back, "drop", dropAck.Token); got.PlayerId != dropAck.PlayerId {
		t.Fatalf("the dropped player's reconnect logged in as %d", got.PlayerId)
	}
	adminCall(t, "POST", base+"/admin/maintenance", map[string]any{"on": false})
	e.login(e.ts.Dial(), "new", "")
}

func waitUntil(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPlayerBansStoreFullOfExpired: with a ban store bounded at MaxBans,
// bans that expired make room in the store as they do in memory.
func TestPlayerBansStoreFullOfExpired(t *testing.T) {
	ctx := context.Background()
	docs := store.NewMemoryDocStore(store.DocLimits{MaxDocsPerOwner: 2})
	svc, err := account.New(account.Config{MaxBans: 2}, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.LoadBans(ctx, docs); err != nil {
		t.Fatal(err)
	}
	for id := uint64(1); id <= 2; id++ {
		if _, err := svc.BanPlayer(ctx, id, time.Millisecond, "short"); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(5 * time.Millisecond)
	if _, err := svc.BanPlayer(ctx, 3, 0, "after the expired ones"); err != nil {
		t.Fatalf("a ban with the store full of expired bans: %v", err)
	}
	got, _, err := docs.ListDocs(ctx, store.PlayerOwner(0), account.BanCollection, "", 0)
	if err != nil || len(got) != 1 || got[0].Key != "3" {
		t.Fatalf("ban documents = %v %v, want 3's only", got, err)
	}
}

// TestPlayerBansSharedThroughTheStore: two services on one ban store (two
// replicas): a ban made through the other closes this one's player with
// the banned notice within the refresh and refuses its token; lifting it
// there lets the token in here again.
func TestPlayerBansSharedThroughTheStore(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	docs := store.NewMemoryDocStore(store.DocLimits{})
	e := start(t, account.Config{}, nil, znettest.Config())
	other, err := account.New(account.Config{}, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range []*account.Service{e.svc, other} {
		if err := svc.LoadBans(ctx, docs); err != nil {
			t.Fatal(err)
		}
	}
	unloaded, err := account.New(account.Config{}, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := unloaded.RefreshBans(ctx, time.Millisecond); err == nil {
		t.Fatal("RefreshBans without LoadBans returned nil")
	}
	p := e.ts.Dial()
	ack := e.login(p, "bob", "")
	go func() { _ = e.svc.RefreshBans(ctx, 20*time.Millisecond) }()

	if _, err := other.BanPlayer(ctx, ack.PlayerId, time.Hour, "on the other replica"); err != nil {
		t.Fatal(err)
	}
	if n := p.ExpectNotice(znet.NoticeBanned); !strings.Contains(n.Reason, "on the other replica") {
		t.Fatalf("banned notice %+v", n)
	}
	p.ExpectClosed()
	again := e.ts.Dial()
	again.SendProto(testProto.Login, &commonpb.Login{Name: "bob", Token: ack.Token})
	again.ExpectNotice(znet.NoticeBanned)
	expectError(t, again, commonpb.ErrorCode_ERROR_TOKEN_REVOKED)

	if ok, err := other.UnbanPlayer(ctx, ack.PlayerId); !ok || err != nil {
		t.Fatalf("UnbanPlayer = %v, %v", ok, err)
	}
	znettest.Eventually(t, func() bool { _, banned := e.svc.Banned(ack.PlayerId); return !banned }, "the lifted ban to reach this replica")
	if got := e.login(e.ts.Dial(), "bob", ack.Token); got.PlayerId != ack.PlayerId {
		t.Fatalf("after the unban the token logs in as %d, want %d", got.PlayerId, ack.PlayerId)
	}
}
