package botkit

import (
	"context"
	"strings"

	"github.com/zinxgame/zinxgame/znet"
)

// The bots take one address syntax for every transport, the client
// package's: host:port is TCP and kcp://host:port is KCP, so that one
// -addr flag names both the server and how to reach it.

// KCPScheme prefixes a KCP address (kcp://host:port).
const KCPScheme = "kcp://"

// HostPort is addr without its transport prefix, for the checks that
// look at the host.
func HostPort(addr string) string {
	hp, _ := strings.CutPrefix(addr, KCPScheme)
	return hp
}

// IsKCP reports whether addr names a KCP server.
func IsKCP(addr string) bool { return strings.HasPrefix(addr, KCPScheme) }

// Dial connects cl to addr over the transport it names. Safe for
// concurrent use, as cl's dials are.
func Dial(ctx context.Context, cl *znet.Client, addr string) (*znet.Connection, error) {
	if hp, ok := strings.CutPrefix(addr, KCPScheme); ok {
		return cl.DialKCP(ctx, hp)
	}
	return cl.Dial(ctx, addr)
}
