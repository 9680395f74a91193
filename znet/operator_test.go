package znet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zinxgame/zinxgame/zconf"
)

func newTestLogger(logs *logBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

const opsToken = "test-admin-token-0123456789"

// opsConfig is testConfig with the operator endpoints on.
func opsConfig() zconf.Config {
	cfg := testConfig()
	cfg.AdminToken = opsToken
	cfg.ConnRatePerIP = zconf.Off
	return cfg
}

// serveAdmin serves srv's admin endpoints on a loopback port and returns
// its base URL.
func serveAdmin(t *testing.T, srv *Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// It returns once the server's shutdown has completed (goleak checks).
	go func() { _ = srv.ServeAdmin(l) }()
	return "http://" + l.Addr().String()
}

// opsCall sends one operator request with token (none when empty) and
// returns the status, the headers and the decoded JSON body.
func opsCall(t *testing.T, method, url, token string, body any) (int, http.Header, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	_ = json.Unmarshal(raw, &out)
	if len(out) == 0 {
		out["raw"] = string(raw)
	}
	return resp.StatusCode, resp.Header, out
}

func TestAdminTokenOffMountsNothing(t *testing.T) {
	cfg := testConfig()
	ts := startServer(t, cfg, nil)
	base := serveAdmin(t, ts.Server)
	for _, path := range []string{"/admin/kick", "/admin/bans/ip", "/admin/maintenance"} {
		if code, _, _ := opsCall(t, "GET", base+path, opsToken, nil); code != http.StatusNotFound {
			t.Errorf("GET %s without AdminToken = %d, want 404", path, code)
		}
	}
	if code, _ := httpGet(t, base+"/healthz"); code != 200 {
		t.Fatalf("/healthz = %d", code)
	}
	// Serve runs on its own goroutine, so the listener may not be up yet
	// (the server is not ready before it is): wait for it, bounded.
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, _ := httpGet(t, base+"/readyz")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz = %d after 5s", code)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAdminTokenRequired(t *testing.T) {
	reg := prometheus.NewRegistry()
	logs := &logBuffer{}
	cfg := opsConfig()
	srv, err := NewServer(cfg, WithMetrics(reg), WithLogger(newTestLogger(logs)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	base := serveAdmin(t, srv)
	code, h, body := opsCall(t, "GET", base+"/admin/maintenance", "", nil)
	if code != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") || body["error"] == nil {
		t.Fatalf("no token: %d %v %v; want 401, WWW-Authenticate: Bearer and an error", code, h, body)
	}
	if code, _, _ := opsCall(t, "GET", base+"/admin/maintenance", opsToken+"x", nil); code != http.StatusUnauthorized {
		t.Fatalf("a longer token = %d, want 401", code)
	}
	if code, _, _ := opsCall(t, "GET", base+"/admin/maintenance", opsToken[:len(opsToken)-1], nil); code != http.StatusUnauthorized {
		t.Fatalf("a prefix of the token = %d, want 401", code)
	}
	code, _, body = opsCall(t, "GET", base+"/admin/maintenance", opsToken, nil)
	if code != http.StatusOK || body["on"] != false {
		t.Fatalf("the right token: %d %v; want 200 {on: false}", code, body)
	}
	if code, _ := httpGet(t, base+"/metrics"); code != 200 {
		t.Fatalf("/metrics = %d with the token set: it needs none", code)
	}
	_, m := httpGet(t, base+"/metrics")
	if v := metricValue(t, m, `zinxgame_admin_denied_total{reason="token",server="zinxgame"}`); v != 3 {
		t.Fatalf("denied{token} = %v, want 3", v)
	}
	if v := metricValue(t, m, `zinxgame_admin_actions_total{action="maintenance_get",server="zinxgame"}`); v != 1 {
		t.Fatalf("actions{maintenance_get} = %v, want 1", v)
	}
	if strings.Contains(logs.String(), opsToken) {
		t.Fatalf("the token was logged:\n%s", logs)
	}
}

// TestAdminFailedAttemptsRateLimited: after adminFailBurst failures an
// address is refused 429 even with the right token, and counted.
func TestAdminFailedAttemptsRateLimited(t *testing.T) {
	reg := prometheus.NewRegistry()
	srv, err := NewServer(opsConfig(), WithMetrics(reg), WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	base := serveAdmin(t, srv)
	for i := range adminFailBurst {
		if code, _, _ := opsCall(t, "GET", base+"/admin/maintenance", fmt.Sprintf("wrong-%d", i), nil); code != http.StatusUnauthorized {
			t.Fatalf("failure %d = %d, want 401", i, code)
		}
	}
	code, h, _ := opsCall(t, "GET", base+"/admin/maintenance", opsToken, nil)
	if code != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
		t.Fatalf("after %d failures, the right token = %d (Retry-After %q), want 429", adminFailBurst, code, h.Get("Retry-After"))
	}
	_, m := httpGet(t, base+"/metrics")
	if v := metricValue(t, m, `zinxgame_admin_denied_total{reason="rate_limited",server="zinxgame"}`); v != 1 {
		t.Fatalf("denied{rate_limited} = %v, want 1", v)
	}
}

// TestAdminTokenComparedInConstantTime checks the code: the handler
// compares the token only through tokenMatches, and tokenMatches uses
// crypto/subtle, never ==, on digests of equal length. Timing it would be
// noise on a shared machine; the property is in the code.
func TestAdminTokenComparedInConstantTime(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "operator.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var matches, serve *ast.FuncDecl
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv != nil {
			switch fd.Name.Name {
			case "tokenMatches":
				matches = fd
			case "ServeHTTP":
				serve = fd
			}
		}
	}
	if matches == nil || serve == nil {
		t.Fatal("operator.go lacks tokenMatches or ServeHTTP")
	}
	calls := func(fn *ast.FuncDecl, pkg, name string) bool {
		found := false
		ast.Inspect(fn, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				switch f := call.Fun.(type) {
				case *ast.SelectorExpr:
					if x, ok := f.X.(*ast.Ident); ok && (pkg == "" || x.Name == pkg) && f.Sel.Name == name {
						found = true
					}
				}
			}
			return true
		})
		return found
	}
	if !calls(matches, "subtle", "ConstantTimeCompare") {
		t.Error("tokenMatches does not call subtle.ConstantTimeCompare")
	}
	ast.Inspect(matches, func(n ast.Node) bool {
		if b, ok := n.(*ast.BinaryExpr); ok && (b.Op == token.EQL || b.Op == token.NEQ) {
			if lit, ok := b.Y.(*ast.BasicLit); !ok || lit.Value != "1" {
				t.Errorf("tokenMatches compares with %s at %v", b.Op, fset.Position(b.Pos()))
			}
		}
		return true
	})
	if !calls(serve, "", "tokenMatches") {
		t.Error("ServeHTTP does not check the token with tokenMatches")
	}
	srv, err := NewServer(opsConfig(), WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for tok, want := range map[string]bool{opsToken: true, opsToken + " ": false, "": false, strings.ToUpper(opsToken): false} {
		if got := srv.ops.tokenMatches(tok); got != want {
			t.Errorf("tokenMatches(%q) = %v, want %v", tok, got, want)
		}
	}
}

// TestHandleAdmin: a module's endpoint is served behind the token whether
// it was added before or after the listener started, goes with a failed
// Mount, and a pattern outside /admin/ or a conflict is refused.
func TestHandleAdmin(t *testing.T) {
	srv, err := NewServer(opsConfig(), WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hello := func(word string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { WriteAdminJSON(w, 200, map[string]string{"hello": word}) })
	}
	if _, err := srv.HandleAdmin("GET /admin/before", hello("before")); err != nil {
		t.Fatal(err)
	}
	base := serveAdmin(t, srv)
	remove, err := srv.HandleAdmin("GET /admin/after/{id}", hello("after"))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"/admin/before": "before", "/admin/after/7": "after"} {
		if code, _, body := opsCall(t, "GET", base+path, opsToken, nil); code != 200 || body["hello"] != want {
			t.Fatalf("GET %s = %d %v", path, code, body)
		}
		if code, _, _ := opsCall(t, "GET", base+path, "", nil); code != http.StatusUnauthorized {
			t.Fatalf("GET %s without the token = %d, want 401", path, code)
		}
	}
	remove()
	if code, _, _ := opsCall(t, "GET", base+"/admin/after/7", opsToken, nil); code != http.StatusNotFound {
		t.Fatalf("a removed route = %d, want 404", code)
	}
	for _, p := range []string{"GET /metrics2", "GET host/admin/x", "/debug/x", "POST /admin/kick"} {
		if _, err := srv.HandleAdmin(p, hello("x")); err == nil {
			t.Errorf("HandleAdmin(%q) = nil, want an error", p)
		}
	}
	err = srv.Mount("failing", ModuleFunc(func(m *Mount) error {
		if err := m.HandleAdmin("GET /admin/failing", hello("failing")); err != nil {
			return err
		}
		return fmt.Errorf("a later step failed")
	}))
	if err == nil {
		t.Fatal("the failing module mounted")
	}
	if code, _, _ := opsCall(t, "GET", base+"/admin/failing", opsToken, nil); code != http.StatusNotFound {
		t.Fatalf("a failed module's route = %d, want 404", code)
	}
}

func TestAdminBodyBoundedAndStrict(t *testing.T) {
	srv, err := NewServer(opsConfig(), WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	base := serveAdmin(t, srv)
	big := map[string]any{"message": strings.Repeat("x", 2*maxAdminBody)}
	if code, _, body := opsCall(t, "POST", base+"/admin/broadcast", opsToken, big); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("a %d-byte body = %d %v, want 413", 2*maxAdminBody, code, body)
	}
	// net/http lingers 500ms on a connection whose body was cut short
	// (closeWriteAndWait) before its goroutine ends; goleak would see it.
	defer time.Sleep(700 * time.Millisecond)
	if code, _, _ := opsCall(t, "POST", base+"/admin/broadcast", opsToken, map[string]any{"message": "hi", "colour": "red"}); code != http.StatusBadRequest {
		t.Fatalf("an unknown field = %d, want 400", code)
	}
	long := map[string]any{"message": strings.Repeat("x", MaxBroadcastBytes+1)}
	if code, _, _ := opsCall(t, "POST", base+"/admin/broadcast", opsToken, long); code != http.StatusBadRequest {
		t.Fatalf("a message over MaxBroadcastBytes = %d, want 400", code)
	}
}
