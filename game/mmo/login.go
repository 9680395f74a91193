package mmo

import (
	"context"
	"errors"
	"time"

	"github.com/zinxgame/zinxgame/game/account"
	"github.com/zinxgame/zinxgame/game/store"
	"github.com/zinxgame/zinxgame/protocol/mmopb"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

// Logging in is the account service's (game/account): it answers Login
// (10) with LoginAck (11) or Error (12), and Logout (13) with LogoutAck
// (14), on the MMO's IDs, once per connection, and kicks an older
// connection of an identity that logs in again. The world hears of it
// through the service's hooks: a login moves the player to where it was
// saved, a logout makes it anonymous again.

// protocol is the MMO's login IDs, moved by MsgIDBase.
func (w *World) protocol() account.Protocol {
	return account.Protocol{
		Login: w.id(mmopb.MsgMmoLogin), LoginAck: w.id(mmopb.MsgMmoLoginAck), Error: w.id(mmopb.MsgMmoError),
		Logout: w.id(mmopb.MsgMmoLogout), LogoutAck: w.id(mmopb.MsgMmoLogoutAck),
	}
}

// onLogin is the service's OnLogin hook, on the connection's worker after
// LoginAck went out: the saved record is loaded off the worker (a store
// may block), then handed to the player's scene, which applies it on its
// tick in order with the player's moves: the identity is attached and the
// player moved where it was. Until then the player's moves are not the
// identity's to save, so one who leaves first never saves its spawn point
// over its record.
func (w *World) onLogin(c ziface.IConnection, pl account.Player, _ ziface.IConnection) {
	w.loadRecord(c, pl, 0)
}

// Retries of a record load the blocking pool refused (a burst of logins):
// a player whose record is never loaded plays anonymously and has none of
// its moves saved, so the load is tried again, doubling from the first
// delay to the last, loadAttempts times in all (about 5 s).
const (
	loadFirstDelay = 20 * time.Millisecond
	loadMaxDelay   = 640 * time.Millisecond
	loadAttempts   = 12
)

// loadRecord loads pl's record off the worker and hands it to the scene;
// attempt counts the refusals so far.
func (w *World) loadRecord(c ziface.IConnection, pl account.Player, attempt int) {
	p := playerOf(c)
	if p == nil {
		return
	}
	if still, ok := w.accounts.PlayerOf(c); !ok || still.ID != pl.ID {
		return // logged out or replaced meanwhile
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
			// Play on from where it stands; the record is saved over
			// when it moves, as for a new player.
			w.log.Warn("game: loading a player record failed", "pid", p.PID, "account", pl.ID, "err", failed)
			found = false
		}
		if still, ok := w.accounts.PlayerOf(c); !ok || still.ID != pl.ID {
			return // logged out or replaced meanwhile
		}
		p.restore.Store(&restoreReq{account: pl.ID, name: pl.Name, rec: rec, found: found})
		// The scene applies it with this request, or with the player's
		// next one if the queue is full now.
		_ = w.rooms.Input(memberID(p.PID), c, restoreMsgID, nil)
	})
	if err == nil || errors.Is(err, znet.ErrConnClosed) {
		return
	}
	if attempt+1 >= loadAttempts {
		w.log.Error("game: loading a player record not started; the player plays on unsaved",
			"pid", p.PID, "account", pl.ID, "attempts", attempt+1, "err", err)
		return
	}
	delay := min(loadFirstDelay<<attempt, loadMaxDelay)
	w.log.Debug("game: loading a player record not started; retrying", "pid", p.PID, "account", pl.ID, "retry_in", delay, "err", err)
	time.AfterFunc(delay, func() { w.loadRecord(c, pl, attempt+1) })
}

// onLogout is the service's OnLogout hook (a logout, or a newer connection
// of the same identity replacing this one): the player goes on
// anonymously, and nothing it does from now on is saved to the identity.
// Its record is as of its last move applied, saved then, so the newer
// connection's login, which the service runs after this, loads where it
// stood.
func (w *World) onLogout(c ziface.IConnection, _ account.Player, _ account.LogoutReason) {
	p := playerOf(c)
	if p == nil {
		return
	}
	p.restore.Store(nil)
	p.account.Store(0)
	p.name.Store(nil)
}

// applyRestore applies a login's record on the player's scene's tick.
func (s *Scene) applyRestore(p *Player, rq *restoreReq) {
	w := s.w
	if still, ok := w.accounts.PlayerOf(p.Conn); !ok || still.ID != rq.account {
		return
	}
	name := rq.name
	p.name.Store(&name)
	p.account.Store(rq.account)
	rec := rq.rec
	if !rq.found || !finite(rec.X) || !finite(rec.Y) || !finite(rec.Z) || !finite(rec.V) {
		return
	}
	pos := Position{X: rec.X, Y: rec.Y, Z: rec.Z, V: rec.V}
	if to := w.scenes[rec.Scene]; to != nil && to != s {
		s.changeTo(p, to, &pos, 0)
		return
	}
	if rec.Scene == s.name || w.scenes[rec.Scene] == nil {
		s.teleport(p, pos)
	}
}

// record is p's saved state; false for an anonymous player. Call it on
// the tick of p's scene.
func (p *Player) record() (store.PlayerRecord, bool) {
	id := p.account.Load()
	if id == 0 || p.scene == nil {
		return store.PlayerRecord{}, false
	}
	return store.PlayerRecord{ID: id, Name: p.Name(), Scene: p.scene.name, X: p.pos.X, Y: p.pos.Y, Z: p.pos.Z, V: p.pos.V,
		UpdatedAt: time.Now()}, true
}

// saveMoved saves a logged-in player after a move. Every move: the Redis
// store keeps one queued write per player and sends it with the next
// flush, so a crash loses at most the last FlushInterval of movement.
func (w *World) saveMoved(p *Player) {
	if p.account.Load() != 0 {
		w.save(p)
	}
}

// save stores p's record, logging a failure.
func (w *World) save(p *Player) {
	rec, ok := p.record()
	if !ok {
		return
	}
	if err := w.store.SavePlayer(context.Background(), rec); err != nil {
		w.log.Error("game: saving a player failed", "account", rec.ID, "err", err)
	}
}
