// Command lossyproxy runs lossy UDP and TCP proxies on loopback for a
// bounded time, for measuring game traffic on a bad network where netem is
// not available. TCP is carried across the lossy hop by gVisor's netstack,
// so its loss recovery is a real TCP's; see internal/lossy and docs/lossy.md.
//
//	lossyproxy -udp 127.0.0.1:9001=127.0.0.1:8001 -tcp 127.0.0.1:9002=127.0.0.1:8002 \
//	    -profile loss=5%,delay=30ms,jitter=20ms -duration 5m -stats 5s
//
// Every address must be loopback; anything else is refused.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/zinxgame/zinxgame/internal/lossy"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "lossyproxy:", err)
		os.Exit(2)
	}
}

// pairs is a repeatable listen=target flag.
type pairs [][2]string

func (p *pairs) String() string {
	var s []string
	for _, x := range *p {
		s = append(s, x[0]+"="+x[1])
	}
	return strings.Join(s, " ")
}

func (p *pairs) Set(v string) error {
	listen, target, ok := strings.Cut(v, "=")
	if !ok || listen == "" || target == "" {
		return fmt.Errorf("want listen=target, got %q", v)
	}
	*p = append(*p, [2]string{listen, target})
	return nil
}

// maxProxies bounds the proxies one process runs; each has goroutines and,
// for TCP, a netstack pair.
const maxProxies = 64

// closer is what run needs of either proxy.
type closer interface{ Close() error }

// run starts the proxies the flags ask for and serves until ctx ends or the
// duration passes. Log lines go to logOut.
func run(ctx context.Context, args []string, logOut io.Writer) error {
	fs := flag.NewFlagSet("lossyproxy", flag.ContinueOnError)
	fs.SetOutput(logOut)
	var udp, tcp pairs
	fs.Var(&udp, "udp", "a UDP proxy, `listen=target` (loopback only); repeatable")
	fs.Var(&tcp, "tcp", "a TCP proxy, `listen=target` (loopback only); repeatable")
	profile := fs.String("profile", "", `impairment, e.g. "loss=5%,delay=30ms,jitter=20ms,reorder=1%,seed=1"`)
	duration := fs.Duration("duration", 10*time.Minute, "exit after this long (required bound, > 0)")
	statsEvery := fs.Duration("stats", 0, "log the counters at this interval (0: only at exit)")
	maxConns := fs.Int("max-conns", lossy.DefaultMaxConns, "open connections per TCP proxy")
	maxClients := fs.Int("max-clients", lossy.DefaultMaxClients, "client mappings per UDP proxy")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if len(udp)+len(tcp) == 0 {
		return errors.New("no proxy: give -udp and/or -tcp listen=target")
	}
	if len(udp)+len(tcp) > maxProxies {
		return fmt.Errorf("%d proxies, at most %d", len(udp)+len(tcp), maxProxies)
	}
	if *duration <= 0 {
		return errors.New("-duration must be > 0")
	}
	if *statsEvery < 0 {
		return errors.New("-stats must be >= 0")
	}
	p, err := lossy.ParseProfile(*profile)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(logOut, nil))
	opts := []lossy.Option{lossy.WithMaxConns(*maxConns), lossy.WithMaxClients(*maxClients)}

	var all []closer
	var report []func()
	defer func() {
		for _, c := range all {
			_ = c.Close()
		}
	}()
	for _, pr := range udp {
		u, err := lossy.ListenUDP(pr[0], pr[1], p, opts...)
		if err != nil {
			return err
		}
		all = append(all, u)
		log.Info("udp proxy", "listen", u.Addr().String(), "target", pr[1], "profile", p.String())
		report = append(report, func() {
			s := u.Stats()
			log.Info("udp stats", "listen", u.Addr().String(), "up", fmt.Sprintf("%+v", s.Up), "down", fmt.Sprintf("%+v", s.Down),
				"clients", s.Clients, "refused", s.ClientsRefused, "expired", s.ClientsExpired)
		})
	}
	for _, pr := range tcp {
		t, err := lossy.ListenTCP(pr[0], pr[1], p, opts...)
		if err != nil {
			return err
		}
		all = append(all, t)
		log.Info("tcp proxy", "listen", t.Addr().String(), "target", pr[1], "profile", p.String())
		report = append(report, func() {
			s := t.Stats()
			log.Info("tcp stats", "listen", t.Addr().String(), "up", fmt.Sprintf("%+v", s.Up), "down", fmt.Sprintf("%+v", s.Down),
				"conns", s.Conns, "accepted", s.Accepted, "refused", s.Refused, "dial_errors", s.DialErrors)
		})
	}

	ctx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()
	var tick <-chan time.Time
	if *statsEvery > 0 {
		t := time.NewTicker(*statsEvery)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-tick:
			for _, r := range report {
				r()
			}
		case <-ctx.Done():
			for _, r := range report {
				r()
			}
			log.Info("stopping", "reason", context.Cause(ctx).Error())
			return nil
		}
	}
}
