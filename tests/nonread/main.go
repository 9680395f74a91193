// Command nonread measures the non-reading attack against the server-wide
// budget (MaxQueuedBytes): N clients send requests to an echo server as
// fast as they can and never read the echoes; a client the server cuts
// connects again, so the attack holds for the whole run. The server runs in
// a child process (this executable with -serve) with zconf's defaults, so
// its RSS is its own; the report gives its RSS before the attack, the most
// it reached, the rise against the budget, and the server's own count of
// the bytes it held.
//
//	go run ./tests/nonread                       # 50 clients, 4 KiB requests, 10 s
//	go run ./tests/nonread -budget 268435456     # MaxQueuedBytes 256 MiB
//
// It measures; it asserts nothing. The target is an RSS rise of at
// most the budget plus 20% at the default budget. Traffic stays on
// loopback.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-serve" {
		os.Exit(serve(os.Args[2:]))
	}
	clients := flag.Int("clients", 50, "attacking connections, each reconnecting when cut")
	payload := flag.Int("payload", 4096, "request payload bytes (at most the default MaxPackageSize, 4096)")
	duration := flag.Duration("duration", 10*time.Second, "how long the attack lasts (at most 5m)")
	budget := flag.Int64("budget", 0, "the server's MaxQueuedBytes (0: the default)")
	sendQueue := flag.Int("send-queue", 0, "the server's MaxSendQueueBytes (0: the default)")
	flag.Parse()
	if *clients < 1 || *clients > 10_000 || *payload < 0 || *payload > zconf.Default().MaxPackageSize ||
		*duration <= 0 || *duration > 5*time.Minute {
		fmt.Fprintln(os.Stderr, "nonread: -clients 1..10000, -payload 0..4096, -duration up to 5m")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *clients, *payload, *duration, *budget, *sendQueue); err != nil {
		fmt.Fprintln(os.Stderr, "nonread:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, clients, payload int, duration time.Duration, budget int64, sendQueue int) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, exe, "-serve", strconv.FormatInt(budget, 10), strconv.Itoa(sendQueue))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe() // the child exits when it closes
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Wait() }()
	defer stdin.Close()
	out := bufio.NewScanner(stdout)
	if !out.Scan() {
		return errors.New("the server printed no address")
	}
	addr := strings.TrimSpace(out.Text())
	pid := cmd.Process.Pid
	time.Sleep(500 * time.Millisecond) // let the server settle
	before := rssKB(pid)

	actx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	pack := znet.NewDataPack(zconf.Default().Framing, zconf.Default().MaxPackageSize)
	var burst []byte
	for len(burst) < 64<<10 {
		burst, _ = pack.AppendPack(burst, 1, make([]byte, payload))
	}
	var dials, cut atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() { attack(actx, addr, burst, &dials, &cut) })
	}
	peak := before
	tick := time.NewTicker(20 * time.Millisecond)
	for actx.Err() == nil {
		<-tick.C
		peak = max(peak, rssKB(pid))
	}
	tick.Stop()
	wg.Wait()
	end := rssKB(pid)
	_ = stdin.Close()
	var st znet.Stats
	if out.Scan() {
		_ = json.Unmarshal(out.Bytes(), &st)
	}
	limit := zconf.Config{MaxQueuedBytes: budget}.QueuedBytesLimit()
	rise := (peak - before) * 1024
	fmt.Printf("non-reading attack: %d clients, %d-byte requests, %s; server MaxQueuedBytes %d MiB\n",
		clients, payload, duration, limit>>20)
	fmt.Printf("server RSS: %d MiB before, %d MiB at peak, %d MiB at the end\n", before>>10, peak>>10, end>>10)
	if limit > 0 {
		fmt.Printf("RSS rise %d MiB = %.2f x the budget (target <= 1.20)\n", rise>>20, float64(rise)/float64(limit))
	}
	fmt.Printf("server: held at most %d MiB by its own count; %d cut over budget, %d for a full send queue; %d connections, %d ended by the server\n",
		st.QueuedBytesPeak>>20, st.OverBudgetCuts, st.SendQueueFull, dials.Load(), cut.Load())
	return nil
}

// attack connects, writes burst until the connection fails, and connects
// again, until ctx ends. It never reads.
func attack(ctx context.Context, addr string, burst []byte, dials, cut *atomic.Int64) {
	var d net.Dialer
	for ctx.Err() == nil {
		nc, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		dials.Add(1)
		stop := context.AfterFunc(ctx, func() { nc.Close() })
		for {
			if _, err := nc.Write(burst); err != nil {
				if ctx.Err() == nil {
					cut.Add(1)
				}
				break
			}
		}
		stop()
		nc.Close()
	}
}

// rssKB is a process's resident set size in KiB; 0 when unknown.
func rssKB(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// serve is the child: an echo server (message 1) with zconf's defaults on
// a loopback port, whose address it prints; it stops when its stdin
// closes, then prints its stats as JSON.
func serve(args []string) int {
	cfg := zconf.Default()
	cfg.Host, cfg.TcpPort, cfg.LogLevel = "127.0.0.1", 0, "error"
	if len(args) == 2 {
		cfg.MaxQueuedBytes, _ = strconv.ParseInt(args[0], 10, 64)
		cfg.MaxSendQueueBytes, _ = strconv.Atoi(args[1])
	}
	srv, err := znet.NewServer(cfg, znet.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "nonread -serve:", err)
		return 1
	}
	srv.AddRouterFunc(1, func(req ziface.IRequest) {
		_ = req.GetConnection().SendMsg(req.GetMsgID(), req.GetData())
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "nonread -serve:", err)
		return 1
	}
	fmt.Println(l.Addr().String())
	go func() { _ = srv.Serve(l) }()
	_, _ = io.Copy(io.Discard, os.Stdin)
	st := srv.Stats()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	b, _ := json.Marshal(st)
	fmt.Println(string(b))
	return 0
}
