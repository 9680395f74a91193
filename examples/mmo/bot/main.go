// Command bot load-tests the MMO demo server (examples/mmo) with a
// swarm of simulated players on loopback. Each bot logs in, then moves a few
// units at a time at -move-rate and chats at -chat-rate, for -duration. It
// reports the messages received by ID, messages/s delivered, the move- and
// chat-broadcast latencies (send -> receipt by another bot), decode errors
// and server CPU, and checks the target: p99 move latency <= 50 ms and no
// decode errors.
//
//	go run ./examples/mmo/bot -serve -bots 200 -duration 20s
//	go run ./examples/mmo/bot -addr 127.0.0.1:8999 -server-pid 1234 -json out.json
//	go run ./examples/mmo/bot -serve -transport kcp -bots 200 -duration 20s
//	go run ./examples/mmo/bot -addr kcp://127.0.0.1:9001   # a server run with ZINX_MODE=kcp (or tcp,kcp)
//
// Over KCP each bot pings as it connects: a KCP server learns of a
// session only from its first packet, and the world greets a player
// (SyncPID) only then.
//
// Latency: all bots live in this process, so a receipt is matched to its
// send through memory: each bot remembers its last 64 moves (position ->
// send time) and chats ("bot <pid> <seq>" -> send time), found by the
// sender's PID. A bot's appear (200 Tp 2) counts as a move receipt unless
// the receiver moved after it was sent (the world also sends a mover the
// old positions of the players it now sees). The sender's own chat echo is
// not counted.
//
// Besides the target, a run fails when a bot does not log in, gets no
// login list (202) or loses its connection.
//
// Exit status: 0 on PASS, 1 on FAIL or error, 2 for bad flags.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/zinxgame/zinxgame/internal/botkit"
)

func main() { os.Exit(cli()) }

func cli() int {
	var cfg Config
	var jsonFile string
	flag.StringVar(&cfg.Addr, "addr", "127.0.0.1:8999", "MMO server address (loopback only, unless -allow-remote): host:port for TCP, kcp://host:port for KCP")
	flag.BoolVar(&cfg.AllowRemote, "allow-remote", false, "allow a non-loopback -addr: only for a stack you own (e.g. the compose stack's network)")
	flag.IntVar(&cfg.Bots, "bots", 1000, "number of bots")
	flag.Float64Var(&cfg.MoveRate, "move-rate", 2, "moves per second per bot")
	flag.Float64Var(&cfg.ChatRate, "chat-rate", 1, "chats per minute per bot")
	flag.DurationVar(&cfg.Duration, "duration", 60*time.Second, "run time, ramp included (at most 10m, or 24h with -soak)")
	flag.BoolVar(&cfg.Soak, "soak", false, "allow -duration past 10m, up to 24h (a soak run, on purpose)")
	flag.DurationVar(&cfg.Ramp, "ramp", 5*time.Second, "spread the logins over this")
	flag.BoolVar(&cfg.Serve, "serve", false, "run the MMO server in this process on 127.0.0.1:0 instead of using -addr")
	flag.StringVar(&cfg.Transport, "transport", "tcp", "with -serve: the transport the in-process server serves and the bots dial, tcp or kcp")
	flag.IntVar(&cfg.ServerPID, "server-pid", 0, "PID of the external server, to report its CPU time")
	flag.StringVar(&jsonFile, "json", "", "also write the report to this file as JSON")
	cpuProfile := flag.String("cpuprofile", "", "write the bots' own CPU profile to this file")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "bot: unexpected arguments %q\n", flag.Args())
		return 2
	}
	cfg.Drain = time.Second
	cfg.Progress = os.Stderr
	cfg.Log = os.Stderr
	if err := cfg.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "bot:", err)
		return 2
	}

	stopProfile, err := botkit.StartProfile(*cpuProfile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bot:", err)
		return 1
	}
	defer stopProfile()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := Run(ctx, cfg)
	return botkit.Finish(rep, err, jsonFile)
}
