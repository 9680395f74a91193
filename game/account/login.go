package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/ziface"
	"github.com/zinxgame/zinxgame/znet"
)

// handleLogin is the Login route of protocol p. The checks that refuse a
// Login without touching the accounts run first, on the worker; the
// connection is then marked as logging in before the accounts are asked
// (off the worker), so however many Logins a client pipelines, one
// reaches the accounts.
func (s *Service) handleLogin(req ziface.IRequest, p Protocol, ack AckFunc) {
	c := req.GetConnection()
	var m commonpb.Login
	if err := proto.Unmarshal(req.GetData(), &m); err != nil {
		s.refuse(c, p, p.Login, commonpb.ErrorCode_ERROR_BAD_REQUEST, "bad Login message", "bad_login", err)
		return
	}
	if len(m.Name) > s.cfg.MaxNameBytes {
		s.refuse(c, p, p.Login, commonpb.ErrorCode_ERROR_NAME_TOO_LONG,
			fmt.Sprintf("name is %d bytes, at most %d", len(m.Name), s.cfg.MaxNameBytes), "name_too_long", nil)
		return
	}
	s.mu.Lock()
	st := s.conns[c]
	if st == nil {
		// The connection opened before the service was mounted: track it
		// now (its disconnect hook is in place, so it will be forgotten).
		st = &conn{c: c, proto: p}
		s.trackLocked(st)
	}
	if st.state != fresh {
		s.mu.Unlock()
		s.refuse(c, p, p.Login, commonpb.ErrorCode_ERROR_BAD_REQUEST, "already logged in", "second_login", nil)
		return
	}
	if on, why := maintenance(c); on && m.Token == "" {
		st.state = ended // pipelined Logins find it closing
		s.mu.Unlock()
		s.refuseMaintenance(c, p, why)
		return
	}
	if m.Token == "" && s.newIDs != nil && !s.newIDs.allow(c.RemoteAddr(), time.Now()) {
		s.mu.Unlock()
		s.refuse(c, p, p.Login, commonpb.ErrorCode_ERROR_RATE_LIMITED, "too many new identities from this address; log in with a token or try later", "new_identity_rate", nil)
		return
	}
	st.state = loggingIn
	s.mu.Unlock()

	var (
		ident  Identity
		token  = m.Token
		failed error
	)
	err := c.Async(func(ctx context.Context) {
		if token == "" {
			ident, token, failed = s.accounts.NewAccount(ctx, m.Name)
			return
		}
		ident, failed = s.accounts.Verify(ctx, token)
	}, func() {
		s.finishLogin(st, p, ack, Player{ID: ident.PlayerID, Name: m.Name, Session: ident.Session}, ident, token, m.Token == "", failed)
	})
	if err != nil {
		s.setState(st, loggingIn, fresh)
		if !errors.Is(err, znet.ErrConnClosed) {
			s.refuse(c, p, p.Login, commonpb.ErrorCode_ERROR_BUSY, "the server is busy; try again", "login_busy", err)
		}
	}
}

// finishLogin runs on the worker once the accounts answered: a refused
// token, a banned identity or a login maintenance refuses closes the
// connection; otherwise the identity is bound, an older connection of it
// kicked, LoginAck sent and the hooks told.
func (s *Service) finishLogin(st *conn, p Protocol, ack AckFunc, pl Player, ident Identity, token string, newIdentity bool, failed error) {
	c := st.c
	if failed != nil {
		if errors.Is(failed, ErrBadToken) {
			s.log.Info("account: login refused", "conn_id", c.GetConnID(), "err", failed)
			s.setState(st, loggingIn, ended)
			sendError(c, p.Error, BadTokenCode(failed), "login refused", p.Login)
			c.Stop()
			return
		}
		// The accounts' store failed: not the client's fault, and it may
		// try again.
		s.setState(st, loggingIn, fresh)
		s.refuse(c, p, p.Login, commonpb.ErrorCode_ERROR_UNAVAILABLE, "login unavailable; try again later", "login_unavailable", failed)
		return
	}
	now := time.Now()
	if ban, banned := s.bans.banned(pl.ID, now); banned {
		s.setState(st, loggingIn, ended)
		s.refuseBanned(c, p, ban)
		return
	}
	if on, why := maintenance(c); on && (newIdentity || !s.playing(ident, now)) {
		s.setState(st, loggingIn, ended)
		s.refuseMaintenance(c, p, why)
		return
	}
	s.mu.Lock()
	if s.conns[c] != st || st.state != loggingIn {
		s.mu.Unlock() // timed out while the accounts answered
		return
	}
	if st.timer != nil {
		st.timer.Stop()
	}
	st.state, st.player, st.ident = bound, pl, ident
	old := s.players[pl.ID]
	s.players[pl.ID] = st
	var oldPlayer Player
	if old != nil {
		oldPlayer = old.player
		old.state = ended
	}
	s.mu.Unlock()

	var replaced ziface.IConnection
	if old != nil {
		replaced = old.c
		s.log.Info("account: identity logged in again; kicking the older connection",
			"player", pl.ID, "conn_id", c.GetConnID(), "old_conn_id", replaced.GetConnID())
		kick(replaced, KickReplaced)
		s.runLogout(replaced, oldPlayer, Replaced)
	}
	a := &commonpb.LoginAck{PlayerId: pl.ID, Token: token}
	if ack != nil {
		ack(c, pl, a)
	}
	send(c, p.LoginAck, a)
	s.runLogin(c, pl, replaced)
}

// handleLogout is the Logout route of protocol p: revoke the session (off
// the worker), unbind, answer LogoutAck and close gracefully, so the ack
// is flushed before the socket closes.
func (s *Service) handleLogout(req ziface.IRequest, p Protocol) {
	c := req.GetConnection()
	s.mu.Lock()
	st := s.conns[c]
	if st == nil || st.state != bound {
		s.mu.Unlock()
		s.refuse(c, p, p.Logout, commonpb.ErrorCode_ERROR_NOT_LOGGED_IN, "not logged in", "logout_not_logged_in", nil)
		return
	}
	st.state = loggingOut
	ident := st.ident
	s.mu.Unlock()
	var failed error
	err := c.Async(func(ctx context.Context) { failed = s.accounts.Revoke(ctx, ident) }, func() {
		if failed != nil {
			s.setState(st, loggingOut, bound)
			s.refuse(c, p, p.Logout, commonpb.ErrorCode_ERROR_UNAVAILABLE, "logout unavailable; try again later", "logout_unavailable", failed)
			return
		}
		s.mu.Lock()
		if st.state != loggingOut {
			s.mu.Unlock()
			return
		}
		st.state = ended
		if s.players[st.player.ID] == st {
			delete(s.players, st.player.ID)
		}
		pl := st.player
		s.mu.Unlock()
		if ident.Session != nil {
			s.revoked.add(ident.Session.ID, time.Now())
		}
		s.runLogout(c, pl, LoggedOut)
		send(c, p.LogoutAck, &commonpb.LogoutAck{})
		c.Stop()
	})
	if err != nil {
		s.setState(st, loggingOut, bound)
		if !errors.Is(err, znet.ErrConnClosed) {
			s.refuse(c, p, p.Logout, commonpb.ErrorCode_ERROR_BUSY, "the server is busy; try again", "logout_busy", err)
		}
	}
}

// setState moves st from one state to another, if it is still in from.
func (s *Service) setState(st *conn, from, to connState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st.state == from {
		st.state = to
	}
}

// refuse answers a request with an Error and logs why, throttled per
// connection: a client repeating a refused request costs a few log lines.
func (s *Service) refuse(c ziface.IConnection, p Protocol, reqID uint32, code commonpb.ErrorCode, msg, cause string, err error) {
	args := []any{"code", code.String(), "reason", msg}
	if err != nil {
		args = append(args, "err", err)
	}
	znet.LogLimited(c, s.log, cause, slog.LevelWarn, "account: request refused", args...)
	sendError(c, p.Error, code, msg, reqID)
}

// kick closes c with a kicked notice when it is a znet connection, or
// plainly otherwise.
func kick(c ziface.IConnection, reason string) {
	if k, ok := c.(interface{ Kick(string) error }); ok {
		_ = k.Kick(reason)
		return
	}
	c.Stop()
}

func sendError(c ziface.IConnection, errID uint32, code commonpb.ErrorCode, msg string, reqID uint32) {
	send(c, errID, &commonpb.Error{Code: code, Message: msg, RequestId: reqID})
}

// send queues m; a connection that is closing drops it, which is what a
// closing connection's messages are for.
func send(c ziface.IConnection, id uint32, m proto.Message) {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err) // our own messages always marshal
	}
	_ = c.SendMsg(id, b)
}
