package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
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
	Workers        int  // framework WorkerPoolSize
	MaxConn        int  // framework MaxConn
	ReadBuf        int  // framework IOReadBuffSize; the baseline's bufio sizes (0: 4096)
	WS             bool // the framework also serves WebSocket, on a port of its own
	KCP            bool // the framework also serves KCP, on a UDP port of its own
}

// echoServer is a running server of either kind.
type echoServer struct {
	Addr  string
	WSURL string // ws://host:port/path when the server speaks WebSocket
	// KCPAddr is the UDP host:port when the server speaks KCP.
	KCPAddr string
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
	if port == 0 {
		cfg.TcpPort = zconf.FreePort
	}
	cfg.Framing = sc.Framing
	cfg.MaxPackageSize = sc.MaxPackageSize
	cfg.WorkerPoolSize = sc.Workers
	if sc.Workers == 0 { // the load tool's -workers 0: handlers on the reader
		cfg.WorkerPoolSize = zconf.Off
	}
	cfg.MaxConn = sc.MaxConn
	if sc.ReadBuf > 0 {
		cfg.IOReadBuffSize = sc.ReadBuf
	}
	// TCP is always served: the child reports its address first, and an
	// idle listener costs nothing the measurement would see.
	mode := zconf.ModeTCP
	if sc.WS {
		mode = zconf.ModeBoth
		cfg.WsPort = zconf.FreePort
		cfg.WsPath = "/"
	}
	if sc.KCP {
		mode += "," + zconf.ModeKCP
		cfg.KcpPort = zconf.FreePort
	}
	cfg.Mode = mode
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
	es := &echoServer{Addr: srv.Addr().String(), Stop: srv.Shutdown}
	if sc.WS {
		es.WSURL = "ws://" + srv.WebSocketAddr().String() + cfg.WsPath
	}
	if sc.KCP {
		es.KCPAddr = srv.KCPAddr().String()
	}
	return es, nil
}

// baselineServer is the no-framework reference: the standard library, one
// goroutine per connection, buffered reads, and writes flushed once the
// reader has nothing more buffered.
type baselineServer struct {
	ln    net.Listener
	be    bool
	max   uint32
	bufSz int
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	done  bool
	wg    sync.WaitGroup
}

func startBaseline(sc serverConfig) (*echoServer, error) {
	if sc.Framing != zconf.FramingLE && sc.Framing != zconf.FramingBE {
		return nil, fmt.Errorf("unknown framing %q", sc.Framing)
	}
	if sc.WS || sc.KCP {
		return nil, errors.New("the baseline server speaks TCP only")
	}
	ln, err := net.Listen("tcp", sc.Listen)
	if err != nil {
		return nil, err
	}
	b := &baselineServer{
		ln:    ln,
		be:    sc.Framing == zconf.FramingBE,
		max:   uint32(sc.MaxPackageSize),
		bufSz: cmp.Or(sc.ReadBuf, 4096),
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
	br := bufio.NewReaderSize(c, b.bufSz)
	bw := bufio.NewWriterSize(c, b.bufSz)
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
