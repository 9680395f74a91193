package main

import (
	"github.com/zinxgame/zinxgame/examples/lockstep/demo"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/lspb"
	"github.com/zinxgame/zinxgame/zconf"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
	"github.com/zinxgame/zinxgame/znet/znettest"
)

// fakeServer is a test double of the lockstep server, written from
// protocol/lspb/lockstep.proto as the bots read it, so that the bots can be
// run end to end without lockstep.Service. It is not the server: one lock, one
// ticker, no limits, no validation beyond what the bots need. It sends each
// frame as its own batch at fakeTick and catch-up in batches of 10 frames.
type fakeServer struct {
	faults fakeFaults
	addr   string
	done   chan struct{}
	wg     sync.WaitGroup

	mu      sync.Mutex
	nextID  uint64
	players map[string]*fakePlayer // by token
	rooms   map[uint64]*fakeRoom
}

// fakeFaults are server bugs the bots must catch.
type fakeFaults struct {
	catchUpShift  int  // start catch-up this many frames after (or before) the right one
	corruptSlot1  bool // slot 1 gets slot 0's inputs turned around: its state drifts
	dropEvery     int  // drop every n-th input a connection sends
	skipLiveFrame bool // one live frame is not sent to slot 0
	// inputCrossesEnd is no bug: after MatchEnd each seat also gets the
	// Error that answers an input it sent as the match ended (a server
	// that closes the room at its shutdown answers ERROR_NOT_IN_ROOM).
	inputCrossesEnd bool
}

const (
	fakeTick         = time.Second / 30
	fakeHashInterval = 10
)

type fakePlayer struct {
	inputs int // received
	id     uint64
	token  string
	conn   ziface.IConnection // nil while disconnected
	live   bool               // in a running match on conn: gets frames
	room   *fakeRoom
	slot   uint32
}

type fakeRoom struct {
	id, matchID, seed uint64
	max               uint32
	seats             []*fakePlayer
	started, ended    bool
	frame             uint32              // the last frame sent
	pending           []*lspb.SlotInput   // inputs for frame+1
	history           [][]*lspb.SlotInput // history[f-1]: frame f's inputs
	hashes            map[uint32]uint64   // frame -> the first hash reported
	votes             map[uint32][]byte   // slot -> result
}

func startFake(t *testing.T, faults fakeFaults) *fakeServer {
	t.Helper()
	f := &fakeServer{faults: faults, done: make(chan struct{}),
		players: map[string]*fakePlayer{}, rooms: map[uint64]*fakeRoom{}}
	ts := znettest.NewServer(t, zconf.Default(), func(srv *znet.Server) { f.routes(srv) })
	f.addr = ts.Addr
	f.wg.Add(1)
	go f.ticker()
	// Registered after the server's: the ticker stops before the shutdown.
	t.Cleanup(func() {
		close(f.done)
		f.wg.Wait()
	})
	return f
}

func (f *fakeServer) routes(srv *znet.Server) {
	on := func(id uint32, m proto.Message, h func(c ziface.IConnection, p *fakePlayer, m proto.Message)) {
		srv.AddRouterFunc(id, func(req ziface.IRequest) {
			msg := proto.Clone(m)
			if proto.Unmarshal(req.GetData(), msg) != nil {
				f.fail(req.GetConnection(), id, commonpb.ErrorCode_ERROR_BAD_REQUEST)
				return
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			c := req.GetConnection()
			v, _ := c.GetProperty("p")
			p, _ := v.(*fakePlayer)
			if p == nil && id != lspb.MsgLogin {
				f.fail(c, id, commonpb.ErrorCode_ERROR_NOT_LOGGED_IN)
				return
			}
			h(c, p, msg)
		})
	}
	on(lspb.MsgLogin, &commonpb.Login{}, f.login)
	on(lspb.MsgRoomCreate, &lspb.RoomCreate{}, f.create)
	on(lspb.MsgRoomJoin, &lspb.RoomJoin{}, f.join)
	on(lspb.MsgRoomList, &lspb.RoomList{}, f.list)
	on(lspb.MsgReady, &lspb.Ready{}, func(ziface.IConnection, *fakePlayer, proto.Message) {})
	on(lspb.MsgInput, &lspb.Input{}, f.input)
	on(lspb.MsgHashReport, &lspb.HashReport{}, f.hash)
	on(lspb.MsgReconnect, &lspb.Reconnect{}, f.reconnect)
	on(lspb.MsgMatchResult, &lspb.MatchResult{}, f.result)
	srv.SetOnConnStop(func(c ziface.IConnection) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if v, _ := c.GetProperty("p"); v != nil && v.(*fakePlayer).conn == c {
			v.(*fakePlayer).conn, v.(*fakePlayer).live = nil, false
		}
	})
}

func send(c ziface.IConnection, id uint32, m proto.Message) {
	data, _ := proto.Marshal(m)
	_ = c.SendMsg(id, data)
}

func (f *fakeServer) fail(c ziface.IConnection, id uint32, code commonpb.ErrorCode) {
	send(c, lspb.MsgError, &commonpb.Error{Code: code, Message: code.String(), RequestId: id})
}

func (f *fakeServer) login(c ziface.IConnection, _ *fakePlayer, m proto.Message) {
	token := m.(*commonpb.Login).Token
	p := f.players[token]
	switch {
	case token == "":
		f.nextID++
		p = &fakePlayer{id: f.nextID, token: "t" + strconv.FormatUint(f.nextID, 10)}
		f.players[p.token] = p
	case p == nil:
		f.fail(c, lspb.MsgLogin, commonpb.ErrorCode_ERROR_BAD_TOKEN)
		return
	}
	p.conn, p.live = c, false // a newer connection takes the seat over
	c.SetProperty("p", p)
	ack := &commonpb.LoginAck{PlayerId: p.id, Token: p.token}
	if p.room != nil && p.room.started && !p.room.ended {
		ack.RoomId = p.room.id
	}
	send(c, lspb.MsgLoginAck, ack)
}

func (rm *fakeRoom) info() *lspb.RoomInfo {
	st := lspb.RoomStatus_ROOM_STATUS_OPEN
	if rm.started {
		st = lspb.RoomStatus_ROOM_STATUS_RUNNING
	}
	return &lspb.RoomInfo{RoomId: rm.id, Status: st, Players: uint32(len(rm.seats)),
		Options: &lspb.RoomOptions{MaxPlayers: rm.max, TickRate: 30, HashInterval: fakeHashInterval, FramesPerPacket: 1}}
}

func (rm *fakeRoom) slots() (s []*lspb.SlotPlayer) {
	for _, p := range rm.seats {
		s = append(s, &lspb.SlotPlayer{Slot: p.slot, PlayerId: p.id, Connected: p.conn != nil})
	}
	return s
}

func (f *fakeServer) create(c ziface.IConnection, p *fakePlayer, m proto.Message) {
	f.nextID++
	rm := &fakeRoom{id: f.nextID, max: max(m.(*lspb.RoomCreate).GetOptions().GetMaxPlayers(), 1),
		hashes: map[uint32]uint64{}, votes: map[uint32][]byte{}}
	f.rooms[rm.id] = rm
	f.seat(c, p, rm)
}

func (f *fakeServer) join(c ziface.IConnection, p *fakePlayer, m proto.Message) {
	rm := f.rooms[m.(*lspb.RoomJoin).RoomId]
	switch {
	case rm == nil:
		f.fail(c, lspb.MsgRoomJoin, commonpb.ErrorCode_ERROR_ROOM_NOT_FOUND)
	case uint32(len(rm.seats)) >= rm.max:
		f.fail(c, lspb.MsgRoomJoin, commonpb.ErrorCode_ERROR_ROOM_FULL)
	default:
		f.seat(c, p, rm)
	}
}

func (f *fakeServer) seat(c ziface.IConnection, p *fakePlayer, rm *fakeRoom) {
	p.room, p.slot = rm, uint32(len(rm.seats))
	rm.seats = append(rm.seats, p)
	send(c, lspb.MsgRoomState, &lspb.RoomState{Room: rm.info(), YourSlot: p.slot, Slots: rm.slots()})
	for _, o := range rm.seats[:len(rm.seats)-1] {
		if o.conn == nil {
			continue
		}
		send(o.conn, lspb.MsgPlayerEvent, &lspb.PlayerEvent{Kind: lspb.PlayerEventKind_PLAYER_JOINED,
			Player: &lspb.SlotPlayer{Slot: p.slot, PlayerId: p.id, Connected: true}})
	}
	if uint32(len(rm.seats)) == rm.max { // full: start
		rm.started, rm.matchID, rm.seed = true, rm.id*1000, rm.id*7919
		for _, o := range rm.seats {
			if o.conn != nil {
				f.matchStart(o)
			}
		}
	}
}

func (f *fakeServer) matchStart(p *fakePlayer) {
	rm := p.room
	send(p.conn, lspb.MsgMatchStart, &lspb.MatchStart{MatchId: rm.matchID, Seed: rm.seed, TickRate: 30,
		Slots: rm.slots(), StartFrame: 1, YourSlot: p.slot, HashInterval: fakeHashInterval, FramesPerPacket: 1})
	p.live = true
}

func (f *fakeServer) list(c ziface.IConnection, _ *fakePlayer, _ proto.Message) {
	ack := &lspb.RoomListAck{}
	for _, rm := range f.rooms {
		ack.Rooms = append(ack.Rooms, rm.info())
	}
	send(c, lspb.MsgRoomListAck, ack)
}

func (f *fakeServer) input(c ziface.IConnection, p *fakePlayer, m proto.Message) {
	p.inputs++
	if f.faults.dropEvery > 0 && p.inputs%f.faults.dropEvery == 0 {
		return
	}
	if in := m.(*lspb.Input); p.live && !p.room.ended {
		p.room.pending = append(p.room.pending, &lspb.SlotInput{Slot: p.slot, Data: in.Data, Seq: in.Seq})
	}
}

func (f *fakeServer) ticker() {
	defer f.wg.Done()
	t := time.NewTicker(fakeTick)
	defer t.Stop()
	for {
		select {
		case <-f.done:
			return
		case <-t.C:
		}
		f.mu.Lock()
		for _, rm := range f.rooms {
			if !rm.started || rm.ended {
				continue
			}
			rm.frame++
			rm.history = append(rm.history, rm.pending)
			batch := &lspb.FrameBatch{FirstFrame: rm.frame, Count: 1}
			if len(rm.pending) > 0 {
				batch.Busy = []*lspb.FrameInputs{{Inputs: rm.pending}}
			}
			rm.pending = nil
			data, _ := proto.Marshal(batch)
			for _, p := range rm.seats {
				if !p.live || (f.faults.skipLiveFrame && p.slot == 0 && rm.frame == 20) {
					continue
				}
				if f.faults.corruptSlot1 && p.slot == 1 {
					_ = p.conn.SendMsg(lspb.MsgFrames, corrupt(batch))
					continue
				}
				_ = p.conn.SendMsg(lspb.MsgFrames, data)
			}
		}
		f.mu.Unlock()
	}
}

func (f *fakeServer) hash(_ ziface.IConnection, p *fakePlayer, m proto.Message) {
	h, rm := m.(*lspb.HashReport), p.room
	if first, ok := rm.hashes[h.Frame]; !ok {
		rm.hashes[h.Frame] = h.Hash
	} else if first != h.Hash {
		for _, o := range rm.seats {
			if o.live {
				send(o.conn, lspb.MsgDesync, &lspb.Desync{Frame: h.Frame, Slots: []uint32{p.slot}})
			}
		}
	}
}

func (f *fakeServer) reconnect(c ziface.IConnection, p *fakePlayer, m proto.Message) {
	rm, last := p.room, m.(*lspb.Reconnect).LastFrame
	if rm == nil || !rm.started || rm.ended || last > rm.frame {
		f.fail(c, lspb.MsgReconnect, commonpb.ErrorCode_ERROR_NO_SEAT)
		return
	}
	send(c, lspb.MsgRoomState, &lspb.RoomState{Room: rm.info(), YourSlot: p.slot, Slots: rm.slots()})
	f.matchStart(p)
	for first := uint32(int(last) + 1 + f.faults.catchUpShift); first <= rm.frame; first += 10 {
		b := &lspb.FrameBatch{FirstFrame: first, Count: min(10, rm.frame-first+1)}
		for i := range b.Count {
			if in := rm.history[first+i-1]; len(in) > 0 {
				b.Busy = append(b.Busy, &lspb.FrameInputs{Offset: i, Inputs: in})
			}
		}
		send(c, lspb.MsgCatchUp, b)
	}
}

func (f *fakeServer) result(_ ziface.IConnection, p *fakePlayer, m proto.Message) {
	rm, res := p.room, m.(*lspb.MatchResult).Result
	rm.votes[p.slot] = res
	same, connected := 0, 0
	for _, o := range rm.seats {
		if o.conn != nil {
			connected++
		}
		if string(rm.votes[o.slot]) == string(res) {
			same++
		}
	}
	if rm.ended || 2*same <= connected {
		return
	}
	rm.ended = true
	for _, o := range rm.seats {
		if o.conn != nil {
			send(o.conn, lspb.MsgMatchEnd, &lspb.MatchEnd{MatchId: rm.matchID, LastFrame: rm.frame,
				Reason: lspb.MatchEndReason_MATCH_END_RESULT, Result: res})
			if f.faults.inputCrossesEnd {
				f.fail(o.conn, lspb.MsgInput, commonpb.ErrorCode_ERROR_NOT_IN_ROOM)
			}
		}
	}
}

// corrupt returns b with slot 0's inputs turned around.
func corrupt(b *lspb.FrameBatch) []byte {
	c := proto.Clone(b).(*lspb.FrameBatch)
	for _, fi := range c.Busy {
		for _, in := range fi.Inputs {
			if in.Slot == 0 {
				in.Data = demo.EncodeInput(-int8(in.Data[0]), -int8(in.Data[1]))
			}
		}
	}
	data, _ := proto.Marshal(c)
	return data
}
