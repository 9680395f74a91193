package redisstore

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/internal/redistest"
	"github.com/zinxgame/zinxgame/zconf"
)

// A batch sent again after a failed attempt may find some of its frames
// stored already (Redis took them before the connection broke): on a
// resend, the XADD refused for an ID not above the stream's last counts as
// stored. On a first send the same refusal is a real conflict, dropped
// and counted.
func TestResendIsIdempotent(t *testing.T) {
	rc := zconf.DefaultRedis()
	rc.Addr, rc.FlushInterval = redistest.Start(t).Addr, 10*time.Second
	rc.SpillFile = zconf.SpillOff
	s, err := New(context.Background(), rc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	batch := []op{{kind: opFrame, id: 1, frame: 1, data: []byte("a")}, {kind: opFrame, id: 1, frame: 2, data: []byte("b")},
		{kind: opPlayer, id: 3, key: s.playerKey(3), fields: []any{"name", "c"}}}
	if refused, err := s.send(batch[:1], false); err != nil || refused != 0 {
		t.Fatalf("first send: %d refused, %v", refused, err)
	}
	if refused, err := s.send(batch, true); err != nil || refused != 0 {
		t.Fatalf("resend: %d refused, %v", refused, err)
	}
	if refused, err := s.send(batch, false); err != nil || refused != 2 {
		t.Fatalf("the same frames sent fresh: %d refused (%v), want 2", refused, err)
	}
	if n := s.rdb.XLen(context.Background(), s.framesKey(1)).Val(); n != 2 {
		t.Fatalf("%d frames stored, want 2", n)
	}
}
