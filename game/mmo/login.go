package mmo

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/game/account"
	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/mmopb"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

// HandleLogin is the router for message 10. A new identity, or the one a
// token stands for, is attached to the player; a returning player is moved
// to where it was saved, with the appear and leave messages a move causes,
// and its own new position (200, Tp 2). Account and store calls may block
// (Redis), so they run off the worker (Async). A refused token gets an
// Error (12), then the connection closes.
func (w *World) HandleLogin(req ziface.IRequest) {
	c := req.GetConnection()
	p := w.playerOf(c)
	if p == nil {
		return
	}
	var m commonpb.Login
	if err := proto.Unmarshal(req.GetData(), &m); err != nil {
		znet.LogLimited(c, w.log, "bad_login", slog.LevelWarn, "game: bad Login message", "pid", p.PID, "err", err)
		return
	}
	var (
		ident  account.Identity
		token  = m.Token
		rec    store.PlayerRecord
		found  bool
		failed error
	)
	err := c.Async(func(ctx context.Context) {
		if token == "" {
			ident, token, failed = w.accounts.NewAccount(ctx, m.Name)
			return
		}
		if ident, failed = w.accounts.Verify(ctx, token); failed == nil {
			rec, found, failed = w.store.LoadPlayer(ctx, ident.PlayerID)
		}
	}, func() {
		w.finishLogin(c, p, &m, ident.PlayerID, token, rec, found, failed)
	})
	if err != nil {
		w.log.Warn("game: login not started", "pid", p.PID, "err", err)
	}
}

func (w *World) finishLogin(c ziface.IConnection, p *Player, m *commonpb.Login, id uint64, token string, rec store.PlayerRecord, found bool, failed error) {
	if failed != nil {
		code := account.BadTokenCode(failed)
		w.log.Warn("game: login refused", "pid", p.PID, "err", failed)
		b := marshal(&commonpb.Error{Code: code, Message: "login refused", RequestId: w.id(mmopb.MsgMmoLogin)})
		_ = c.SendMsg(w.id(mmopb.MsgMmoError), b)
		c.Stop()
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.players[p.PID] != p {
		return // it left while the login ran
	}
	if p.Account != 0 {
		// One identity per connection: a second Login is ignored.
		znet.LogLimited(c, w.log, "second_login", slog.LevelWarn, "game: second login on one connection ignored", "pid", p.PID, "account", p.Account)
		return
	}
	p.Account, p.Name = id, m.Name
	w.send(p, w.id(mmopb.MsgMmoLoginAck), &commonpb.LoginAck{PlayerId: id, Token: token})
	if found && finite(rec.X) && finite(rec.Y) && finite(rec.Z) && finite(rec.V) && rec.Scene == sceneMMO {
		w.moveLocked(p, &mmopb.Position{X: rec.X, Y: rec.Y, Z: rec.Z, V: rec.V})
		w.send(p, w.id(mmopb.MsgBroadCast), &mmopb.BroadCast{PID: p.PID, Tp: mmopb.TpAppear, Data: &mmopb.BroadCast_P{P: p.Pos}})
	}
}

// sceneMMO names the world's scene in player records.
const sceneMMO = "mmo"

// record is p's saved state; false for an anonymous player. Call it with
// the world's mutex held.
func (w *World) record(p *Player) (store.PlayerRecord, bool) {
	if p.Account == 0 {
		return store.PlayerRecord{}, false
	}
	return store.PlayerRecord{ID: p.Account, Name: p.Name, Scene: sceneMMO, X: p.Pos.X, Y: p.Pos.Y, Z: p.Pos.Z, V: p.Pos.V,
		UpdatedAt: time.Now()}, true
}

// save stores a player record, logging a failure.
func (w *World) save(rec store.PlayerRecord) {
	if err := w.store.SavePlayer(context.Background(), rec); err != nil {
		w.log.Error("game: saving a player failed", "account", rec.ID, "err", err)
	}
}
