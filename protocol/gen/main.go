// Command gen regenerates the Go code of protocol's packages from their
// .proto files (protocol/<package>/*.proto, generated beside them).
// It builds protoc-gen-go at the version go.mod pins, so the generated code
// matches the runtime library, and runs Debian's protoc with it. Run it with
// `go generate ./protocol` (from the repository root or protocol/).
//
// With a directory argument it regenerates that one directory's .proto
// files instead, beside them, for a game's own protocol outside protocol/
// (examples/pong/pongpb runs `go run github.com/zinxgame/zinxgame/protocol/gen .`
// from its go:generate line). Such a directory's files import one another
// by their bare names.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run() error {
	dir := ""
	switch len(os.Args) {
	case 1:
	case 2:
		dir = os.Args[1]
	default:
		return fmt.Errorf("usage: gen [directory of .proto files]")
	}
	if _, err := exec.LookPath("protoc"); err != nil {
		return fmt.Errorf("protoc not found; install Debian's protobuf-compiler: %w", err)
	}
	bin, err := os.MkdirTemp("", "protoc-gen-go")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	install := exec.Command("go", "build", "-o", filepath.Join(bin, "protoc-gen-go"), "google.golang.org/protobuf/cmd/protoc-gen-go")
	install.Stdout, install.Stderr = os.Stdout, os.Stderr
	if err := install.Run(); err != nil {
		return fmt.Errorf("building protoc-gen-go: %w", err)
	}
	// Each package's .proto files sit in its directory; protoc runs from
	// protocol/, so imports name them by path (commonpb/common.proto) and
	// each generated file lands beside its .proto file.
	pattern, root := "*/*.proto", "."
	if dir != "" {
		pattern, root = filepath.Join(dir, "*.proto"), dir
	}
	protos, err := filepath.Glob(pattern)
	if err != nil || len(protos) == 0 {
		return fmt.Errorf("no .proto files match %s in %s (run from protocol/, or name a directory)", pattern, mustWd())
	}
	if dir != "" {
		for i, p := range protos {
			protos[i] = filepath.Base(p) // relative to --proto_path
		}
	}
	args := append([]string{"--plugin=protoc-gen-go=" + filepath.Join(bin, "protoc-gen-go"),
		"--proto_path=" + root, "--go_out=" + root, "--go_opt=paths=source_relative"}, protos...)
	protoc := exec.Command("protoc", args...)
	protoc.Stdout, protoc.Stderr = os.Stdout, os.Stderr
	if err := protoc.Run(); err != nil {
		return fmt.Errorf("protoc: %w", err)
	}
	return nil
}

func mustWd() string {
	wd, _ := os.Getwd()
	return wd
}
