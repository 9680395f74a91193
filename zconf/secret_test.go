package zconf_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/zinxgame/zinxgame/zconf"
)

const testToken = "0123456789abcdef-very-secret"

func TestAdminTokenFromEnvironment(t *testing.T) {
	c, err := zconf.Load(zconf.Source{Environ: []string{"ZINX_ADMINTOKEN=" + testToken}})
	if err != nil {
		t.Fatal(err)
	}
	if string(c.AdminToken) != testToken {
		t.Fatalf("AdminToken = %d bytes, want the %d from ZINX_ADMINTOKEN", len(c.AdminToken), len(testToken))
	}
}

func TestAdminTokenTooShort(t *testing.T) {
	c := zconf.Default()
	c.AdminToken = "short-secret"
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "AdminToken is 12 bytes: must be at least 16") {
		t.Fatalf("Validate() = %v, want the AdminToken length error", err)
	}
	if strings.Contains(err.Error(), "short-secret") {
		t.Fatalf("the error %q shows the token", err)
	}
	c.AdminToken = testToken
	if err := c.Validate(); err != nil {
		t.Fatalf("a %d-byte token: Validate() = %v", len(testToken), err)
	}
}

// TestAdminTokenNeverPrinted: a Config printed with fmt's verbs or logged
// with slog keeps the token out.
func TestAdminTokenNeverPrinted(t *testing.T) {
	c := zconf.Default()
	c.AdminToken = testToken
	var buf bytes.Buffer
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		fmt.Fprintf(&buf, verb+"\n", c)
	}
	for _, format := range []string{"text", "json"} {
		var l *slog.Logger
		if format == "json" {
			l = slog.New(slog.NewJSONHandler(&buf, nil))
		} else {
			l = slog.New(slog.NewTextHandler(&buf, nil))
		}
		l.Info("config", "cfg", c, "token", c.AdminToken)
	}
	out := buf.String()
	if strings.Contains(out, testToken) {
		t.Fatalf("the token was printed:\n%s", out)
	}
	if !strings.Contains(out, "(set)") {
		t.Fatalf("the output does not say the token is set:\n%s", out)
	}
}
