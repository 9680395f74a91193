// Command client talks to the echo server: it sends -n messages and prints
// each echo with its round-trip time.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "echo client:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:8999", "server address")
	n := flag.Int("n", 5, "messages to send")
	msgID := flag.Uint("id", 1, "message ID")
	text := flag.String("text", "hello zinxgame", "payload")
	framing := flag.String("framing", zconf.FramingLE, "frame layout: le or be")
	flag.Parse()

	cfg := zconf.Default()
	cfg.Framing = *framing
	cfg.WorkerPoolSize = 0
	cl, err := znet.NewClient(cfg)
	if err != nil {
		return err
	}
	defer cl.Close()

	got := make(chan struct{}, *n)
	cl.AddRouterFunc(uint32(*msgID), func(req ziface.IRequest) {
		fmt.Printf("echo msg_id=%d %q\n", req.GetMsgID(), req.GetData())
		got <- struct{}{}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := cl.Dial(ctx, *addr)
	if err != nil {
		return err
	}
	for i := range *n {
		start := time.Now()
		if err := conn.SendMsg(uint32(*msgID), fmt.Appendf(nil, "%s #%d", *text, i)); err != nil {
			return err
		}
		select {
		case <-got:
			fmt.Printf("  round trip %v\n", time.Since(start))
		case <-ctx.Done():
			return fmt.Errorf("no echo after %d of %d messages: %w", i, *n, ctx.Err())
		case <-conn.Done():
			return fmt.Errorf("server closed the connection")
		}
	}
	return nil
}
