package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

// echoMsgID is the message ID the load client sends and both servers echo.
const echoMsgID = 1

// Target names.
const (
	targetFramework = "framework"
	targetBaseline  = "baseline"
	targetBoth      = "both"
)

// serverConfig is what both echo servers need to know.
type serverConfig struct {
	Listen         string // host:port; port 0 picks a free one
	Framing        string // zconf.FramingLE or zconf.FramingBE
	MaxPackageSize int
	Workers        int // framework WorkerPoolSize
	MaxConn        int // framework MaxConn
}

// echoServer is a running server of either kind.
type echoServer struct {
	Addr string
	// Stop shuts the server down and waits for its connections to end, or
	// for ctx.
	Stop func(ctx context.Context) error
}

func startServer(target string, sc serverConfig) (*echoServer, error) {
	switch target {
	case targetFramework:
		return startFramework(sc)
	case targetBaseline:
		return startBaseline(sc)
	}
	return nil, fmt.Errorf("unknown server %q", target)
}

// frameworkConfig is zconf.Default() adjusted for the load test.
func frameworkConfig(sc serverConfig) (zconf.Config, error) {
	host, portStr, err := net.SplitHostPort(sc.Listen)
	if err != nil {
		return zconf.Config{}, fmt.Errorf("listen address %q: %w", sc.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return zconf.Config{}, fmt.Errorf("listen address %q: bad port", sc.Listen)
	}
	cfg := zconf.Default()
	cfg.Name = "load-echo"
	cfg.Host = host
	cfg.TcpPort = port
	cfg.Framing = sc.Framing
	cfg.MaxPackageSize = sc.MaxPackageSize
	cfg.WorkerPoolSize = sc.Workers
	cfg.MaxConn = sc.MaxConn
	cfg.LogLevel = "warn"
	return cfg, cfg.Validate()
}

// startFramework runs the zinxgame echo server: one route, ID 1, answering
// with the same ID and payload.
func startFramework(sc serverConfig) (*echoServer, error) {
	cfg, err := frameworkConfig(sc)
	if err != nil {
		return nil, err
	}
	srv, err := znet.NewServer(cfg)
	if err != nil {
		return nil, err
	}
	srv.AddRouterFunc(echoMsgID, func(req ziface.IRequest) {
		_ = req.GetConnection().SendMsg(req.GetMsgID(), req.GetData())
	})
	if err := srv.Start(); err != nil {
		return nil, err
	}
	return &echoServer{Addr: srv.Addr().String(), Stop: srv.Shutdown}, nil
}

// baselineServer is the no-framework reference: the standard library, one
// goroutine per connection, buffered reads, and writes flushed once the
// reader has nothing more buffered.
type baselineServer struct {
	ln    net.Listener
	be    bool
	max   uint32
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	done  bool
	wg    sync.WaitGroup
}

func startBaseline(sc serverConfig) (*echoServer, error) {
	if sc.Framing != zconf.FramingLE && sc.Framing != zconf.FramingBE {
		return nil, fmt.Errorf("unknown framing %q", sc.Framing)
	}
	ln, err := net.Listen("tcp", sc.Listen)
	if err != nil {
		return nil, err
	}
	b := &baselineServer{
		ln:    ln,
		be:    sc.Framing == zconf.FramingBE,
		max:   uint32(sc.MaxPackageSize),
		conns: make(map[net.Conn]struct{}),
	}
	b.wg.Add(1)
	go b.accept()
	return &echoServer{Addr: ln.Addr().String(), Stop: b.stop}, nil
}

func (b *baselineServer) accept() {
	defer b.wg.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(5 * time.Millisecond) // out of descriptors and the like
			continue
		}
		b.mu.Lock()
		if b.done {
			b.mu.Unlock()
			_ = c.Close()
			return
		}
		b.conns[c] = struct{}{}
		b.wg.Add(1)
		b.mu.Unlock()
		go b.serve(c)
	}
}

func (b *baselineServer) serve(c net.Conn) {
	defer b.wg.Done()
	defer func() {
		b.mu.Lock()
		delete(b.conns, c)
		b.mu.Unlock()
		_ = c.Close()
	}()
	br := bufio.NewReaderSize(c, 4096)
	bw := bufio.NewWriterSize(c, 4096)
	var head [znet.HeadLen]byte
	var data []byte
	for {
		if _, err := io.ReadFull(br, head[:]); err != nil {
			return
		}
		var n uint32
		if b.be {
			n = binary.BigEndian.Uint32(head[4:]) // [MsgID][DataLen]
		} else {
			n = binary.LittleEndian.Uint32(head[:4]) // [DataLen][MsgID]
		}
		if n > b.max {
			return
		}
		if uint32(cap(data)) < n {
			data = make([]byte, n)
		}
		data = data[:n]
		if _, err := io.ReadFull(br, data); err != nil {
			return
		}
		_, _ = bw.Write(head[:])
		_, _ = bw.Write(data)
		if br.Buffered() == 0 {
			if err := bw.Flush(); err != nil {
				return
			}
		}
	}
}

func (b *baselineServer) stop(ctx context.Context) error {
	_ = b.ln.Close()
	b.mu.Lock()
	b.done = true
	for c := range b.conns {
		_ = c.Close()
	}
	b.mu.Unlock()
	done := make(chan struct{})
	go func() {
		b.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// childMain is the server process: `load -serve framework|baseline ...`.
// It prints the bound address as one line on stdout, then serves until
// SIGTERM or SIGINT, until its stdin closes (the parent is gone), or until
// -max-life has passed, whichever comes first.
func childMain(args []string) int {
	fs := flag.NewFlagSet("load -serve", flag.ContinueOnError)
	def := zconf.Default()
	serve := fs.String("serve", "", "server to run: framework or baseline")
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	framing := fs.String("framing", def.Framing, "le or be")
	maxPkg := fs.Int("max-package", def.MaxPackageSize, "MaxPackageSize")
	workers := fs.Int("workers", def.WorkerPoolSize, "framework WorkerPoolSize")
	maxConn := fs.Int("max-conn", def.MaxConn, "framework MaxConn")
	maxLife := fs.Duration("max-life", 10*time.Minute, "exit after this long in any case")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the server to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "load -serve %s: %v\n", *serve, err)
		return 1
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return fail(err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fail(fmt.Errorf("listen address %q: only loopback addresses are allowed", *listen))
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fail(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fail(err)
		}
		defer pprof.StopCPUProfile()
	}
	srv, err := startServer(*serve, serverConfig{
		Listen: *listen, Framing: *framing, MaxPackageSize: *maxPkg,
		Workers: *workers, MaxConn: *maxConn,
	})
	if err != nil {
		return fail(err)
	}
	fmt.Println(srv.Addr)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	parentGone := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(parentGone)
	}()
	life := time.NewTimer(*maxLife)
	defer life.Stop()
	select {
	case <-sig:
	case <-parentGone:
	case <-life.C:
		fmt.Fprintf(os.Stderr, "load -serve %s: -max-life %s reached; exiting\n", *serve, *maxLife)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Stop(ctx); err != nil {
		return fail(fmt.Errorf("shutdown: %w", err))
	}
	return 0
}
