package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// asset is one served file, read and compressed once: the page's files
// never change while the process runs.
type asset struct {
	body, gz []byte // gz is nil when gzip does not make it smaller
	ctype    string
	etag     string
}

// contentTypes are set explicitly rather than from the system's MIME
// tables, which differ between machines (some say application/javascript,
// and a module script must be served as JavaScript).
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".mjs":  "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".json": "application/json",
	".map":  "application/json",
	".ts":   "text/plain; charset=utf-8", // the runtime's .d.ts files
	".md":   "text/plain; charset=utf-8",
}

// importMapMarker is where index.html takes the client's import map.
const importMapMarker = "<!--importmap-->"

// loadAssets reads the page's files and the client library's (served under
// ClientPrefix), with the import map inlined into index.html.
func loadAssets(page, client fs.FS, importMap string) (map[string]*asset, error) {
	as := map[string]*asset{}
	add := func(urlPath string, body []byte) error {
		a, err := newAsset(urlPath, body)
		if err != nil {
			return err
		}
		as[urlPath] = a
		return nil
	}
	index, err := fs.ReadFile(page, "index.html")
	if err != nil {
		return nil, err
	}
	if !bytes.Contains(index, []byte(importMapMarker)) {
		return nil, fmt.Errorf("index.html has no %s", importMapMarker)
	}
	// JSON may hold "</script>" only inside a string, where \u003c means
	// the same: escaped, it cannot end the script element early.
	im := strings.ReplaceAll(importMap, "<", `\u003c`)
	index = bytes.Replace(index, []byte(importMapMarker),
		[]byte(`<script type="importmap">`+im+`</script>`), 1)
	if err := add("/", index); err != nil {
		return nil, err
	}
	for _, name := range []string{"demo.js", "sim.js", "style.css"} {
		body, err := fs.ReadFile(page, name)
		if err != nil {
			return nil, err
		}
		if err := add("/"+name, body); err != nil {
			return nil, err
		}
	}
	err = fs.WalkDir(client, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(client, p)
		if err != nil {
			return err
		}
		return add(ClientPrefix+p, body)
	})
	if err != nil {
		return nil, fmt.Errorf("the client library: %w", err)
	}
	return as, nil
}

func newAsset(urlPath string, body []byte) (*asset, error) {
	ext := path.Ext(urlPath)
	if urlPath == "/" {
		ext = ".html"
	}
	ctype, ok := contentTypes[ext]
	if !ok {
		ctype = "application/octet-stream"
	}
	sum := sha256.Sum256(body)
	a := &asset{body: body, ctype: ctype, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(body); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if buf.Len() < len(body) {
		a.gz = buf.Bytes()
	}
	return a, nil
}

// serve writes a, gzipped when the client accepts it. The page's files
// may change with a new binary, so browsers revalidate (no-cache) with
// the ETag instead of keeping a stale page.
func (a *asset) serve(w http.ResponseWriter, r *http.Request, log *slog.Logger) {
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	h.Add("Vary", "Accept-Encoding")
	if etagMatch(r.Header.Get("If-None-Match"), a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if a.gz != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body = a.gz
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	if _, err := w.Write(body); err != nil {
		log.Debug("web: writing a file", "path", r.URL.Path, "err", err)
	}
}

// acceptsGzip reads an Accept-Encoding header: gzip listed with a q-value
// other than 0, or else "*" with one.
func acceptsGzip(header string) bool {
	gzipQ, starQ := -1.0, -1.0
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		switch strings.ToLower(strings.TrimSpace(coding)) {
		case "gzip", "x-gzip":
			gzipQ = q
		case "*":
			starQ = q
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return starQ > 0
}

// etagMatch reads If-None-Match: a list of tags (weak ones compare by
// their opaque part) or "*".
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}
