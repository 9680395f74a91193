package znet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"
	"testing/iotest"

	"github.com/zinxgame/zinxgame/zconf"
)

var framings = []string{zconf.FramingLE, zconf.FramingBE}

func TestPackLayout(t *testing.T) {
	data := []byte("abc")
	le, _ := NewDataPack(zconf.FramingLE, 100).Pack(NewMessage(0x01020304, data))
	wantLE := []byte{3, 0, 0, 0, 4, 3, 2, 1, 'a', 'b', 'c'}
	if !bytes.Equal(le, wantLE) {
		t.Errorf("LE frame = % x, want % x", le, wantLE)
	}
	be, _ := NewDataPack(zconf.FramingBE, 100).Pack(NewMessage(0x01020304, data))
	wantBE := []byte{1, 2, 3, 4, 0, 0, 0, 3, 'a', 'b', 'c'}
	if !bytes.Equal(be, wantBE) {
		t.Errorf("BE frame = % x, want % x", be, wantBE)
	}
}

func TestPackUnpackRoundTrip(t *testing.T) {
	for _, framing := range framings {
		p := NewDataPack(framing, 1024)
		for _, size := range []int{0, 1, 64, 1024} {
			data := bytes.Repeat([]byte{0xAB}, size)
			frame, err := p.Pack(NewMessage(42, data))
			if err != nil {
				t.Fatalf("%s/%d: Pack: %v", framing, size, err)
			}
			if p.GetHeadLen() != HeadLen || len(frame) != HeadLen+size {
				t.Fatalf("%s/%d: frame is %d bytes", framing, size, len(frame))
			}
			msg, err := p.Unpack(frame[:HeadLen])
			if err != nil {
				t.Fatalf("%s/%d: Unpack: %v", framing, size, err)
			}
			if msg.GetMsgID() != 42 || msg.GetDataLen() != uint32(size) {
				t.Fatalf("%s/%d: Unpack = id %d len %d", framing, size, msg.GetMsgID(), msg.GetDataLen())
			}
			id, got, n, err := p.Decode(frame)
			if err != nil || id != 42 || n != len(frame) || !bytes.Equal(got, data) {
				t.Fatalf("%s/%d: Decode = %d %x %d %v", framing, size, id, got, n, err)
			}
		}
	}
}

func TestMaxPackageSize(t *testing.T) {
	for _, framing := range framings {
		p := NewDataPack(framing, 16)
		if _, err := p.Pack(NewMessage(1, make([]byte, 16))); err != nil {
			t.Errorf("%s: payload of exactly the max refused: %v", framing, err)
		}
		if _, err := p.Pack(NewMessage(1, make([]byte, 17))); !errors.Is(err, ErrPacketTooLarge) {
			t.Errorf("%s: Pack over max: err = %v, want ErrPacketTooLarge", framing, err)
		}
		big := NewDataPack(framing, 1<<20)
		frame, _ := big.Pack(NewMessage(1, make([]byte, 17)))
		if _, err := p.Unpack(frame[:HeadLen]); !errors.Is(err, ErrPacketTooLarge) {
			t.Errorf("%s: Unpack over max: err = %v", framing, err)
		}
		if _, _, _, err := p.Decode(frame); !errors.Is(err, ErrPacketTooLarge) {
			t.Errorf("%s: Decode over max: err = %v", framing, err)
		}
		if _, _, err := newFrameReader(p, bytes.NewReader(frame), 512).next(); !errors.Is(err, ErrPacketTooLarge) {
			t.Errorf("%s: reader over max: err = %v", framing, err)
		}
	}
	if _, err := NewDataPack(zconf.FramingLE, 16).Unpack([]byte{1, 2, 3}); !errors.Is(err, ErrShortHead) {
		t.Errorf("short head: err = %v, want ErrShortHead", err)
	}
}

// stream packs frames with IDs 1..n and payload sizes cycling through 0..9.
func stream(p *DataPack, n int) []byte {
	var b []byte
	for i := 1; i <= n; i++ {
		b, _ = p.AppendPack(b, uint32(i), bytes.Repeat([]byte{byte(i)}, i%10))
	}
	return b
}

func checkStream(t *testing.T, name string, next func() (uint32, []byte, error), n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		id, data, err := next()
		if err != nil {
			t.Fatalf("%s: frame %d: %v", name, i, err)
		}
		if id != uint32(i) || !bytes.Equal(data, bytes.Repeat([]byte{byte(i)}, i%10)) {
			t.Fatalf("%s: frame %d = id %d data %x", name, i, id, data)
		}
	}
	if _, _, err := next(); !errors.Is(err, io.EOF) {
		t.Fatalf("%s: after the last frame err = %v, want EOF", name, err)
	}
}

func TestStickyAndSplitPackets(t *testing.T) {
	for _, framing := range framings {
		p := NewDataPack(framing, 64)
		b := stream(p, 100)
		// Many frames in one read.
		checkStream(t, framing+"/sticky", newFrameReader(p, bytes.NewReader(b), 4096).next, 100)
		// Every frame split over many reads.
		checkStream(t, framing+"/split", newFrameReader(p, iotest.OneByteReader(bytes.NewReader(b)), 16).next, 100)
		// Decode over a buffer holding several frames and a partial one.
		buf := b
		for i := 1; i <= 100; i++ {
			if _, _, n, err := p.Decode(buf[:len(buf)-1]); i == 100 && (n != 0 || err != nil) {
				t.Fatalf("%s: partial last frame: n=%d err=%v, want 0, nil", framing, n, err)
			}
			id, _, n, err := p.Decode(buf)
			if err != nil || id != uint32(i) {
				t.Fatalf("%s: Decode frame %d: id %d err %v", framing, i, id, err)
			}
			buf = buf[n:]
		}
	}
}

func TestZeroLengthPayload(t *testing.T) {
	p := NewDataPack(zconf.FramingLE, 64)
	frame, _ := p.Pack(NewMessage(7, nil))
	id, data, err := newFrameReader(p, bytes.NewReader(frame), 512).next()
	if err != nil || id != 7 || len(data) != 0 {
		t.Fatalf("zero-length frame: id %d data %x err %v", id, data, err)
	}
}

func TestHalfFrameIsUnexpectedEOF(t *testing.T) {
	p := NewDataPack(zconf.FramingLE, 64)
	frame, _ := p.Pack(NewMessage(7, []byte("0123456789")))
	for _, cut := range []int{3, HeadLen, HeadLen + 4} {
		_, _, err := newFrameReader(p, bytes.NewReader(frame[:cut]), 512).next()
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut at %d: err = %v, want ErrUnexpectedEOF", cut, err)
		}
	}
}

// FuzzDecode feeds arbitrary bytes to both decoders in both framings: no
// panic, no payload over the max, and the two decoders agree.
func FuzzDecode(f *testing.F) {
	le := NewDataPack(zconf.FramingLE, 64)
	f.Add(stream(le, 5))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{1, 0, 0, 0, 9})
	f.Add(binary.LittleEndian.AppendUint32(nil, 65))
	f.Add(stream(NewDataPack(zconf.FramingBE, 64), 5))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, framing := range framings {
			p := NewDataPack(framing, 64)
			fr := newFrameReader(p, bytes.NewReader(in), 512)
			buf := in
			for {
				id, data, err := fr.next()
				did, ddata, n, derr := p.Decode(buf)
				if len(data) > 64 || len(ddata) > 64 {
					t.Fatalf("payload over the max: %d / %d bytes", len(data), len(ddata))
				}
				if err != nil {
					// The stream ended or was refused; Decode must not
					// have found a whole frame the reader missed.
					if derr == nil && n > 0 {
						t.Fatalf("reader failed (%v) where Decode found a frame", err)
					}
					break
				}
				if derr != nil || n == 0 || did != id || !bytes.Equal(data, ddata) {
					t.Fatalf("decoders disagree: reader %d %x, Decode %d %x n=%d err=%v", id, data, did, ddata, n, derr)
				}
				buf = buf[n:]
			}
		}
	})
}

// TestDecodeAllocatesOnlyThePayload checks that a head announcing a huge
// payload is refused before any allocation for it.
func TestDecodeAllocatesOnlyThePayload(t *testing.T) {
	p := NewDataPack(zconf.FramingLE, 4096)
	huge := []byte{0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0}
	r := bytes.NewReader(huge)
	fr := newFrameReader(p, r, 512)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 100 {
		r.Reset(huge)
		fr.reset(r)
		if _, _, err := fr.next(); !errors.Is(err, ErrPacketTooLarge) {
			t.Fatalf("err = %v", err)
		}
	}
	runtime.ReadMemStats(&after)
	// Only the error value is allocated, never the announced 4 GiB.
	if per := (after.TotalAlloc - before.TotalAlloc) / 100; per > 1024 {
		t.Fatalf("refusing an oversized head allocated %d bytes", per)
	}
	ok, _ := p.Pack(NewMessage(1, make([]byte, 64)))
	allocs := testing.AllocsPerRun(100, func() {
		r.Reset(ok)
		fr.reset(r)
		if _, _, err := fr.next(); err != nil {
			t.Fatal(err)
		}
	})
	// Small payloads share chunks: at most one allocation per frame.
	if allocs > 1 {
		t.Fatalf("decoding one frame allocated %.0f times, want at most 1 (the payload)", allocs)
	}
}
