// Command bot load-tests the lockstep demo server (examples/lockstep) with a
// swarm of simulated players on loopback, and checks what lockstep
// promises: every player gets every frame, once and in order, and the
// players' simulations agree.
//
//	go run ./examples/lockstep/bot -serve -bots 40 -duration 20s
//	go run ./examples/lockstep/bot -addr 127.0.0.1:8999 -server-pid 1234 -metrics http://127.0.0.1:9102/metrics -json out.json
//	go run ./examples/lockstep/bot -addr 127.0.0.1:8999 -reconnect-prob 0.05
//	go run ./examples/lockstep/bot -serve -transport kcp -bots 40 -duration 20s
//	go run ./examples/lockstep/bot -addr 127.0.0.1:8999 -switch kcp://127.0.0.1:9001 -switch-every 3s
//
// The bots form rooms of -players: the first bot of each group creates a
// room (RoomCreate, max_players = -players) and the others join it by ID;
// bot-0 also checks RoomList once. When its room is full a bot sends Ready
// and waits for MatchStart. Then it sends -input-rate inputs a second (two
// bytes: dx, dy in -1..1) and applies every frame to a small deterministic
// simulation (one unit per seat, moved by the inputs and by a wind drawn
// from lockstep.NewRand(seed)), reporting its FNV-1a state hash every
// hash_interval frames. With -reconnect-prob a bot drops its connection at
// random, stays offline for half of -offline to -offline, and resumes its
// seat: Login with its token, Reconnect with its last frame, then the
// catch-up must fill exactly the frames it missed. When -duration is up,
// each room's bots vote the same result (MatchResult) at a frame a little
// ahead and wait for MatchEnd.
//
// The report gives the rooms and matches, frames received, gaps and
// duplicates, desyncs (from the server, and the bots' own comparison of
// their hashes), input -> frame latency (an Input(seq) sent until the
// frame holding this bot's (slot, seq) arrives; live frames only),
// downstream bytes a second per player (frame heads included), the
// reconnections and their catch-up time (Reconnect sent until the first
// live frame), decode errors, and server and bot CPU. It passes when there
// is no desync and no gap, p99 input -> frame is at most one tick + 5 ms,
// and (at up to 10 inputs/s) a player receives at most 1.5 KB/s; and fails
// too when a bot does not get into a match, an input is lost, the server
// answers Error, a connection drops, a reconnection fails or a match does
// not end on the bots' vote.
//
// Listing under load: -fill-rooms N also opens N rooms that stay open
// (one connection each creates a room of 4 seats with a ready timeout
// longer than the run, and nobody joins), so they tick all through the
// run; -list-rate R then sends R RoomList requests a second in all, over
// -list-conns connections, from when the fill rooms are open to the end.
// These run on a client of their own and add their own lines and checks
// to the report (every fill room open, every request answered, no error);
// with -bots 0 they run alone. With -metrics, the server's tick lateness
// over that window is the figure to compare with and without -list-rate:
//
//	go run ./examples/lockstep/bot -addr 127.0.0.1:8999 -bots 0 -fill-rooms 5000 -list-rate 1000 -list-conns 20 \
//	    -duration 30s -ramp 10s -metrics http://127.0.0.1:9102/metrics -server-pid 1234
//
// Transports: -addr is host:port for TCP or kcp://host:port for KCP (a
// server run with ZINX_MODE=tcp,kcp serves both); -serve serves both and
// -transport picks the one the bots dial. -switch-every D moves each
// bot's connection between -addr and -switch (the server's other
// address; with -serve, its other transport), alternating, every D on
// average (from D/2 to 3D/2), through client.Lockstep.SwitchTo while its
// match runs; the report counts the switches, and a failed one fails the
// run. The usual checks (no gap, no duplicate, hashes agree, the replay)
// are what show a switch loses and repeats no frame.
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
	var tick, fpp, hashInt uint
	flag.StringVar(&cfg.Addr, "addr", "127.0.0.1:8999", "lockstep server address (loopback only, unless -allow-remote): host:port for TCP, kcp://host:port for KCP")
	flag.BoolVar(&cfg.AllowRemote, "allow-remote", false, "allow a non-loopback -addr, -switch and -metrics: only for a stack you own (e.g. the compose stack's network)")
	flag.StringVar(&cfg.Transport, "transport", "tcp", "with -serve: the transport the bots dial, tcp or kcp (the in-process server serves both)")
	flag.StringVar(&cfg.Switch, "switch", "", "with -switch-every: the server's other address (e.g. kcp://127.0.0.1:9001 when -addr is TCP); not with -serve, which switches between its own TCP and KCP")
	flag.DurationVar(&cfg.SwitchEvery, "switch-every", 0, "move each bot between -addr and -switch (with -serve: TCP and KCP), alternating, this often on average (jittered from half to 1.5 times); 0 = never")
	flag.BoolVar(&cfg.SurviveRestarts, "survive-restarts", false, "when the server ends a match for its shutdown, dial again until it is back and play a new match in the same room group (a rolling restart); by default the bots stop and the run fails")
	flag.BoolVar(&cfg.NoReplay, "no-replay", false, "skip replaying one ended match at the end (ReplayRequest, re-simulated to the players' voted hash)")
	flag.IntVar(&cfg.Bots, "bots", 400, "number of bots, a multiple of -players (0 with -fill-rooms or -list-rate: the listing load alone)")
	flag.IntVar(&cfg.Players, "players", 4, "bots per room (RoomOptions.max_players)")
	flag.Float64Var(&cfg.InputRate, "input-rate", 10, "inputs per second per bot")
	flag.Float64Var(&cfg.ReconnectProb, "reconnect-prob", 0, "chance per bot per second to drop the connection and reconnect (0-1)")
	flag.DurationVar(&cfg.Offline, "offline", time.Second, "with -reconnect-prob: a dropped bot stays offline between half this and this (uniformly) before reconnecting")
	flag.DurationVar(&cfg.Duration, "duration", 60*time.Second, "run time, ramp included (at most 10m, or 24h with -soak)")
	flag.BoolVar(&cfg.Soak, "soak", false, "allow -duration past 10m, up to 24h (a soak run, on purpose)")
	flag.DurationVar(&cfg.Ramp, "ramp", 5*time.Second, "spread the bots' logins over this")
	flag.UintVar(&tick, "tick-rate", 0, "RoomOptions.tick_rate (0: the server's default)")
	flag.UintVar(&fpp, "frames-per-packet", 0, "RoomOptions.frames_per_packet (0: the server's default)")
	flag.UintVar(&hashInt, "hash-interval", 0, "RoomOptions.hash_interval (0: the server's default)")
	flag.BoolVar(&cfg.Serve, "serve", false, "run the lockstep server in this process on 127.0.0.1:0 instead of using -addr")
	flag.IntVar(&cfg.ServerPID, "server-pid", 0, "PID of the external server, to report its CPU time")
	flag.StringVar(&cfg.MetricsURL, "metrics", "", "the external server's /metrics URL (loopback), to report its tick lateness and GOMAXPROCS against the 2 ms p99 target")
	flag.IntVar(&cfg.FillRooms, "fill-rooms", 0, "listing load: also open this many rooms that stay open (one connection each, nobody ready), ticking through the run")
	flag.BoolVar(&cfg.FillRunning, "fill-running", false, "listing load: the fill rooms run a 1-seat match instead of staying open, and RoomList asks for open rooms only (it finds none: a listing that scans every room pays the most)")
	flag.Float64Var(&cfg.ListRate, "list-rate", 0, "listing load: RoomList requests per second in all, from when the fill rooms are open to the end")
	flag.IntVar(&cfg.ListConns, "list-conns", 20, "listing load: connections -list-rate is spread over (each at most 50/s: the server allows 60 messages/s a connection)")
	flag.StringVar(&jsonFile, "json", "", "also write the report to this file as JSON")
	cpuProfile := flag.String("cpuprofile", "", "write the bots' own CPU profile to this file")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "bot: unexpected arguments %q\n", flag.Args())
		return 2
	}
	if tick > 120 || fpp > 10 || hashInt > 1<<20 {
		fmt.Fprintln(os.Stderr, "bot: -tick-rate at most 120, -frames-per-packet at most 10, -hash-interval at most 1048576")
		return 2
	}
	cfg.TickRate, cfg.FramesPerPacket, cfg.HashInterval = uint32(tick), uint32(fpp), uint32(hashInt)
	cfg.Drain = 3 * time.Second
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
