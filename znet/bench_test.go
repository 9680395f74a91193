package znet

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"testing"

	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
)

func BenchmarkPack64(b *testing.B) {
	p := NewDataPack(zconf.FramingLE, 4096)
	data := make([]byte, 64)
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	b.SetBytes(HeadLen + 64)
	for b.Loop() {
		buf, _ = p.AppendPack(buf[:0], 1, data)
	}
}

// repeatReader serves the same bytes forever, like a busy socket.
type repeatReader struct {
	data []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.data[r.off:])
		n += c
		r.off = (r.off + c) % len(r.data)
	}
	return n, nil
}

func BenchmarkUnpack64(b *testing.B) {
	for _, framing := range framings {
		b.Run(framing, func(b *testing.B) {
			p := NewDataPack(framing, 4096)
			frame, _ := p.Pack(NewMessage(1, make([]byte, 64)))
			fr := newFrameReader(p, &repeatReader{data: bytes.Repeat(frame, 64)}, 4096)
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				if _, _, err := fr.next(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUnpack64Bufio is the baseline for BenchmarkUnpack64: what a
// hand-written decoder does with bufio, io.ReadFull and one make per payload.
func BenchmarkUnpack64Bufio(b *testing.B) {
	p := NewDataPack(zconf.FramingLE, 4096)
	frame, _ := p.Pack(NewMessage(1, make([]byte, 64)))
	br := bufio.NewReaderSize(&repeatReader{data: bytes.Repeat(frame, 64)}, 4096)
	var head [HeadLen]byte
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if _, err := io.ReadFull(br, head[:]); err != nil {
			b.Fatal(err)
		}
		data := make([]byte, binary.LittleEndian.Uint32(head[:]))
		if _, err := io.ReadFull(br, data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRoute measures routing one decoded message to its handler
// through two middlewares, as a worker does it.
func BenchmarkRoute(b *testing.B) {
	e, err := newEngine(testConfig(), []Option{WithLogger(discardLogger())})
	if err != nil {
		b.Fatal(err)
	}
	defer e.stopWorkers(0)
	for id := range uint32(100) {
		e.AddRouterFunc(id, func(ziface.IRequest) {})
	}
	pass := func(next HandlerFunc) HandlerFunc { return func(r ziface.IRequest) { next(r) } }
	e.Use(pass, pass)
	c := &Connection{eng: e, log: e.log}
	ts := make([]task, 1) // tasks live in the connection's reused queue
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ts[0] = task{req: request{conn: c, msgID: uint32(i % 100)}}
		e.runTask(c, &ts[0])
	}
}

// BenchmarkRouteMap is the baseline for BenchmarkRoute: a bare map lookup
// and call, no middleware, no panic recovery.
func BenchmarkRouteMap(b *testing.B) {
	routes := make(map[uint32]HandlerFunc)
	for id := range uint32(100) {
		routes[id] = func(ziface.IRequest) {}
	}
	req := &request{}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		req.msgID = uint32(i % 100)
		routes[req.msgID](req)
	}
}
