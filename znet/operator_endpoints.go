package znet

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// znet's own operator endpoints, mounted under /admin/ when AdminToken is
// set (see operator.go). JSON in and out; a failure is {"error": "..."}
// with its status.
//
//	POST   /admin/kick         {"conn": 12, "reason": "..."}        kick a connection
//	POST   /admin/bans/ip      {"ip": "203.0.113.0/24", "duration": "1h", "reason": "..."}
//	DELETE /admin/bans/ip?ip=203.0.113.0/24                         lift a ban
//	GET    /admin/bans/ip                                           list the bans
//	POST   /admin/maintenance  {"on": true, "reason": "back at 14:00"}
//	GET    /admin/maintenance
//	POST   /admin/broadcast    {"message": "...", "code": "announcement"}

const (
	// MaxBroadcastBytes bounds an operator broadcast's message.
	MaxBroadcastBytes = 1 << 10
	// maxAdminReason bounds the reason of a kick, ban or maintenance, which
	// clients are shown.
	maxAdminReason = 256
	// maxNoticeCode bounds a broadcast's notice code.
	maxNoticeCode = 32
	// MaxBanDuration bounds a timed ban (a year); longer is "until lifted".
	MaxBanDuration = 366 * 24 * time.Hour
)

// mountOperator registers znet's endpoints; NewServer calls it once.
func (o *operator) mountOperator() {
	for _, r := range []struct {
		pattern string
		h       http.HandlerFunc
	}{
		{"POST /admin/kick", o.kick},
		{"POST /admin/bans/ip", o.banIP},
		{"DELETE /admin/bans/ip", o.unbanIP},
		{"GET /admin/bans/ip", o.listIPBans},
		{"POST /admin/maintenance", o.setMaintenance},
		{"GET /admin/maintenance", o.getMaintenance},
		{"POST /admin/broadcast", o.broadcast},
	} {
		if _, err := o.handle("znet", r.pattern, r.h); err != nil {
			panic(err) // our own patterns: a conflict is a bug here
		}
	}
}

// CheckAdminReason answers 400 and returns false when an operator's
// reason (of a kick, ban or maintenance, which clients are shown) is over
// maxAdminReason bytes; modules' endpoints use it too, so the bound is one.
func CheckAdminReason(w http.ResponseWriter, reason string) bool {
	if len(reason) > maxAdminReason {
		WriteAdminError(w, http.StatusBadRequest, fmt.Sprintf("reason is %d bytes, at most %d", len(reason), maxAdminReason))
		return false
	}
	return true
}

func (o *operator) kick(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Conn   uint64 `json:"conn"`
		Reason string `json:"reason"`
	}
	if !ReadAdminJSON(w, r, &req) || !CheckAdminReason(w, req.Reason) {
		return
	}
	if req.Conn == 0 {
		WriteAdminError(w, http.StatusBadRequest, `"conn" (a connection ID) is required`)
		return
	}
	if req.Reason == "" {
		req.Reason = "kicked by an operator"
	}
	c, ok := o.s.mgr.Get(req.Conn)
	if !ok || c.(*Connection).stopping.Load() {
		WriteAdminError(w, http.StatusNotFound, fmt.Sprintf("no open connection %d", req.Conn))
		return
	}
	_ = c.(*Connection).Kick(req.Reason) // closes even when the notice cannot be queued
	o.s.AdminAction(r, "kick", strconv.FormatUint(req.Conn, 10), "reason", req.Reason, "remote", c.RemoteAddr().String())
	WriteAdminJSON(w, http.StatusOK, map[string]any{"kicked": req.Conn})
}

func (o *operator) banIP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		IP       string `json:"ip"`
		Duration string `json:"duration"`
		Reason   string `json:"reason"`
	}
	if !ReadAdminJSON(w, r, &req) || !CheckAdminReason(w, req.Reason) {
		return
	}
	p, err := ParseIPOrPrefix(req.IP)
	if err != nil {
		WriteAdminError(w, http.StatusBadRequest, `"ip": `+err.Error())
		return
	}
	d, err := ParseAdminDuration(req.Duration, MaxBanDuration)
	if err != nil {
		WriteAdminError(w, http.StatusBadRequest, err.Error())
		return
	}
	closed, err := o.s.BanIP(r.Context(), p, d, req.Reason)
	switch {
	case errors.Is(err, ErrTooManyBans):
		WriteAdminError(w, http.StatusInsufficientStorage, err.Error())
		return
	case err != nil: // the ban store failed: the ban is not made
		WriteAdminError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	o.s.AdminAction(r, "ip_ban", p.String(), "duration", d, "reason", req.Reason, "closed", closed)
	WriteAdminJSON(w, http.StatusOK, map[string]any{"banned": p.String(), "closed": closed})
}

func (o *operator) unbanIP(w http.ResponseWriter, r *http.Request) {
	p, err := ParseIPOrPrefix(r.URL.Query().Get("ip"))
	if err != nil {
		WriteAdminError(w, http.StatusBadRequest, "?ip=: "+err.Error())
		return
	}
	found, err := o.s.UnbanIP(r.Context(), p)
	if err != nil {
		WriteAdminError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	if !found {
		WriteAdminError(w, http.StatusNotFound, fmt.Sprintf("%s is not banned (a network's ban is lifted by naming the network)", p))
		return
	}
	o.s.AdminAction(r, "ip_unban", p.String())
	WriteAdminJSON(w, http.StatusOK, map[string]any{"unbanned": p.String()})
}

func (o *operator) listIPBans(w http.ResponseWriter, r *http.Request) {
	bans := o.s.IPBans()
	o.s.AdminAction(r, "ip_bans_list", "", "count", len(bans))
	WriteAdminJSON(w, http.StatusOK, map[string]any{"bans": bans, "max": o.bans.max})
}

// SetMaintenance turns maintenance mode on or off, with the reason new
// logins are refused with. It is a flag the server holds for its modules:
// znet itself admits connections as before; game/account's login refuses
// new logins while it is on (a "maintenance" notice and an
// ERROR_UNAVAILABLE Error), letting the players already logged in play on
// and those with a seat reconnect. Readiness (/readyz) is not touched: a
// pod in maintenance still serves its players, and a rolling update would
// stall on pods that never become ready. Safe for concurrent use.
func (s *Server) SetMaintenance(on bool, reason string) {
	if !on {
		s.ops.maintenance.Store(nil)
		return
	}
	s.ops.maintenance.Store(&maintenanceState{reason: reason, since: time.Now().UTC()})
}

// Maintenance reports whether maintenance mode is on, and its reason.
// Safe for concurrent use; a load and no lock, for login paths.
func (s *Server) Maintenance() (on bool, reason string) {
	if m := s.ops.maintenance.Load(); m != nil {
		return true, m.reason
	}
	return false, ""
}

func (o *operator) setMaintenance(w http.ResponseWriter, r *http.Request) {
	var req struct {
		On     *bool  `json:"on"`
		Reason string `json:"reason"`
	}
	if !ReadAdminJSON(w, r, &req) || !CheckAdminReason(w, req.Reason) {
		return
	}
	if req.On == nil {
		WriteAdminError(w, http.StatusBadRequest, `"on" (true or false) is required`)
		return
	}
	o.s.SetMaintenance(*req.On, req.Reason)
	action := "maintenance_off"
	if *req.On {
		action = "maintenance_on"
	}
	o.s.AdminAction(r, action, "", "reason", req.Reason)
	o.writeMaintenance(w)
}

func (o *operator) getMaintenance(w http.ResponseWriter, r *http.Request) {
	o.s.AdminAction(r, "maintenance_get", "")
	o.writeMaintenance(w)
}

func (o *operator) writeMaintenance(w http.ResponseWriter) {
	m := o.maintenance.Load()
	if m == nil {
		WriteAdminJSON(w, http.StatusOK, map[string]any{"on": false})
		return
	}
	WriteAdminJSON(w, http.StatusOK, map[string]any{"on": true, "reason": m.reason, "since": m.since})
}

// AdminBroadcast queues notice on every connection, without waiting on
// any: a connection whose send queue is full is closed as too slow, as for
// any message it cannot take (and counted in
// zinxgame_send_queue_overflows_total). It returns how many connections
// took the notice. Safe for concurrent use.
func (s *Server) AdminBroadcast(n Notice) (int, error) {
	return s.Broadcast(s.cfg.NoticeMsgID, n.encode())
}

func (o *operator) broadcast(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Message string `json:"message"`
		Code    string `json:"code"`
	}
	if !ReadAdminJSON(w, r, &req) {
		return
	}
	if req.Message == "" || len(req.Message) > MaxBroadcastBytes {
		WriteAdminError(w, http.StatusBadRequest, fmt.Sprintf(`"message" is %d bytes: want 1 to %d`, len(req.Message), MaxBroadcastBytes))
		return
	}
	if req.Code == "" {
		req.Code = NoticeAnnouncement
	}
	if !validNoticeCode(req.Code) {
		WriteAdminError(w, http.StatusBadRequest, fmt.Sprintf(`"code" %q: want 1 to %d of a-z, 0-9 and _`, req.Code, maxNoticeCode))
		return
	}
	n, err := o.s.AdminBroadcast(Notice{Code: req.Code, Reason: req.Message})
	if err != nil {
		WriteAdminError(w, http.StatusBadRequest, err.Error())
		return
	}
	o.s.AdminAction(r, "broadcast", req.Code, "delivered", n, "bytes", len(req.Message))
	WriteAdminJSON(w, http.StatusOK, map[string]any{"delivered": n, "online": o.s.Online()})
}

func validNoticeCode(code string) bool {
	if code == "" || len(code) > maxNoticeCode {
		return false
	}
	for i := range len(code) {
		if c := code[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
