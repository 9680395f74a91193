// Command server is the echo example: it answers every message with the same
// message ID and payload. It is the smallest complete zinxgame server:
// configuration from -c FILE and ZINX_* variables, a route, hooks, and a
// graceful stop on SIGINT/SIGTERM. -cert and -key (or TLSCertFile and
// TLSKeyFile in the config) serve TLS. "server healthcheck" and "server
// checkconfig" are the operator subcommands (internal/servercmd).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/zinxgame/zinxgame/internal/servercmd"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

// main runs the server, or an operator subcommand (healthcheck,
// checkconfig) over the same loadConfig.
func main() {
	cmd := servercmd.Command{Name: "echo server", Run: run, Load: loadConfig}
	os.Exit(cmd.Main(os.Args[1:]))
}

// loadConfig loads src as the server does: zconf's keys and defaults, no
// sections of its own.
func loadConfig(src zconf.Source) (zconf.Config, error) { return zconf.Load(src) }

func run(args []string) error {
	fs := servercmd.FlagSet("echo-server")
	file := fs.String("c", "", "JSON config file (Zinx zinx.json keys accepted)")
	port := fs.Int("port", -1, "TCP port, overriding the config")
	workers := fs.Int("workers", -1, "WorkerPoolSize, overriding the config (0 = handle on the reader)")
	cert := fs.String("cert", "", "TLS certificate (PEM), overriding TLSCertFile; needs -key")
	key := fs.String("key", "", "TLS private key (PEM), overriding TLSKeyFile; needs -cert")
	_ = fs.Parse(args) // ExitOnError
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

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
	cfg, err := loadConfig(zconf.Source{File: *file, Overrides: over})
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
