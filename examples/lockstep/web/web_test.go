package web

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	jsclient "github.com/zinxgame/zinxgame/client/js"
	"github.com/zinxgame/zinxgame/game/lockstep"
	"github.com/zinxgame/zinxgame/zconf"
)

func get(t *testing.T, h http.Handler, path string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestContentTypes(t *testing.T) {
	h := Handler(Config{WsPort: 9000})
	for path, want := range map[string]string{
		"/":                               "text/html; charset=utf-8",
		"/demo.js":                        "text/javascript; charset=utf-8",
		"/sim.js":                         "text/javascript; charset=utf-8",
		"/style.css":                      "text/css; charset=utf-8",
		"/config.json":                    "application/json",
		"/client/src/index.js":            "text/javascript; charset=utf-8",
		"/client/gen/lspb/lockstep_pb.js": "text/javascript; charset=utf-8",
	} {
		resp := get(t, h, path, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", path, resp.Status)
			continue
		}
		if got := resp.Header.Get("Content-Type"); got != want {
			t.Errorf("GET %s: Content-Type %q, want %q", path, got, want)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", path)
		}
	}
	for _, path := range []string{"/nope", "/client/", "/client/../web.go", "/web.go", "/index.html/"} {
		if resp := get(t, h, path, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %s, want 404", path, resp.Status)
		}
	}
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("x"))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d", rec.Code)
	}
}

// TestClientServed checks every file of the client library is served, byte
// for byte, and that every import map target exists: the page loads with
// no bundler only if each module it imports resolves.
func TestClientServed(t *testing.T) {
	h := Handler(Config{})
	n := 0
	err := fs.WalkDir(jsclient.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		want, err := fs.ReadFile(jsclient.FS(), p)
		if err != nil {
			return err
		}
		if got := body(t, get(t, h, ClientPrefix+p, nil)); !bytes.Equal(got, want) {
			t.Errorf("%s%s: %d bytes served, file has %d", ClientPrefix, p, len(got), len(want))
		}
		n++
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("walking the client: %d files, %v", n, err)
	}
	var im struct{ Imports map[string]string }
	if err := json.Unmarshal([]byte(jsclient.ImportMap(ClientPrefix)), &im); err != nil || len(im.Imports) == 0 {
		t.Fatalf("import map: %v %v", im, err)
	}
	for spec, target := range im.Imports {
		if resp := get(t, h, target, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("import map %s -> %s: %s", spec, target, resp.Status)
		}
	}
}

// TestPageImports checks the page inlines the import map and that each
// module demo.js imports by path is served.
func TestPageImports(t *testing.T) {
	h := Handler(Config{})
	page := string(body(t, get(t, h, "/", nil)))
	m := regexp.MustCompile(`(?s)<script type="importmap">(.*?)</script>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no import map in the page:\n%s", page)
	}
	var im struct{ Imports map[string]string }
	if err := json.Unmarshal([]byte(m[1]), &im); err != nil {
		t.Fatalf("the page's import map: %v", err)
	}
	if im.Imports["@bufbuild/protobuf"] == "" {
		t.Errorf("the import map lacks @bufbuild/protobuf: %v", im.Imports)
	}
	if strings.Contains(page, importMapMarker) {
		t.Error("the marker is still in the page")
	}
	demo := string(body(t, get(t, h, "/demo.js", nil)))
	imports := regexp.MustCompile(`(?m)^import .* from "([^"]+)";`).FindAllStringSubmatch(demo, -1)
	if len(imports) < 2 {
		t.Fatalf("demo.js imports %v", imports)
	}
	for _, imp := range imports {
		if resp := get(t, h, imp[1], nil); resp.StatusCode != http.StatusOK {
			t.Errorf("demo.js imports %s: %s", imp[1], resp.Status)
		}
	}
}

func TestGzip(t *testing.T) {
	h := Handler(Config{})
	for _, path := range []string{"/", "/demo.js", "/client/src/lockstep.js"} {
		plain := get(t, h, path, nil)
		if plain.Header.Get("Content-Encoding") != "" {
			t.Errorf("%s: encoded without Accept-Encoding", path)
		}
		want := body(t, plain)
		for _, ae := range []string{"gzip", "gzip, deflate, br, zstd", "br;q=1, gzip;q=0.5", "*"} {
			resp := get(t, h, path, map[string]string{"Accept-Encoding": ae})
			if resp.Header.Get("Content-Encoding") != "gzip" {
				t.Errorf("%s with %q: not gzipped", path, ae)
				continue
			}
			if !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
				t.Errorf("%s: no Vary: Accept-Encoding", path)
			}
			zr, err := gzip.NewReader(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(zr)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: gzip body differs (%v)", path, err)
			}
		}
		for _, ae := range []string{"identity", "gzip;q=0", "br", "gzip;q=0, *"} {
			if resp := get(t, h, path, map[string]string{"Accept-Encoding": ae}); resp.Header.Get("Content-Encoding") != "" {
				t.Errorf("%s with %q: encoded %q", path, ae, resp.Header.Get("Content-Encoding"))
			}
		}
	}
}

func TestETag(t *testing.T) {
	h := Handler(Config{})
	resp := get(t, h, "/sim.js", nil)
	tag := resp.Header.Get("ETag")
	if tag == "" {
		t.Fatal("no ETag")
	}
	if resp := get(t, h, "/sim.js", map[string]string{"If-None-Match": `"other", ` + tag}); resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match with its tag: %s", resp.Status)
	}
	if resp := get(t, h, "/sim.js", map[string]string{"If-None-Match": `"other"`}); resp.StatusCode != http.StatusOK {
		t.Errorf("If-None-Match with another tag: %s", resp.Status)
	}
}

func TestConfigJSON(t *testing.T) {
	nc := zconf.Default()
	nc.WsPort, nc.WsPath, nc.Framing, nc.MaxPackageSize = 9123, "/ws", "be", 8192
	ls := lockstep.DefaultConfig()
	ls.TickRate, ls.MaxPlayers = 20, 3
	h := Handler(ConfigFor(nc, ls))
	for host, want := range map[string]string{
		"192.168.1.5:8080":    "ws://192.168.1.5:9123/ws",
		"example.com":         "ws://example.com:9123/ws",
		"[::1]:8080":          "ws://[::1]:9123/ws",
		"evil.com/\"<x>:8080": "",
		"a b":                 "",
	} {
		req := httptest.NewRequest(http.MethodGet, "/config.json", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if want == "" {
			if rec.Code != http.StatusBadRequest {
				t.Errorf("Host %q: %d, want 400", host, rec.Code)
			}
			continue
		}
		var pc pageConfig
		if err := json.Unmarshal(rec.Body.Bytes(), &pc); err != nil {
			t.Fatalf("Host %q: %v: %s", host, err, rec.Body.Bytes())
		}
		if pc.WsURL != want {
			t.Errorf("Host %q: wsUrl %q, want %q", host, pc.WsURL, want)
		}
		if pc.TickRate != 20 || pc.Players != 3 || !pc.BigEndian || pc.MaxPayload != 8192 ||
			pc.IDs.Ping != 65534 || pc.IDs.Notice != 65535 || pc.IDs.ServerPing != 65533 {
			t.Errorf("config.json %+v", pc)
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Error("config.json may be cached")
		}
	}
	fixed := Handler(Config{WsURL: "wss://game.example/ws", PingMsgID: zconf.MsgIDOff})
	var pc pageConfig
	if err := json.Unmarshal(body(t, get(t, fixed, "/config.json", nil)), &pc); err != nil {
		t.Fatal(err)
	}
	if pc.WsURL != "wss://game.example/ws" || pc.IDs.Ping != 0 || pc.MaxPayload != 4096 {
		t.Errorf("config.json %+v", pc)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{
		"": false, "gzip": true, "GZIP": true, "x-gzip": true, "deflate": false, "gzip;q=0": false,
		"gzip; q=0.001": true, "*;q=0": false, "*": true, "gzip;q=0, *": false, "*, gzip;q=0": false, "br, *;q=0.1": true,
	} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v", h, got)
		}
	}
}
