package redistest_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/internal/redistest"
)

// do sends one inline command and returns the first line of the reply.
func do(t *testing.T, addr, cmd string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(line)
}

func TestKillRestart(t *testing.T) {
	s := redistest.Start(t, redistest.Persistent())
	if !strings.HasPrefix(s.Addr, "127.0.0.1:") || strings.HasSuffix(s.Addr, ":6379") {
		t.Fatalf("Addr = %s, want a private loopback port", s.Addr)
	}
	if got := do(t, s.Addr, "SET k v"); got != "+OK" {
		t.Fatalf("SET = %q", got)
	}
	s.Kill()
	if s.Running() {
		t.Fatal("running after Kill")
	}
	if _, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		t.Fatal("something still listens after Kill")
	}
	s.Restart()
	if got := do(t, s.Addr, "GET k"); got != "$1" {
		t.Fatalf("GET after restart = %q, want the value kept by the append-only file", got)
	}
	if got := do(t, s.Addr, "CONFIG GET save"); got != "*2" {
		t.Fatalf("CONFIG GET save = %q", got)
	}
}

func TestNewDoesNotStart(t *testing.T) {
	s := redistest.New(t)
	if _, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		t.Fatal("New started a server")
	}
	s.Start()
	if got := do(t, s.Addr, "PING"); got != "+PONG" {
		t.Fatalf("PING = %q", got)
	}
}
