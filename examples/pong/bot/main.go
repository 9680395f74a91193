// Command bot plays one pong match (examples/pong) between two bots and
// prints the score and both players' stats as the server reads them back.
// Each bot logs in, asks for a match (Play), and on every State moves its
// paddle towards the ball when it comes its way, aiming off the paddle's
// centre to send it back steep.
//
//	go run ./examples/pong/bot -serve              # a server in this process, in memory
//	go run ./examples/pong/bot -addr 127.0.0.1:8999 -mode quick
//
// Exit status: 0 when the match ended with a winner and the stats read back
// agree with it, 1 otherwise, 2 for bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/examples/pong/pong"
	"github.com/zinxgame/zinxgame/examples/pong/pongpb"
	"github.com/zinxgame/zinxgame/game/account"
	"github.com/zinxgame/zinxgame/game/account/ids"
	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/znet"
)

func main() { os.Exit(cli()) }

func cli() int {
	addr := flag.String("addr", "127.0.0.1:8999", "pong server address")
	serve := flag.Bool("serve", false, "run the pong server in this process on 127.0.0.1:0 instead of using -addr")
	mode := flag.String("mode", "classic", `the mode to play: "classic" (first to 5) or "quick" (first to 2)`)
	timeout := flag.Duration("timeout", 5*time.Minute, "give up after this long")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "bot: unexpected arguments %q\n", flag.Args())
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if *serve {
		a, shutdown, err := startServer()
		if err != nil {
			fmt.Fprintln(os.Stderr, "bot: -serve:", err)
			return 1
		}
		defer func() {
			if err := shutdown(); err != nil {
				fmt.Fprintln(os.Stderr, "bot: server shutdown:", err)
			}
		}()
		*addr = a
	}
	if err := match(ctx, *addr, *mode, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bot:", err)
		return 1
	}
	return 0
}

// startServer runs the pong server in this process, as examples/pong does
// with its defaults (memory stores), on a free loopback port.
func startServer() (addr string, shutdown func() error, err error) {
	cfg := zconf.Default()
	cfg.Host, cfg.LogLevel = "127.0.0.1", "warn"
	log := cfg.NewLogger(os.Stderr)
	srv, err := znet.NewServer(cfg, znet.WithLogger(log))
	if err != nil {
		return "", nil, err
	}
	acc, err := account.New(account.Config{}, account.NewMemoryAccounts(), log)
	if err != nil {
		return "", nil, err
	}
	gen, err := ids.New(0) // rooms (and so matches) numbered apart from the players
	if err != nil {
		return "", nil, err
	}
	g, err := pong.New(pong.Config{IDs: gen.Next}, acc, store.NewMemoryDocStore(store.DocLimits{}), log)
	if err != nil {
		return "", nil, err
	}
	if err := srv.Mount("pong", g); err != nil {
		return "", nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	return l.Addr().String(), func() error {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		err := srv.Shutdown(ctx)
		if serr := <-served; !errors.Is(serr, znet.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		return err
	}, nil
}

// outcome is what one bot saw of its match.
type outcome struct {
	name  string
	end   *pongpb.MatchEnd
	stats *pongpb.Stats // read back with StatsRequest after the match
	err   error
}

// match plays one match between two bots and reports it on w.
func match(ctx context.Context, addr, mode string, w io.Writer) error {
	res := make(chan outcome, 2)
	for _, name := range []string{"ann", "bob"} {
		go func() { res <- play(ctx, addr, mode, name) }()
	}
	a, b := <-res, <-res
	if err := errors.Join(a.err, b.err); err != nil {
		return err
	}
	if !proto.Equal(a.end, b.end) {
		return fmt.Errorf("the bots saw different results: %v and %v", a.end, b.end)
	}
	e := a.end
	fmt.Fprintf(w, "match %d (%s): left %d - %d right, %v after %d ticks, winner player %d\n",
		e.MatchId, mode, e.LeftScore, e.RightScore, e.Reason, e.Ticks, e.WinnerId)
	for _, o := range []outcome{a, b} {
		s := o.stats
		fmt.Fprintf(w, "%s (player %d): %d wins, %d losses, %d points for, %d against\n",
			o.name, s.PlayerId, s.Wins, s.Losses, s.PointsFor, s.PointsAgainst)
		won := s.PlayerId == e.WinnerId
		if s.LastMatchId != e.MatchId || won && s.Wins == 0 || !won && e.WinnerId != 0 && s.Losses == 0 {
			return fmt.Errorf("%s's stats %v do not show match %v", o.name, s, e)
		}
	}
	return nil
}

// play is one bot: login, Play, the match, then its stats.
func play(ctx context.Context, addr, mode, name string) outcome {
	out := outcome{name: name}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		out.err = err
		return out
	}
	defer nc.Close()
	stop := context.AfterFunc(ctx, func() { _ = nc.Close() }) // the context ends the reads
	defer stop()
	c := &conn{nc: nc, pack: znet.NewDataPack(zconf.FramingLE, zconf.Default().MaxPackageSize)}
	var ack commonpb.LoginAck
	var joined pongpb.Joined
	var st pongpb.State
	var end pongpb.MatchEnd
	var stats pongpb.Stats
	dir, asked := pongpb.Dir_DIR_STOP, false
	c.send(pongpb.MsgLogin, &commonpb.Login{Name: name})
	for c.err == nil {
		id, data := c.recv()
		switch id {
		case pongpb.MsgLoginAck:
			c.decode(data, &ack)
			c.send(pongpb.MsgPlay, &pongpb.Play{Mode: mode})
		case pongpb.MsgJoined:
			c.decode(data, &joined)
		case pongpb.MsgState:
			c.decode(data, &st)
			if d := decide(&st, joined.Side); d != dir {
				dir = d
				c.send(pongpb.MsgMove, &pongpb.Move{Dir: d})
			}
		case pongpb.MsgMatchEnd:
			c.decode(data, &end)
			out.end = &end
		case pongpb.MsgStats: // pushed once the result is saved; then read back
			if !asked {
				asked = true
				c.send(pongpb.MsgStatsRequest, &pongpb.StatsRequest{})
				continue
			}
			c.decode(data, &stats)
			out.stats = &stats
			return out
		case pongpb.MsgError:
			var e pongpb.PongError
			c.decode(data, &e)
			if e.Code == pongpb.ErrorCode_ERROR_NOT_IN_MATCH && e.RequestId == pongpb.MsgMove {
				continue // a Move that crossed the match's end
			}
			c.err = fmt.Errorf("refused: %v %s", e.Code, e.Message)
		case pongpb.MsgLoginError:
			var e commonpb.Error
			c.decode(data, &e)
			c.err = fmt.Errorf("login refused: %v %s", e.Code, e.Message)
		}
	}
	out.err = fmt.Errorf("%s: %w", name, c.err)
	return out
}

// decide moves a paddle towards the ball when the ball comes its way,
// aiming 50 units off the paddle's centre.
func decide(st *pongpb.State, side pongpb.Side) pongpb.Dir {
	y, aim, coming := st.LeftY, int32(50), st.BallX < pong.Width/2
	if side == pongpb.Side_SIDE_RIGHT {
		y, aim, coming = st.RightY, -50, !coming
	}
	switch target := st.BallY - aim; {
	case !coming || st.Paused:
		return pongpb.Dir_DIR_STOP
	case target < y-pong.PaddleSpeed:
		return pongpb.Dir_DIR_UP
	case target > y+pong.PaddleSpeed:
		return pongpb.Dir_DIR_DOWN
	}
	return pongpb.Dir_DIR_STOP
}

// conn frames messages on a TCP connection; its first error sticks.
type conn struct {
	nc   net.Conn
	pack *znet.DataPack
	head [znet.HeadLen]byte
	err  error
}

func (c *conn) send(id uint32, m proto.Message) {
	b, err := proto.Marshal(m)
	if err == nil {
		b, err = c.pack.AppendPack(nil, id, b)
	}
	if err == nil {
		_, err = c.nc.Write(b)
	}
	c.err = firstErr(c.err, err)
}

func (c *conn) recv() (uint32, []byte) {
	if c.err != nil {
		return 0, nil
	}
	if _, c.err = io.ReadFull(c.nc, c.head[:]); c.err != nil {
		return 0, nil
	}
	msg, err := c.pack.Unpack(c.head[:])
	if err != nil {
		c.err = err
		return 0, nil
	}
	data := make([]byte, msg.GetDataLen())
	_, c.err = io.ReadFull(c.nc, data)
	return msg.GetMsgID(), data
}

func (c *conn) decode(data []byte, m proto.Message) {
	c.err = firstErr(c.err, proto.Unmarshal(data, m))
}

func firstErr(first, next error) error {
	if first != nil {
		return first
	}
	return next
}
