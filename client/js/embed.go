// Package jsclient embeds the browser client library (client/js: src/, the
// generated protobuf code in gen/ and the vendored @bufbuild/protobuf runtime
// in vendor/) so a Go server can serve it to pages with no bundler and no
// npm at run time: serve FS() under a prefix and put ImportMap(prefix) in
// the page's <script type="importmap">.
package jsclient

import (
	"embed"
	"encoding/json"
	"io/fs"
	"strings"
)

// files is read-only (embed.FS); it is unexported so no caller can swap it.
//
//go:embed src gen vendor
var files embed.FS

// FS returns the client's files: src/ (the library, src/index.js its entry
// point), gen/ (protoc-gen-es output) and vendor/@bufbuild/protobuf/ (the
// runtime's ESM build). Safe for concurrent use.
func FS() fs.FS { return files }

// ImportMap returns the JSON import map a page needs when FS() is served
// under prefix (such as "/client/"; a missing trailing slash is added): it
// maps the runtime's bare specifiers to the vendored files. The JSON escapes
// <, > and &, so it can be put inside a <script> element as it is. Safe for
// concurrent use.
func ImportMap(prefix string) string {
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	// @bufbuild/protobuf's package exports (its package.json "exports", ESM
	// side): the generated code imports /codegenv2, the library the root;
	// the rest are mapped so a page's own code may use them.
	entries := []struct{ specifier, file string }{
		{"@bufbuild/protobuf", "index.js"},
		{"@bufbuild/protobuf/codegenv1", "codegenv1/index.js"},
		{"@bufbuild/protobuf/codegenv2", "codegenv2/index.js"},
		{"@bufbuild/protobuf/reflect", "reflect/index.js"},
		{"@bufbuild/protobuf/wire", "wire/index.js"},
		{"@bufbuild/protobuf/wkt", "wkt/index.js"},
	}
	imports := make(map[string]string, len(entries))
	for _, e := range entries {
		imports[e.specifier] = prefix + "vendor/@bufbuild/protobuf/" + e.file
	}
	b, err := json.MarshalIndent(map[string]any{"imports": imports}, "", "  ")
	if err != nil {
		// A map of strings always marshals.
		panic(err)
	}
	return string(b)
}
