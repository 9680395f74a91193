package znet

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
)

// HeadLen is the size of a frame head in both framings.
const HeadLen = 8

// DataPack implements ziface.IDataPack for one of the two Zinx framings and
// enforces the maximum payload size in both directions.
type DataPack struct {
	be  bool
	max uint32
}

var _ ziface.IDataPack = (*DataPack)(nil)

// NewDataPack returns a DataPack for framing (zconf.FramingLE or
// zconf.FramingBE) that refuses payloads over maxPackageSize bytes.
func NewDataPack(framing string, maxPackageSize int) *DataPack {
	return &DataPack{be: framing == zconf.FramingBE, max: uint32(maxPackageSize)}
}

// MaxPayload is the largest payload p packs or reads (MaxPackageSize), for
// a caller that builds a message and must know whether it can be sent.
func (p *DataPack) MaxPayload() int { return int(p.max) }

// GetHeadLen returns HeadLen.
func (p *DataPack) GetHeadLen() uint32 { return HeadLen }

// Pack encodes msg into a new frame.
func (p *DataPack) Pack(msg ziface.IMessage) ([]byte, error) {
	return p.AppendPack(nil, msg.GetMsgID(), msg.GetData())
}

// AppendPack appends the frame for (msgID, data) to dst. It refuses payloads
// the peer would refuse.
func (p *DataPack) AppendPack(dst []byte, msgID uint32, data []byte) ([]byte, error) {
	if uint64(len(data)) > uint64(p.max) {
		return dst, fmt.Errorf("%w: %d bytes, max %d", ErrPacketTooLarge, len(data), p.max)
	}
	return p.appendPacket(dst, msgID, data), nil
}

// appendPacket is AppendPack for callers that checked the size already.
func (p *DataPack) appendPacket(dst []byte, msgID uint32, data []byte) []byte {
	if p.be {
		dst = binary.BigEndian.AppendUint32(dst, msgID)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(data)))
	} else {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(data)))
		dst = binary.LittleEndian.AppendUint32(dst, msgID)
	}
	return append(dst, data...)
}

// Unpack parses a frame head. The returned message carries the ID and the
// announced length; its payload is read separately. A head announcing more
// than the maximum is refused with ErrPacketTooLarge.
func (p *DataPack) Unpack(head []byte) (ziface.IMessage, error) {
	id, n, err := p.decodeHead(head)
	if err != nil {
		return nil, err
	}
	return &Message{ID: id, DataLen: n}, nil
}

func (p *DataPack) decodeHead(head []byte) (msgID, dataLen uint32, err error) {
	if len(head) < HeadLen {
		return 0, 0, fmt.Errorf("%w: %d of %d head bytes", ErrShortHead, len(head), HeadLen)
	}
	if p.be {
		msgID, dataLen = binary.BigEndian.Uint32(head), binary.BigEndian.Uint32(head[4:])
	} else {
		dataLen, msgID = binary.LittleEndian.Uint32(head), binary.LittleEndian.Uint32(head[4:])
	}
	if dataLen > p.max {
		return msgID, dataLen, fmt.Errorf("%w: head announces %d bytes, max %d", ErrPacketTooLarge, dataLen, p.max)
	}
	return msgID, dataLen, nil
}

// payloadLen reads the payload length from a frame head we packed.
func (p *DataPack) payloadLen(head []byte) uint32 {
	if p.be {
		return binary.BigEndian.Uint32(head[4:])
	}
	return binary.LittleEndian.Uint32(head)
}

// Decode parses the first frame in buf, for transports that deliver whole
// buffers (several frames may follow each other). It returns the frame's
// message ID and payload (a sub-slice of buf) and the bytes consumed; n == 0
// with a nil error means buf holds only part of a frame.
func (p *DataPack) Decode(buf []byte) (msgID uint32, data []byte, n int, err error) {
	if len(buf) < HeadLen {
		return 0, nil, 0, nil
	}
	msgID, dataLen, err := p.decodeHead(buf)
	if err != nil {
		return msgID, nil, 0, err
	}
	end := HeadLen + int(dataLen)
	if len(buf) < end {
		return 0, nil, 0, nil
	}
	return msgID, buf[HeadLen:end:end], end, nil
}

// frameReader reads frames from a stream through its own buffer: frames
// are parsed straight out of it, so sticky packets (many per read) cost no
// extra calls, and a frame split over many reads is completed by reading the
// rest of its payload directly into the payload slice.
type frameReader struct {
	pack      *DataPack
	rd        io.Reader
	buf       []byte
	max       int // the size buf may grow to (IOReadBuffSize)
	r, w      int // unread bytes are buf[r:w]
	err       error
	arena     []byte
	arenaNext int // the size of the next arena chunk
}

// Small payloads are carved from a shared chunk instead of allocated one by
// one: a 64-byte message then costs 1/128 of an allocation. A payload a
// handler keeps pins its chunk, at most arenaChunk bytes.
//
// Both the chunks and the read buffer start small and double as traffic
// needs them: a connection that only sends a ping now and then keeps about
// 1 KiB of them instead of 12 KiB, which is what makes 50,000 idle players
// cheap, while a busy one reaches full size after a few reads.
const (
	arenaMax   = 256
	arenaChunk = 8 << 10
	arenaFirst = 512
	readFirst  = 512
)

func newFrameReader(pack *DataPack, r io.Reader, size int) *frameReader {
	size = max(size, 2*HeadLen)
	return &frameReader{pack: pack, rd: r, buf: make([]byte, min(size, readFirst)), max: size, arenaNext: arenaFirst}
}

// fill reads more bytes into the buffer, moving what is unread to the front.
func (fr *frameReader) fill() error {
	if fr.err != nil {
		return fr.err
	}
	if fr.r > 0 {
		fr.w = copy(fr.buf, fr.buf[fr.r:fr.w])
		fr.r = 0
	}
	free := len(fr.buf) - fr.w
	n, err := fr.rd.Read(fr.buf[fr.w:])
	fr.w += n
	if n == free && len(fr.buf) < fr.max {
		// The read filled the buffer: more is likely waiting. Grow, so
		// the next reads take bigger bites.
		grown := make([]byte, min(2*len(fr.buf), fr.max))
		fr.w = copy(grown, fr.buf[fr.r:fr.w])
		fr.r = 0
		fr.buf = grown
	}
	if err != nil {
		fr.err = err
		if n > 0 {
			return nil // hand out what arrived first
		}
		return err
	}
	return nil
}

// next reads one frame. The payload is freshly allocated (nil when empty)
// and belongs to the caller. The length is checked before the allocation.
func (fr *frameReader) next() (msgID uint32, data []byte, err error) {
	for fr.w-fr.r < HeadLen {
		if err := fr.fill(); err != nil {
			if err == io.EOF && fr.w > fr.r {
				err = io.ErrUnexpectedEOF
			}
			return 0, nil, err
		}
	}
	msgID, n, err := fr.pack.decodeHead(fr.buf[fr.r : fr.r+HeadLen])
	if err != nil {
		return msgID, nil, err
	}
	fr.r += HeadLen
	if n == 0 {
		return msgID, nil, nil
	}
	data = fr.alloc(n)
	got := copy(data, fr.buf[fr.r:fr.w])
	fr.r += got
	if got < len(data) {
		if fr.err != nil {
			err = fr.err
		} else {
			_, err = io.ReadFull(fr.rd, data[got:])
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			fr.err = err
			return msgID, nil, err
		}
	}
	return msgID, data, nil
}

// alloc returns an n-byte payload slice, small ones carved from the arena.
func (fr *frameReader) alloc(n uint32) []byte {
	if n > arenaMax {
		return make([]byte, n)
	}
	if cap(fr.arena)-len(fr.arena) < int(n) {
		fr.arena = make([]byte, 0, fr.arenaNext)
		fr.arenaNext = min(2*fr.arenaNext, arenaChunk)
	}
	l := len(fr.arena)
	fr.arena = fr.arena[:l+int(n)]
	return fr.arena[l : l+int(n) : l+int(n)]
}

// frameBuffered reports whether a whole frame (or a head that next will
// refuse) is already buffered, so next would not block.
func (fr *frameReader) frameBuffered() bool {
	if fr.w-fr.r < HeadLen {
		return false
	}
	_, n, err := fr.pack.decodeHead(fr.buf[fr.r : fr.r+HeadLen])
	return err != nil || fr.w-fr.r >= HeadLen+int(n)
}

// reset points the reader at r with an empty buffer.
func (fr *frameReader) reset(r io.Reader) {
	fr.rd, fr.r, fr.w, fr.err = r, 0, 0, nil
}
