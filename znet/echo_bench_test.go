package znet

import (
	"io"
	"net"
	"testing"

	"github.com/zinxgame/zinxgame/ziface"
)

// BenchmarkEchoLoopback is one round trip of a 64-byte echo over loopback
// TCP, 8 in flight on each of 4 connections: the hot path the load tool
// measures (read batch, mailbox, handler, send queue, non-blocking write),
// in one process, for before/after comparisons of the path's own cost.
//
//	go test -run '^$' -bench EchoLoopback -count 5 ./znet
func BenchmarkEchoLoopback(b *testing.B) {
	cfg := testConfig()
	cfg.LogLevel = "error"
	srv, err := NewServer(cfg, WithLogger(discardLogger()))
	if err != nil {
		b.Fatal(err)
	}
	srv.AddRouterFunc(1, func(req ziface.IRequest) { _ = req.GetConnection().SendMsg(1, req.GetData()) })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	defer srv.Stop()
	const conns, inflight = 4, 8
	pack := NewDataPack(cfg.Framing, cfg.MaxPackageSize)
	frame := pack.appendPacket(nil, 1, make([]byte, 64))
	ncs := make([]net.Conn, conns)
	for i := range ncs {
		if ncs[i], err = net.Dial("tcp", l.Addr().String()); err != nil {
			b.Fatal(err)
		}
		defer ncs[i].Close()
	}
	per := b.N/conns + 1
	b.SetBytes(int64(len(frame)))
	b.ResetTimer()
	done := make(chan error, conns)
	for _, nc := range ncs {
		go func() {
			reply := make([]byte, len(frame))
			for range min(inflight, per) {
				if _, err := nc.Write(frame); err != nil {
					done <- err
					return
				}
			}
			for i := range per {
				if _, err := io.ReadFull(nc, reply); err != nil {
					done <- err
					return
				}
				if i+inflight < per {
					if _, err := nc.Write(frame); err != nil {
						done <- err
						return
					}
				}
			}
			done <- nil
		}()
	}
	for range conns {
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
}
