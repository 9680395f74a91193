package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestServe is `bot -serve -mode quick`: a whole match in this process, its
// result and both players' stats read back.
func TestServe(t *testing.T) {
	addr, shutdown, err := startServer()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	err = match(ctx, addr, "quick", &out)
	if serr := shutdown(); serr != nil {
		t.Errorf("shutdown: %v", serr)
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, &out)
	}
	if s := out.String(); !strings.Contains(s, "END_POINTS") || strings.Count(s, "1 wins") != 1 || strings.Count(s, "1 losses") != 1 {
		t.Fatalf("report:\n%s", s)
	}
}
