package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/game/store/redisstore"
	"github.com/zinxgame/zinxgame/internal/redistest"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/mmopb"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

// TestMMOSIGTERMSavesEveryPlayer: the MMO server, persisting to a real
// Redis, gets SIGTERM with 200 logged-in players online; afterwards every
// player's record, with its last position, is in Redis.
func TestMMOSIGTERMSavesEveryPlayer(t *testing.T) {
	redis.SetLogger(quietRedis{})
	rs := redistest.Start(t)
	p := startBinary(t, "mmo", []string{
		"ZINX_MODE=tcp", "ZINX_REDIS_ADDR=" + rs.Addr, "ZINX_AUTH_SECRET=" + strings.Repeat("k", 32),
		"ZINX_REDIS_SPILLFILE=" + filepath.Join(t.TempDir(), "mmo.spill"), // not in the source tree
		"ZINX_CONNRATEPERIP=0", "ZINX_ACCOUNT_NEWIDENTITYRATE=-1", // 200 new identities from one IP
		"ZINX_BLOCKINGPOOLSIZE=16", // logins and record loads find it full: refused logins are retried, record loads too
	})
	cfg := zconf.Default()
	cfg.WorkerPoolSize = zconf.Off
	cfg.MaxConn = 300
	cl, err := znet.NewClient(cfg, znet.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	const n = 200
	type player struct {
		conn    *znet.Connection
		account chan uint64
		done    chan struct{}
		x, z    float32
	}
	var mu sync.Mutex
	players := map[uint64]*player{} // by connection ID
	route := func(req ziface.IRequest) {
		mu.Lock()
		pl := players[req.GetConnection().GetConnID()]
		mu.Unlock()
		if pl == nil {
			return
		}
		switch req.GetMsgID() {
		case mmopb.MsgMmoError:
			// A burst of 200 logins can find the server's blocking pool
			// full: it answers ERROR_BUSY ("try again"), and a client does.
			var e commonpb.Error
			if proto.Unmarshal(req.GetData(), &e) == nil && e.Code == commonpb.ErrorCode_ERROR_BUSY && e.RequestId == mmopb.MsgMmoLogin {
				c := req.GetConnection()
				time.AfterFunc(50*time.Millisecond, func() {
					b, _ := proto.Marshal(&commonpb.Login{Name: "again"})
					_ = c.SendMsg(mmopb.MsgMmoLogin, b)
				})
			}
		case mmopb.MsgMmoLoginAck:
			var a commonpb.LoginAck
			if proto.Unmarshal(req.GetData(), &a) == nil {
				pl.account <- a.PlayerId
			}
		case mmopb.MsgBroadCast:
			var b mmopb.BroadCast
			if proto.Unmarshal(req.GetData(), &b) == nil && b.GetContent() == fmt.Sprintf("moved %d", req.GetConnection().GetConnID()) {
				close(pl.done)
			}
		}
	}
	cl.SetNotFound(route)
	var all []*player
	for i := range n {
		c, err := cl.Dial(context.Background(), p.addr)
		if err != nil {
			t.Fatal(err)
		}
		pl := &player{conn: c, account: make(chan uint64, 1), done: make(chan struct{}), x: 90 + float32(i), z: 80 + float32(i)}
		mu.Lock()
		players[c.GetConnID()] = pl
		mu.Unlock()
		all = append(all, pl)
	}
	send := func(c *znet.Connection, id uint32, m proto.Message) {
		b, _ := proto.Marshal(m)
		if err := c.SendMsg(id, b); err != nil {
			t.Fatal(err)
		}
	}
	accounts := map[uint64]*player{}
	for i, pl := range all {
		send(pl.conn, mmopb.MsgMmoLogin, &commonpb.Login{Name: fmt.Sprint("p", i)})
	}
	for _, pl := range all {
		select {
		case id := <-pl.account:
			accounts[id] = pl
		case <-time.After(20 * time.Second):
			t.Fatalf("no LoginAck; server log:\n%s", p.logs())
		}
		send(pl.conn, mmopb.MsgMove, &mmopb.Position{X: pl.x, Z: pl.z})
		// Its own chat back means the server has applied the move.
		send(pl.conn, mmopb.MsgTalk, &mmopb.Talk{Content: fmt.Sprintf("moved %d", pl.conn.GetConnID())})
	}
	for _, pl := range all {
		select {
		case <-pl.done:
		case <-time.After(20 * time.Second):
			t.Fatal("a move was not confirmed")
		}
	}

	p.stop(t) // SIGTERM with all 200 online

	rc := zconf.DefaultRedis()
	rc.Addr, rc.SpillFile = rs.Addr, zconf.SpillOff // a reader: it writes nothing
	st, err := redisstore.New(context.Background(), rc, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	for id, pl := range accounts {
		rec, ok, err := st.LoadPlayer(context.Background(), id)
		if err != nil || !ok {
			t.Fatalf("player %d not in Redis after SIGTERM: %v, %v; server log:\n%s", id, ok, err, p.logs())
		}
		if rec.X != pl.x || rec.Z != pl.z {
			t.Fatalf("player %d saved at (%v, %v), want (%v, %v)", id, rec.X, rec.Z, pl.x, pl.z)
		}
	}
	if len(accounts) != n {
		t.Fatalf("%d accounts, want %d", len(accounts), n)
	}
}
