package jsclient

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/game/lockstep"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// TestOperatorControls runs test/operator/ against a real lockstep server
// with its admin listener and operator token on: the JS client hears a
// broadcast, is refused in maintenance and keeps trying, and stops for a
// player ban and an IP ban, each made through the admin endpoints.
func TestOperatorControls(t *testing.T) {
	node := needNode(t)
	const token = "js-operator-token-0123456789"
	lc := lockstep.DefaultConfig()
	lc.Shards = 1
	ls, err := lockstep.New(lc, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ls.Close)
	zc := znettest.Config()
	zc.AdminToken = zconf.Secret(token)
	zc.LogLevel = "info"
	ts := znettest.NewServer(t, zc, func(srv *znet.Server) {
		if err := srv.Mount("lockstep", ls); err != nil {
			t.Fatal(err)
		}
	}, znettest.WithWebSocket())
	hs := httptest.NewServer(ts.Server.AdminHandler())
	t.Cleanup(hs.Close)
	admin := hs.URL

	runNode(t, node, 60*time.Second, []string{"ZINX_WS_URL=" + ts.URL, "ZINX_ADMIN_URL=" + admin, "ZINX_ADMIN_TOKEN=" + token},
		"test/operator/operator.test.js")

	// Every operator action the JS test made is in the server's log.
	for _, action := range []string{"broadcast", "maintenance_on", "maintenance_off", "player_ban", "ip_ban", "ip_unban"} {
		if !strings.Contains(ts.Logs(), "action="+action+" ") {
			t.Errorf("no %s operator action in the server's log", action)
		}
	}
}
