// Command client talks to the echo server: it sends -n messages and prints
// each echo with its round-trip time. -tls or -ca dials TLS; an -addr of
// kcp://host:port dials KCP (a server run with ZINX_MODE=kcp or tcp,kcp).
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
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
	addr := flag.String("addr", "127.0.0.1:8999", "server address: host:port for TCP, kcp://host:port for KCP")
	n := flag.Int("n", 5, "messages to send")
	msgID := flag.Uint("id", 1, "message ID")
	text := flag.String("text", "hello zinxgame", "payload")
	framing := flag.String("framing", zconf.FramingLE, "frame layout: le or be")
	useTLS := flag.Bool("tls", false, "dial TLS, trusting the system's roots")
	caFile := flag.String("ca", "", "dial TLS, trusting the PEM certificates in this file (a self-signed server's cert.pem)")
	flag.Parse()

	cfg := zconf.Default()
	cfg.Framing = *framing
	cfg.WorkerPoolSize = zconf.Off
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
	var conn *znet.Connection
	kcpAddr, isKCP := strings.CutPrefix(*addr, "kcp://")
	if isKCP && (*useTLS || *caFile != "") {
		return errors.New("-tls and -ca are for TCP: KCP is not encrypted")
	}
	if isKCP {
		// KCP has no handshake: a missing server shows as no echo.
		if conn, err = cl.DialKCP(ctx, kcpAddr); err != nil {
			return err
		}
	} else if *useTLS || *caFile != "" {
		tc, err := tlsConfig(*caFile)
		if err != nil {
			return err
		}
		conn, err = cl.DialTLS(ctx, *addr, tc)
		if err != nil {
			return err
		}
	} else if conn, err = cl.Dial(ctx, *addr); err != nil {
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

// tlsConfig trusts the certificates in caFile, or the system's roots when
// it is empty.
func tlsConfig(caFile string) (*tls.Config, error) {
	if caFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("no PEM certificate in " + caFile)
	}
	return &tls.Config{RootCAs: pool}, nil
}
