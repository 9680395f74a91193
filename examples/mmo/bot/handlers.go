package main

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/mmopb"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

// Handlers. With WorkerPoolSize Off a connection's handlers run on its reader
// goroutine, one at a time, so a bot's reader-side fields need no lock.

func botOf(req ziface.IRequest) *bot {
	v, _ := req.GetConnection().GetProperty(propBot)
	return v.(*bot)
}

func (r *runner) onConnect(c ziface.IConnection) {
	i := r.nextBot.Add(1) - 1
	c.SetProperty(propBot, &bot{r: r, conn: c, st: &r.stripes[i%nStripes]})
	if r.kcp {
		// A KCP server learns of a session from its first packet: this
		// one, so that the world greets the bot (SyncPID).
		_ = c.SendMsg(r.pingID, nil)
	}
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
	var m mmopb.SyncPID
	if err := proto.Unmarshal(req.GetData(), &m); err != nil {
		b.count(cUnmarshalErr)
		return
	}
	if b.pid != 0 || m.PID == 0 {
		b.count(cMalformed) // a second login, or no ID
		return
	}
	b.pid = m.PID
	r.pids.store(m.PID, b)
	r.loggedIn.Add(1)
	r.online.Add(1)
}

func (r *runner) onBroadCast(req ziface.IRequest) {
	b := botOf(req)
	m := &b.scratch
	if err := decodeBroadCast(req.GetData(), m); err != nil {
		b.count(cUnmarshalErr)
		return
	}
	switch m.Tp {
	case mmopb.TpChat:
		b.count(cRecvChat)
		if m.Data != dataContent {
			b.count(cMalformed)
		} else if m.PID != b.pid { // the sender's own echo does not count
			r.timeChat(b, m.PID, m.Content)
		}
	case mmopb.TpAppear, mmopb.TpMoved:
		appear := m.Tp == mmopb.TpAppear
		if appear {
			b.count(cRecvAppear)
		} else {
			b.count(cRecvMoved)
		}
		if m.Data != dataP {
			b.count(cMalformed)
			return
		}
		x, y, z := m.P[0], m.P[1], m.P[2]
		if m.PID != b.pid {
			r.timeMove(b, m.PID, x, z, appear)
		} else if appear && !b.started && b.pid != 0 {
			// Our own appear, right after login: where we stand.
			b.started = true
			b.x, b.y, b.z = x, y, z
			r.spawned.Go(func() { b.run(r.ctx) })
		}
	case mmopb.TpAction:
		b.count(cRecvAction)
	default:
		b.count(cRecvOtherTp)
	}
}

// timeMove records the latency of another player's move as seen by b. An
// appear counts only when it cannot have been caused by b's own move: that
// one carries the other player's old position.
func (r *runner) timeMove(b *bot, pid int32, x, z float32, appear bool) {
	sender, ok := r.pids.load(pid)
	if !ok {
		b.count(cMoveUnmatched)
		return
	}
	at, ok := sender.moves.find(posKey(x, z))
	switch {
	case !ok:
		b.count(cMoveUnmatched)
	case appear && at < b.lastMove.Load():
		b.count(cMoveSkipped)
	default:
		b.st.move.Record(time.Duration(r.now() - at))
	}
}

func (r *runner) timeChat(b *bot, pid int32, content []byte) {
	spid, seq, ok := parseChat(content)
	var sender *bot
	if ok && spid == pid {
		sender, ok = r.pids.load(pid)
	}
	var at int64
	if ok {
		at, ok = sender.chats.find(seq)
	}
	if !ok {
		b.count(cChatUnmatched)
		return
	}
	b.st.chat.Record(time.Duration(r.now() - at))
}

func (r *runner) onLeave(req ziface.IRequest) {
	b := botOf(req)
	b.count(cRecvLeave)
	if err := proto.Unmarshal(req.GetData(), &mmopb.SyncPID{}); err != nil {
		b.count(cUnmarshalErr)
	}
}

func (r *runner) onSyncPlayers(req ziface.IRequest) {
	b := botOf(req)
	b.count(cRecvSyncPlayers)
	if err := proto.Unmarshal(req.GetData(), &mmopb.SyncPlayers{}); err != nil {
		b.count(cUnmarshalErr)
		return
	}
	if !b.gotList {
		b.gotList = true
		r.gotLists.Add(1)
	}
}

// onError counts a refusal (Error, 12). The server refuses a bot's chats
// only past its chat rate (the MMO section's ChatRate), so a run with
// -chat-rate above it sees some.
func (r *runner) onError(req ziface.IRequest) {
	b := botOf(req)
	b.count(cRecvError)
	var e commonpb.Error
	if err := proto.Unmarshal(req.GetData(), &e); err != nil {
		b.count(cUnmarshalErr)
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
