// Command server is the echo example: it answers every message with the same
// message ID and payload. It is the smallest complete zinxgame server:
// configuration from -c FILE and ZINX_* variables, a route, hooks, and a
// graceful stop on SIGINT/SIGTERM. -cert and -key (or TLSCertFile and
// TLSKeyFile in the config) serve TLS.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "echo server:", err)
		os.Exit(1)
	}
}

func run() error {
	file := flag.String("c", "", "JSON config file (Zinx zinx.json keys accepted)")
	port := flag.Int("port", -1, "TCP port, overriding the config")
	workers := flag.Int("workers", -1, "WorkerPoolSize, overriding the config (0 = handle on the reader)")
	cert := flag.String("cert", "", "TLS certificate (PEM), overriding TLSCertFile; needs -key")
	key := flag.String("key", "", "TLS private key (PEM), overriding TLSKeyFile; needs -cert")
	flag.Parse()

	over := map[string]any{}
	if *port >= 0 {
		over["TcpPort"] = *port
	}
	if *workers >= 0 {
		over["WorkerPoolSize"] = *workers
	}
	if *cert != "" || *key != "" {
		// Both or neither: one alone fails validation, naming the other.
		over["TLSCertFile"], over["TLSKeyFile"] = *cert, *key
	}
	cfg, err := zconf.Load(zconf.Source{File: *file, Overrides: over})
	if err != nil {
		return err
	}
	srv, err := znet.NewServer(cfg)
	if err != nil {
		return err
	}
	// Every message ID is echoed, so the echo goes in the not-found handler.
	srv.SetNotFound(func(req ziface.IRequest) {
		_ = req.GetConnection().SendMsg(req.GetMsgID(), req.GetData())
	})

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return srv.Run(ctx)
}
