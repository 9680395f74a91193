package account

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/zinxgame/zinxgame/znet"
)

// The service's operator endpoints, on the server's admin listener behind
// its AdminToken (znet's HandleAdmin), registered by the first
// MountProtocol on each server:
//
//	POST   /admin/players/{id}/kick  {"reason": "..."}                     kick the player (404 when offline)
//	POST   /admin/players/{id}/ban   {"duration": "24h", "reason": "..."}  ban (and kick) the player
//	DELETE /admin/players/{id}/ban                                         lift the ban
//	GET    /admin/players/bans                                             list the bans
//
// They stay with the server once registered (a module whose Mount fails
// later leaves them): they act on the service, which is still there.

// mountAdmin registers the endpoints on srv unless this service did
// already; another service's on the same server keep theirs, and this
// one's are then reachable through its methods only (logged).
func (s *Service) mountAdmin(srv *znet.Server) {
	s.adminMu.Lock()
	defer s.adminMu.Unlock()
	if s.adminOn == nil {
		s.adminOn = make(map[*znet.Server]bool)
	}
	if s.adminOn[srv] {
		return
	}
	s.adminOn[srv] = true
	for _, r := range []struct {
		pattern string
		h       http.HandlerFunc
	}{
		{"POST /admin/players/{id}/kick", s.adminKick},
		{"POST /admin/players/{id}/ban", s.adminBan},
		{"DELETE /admin/players/{id}/ban", s.adminUnban},
		{"GET /admin/players/bans", s.adminBans},
	} {
		h := func(w http.ResponseWriter, req *http.Request) {
			r.h(w, req.WithContext(context.WithValue(req.Context(), adminServerKey{}, srv))) // for adminAction
		}
		if _, err := srv.HandleAdmin(r.pattern, http.HandlerFunc(h)); err != nil {
			s.log.Warn("account: operator endpoint not registered (another service on this server has it)", "pattern", r.pattern, "err", err)
		}
	}
}

// playerID reads the {id} of the path; on failure it has answered.
func playerID(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		znet.WriteAdminError(w, http.StatusBadRequest, fmt.Sprintf("player ID %q: want a positive integer", r.PathValue("id")))
		return 0, false
	}
	return id, true
}

func (s *Service) adminKick(w http.ResponseWriter, r *http.Request) {
	id, ok := playerID(w, r)
	if !ok {
		return
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if !znet.ReadAdminJSON(w, r, &req) || !znet.CheckAdminReason(w, req.Reason) {
		return
	}
	if req.Reason == "" {
		req.Reason = "kicked by an operator"
	}
	c := s.Conn(id)
	if c == nil {
		znet.WriteAdminError(w, http.StatusNotFound, fmt.Sprintf("player %d is not online", id))
		return
	}
	kick(c, req.Reason)
	adminAction(r, "player_kick", id, "reason", req.Reason, "conn_id", c.GetConnID())
	znet.WriteAdminJSON(w, http.StatusOK, map[string]any{"kicked": strconv.FormatUint(id, 10), "conn": c.GetConnID()})
}

func (s *Service) adminBan(w http.ResponseWriter, r *http.Request) {
	id, ok := playerID(w, r)
	if !ok {
		return
	}
	var req struct {
		Duration string `json:"duration"`
		Reason   string `json:"reason"`
	}
	if !znet.ReadAdminJSON(w, r, &req) || !znet.CheckAdminReason(w, req.Reason) {
		return
	}
	d, err := znet.ParseAdminDuration(req.Duration, znet.MaxBanDuration)
	if err != nil {
		znet.WriteAdminError(w, http.StatusBadRequest, err.Error())
		return
	}
	online, err := s.BanPlayer(r.Context(), id, d, req.Reason)
	switch {
	case errors.Is(err, ErrTooManyBans):
		znet.WriteAdminError(w, http.StatusInsufficientStorage, err.Error())
		return
	case err != nil:
		znet.WriteAdminError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	adminAction(r, "player_ban", id, "duration", d, "reason", req.Reason, "online", online)
	znet.WriteAdminJSON(w, http.StatusOK, map[string]any{"banned": strconv.FormatUint(id, 10), "kicked": online})
}

func (s *Service) adminUnban(w http.ResponseWriter, r *http.Request) {
	id, ok := playerID(w, r)
	if !ok {
		return
	}
	lifted, err := s.UnbanPlayer(r.Context(), id)
	if err != nil {
		znet.WriteAdminError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	if !lifted {
		znet.WriteAdminError(w, http.StatusNotFound, fmt.Sprintf("player %d is not banned", id))
		return
	}
	adminAction(r, "player_unban", id)
	znet.WriteAdminJSON(w, http.StatusOK, map[string]any{"unbanned": strconv.FormatUint(id, 10)})
}

func (s *Service) adminBans(w http.ResponseWriter, r *http.Request) {
	bans := s.PlayerBans()
	adminAction(r, "player_bans_list", 0, "count", len(bans))
	znet.WriteAdminJSON(w, http.StatusOK, map[string]any{"bans": bans, "max": s.cfg.MaxBans})
}

// adminAction logs and counts the action on the server that served r.
func adminAction(r *http.Request, action string, id uint64, args ...any) {
	if srv, ok := r.Context().Value(adminServerKey{}).(*znet.Server); ok {
		target := ""
		if id != 0 {
			target = "player " + strconv.FormatUint(id, 10)
		}
		srv.AdminAction(r, action, target, args...)
	}
}

// adminServerKey carries the server an endpoint is registered on.
type adminServerKey struct{}
