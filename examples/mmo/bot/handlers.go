package main

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/protocol"
	"github.com/zinxgame/zinxgame/protocol/pb"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

// Handlers. With WorkerPoolSize 0 a connection's handlers run on its reader
// goroutine, one at a time, so a bot's reader-side fields need no lock.

func botOf(req ziface.IRequest) *bot {
	v, _ := req.GetConnection().GetProperty(propBot)
	return v.(*bot)
}

func (r *runner) onConnect(c ziface.IConnection) {
	i := r.nextBot.Add(1) - 1
	c.SetProperty(propBot, &bot{r: r, conn: c, st: &r.stripes[i%nStripes]})
}

func (r *runner) onDisconnect(c ziface.IConnection) {
	v, _ := c.GetProperty(propBot)
	b := v.(*bot)
	if b.pid != 0 {
		r.online.Add(-1)
	}
	if !r.ending.Load() {
		r.disconnects.Add(1)
	}
}

func (r *runner) onSyncPID(req ziface.IRequest) {
	b := botOf(req)
	b.count(cRecvSyncPID)
	var m pb.SyncPID
	if err := proto.Unmarshal(req.GetData(), &m); err != nil {
		b.count(cUnmarshalErr)
		return
	}
	if b.pid != 0 || m.PID == 0 {
		b.count(cMalformed) // a second login, or no ID
		return
	}
	b.pid = m.PID
	r.pids.Store(m.PID, b)
	r.loggedIn.Add(1)
	r.online.Add(1)
}

func (r *runner) onBroadCast(req ziface.IRequest) {
	b := botOf(req)
	m := &b.scratch
	if err := proto.Unmarshal(req.GetData(), m); err != nil {
		b.count(cUnmarshalErr)
		return
	}
	switch m.Tp {
	case protocol.TpChat:
		b.count(cRecvChat)
		c, ok := m.Data.(*pb.BroadCast_Content)
		if !ok {
			b.count(cMalformed)
		} else if m.PID != b.pid { // the sender's own echo does not count
			r.timeChat(b, m.PID, c.Content)
		}
	case protocol.TpAppear, protocol.TpMoved:
		appear := m.Tp == protocol.TpAppear
		if appear {
			b.count(cRecvAppear)
		} else {
			b.count(cRecvMoved)
		}
		p := m.GetP()
		if p == nil {
			b.count(cMalformed)
			return
		}
		if m.PID != b.pid {
			r.timeMove(b, m.PID, p, appear)
		} else if appear && !b.started && b.pid != 0 {
			// Our own appear, right after login: where we stand.
			b.started = true
			b.x, b.y, b.z = p.X, p.Y, p.Z
			r.spawn(func() { b.run(r.ctx) })
		}
	case protocol.TpAction:
		b.count(cRecvAction)
	default:
		b.count(cRecvOtherTp)
	}
}

// timeMove records the latency of another player's move as seen by b. An
// appear counts only when it cannot have been caused by b's own move: that
// one carries the other player's old position.
func (r *runner) timeMove(b *bot, pid int32, p *pb.Position, appear bool) {
	v, ok := r.pids.Load(pid)
	if !ok {
		b.count(cMoveUnmatched)
		return
	}
	at, ok := v.(*bot).moves.find(posKey(p.X, p.Z))
	switch {
	case !ok:
		b.count(cMoveUnmatched)
	case appear && at < b.lastMove.Load():
		b.count(cMoveSkipped)
	default:
		b.st.move.record(time.Duration(r.now() - at))
	}
}

func (r *runner) timeChat(b *bot, pid int32, content string) {
	spid, seq, ok := parseChat(content)
	var v any
	if ok && spid == pid {
		v, ok = r.pids.Load(pid)
	}
	var at int64
	if ok {
		at, ok = v.(*bot).chats.find(seq)
	}
	if !ok {
		b.count(cChatUnmatched)
		return
	}
	b.st.chat.record(time.Duration(r.now() - at))
}

func (r *runner) onLeave(req ziface.IRequest) {
	b := botOf(req)
	b.count(cRecvLeave)
	if err := proto.Unmarshal(req.GetData(), &pb.SyncPID{}); err != nil {
		b.count(cUnmarshalErr)
	}
}

func (r *runner) onSyncPlayers(req ziface.IRequest) {
	b := botOf(req)
	b.count(cRecvSyncPlayers)
	if err := proto.Unmarshal(req.GetData(), &pb.SyncPlayers{}); err != nil {
		b.count(cUnmarshalErr)
		return
	}
	if !b.gotList {
		b.gotList = true
		r.gotLists.Add(1)
	}
}

func (r *runner) onNotice(req ziface.IRequest) {
	b := botOf(req)
	b.count(cRecvNotice)
	n, err := znet.ParseNotice(req.GetData())
	if err != nil {
		b.count(cUnmarshalErr)
		return
	}
	if r.cfg.Progress != nil && !r.ending.Load() && r.noticeLogged.CompareAndSwap(false, true) {
		fmt.Fprintf(r.cfg.Progress, "server notice (first of possibly more): %s: %s\n", n.Code, n.Reason)
	}
}
