package mmo

import (
	"errors"
	"log/slog"
	"runtime"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/protocol/mmopb"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

// A tick's messages for one player are appended, packed, to the player's
// buffer and leave in one write when the tick ends: a crowded spot sends
// each player dozens of moves a tick, and a write per message cost more
// than the messages. A buffer that grows past maxTickBytes in one tick is
// written at once, so a burst never holds more than that per player here;
// past that the connection's own send-queue bound applies.
const maxTickBytes = 64 << 10

// sendFrame queues a packed frame for p.
func (s *Scene) sendFrame(p *Player, frame []byte) {
	if len(frame) == 0 {
		return
	}
	p.out = append(p.out, frame...)
	p.frames++
	if !p.queued {
		p.queued = true
		s.dirty = append(s.dirty, p)
	}
	if len(p.out) >= maxTickBytes {
		s.write(p)
	}
}

// flush writes every player's frames of this tick. The writes are most of
// a crowded tick (a syscall each: 80% of its time with 1,000 players in
// view of each other), and every player waits for the tick to end, so a
// long list is split between the tick's goroutine and a few more, one per
// core: each player's write is still one write, and different players'
// buffers are written by one goroutine each.
func (s *Scene) flush() {
	d := s.dirty
	if n := min(runtime.GOMAXPROCS(0), maxWriters, len(d)/minPerWriter); n > 1 {
		var wg sync.WaitGroup
		per := (len(d) + n - 1) / n
		for lo := per; lo < len(d); lo += per {
			wg.Add(1)
			go func(part []*Player) {
				defer wg.Done()
				s.writeAll(part)
			}(d[lo:min(lo+per, len(d))])
		}
		s.writeAll(d[:min(per, len(d))])
		wg.Wait()
	} else {
		s.writeAll(d)
	}
	frames := 0
	for _, p := range d {
		frames += p.sent
		p.sent = 0
	}
	s.w.met.writes.Add(float64(len(d)))
	s.w.met.frames.Add(float64(frames))
	clear(d)
	s.dirty = d[:0]
}

// maxWriters and minPerWriter bound the goroutines that write one tick.
const (
	maxWriters   = 4
	minPerWriter = 64
)

func (s *Scene) writeAll(ps []*Player) {
	for _, p := range ps {
		s.write(p)
		p.queued = false
	}
}

// flushNow writes p's frames now and takes it off the tick's list, for a
// player leaving the scene for another, whose tick writes to it next.
func (s *Scene) flushNow(p *Player) {
	s.write(p)
	if !p.queued {
		return
	}
	p.queued = false
	for i, q := range s.dirty {
		if q == p {
			last := len(s.dirty) - 1
			s.dirty[i], s.dirty[last] = s.dirty[last], nil
			s.dirty = s.dirty[:last]
			return
		}
	}
}

// write sends p's queued frames in one write.
func (s *Scene) write(p *Player) {
	if p.frames == 0 {
		return
	}
	err := sendFrames(p.Conn, s.w.pack.Load(), p.out, p.frames)
	if err != nil && !errors.Is(err, znet.ErrConnClosed) && !errors.Is(err, znet.ErrSendQueueFull) {
		// A closed connection is a player leaving; a full queue is a
		// player znet is cutting, logged once there. Anything else is a
		// bug.
		s.r.Logger().Warn("game: write to a player failed", "pid", p.PID, "bytes", len(p.out), "err", err)
	}
	p.sent += p.frames
	if cap(p.out) > maxTickBytes {
		p.out = nil // one burst does not keep its buffer
	} else {
		p.out = p.out[:0]
	}
	p.frames = 0
}

// framesSender is a connection that takes several packed frames in one
// write (*znet.Connection).
type framesSender interface {
	SendFramesNow(frames []byte, count int) error
}

// sendFrames sends n packed frames: in one write where the connection can,
// one message at a time otherwise (test recorders).
func sendFrames(c ziface.IConnection, pack *znet.DataPack, buf []byte, n int) error {
	if fs, ok := c.(framesSender); ok {
		return fs.SendFramesNow(buf, n)
	}
	for len(buf) > 0 {
		id, data, k, err := pack.Decode(buf)
		if err != nil || k == 0 {
			return errors.Join(errors.New("game: a packed frame did not decode"), err)
		}
		if err := c.SendMsg(id, append([]byte(nil), data...)); err != nil {
			return err
		}
		buf = buf[k:]
	}
	return nil
}

// encoder encodes the scene's own messages into reused buffers and
// messages, so a move costs no allocation: payload and frame hold the last
// payload and the last packed frame, each valid until the next call that
// makes one.
type encoder struct {
	log             *slog.Logger
	payload, packed []byte
	opts            proto.MarshalOptions
	bc              mmopb.BroadCast
	bcP             mmopb.BroadCast_P
	pos             mmopb.Position
	sync            mmopb.SyncPID
	list            mmopb.SyncPlayers
	players         []mmopb.Player
	positions       []mmopb.Position
}

// frame packs (msgID, data) into the encoder's frame buffer. A payload
// over the packer's bound (MaxPackageSize) is dropped (nil), with a log
// line: no client would read it. The world's own messages never are
// (handleTalk refuses a chat too long to send); an application's can be.
func (e *encoder) frame(pack *znet.DataPack, msgID uint32, data []byte) []byte {
	b, err := pack.AppendPack(e.packed[:0], msgID, data)
	if err != nil {
		e.log.Warn("game: a message over MaxPackageSize was not sent", "msg_id", msgID, "bytes", len(data), "err", err)
		return nil
	}
	e.packed = b
	return b
}

func (e *encoder) marshal(m proto.Message) []byte {
	b, err := e.opts.MarshalAppend(e.payload[:0], m)
	if err != nil {
		panic(err) // our own messages always marshal
	}
	e.payload = b
	return b
}

// broadcastPos is BroadCast{PID, Tp, P: pos}.
func (e *encoder) broadcastPos(pid, tp int32, p Position) []byte {
	e.pos = mmopb.Position{X: p.X, Y: p.Y, Z: p.Z, V: p.V}
	e.bcP.P = &e.pos
	e.bc = mmopb.BroadCast{PID: pid, Tp: tp, Data: &e.bcP}
	return e.marshal(&e.bc)
}

// syncPID is SyncPID{PID}.
func (e *encoder) syncPID(pid int32) []byte {
	e.sync = mmopb.SyncPID{PID: pid}
	return e.marshal(&e.sync)
}

// syncPlayers is SyncPlayers listing ps.
func (e *encoder) syncPlayers(ps []*Player) []byte {
	if cap(e.players) < len(ps) {
		e.players = make([]mmopb.Player, len(ps))
		e.positions = make([]mmopb.Position, len(ps))
	}
	e.list.Ps = e.list.Ps[:0]
	for i, p := range ps {
		e.positions[i] = mmopb.Position{X: p.pos.X, Y: p.pos.Y, Z: p.pos.Z, V: p.pos.V}
		e.players[i] = mmopb.Player{PID: p.PID, P: &e.positions[i]}
		e.list.Ps = append(e.list.Ps, &e.players[i])
	}
	return e.marshal(&e.list)
}
