package main

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/internal/botkit"
	"github.com/zinxgame/zinxgame/protocol/mmopb"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

// Counters, per stripe. cRecvSyncPID..cRecvUnknownID count messages
// received.
const (
	cRecvSyncPID = iota
	cRecvChat
	cRecvAppear
	cRecvAction
	cRecvMoved
	cRecvOtherTp
	cRecvLeave
	cRecvSyncPlayers
	cRecvNotice
	cRecvError // Error (12): a refused request, such as a chat over the server's rate
	cRecvUnknownID
	cUnmarshalErr // proto.Unmarshal failed
	cMalformed    // decoded, but a field the type needs is missing
	cMovesSent
	cChatsSent
	cSendErr
	cMoveUnmatched // a position no bot of ours sent (spawn) or expired
	cMoveSkipped   // an appear caused by the receiver's own move
	cChatUnmatched
	nCounters
	nRecv = cRecvUnknownID + 1
)

// stripe holds counters and histograms shared by every nStripes-th bot:
// few enough to merge each second, enough that two bots rarely write the
// same cache lines.
type stripe struct {
	c          [nCounters]atomic.Uint64
	move, chat botkit.Hist
	_          [64]byte
}

const nStripes = 64

// step is the largest move along each axis, in map units.
const step = 3

// ringSize is how many recent moves (and chats) each bot remembers for
// latency matching; at 2 moves a second that is 32 s.
const ringSize = 64

// ring remembers a bot's last ringSize sends as key -> send time. One
// goroutine writes it; any goroutine reads it. Each slot is a seqlock, so a
// reader never pairs one send's key with another's time.
type ring struct {
	head  atomic.Uint64 // sends written so far
	slots [ringSize]struct {
		seq atomic.Uint64 // odd while being written
		key atomic.Uint64
		at  atomic.Int64
	}
}

func (r *ring) add(key uint64, at int64) {
	n := r.head.Load()
	s := &r.slots[n%ringSize]
	s.seq.Add(1)
	s.key.Store(key)
	s.at.Store(at)
	s.seq.Add(1)
	r.head.Store(n + 1)
}

// find returns when key was sent, searching from the newest send.
func (r *ring) find(key uint64) (int64, bool) {
	h := r.head.Load()
	for i := uint64(0); i < min(h, ringSize); i++ {
		s := &r.slots[(h-1-i)%ringSize]
		for try := 0; try < 100; try++ {
			s1 := s.seq.Load()
			if s1&1 != 0 {
				runtime.Gosched()
				continue
			}
			k, at := s.key.Load(), s.at.Load()
			if s.seq.Load() != s1 {
				continue
			}
			if k == key {
				return at, true
			}
			break
		}
	}
	return 0, false
}

func posKey(x, z float32) uint64 {
	return uint64(math.Float32bits(x))<<32 | uint64(math.Float32bits(z))
}

// bot is one simulated player on one connection. Its handlers run on the
// connection's reader goroutine (WorkerPoolSize Off); once logged in, its own
// goroutine (run) moves and chats.
type bot struct {
	r    *runner
	conn ziface.IConnection
	st   *stripe

	// Written by the reader goroutine before run starts, then by run only.
	pid     int32
	started bool // run was started
	gotList bool // the login list (202) arrived
	x, y, z float32
	scratch broadCast // the reader's reusable decode target

	lastMove atomic.Int64 // send time of the latest move, runner clock
	moves    ring         // key posKey(x, z)
	chats    ring         // key chat sequence number
}

func (b *bot) count(c int) { b.st.c[c].Add(1) }

// run moves and chats until ctx ends or the connection closes, each on its
// own schedule with a random phase so the bots do not act in lockstep.
func (b *bot) run(ctx context.Context) {
	cfg := b.r.cfg
	rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	now := time.Now()
	var moveEvery, chatEvery time.Duration
	var nextMove, nextChat time.Time
	if cfg.MoveRate > 0 {
		moveEvery = time.Duration(float64(time.Second) / cfg.MoveRate)
		nextMove = now.Add(time.Duration(rng.Int64N(int64(moveEvery))))
	}
	if cfg.ChatRate > 0 {
		chatEvery = time.Duration(float64(time.Minute) / cfg.ChatRate)
		nextChat = now.Add(time.Duration(rng.Int64N(int64(chatEvery))))
	}
	closed := b.conn.Context().Done()
	if nextMove.IsZero() && nextChat.IsZero() {
		select {
		case <-ctx.Done():
		case <-closed:
		}
		return
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var chatSeq uint64
	for {
		next := nextMove
		if next.IsZero() || (!nextChat.IsZero() && nextChat.Before(next)) {
			next = nextChat
		}
		timer.Reset(time.Until(next))
		select {
		case <-ctx.Done():
			return
		case <-closed:
			return
		case now = <-timer.C:
		}
		if !nextMove.IsZero() && !now.Before(nextMove) {
			if !b.move(rng) {
				return
			}
			nextMove = later(nextMove.Add(moveEvery), now)
		}
		if !nextChat.IsZero() && !now.Before(nextChat) {
			chatSeq++
			if !b.chat(chatSeq) {
				return
			}
			nextChat = later(nextChat.Add(chatEvery), now)
		}
	}
}

// later keeps a schedule from bursting to catch up after a stall.
func later(next, now time.Time) time.Time {
	if next.Before(now) {
		return now
	}
	return next
}

// move takes a random step of up to step units along each axis, bouncing
// off the map's edges, and sends it. The send time is recorded before the
// send, so a neighbour cannot receive the move before it is known.
func (b *bot) move(rng *rand.Rand) bool {
	w := b.r.world
	b.x = bounce(b.x+(rng.Float32()*2-1)*step, w.MinX+1, w.MaxX-1)
	b.z = bounce(b.z+(rng.Float32()*2-1)*step, w.MinZ+1, w.MaxZ-1)
	at := b.r.now()
	b.moves.add(posKey(b.x, b.z), at)
	b.lastMove.Store(at)
	data, _ := proto.Marshal(&mmopb.Position{X: b.x, Y: b.y, Z: b.z})
	return b.send(mmopb.MsgMove, data, cMovesSent)
}

func bounce(v, lo, hi float32) float32 {
	if v < lo {
		v = 2*lo - v
	}
	if v > hi {
		v = 2*hi - v
	}
	return min(max(v, lo), hi)
}

// chat sends world chat "bot <pid> <seq>", which names its own sender.
func (b *bot) chat(seq uint64) bool {
	b.chats.add(seq, b.r.now())
	data, _ := proto.Marshal(&mmopb.Talk{Content: chatText(b.pid, seq)})
	return b.send(mmopb.MsgTalk, data, cChatsSent)
}

func chatText(pid int32, seq uint64) string {
	return "bot " + strconv.Itoa(int(pid)) + " " + strconv.FormatUint(seq, 10)
}

func parseChat(s []byte) (pid int32, seq uint64, ok bool) {
	rest, ok := bytes.CutPrefix(s, []byte("bot "))
	if !ok {
		return 0, 0, false
	}
	p, q, ok := bytes.Cut(rest, []byte(" "))
	if !ok {
		return 0, 0, false
	}
	// string(x) in a call does not allocate.
	p64, err1 := strconv.ParseInt(string(p), 10, 32)
	seq, err2 := strconv.ParseUint(string(q), 10, 64)
	return int32(p64), seq, err1 == nil && err2 == nil
}

// send reports whether the bot should carry on.
func (b *bot) send(id uint32, data []byte, sent int) bool {
	if err := b.conn.SendMsg(id, data); err != nil {
		b.count(cSendErr)
		return !errors.Is(err, znet.ErrConnClosed) && !errors.Is(err, znet.ErrSendQueueFull)
	}
	b.count(sent)
	return true
}
