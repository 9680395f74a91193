package mmo

import (
	"context"
	"time"

	"github.com/zinxgame/zinxgame/game/account"
	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/protocol/mmopb"
	"github.com/zinxgame/zinxgame/ziface"
)

// Logging in is the account service's (game/account): it answers Login
// (10) with LoginAck (11) or Error (12), and Logout (13) with LogoutAck
// (14), on the MMO's IDs, and kicks an older connection of an identity
// that logs in again. The world hears of it through the service's hooks:
// a login moves the player to where it was saved, a logout saves it and
// makes it anonymous again.

// protocol is the MMO's login IDs, moved by MsgIDBase.
func (w *World) protocol() account.Protocol {
	return account.Protocol{
		Login: w.id(mmopb.MsgMmoLogin), LoginAck: w.id(mmopb.MsgMmoLoginAck), Error: w.id(mmopb.MsgMmoError),
		Logout: w.id(mmopb.MsgMmoLogout), LogoutAck: w.id(mmopb.MsgMmoLogoutAck),
	}
}

// onLogin is the service's OnLogin hook, on the connection's worker after
// LoginAck went out: the saved record is loaded off the worker (a store may
// block), then the player is attached to its identity and moved where it
// was, with the appear and leave messages a move causes, and its own new
// position (200, Tp 2). The identity is attached only once the record is
// in, so a player who leaves meanwhile never saves its spawn point over
// its record.
func (w *World) onLogin(c ziface.IConnection, pl account.Player, _ ziface.IConnection) {
	p := w.playerOf(c)
	if p == nil {
		return
	}
	var (
		rec    store.PlayerRecord
		found  bool
		failed error
	)
	err := c.Async(func(ctx context.Context) {
		rec, found, failed = w.store.LoadPlayer(ctx, pl.ID)
	}, func() {
		if failed != nil {
			// Play on from the spawn point; the record is saved over
			// when it moves, as for a new player.
			w.log.Warn("game: loading a player record failed", "pid", p.PID, "account", pl.ID, "err", failed)
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.players[p.PID] != p {
			return // it left while the record loaded
		}
		if still, ok := w.accounts.PlayerOf(c); !ok || still.ID != pl.ID {
			return // logged out or replaced meanwhile
		}
		p.Account, p.Name = pl.ID, pl.Name
		if found && finite(rec.X) && finite(rec.Y) && finite(rec.Z) && finite(rec.V) && rec.Scene == sceneMMO {
			w.moveLocked(p, &mmopb.Position{X: rec.X, Y: rec.Y, Z: rec.Z, V: rec.V})
			w.send(p, w.id(mmopb.MsgBroadCast), &mmopb.BroadCast{PID: p.PID, Tp: mmopb.TpAppear, Data: &mmopb.BroadCast_P{P: p.Pos}})
		}
	})
	if err != nil {
		w.log.Warn("game: loading a player record not started", "pid", p.PID, "account", pl.ID, "err", err)
	}
}

// onLogout is the service's OnLogout hook: the player's record is saved
// and the player goes on anonymously (a replaced connection is being
// kicked; a logged-out one closes). Saved here, before the newer
// connection's onLogin loads the record (the service runs them in that
// order), so the newer connection starts where the older one stood.
func (w *World) onLogout(c ziface.IConnection, _ account.Player, _ account.LogoutReason) {
	p := w.playerOf(c)
	if p == nil {
		return // already gone, and saved, by OnDisconnect
	}
	w.mu.Lock()
	rec, logged := w.record(p)
	p.Account, p.Name = 0, ""
	w.mu.Unlock()
	if logged {
		w.save(rec)
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
