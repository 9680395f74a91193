package client

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/znet"
)

// TestOperatorRefusalsAreTyped: a login refused for maintenance is
// ErrMaintenance (with ERROR_UNAVAILABLE), a banned address is ErrBanned,
// and an operator's announcement reaches OnNotice.
func TestOperatorRefusalsAreTyped(t *testing.T) {
	s := startServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	notices := make(chan znet.Notice, 4)
	c, err := DialLockstep(ctx, s.addr, Player{Name: "ann"}, Handler{OnNotice: func(n znet.Notice) { notices <- n }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n, err := s.srv.AdminBroadcast(znet.Notice{Code: znet.NoticeAnnouncement, Reason: "hello"}); err != nil || n != 1 {
		t.Fatalf("AdminBroadcast = %d, %v", n, err)
	}
	select {
	case n := <-notices:
		if n.Code != znet.NoticeAnnouncement || n.Reason != "hello" {
			t.Fatalf("OnNotice got %+v", n)
		}
	case <-ctx.Done():
		t.Fatal("OnNotice never got the announcement")
	}

	s.srv.SetMaintenance(true, "back soon")
	_, err = DialLockstep(ctx, s.addr, Player{Name: "new"}, Handler{})
	if !errors.Is(err, ErrMaintenance) || Code(err) != commonpb.ErrorCode_ERROR_UNAVAILABLE || !strings.Contains(err.Error(), "back soon") {
		t.Fatalf("a login in maintenance = %v, want ErrMaintenance with ERROR_UNAVAILABLE and the reason", err)
	}
	if permanent(err) {
		t.Fatal("maintenance counted as permanent: a reconnecting client would give up")
	}
	s.srv.SetMaintenance(false, "")

	if _, err := s.srv.BanIP(context.Background(), netip.MustParsePrefix("127.0.0.1/32"), time.Minute, "abuse"); err != nil {
		t.Fatal(err)
	}
	_, err = DialLockstep(ctx, s.addr, Player{Name: "blocked"}, Handler{})
	if !errors.Is(err, ErrBanned) || !strings.Contains(err.Error(), "abuse") || !permanent(err) {
		t.Fatalf("a login from a banned address = %v, want a permanent ErrBanned with the reason", err)
	}
	select {
	case <-c.Done():
		if !errors.Is(c.Err(), ErrBanned) || !strings.Contains(c.Err().Error(), "abuse") {
			t.Fatalf("the connected client closed with %v, want ErrBanned with the reason", c.Err())
		}
	case <-ctx.Done():
		t.Fatal("the connected client from the banned address was not closed")
	}
}

// TestBannedAtAcceptIsErrBanned: a server that refuses at accept sends
// its notice before the client has sent anything, and it can be read and
// routed before the client has set up the connection's link; the login
// still fails as ErrBanned with the reason, every time.
func TestBannedAtAcceptIsErrBanned(t *testing.T) {
	s := startServer(t, nil)
	if _, err := s.srv.BanIP(context.Background(), netip.MustParsePrefix("127.0.0.1/32"), time.Minute, "abuse"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range 100 {
		_, err := DialLockstep(ctx, s.addr, Player{Name: "blocked"}, Handler{})
		if !errors.Is(err, ErrBanned) || !strings.Contains(err.Error(), "abuse") {
			t.Fatalf("login %d from a banned address = %v, want ErrBanned with the reason", i, err)
		}
	}
}
