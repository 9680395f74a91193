package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/client"
	"github.com/zinxgame/zinxgame/internal/redistest"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
)

var buildLockstep = sync.OnceValue(func() error {
	out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, "lockstep"), "../../examples/lockstep").CombinedOutput()
	if err != nil {
		return fmt.Errorf("building examples/lockstep: %v\n%s", err, out)
	}
	return nil
})

// adminAddr is the admin listener's address from the server's JSON log.
func (p *proc) adminAddr(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(p.logs(), "\n") {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "znet: admin listener" {
				return rec.Addr
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no admin listener in the log:\n%s", p.logs())
	return ""
}

// adminCall makes an operator request to the admin listener at admin
// (host:port) with token (none when empty); it returns the status and
// the body.
func adminCall(t *testing.T, admin, token, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+admin+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// operatorToken is the servers' AdminToken in these tests.
const operatorToken = "e2e-operator-token-0123456789"

// dialWatched logs a new player in at addr; the channel gets the error
// the client closes with.
func dialWatched(ctx context.Context, t *testing.T, addr, name string) (*client.Lockstep, <-chan error) {
	t.Helper()
	closed := make(chan error, 1)
	c, err := client.DialLockstep(ctx, addr, client.Player{Name: name}, client.Handler{
		OnState: func(s client.State, err error) {
			if s == client.StateClosed {
				closed <- err
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, closed
}

// TestLockstepOperatorBan runs the lockstep server binary with an
// AdminToken: an operator bans a playing player over HTTP with the token,
// and the player's client is closed with ErrBanned; its token then logs in
// no more (ErrBanned, ERROR_TOKEN_REVOKED). Without the token the
// endpoint answers 401.
func TestLockstepOperatorBan(t *testing.T) {
	if err := buildLockstep(); err != nil {
		t.Fatal(err)
	}
	p := startBinary(t, "lockstep", []string{"ZINX_MODE=tcp", "ZINX_ADMINADDR=127.0.0.1:0", "ZINX_ADMINTOKEN=" + operatorToken})
	defer p.stop(t)
	admin := p.adminAddr(t)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, closed := dialWatched(ctx, t, p.addr, "eve")
	defer c.Close()
	id, tok := c.PlayerID(), c.Token()

	banPath := fmt.Sprintf("/admin/players/%d/ban", id)
	ban := func(auth string) (int, string) {
		return adminCall(t, admin, auth, "POST", banPath, `{"duration": "1h", "reason": "griefing"}`)
	}
	if code, body := ban(""); code != http.StatusUnauthorized {
		t.Fatalf("a ban without the token = %d %s, want 401", code, body)
	}
	if code, body := ban(operatorToken); code != http.StatusOK || !strings.Contains(body, `"kicked":true`) {
		t.Fatalf("ban = %d %s, want 200 with the player kicked", code, body)
	}
	select {
	case err := <-closed:
		if !errors.Is(err, client.ErrBanned) {
			t.Fatalf("the client closed with %v, want ErrBanned", err)
		}
	case <-ctx.Done():
		t.Fatal("the banned player's client did not close")
	}

	_, err := client.DialLockstep(ctx, p.addr, client.Player{Name: "eve", Token: tok}, client.Handler{})
	if !errors.Is(err, client.ErrBanned) || client.Code(err) != commonpb.ErrorCode_ERROR_TOKEN_REVOKED || !strings.Contains(err.Error(), "griefing") {
		t.Fatalf("the banned token's login = %v, want ErrBanned with ERROR_TOKEN_REVOKED and the reason", err)
	}
	if !strings.Contains(p.logs(), `"action":"player_ban"`) {
		t.Fatalf("the ban is not in the server's log:\n%s", p.logs())
	}
}

// redisAdminEnv is a lockstep server's environment on Redis rs with the
// operator endpoints on: a spill file of its own, and the token secret
// that lets its tokens outlive a restart.
func redisAdminEnv(t *testing.T, rs *redistest.Server) []string {
	t.Helper()
	return []string{"ZINX_MODE=tcp", "ZINX_ADMINADDR=127.0.0.1:0", "ZINX_ADMINTOKEN=" + operatorToken,
		"ZINX_REDIS_ADDR=" + rs.Addr, "ZINX_AUTH_SECRET=" + strings.Repeat("k", 32),
		"ZINX_REDIS_SPILLFILE=" + filepath.Join(t.TempDir(), "lockstep.spill")}
}

// TestLockstepIPBanSurvivesRestart runs the lockstep server binary on a
// real Redis: an IP ban made over the admin endpoint holds after the
// server restarts, and lifting it holds as well.
func TestLockstepIPBanSurvivesRestart(t *testing.T) {
	if err := buildLockstep(); err != nil {
		t.Fatal(err)
	}
	env := redisAdminEnv(t, redistest.Start(t))
	call := func(admin, method, path, body string) (int, string) {
		t.Helper()
		return adminCall(t, admin, operatorToken, method, path, body)
	}
	dial := func(p *proc) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := client.DialLockstep(ctx, p.addr, client.Player{Name: "eve"}, client.Handler{})
		if err == nil {
			_ = c.Close()
		}
		return err
	}

	p := startBinary(t, "lockstep", env)
	admin := p.adminAddr(t)
	for _, ban := range []string{`{"ip": "127.0.0.1", "reason": "flood"}`, `{"ip": "198.51.100.0/24", "duration": "1h"}`} {
		if code, body := call(admin, "POST", "/admin/bans/ip", ban); code != http.StatusOK {
			t.Fatalf("POST /admin/bans/ip %s = %d %s", ban, code, body)
		}
	}
	if err := dial(p); !errors.Is(err, client.ErrBanned) {
		t.Fatalf("a login from the banned address = %v, want ErrBanned", err)
	}
	p.stop(t)

	p = startBinary(t, "lockstep", env)
	admin = p.adminAddr(t)
	if err := dial(p); !errors.Is(err, client.ErrBanned) || !strings.Contains(err.Error(), "flood") {
		t.Fatalf("after a restart, a login from the banned address = %v, want ErrBanned with the reason", err)
	}
	code, body := call(admin, "GET", "/admin/bans/ip", "")
	if code != http.StatusOK || !strings.Contains(body, `"127.0.0.1/32"`) || !strings.Contains(body, `"198.51.100.0/24"`) {
		t.Fatalf("after a restart, GET /admin/bans/ip = %d %s, want both bans", code, body)
	}
	if code, body := call(admin, "DELETE", "/admin/bans/ip?ip=127.0.0.1", ""); code != http.StatusOK {
		t.Fatalf("DELETE /admin/bans/ip = %d %s", code, body)
	}
	if err := dial(p); err != nil {
		t.Fatalf("a login after the ban was lifted: %v", err)
	}
	p.stop(t)

	p = startBinary(t, "lockstep", env)
	defer p.stop(t)
	if err := dial(p); err != nil {
		t.Fatalf("after a restart, a login from the unbanned address: %v", err)
	}
	loaded := false
	for _, line := range strings.Split(p.logs(), "\n") {
		loaded = loaded || strings.Contains(line, `"msg":"znet: IP bans loaded"`) && strings.Contains(line, `"bans":1,`)
	}
	if !loaded {
		t.Errorf("the server did not load the one ban left:\n%s", p.logs())
	}
}

// TestLockstepBansSharedAcrossReplicas runs two lockstep server binaries
// on one real Redis, as two pods of the StatefulSet: a player ban and an
// IP ban made through one's admin endpoint close the player on the other
// and refuse it there, within the refresh.
func TestLockstepBansSharedAcrossReplicas(t *testing.T) {
	if err := buildLockstep(); err != nil {
		t.Fatal(err)
	}
	rs := redistest.Start(t)
	a := startBinary(t, "lockstep", append(redisAdminEnv(t, rs), "ZINX_NODEID=1", "ZINX_ACCOUNT_BANREFRESH=200ms"))
	defer a.stop(t)
	b := startBinary(t, "lockstep", append(redisAdminEnv(t, rs), "ZINX_NODEID=2", "ZINX_ACCOUNT_BANREFRESH=200ms"))
	defer b.stop(t)
	adminA := a.adminAddr(t)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, closed := dialWatched(ctx, t, b.addr, "eve")
	defer c.Close()
	id, tok := c.PlayerID(), c.Token()

	// The player ban, made on a, where the player is not.
	if code, body := adminCall(t, adminA, operatorToken, "POST", fmt.Sprintf("/admin/players/%d/ban", id), `{"duration": "1h", "reason": "griefing"}`); code != http.StatusOK || !strings.Contains(body, `"kicked":false`) {
		t.Fatalf("ban on a = %d %s, want 200 with the player not online there", code, body)
	}
	select {
	case err := <-closed:
		if !errors.Is(err, client.ErrBanned) || !strings.Contains(err.Error(), "griefing") {
			t.Fatalf("the player on b closed with %v, want ErrBanned with the reason", err)
		}
	case <-ctx.Done():
		t.Fatal("the player banned on a was not closed on b")
	}
	if _, err := client.DialLockstep(ctx, b.addr, client.Player{Name: "eve", Token: tok}, client.Handler{}); !errors.Is(err, client.ErrBanned) {
		t.Fatalf("the banned token's login on b = %v, want ErrBanned", err)
	}

	// The IP ban, made on a: b refuses the address within the refresh.
	if code, body := adminCall(t, adminA, operatorToken, "POST", "/admin/bans/ip", `{"ip": "127.0.0.1", "duration": "1h", "reason": "flood"}`); code != http.StatusOK {
		t.Fatalf("IP ban on a = %d %s", code, body)
	}
	for {
		_, err := client.DialLockstep(ctx, b.addr, client.Player{Name: "new"}, client.Handler{})
		if errors.Is(err, client.ErrBanned) && strings.Contains(err.Error(), "flood") {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("b never refused the address banned on a; last login: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
