package znet

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// Operator endpoints. With AdminToken set, the admin listener also serves
// /admin/: znet's own endpoints (kick, IP bans, maintenance, broadcast:
// operator_endpoints.go) and those modules add (HandleAdmin), every one
// behind "Authorization: Bearer <AdminToken>". Without a token nothing
// under /admin/ is mounted: a request there is a plain 404, as for any
// unknown path, and /metrics, /healthz and /readyz are served as always.
//
// A request with a missing or wrong token is refused 401 with
// WWW-Authenticate: Bearer, counted (zinxgame_admin_denied_total) and
// charged to its remote address: adminFailBurst failures, then one per
// adminFailEvery, after which that address is refused 429 without its
// token even being looked at. The address is the admin socket's peer:
// the admin listener is for the operators' own network, so no
// X-Forwarded-For is believed there. Every request that passes is an
// operator action, logged (who: the remote address, what, the target)
// and counted by action (zinxgame_admin_actions_total).

const (
	// adminFailBurst and adminFailEvery ration failed attempts per remote
	// address: enough for a person mistyping, nowhere near enough to
	// guess a 16-byte token.
	adminFailBurst = 10
	adminFailEvery = 6 * time.Second
	// maxAdminFailIPs bounds the addresses with a failure bucket; past it,
	// new addresses share one bucket, so a wide attack is still rationed
	// and cannot grow the map, yet cannot lock every operator out either
	// (an address already tracked keeps its own bucket).
	maxAdminFailIPs = 4096
	// maxAdminBody bounds an operator request's JSON body.
	maxAdminBody = 16 << 10
)

// operator is the /admin/ side of a server: the token check, the routes
// (znet's and modules'), the counters, the IP bans and the maintenance
// state. Its methods are safe for concurrent use.
type operator struct {
	s      *Server
	digest [sha256.Size]byte // of AdminToken; compared, never the token itself
	on     bool              // AdminToken is set

	routeMu  sync.Mutex
	routes   []adminRoute
	routeSeq uint64                        // numbers routes, for their remove
	mux      atomic.Pointer[http.ServeMux] // rebuilt from routes on every change

	failMu   sync.Mutex
	fails    map[netip.Addr]*rate.Limiter
	overflow *rate.Limiter // shared by addresses past maxAdminFailIPs

	actions *prometheus.CounterVec
	denied  *prometheus.CounterVec

	bans        ipBans
	maintenance atomic.Pointer[maintenanceState]
}

type adminRoute struct {
	id      uint64
	owner   string
	pattern string
	h       http.Handler
}

type maintenanceState struct {
	reason string
	since  time.Time
}

func newOperator(s *Server) *operator {
	o := &operator{
		s:        s,
		on:       s.cfg.AdminToken != "",
		fails:    make(map[netip.Addr]*rate.Limiter),
		overflow: rate.NewLimiter(rate.Every(adminFailEvery), adminFailBurst),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "zinxgame", Name: "admin_actions_total", ConstLabels: prometheus.Labels{"server": s.cfg.Name},
			Help: "Operator requests on /admin/ that passed the token check, by action.",
		}, []string{"action"}),
		denied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "zinxgame", Name: "admin_denied_total", ConstLabels: prometheus.Labels{"server": s.cfg.Name},
			Help: "Operator requests on /admin/ refused before reaching an endpoint, by reason: token (missing or wrong) or rate_limited (too many failures from the address).",
		}, []string{"reason"}),
	}
	o.digest = sha256.Sum256([]byte(s.cfg.AdminToken))
	o.bans.max = MaxIPBans
	o.mux.Store(http.NewServeMux())
	return o
}

// register puts the operator's counters on reg (the server's registry).
func (o *operator) register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{o.actions, o.denied} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("znet: registering the admin metrics: %w", err)
		}
	}
	return nil
}

// tokenMatches reports whether the presented token is AdminToken. It
// compares SHA-256 digests in constant time: neither the position of the
// first wrong byte nor the token's length shows in the time it takes.
func (o *operator) tokenMatches(presented string) bool {
	d := sha256.Sum256([]byte(presented))
	return subtle.ConstantTimeCompare(d[:], o.digest[:]) == 1
}

// bearer is the token of an "Authorization: Bearer <token>" header.
func bearer(r *http.Request) (string, bool) {
	const prefix = "bearer "
	h := r.Header.Get("Authorization")
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	return strings.TrimSpace(h[len(prefix):]), true
}

// ServeHTTP checks the token, then routes to the endpoint.
func (o *operator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ip := remoteIP(r.RemoteAddr)
	if !o.mayTry(ip) {
		o.denied.WithLabelValues("rate_limited").Inc()
		w.Header().Set("Retry-After", strconv.Itoa(int(adminFailEvery/time.Second)))
		WriteAdminError(w, http.StatusTooManyRequests, "too many failed attempts from your address; wait and try again")
		return
	}
	tok, ok := bearer(r)
	if !ok || !o.tokenMatches(tok) {
		o.failed(ip)
		o.denied.WithLabelValues("token").Inc()
		o.s.logs.Log(o.s.log, "admin_denied", slog.LevelWarn, "znet: admin request refused: bad or missing token",
			"remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path)
		w.Header().Set("WWW-Authenticate", `Bearer realm="zinxgame admin"`)
		WriteAdminError(w, http.StatusUnauthorized, "a valid Authorization: Bearer token is required")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxAdminBody)
	o.mux.Load().ServeHTTP(w, r)
}

func remoteIP(hostport string) netip.Addr {
	if ap, err := netip.ParseAddrPort(hostport); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// limiterLocked is ip's failure bucket, created when absent.
func (o *operator) limiterLocked(ip netip.Addr, create bool) *rate.Limiter {
	if l := o.fails[ip]; l != nil {
		return l
	}
	if !create {
		return nil
	}
	if len(o.fails) >= maxAdminFailIPs {
		now := time.Now()
		for k, l := range o.fails {
			if l.TokensAt(now) >= adminFailBurst {
				delete(o.fails, k) // refilled: the same as a new bucket
			}
		}
		if len(o.fails) >= maxAdminFailIPs {
			return o.overflow
		}
	}
	l := rate.NewLimiter(rate.Every(adminFailEvery), adminFailBurst)
	o.fails[ip] = l
	return l
}

// mayTry reports whether ip has a failure left to spend.
func (o *operator) mayTry(ip netip.Addr) bool {
	o.failMu.Lock()
	defer o.failMu.Unlock()
	l := o.limiterLocked(ip, false)
	if l == nil && len(o.fails) >= maxAdminFailIPs {
		l = o.overflow
	}
	return l == nil || l.Tokens() >= 1
}

// failed charges one failure to ip.
func (o *operator) failed(ip netip.Addr) {
	o.failMu.Lock()
	defer o.failMu.Unlock()
	o.limiterLocked(ip, true).Allow()
}

// ErrAdminRoute is wrapped by HandleAdmin's errors.
var ErrAdminRoute = errors.New("znet: bad admin route")

// HandleAdmin registers h for pattern, a net/http ServeMux pattern ("POST
// /admin/players/{id}/kick") whose path is under /admin/, behind the
// operator token. It is served only when AdminToken is set; without one
// the registration is kept and nothing under /admin/ is served. A pattern
// that is not under /admin/, names a host, or conflicts with one already
// registered is an error (ErrAdminRoute), and nothing is registered.
// Routes may be added before or after the admin listener starts: the
// listener sees each change at once. The returned function removes the
// route. Safe for concurrent use.
func (s *Server) HandleAdmin(pattern string, h http.Handler) (remove func(), err error) {
	return s.ops.handle(OwnerApp, pattern, h)
}

// HandleAdmin registers an operator endpoint, as Server.HandleAdmin; it
// is taken back with the module (a failed Mount).
func (m *Mount) HandleAdmin(pattern string, h http.Handler) error {
	remove, err := m.srv.ops.handle(m.name, pattern, h)
	if err != nil {
		return fmt.Errorf("%w (module %s)", err, m.name)
	}
	m.undo = append(m.undo, remove)
	return nil
}

func (o *operator) handle(owner, pattern string, h http.Handler) (func(), error) {
	if h == nil {
		return nil, fmt.Errorf("%w: %q: nil handler", ErrAdminRoute, pattern)
	}
	path := pattern
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		path = strings.TrimLeft(pattern[i+1:], " \t")
	}
	if !strings.HasPrefix(path, "/admin/") {
		return nil, fmt.Errorf("%w: %q: the path must start with /admin/ (and name no host)", ErrAdminRoute, pattern)
	}
	o.routeMu.Lock()
	defer o.routeMu.Unlock()
	o.routeSeq++
	r := adminRoute{id: o.routeSeq, owner: owner, pattern: pattern, h: h}
	mux, err := buildAdminMux(append(o.routes[:len(o.routes):len(o.routes)], r))
	if err != nil {
		return nil, err
	}
	o.routes = append(o.routes, r)
	o.mux.Store(mux)
	return func() { o.remove(r.id) }, nil
}

func (o *operator) remove(id uint64) {
	o.routeMu.Lock()
	defer o.routeMu.Unlock()
	kept := make([]adminRoute, 0, len(o.routes))
	for _, r := range o.routes {
		if r.id != id {
			kept = append(kept, r)
		}
	}
	if len(kept) == len(o.routes) {
		return
	}
	o.routes = kept
	if mux, err := buildAdminMux(kept); err == nil { // a subset of a valid set is valid
		o.mux.Store(mux)
	}
}

// buildAdminMux makes a ServeMux of routes; ServeMux reports a bad or
// conflicting pattern by panicking, turned here into an error.
func buildAdminMux(routes []adminRoute) (mux *http.ServeMux, err error) {
	mux = http.NewServeMux()
	var cur adminRoute
	defer func() {
		if p := recover(); p != nil {
			mux, err = nil, fmt.Errorf("%w: %q (%s): %v", ErrAdminRoute, cur.pattern, cur.owner, p)
		}
	}()
	for _, r := range routes {
		cur = r
		mux.Handle(r.pattern, r.h)
	}
	return mux, nil
}

// AdminAction logs and counts an operator action done by request r: what
// (the action's metric label, a fixed word such as "kick" or
// "player_ban", never client data), target (what it acted on) and args
// (more slog attributes). Endpoints registered with HandleAdmin call it
// once per action that took effect. Safe for concurrent use.
func (s *Server) AdminAction(r *http.Request, action, target string, args ...any) {
	s.ops.actions.WithLabelValues(action).Inc()
	s.log.Info("znet: operator action", append([]any{"action", action, "target", target, "who", r.RemoteAddr}, args...)...)
}

// WriteAdminJSON answers an operator request with status and v as JSON.
func WriteAdminJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteAdminError answers an operator request with status and
// {"error": msg}.
func WriteAdminError(w http.ResponseWriter, status int, msg string) {
	WriteAdminJSON(w, status, map[string]string{"error": msg})
}

// ReadAdminJSON decodes an operator request's JSON body into v, strictly
// (unknown fields and trailing data are errors). On failure it has
// answered already (400, or 413 over the body bound) and returns false.
func ReadAdminJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("data after the JSON object")
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			WriteAdminError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is over %d bytes", tooBig.Limit))
			return false
		}
		WriteAdminError(w, http.StatusBadRequest, "bad JSON body: "+err.Error())
		return false
	}
	return true
}

// ParseAdminDuration reads an operator's duration ("1h", "30m"): empty
// means none (0); otherwise positive and at most max.
func ParseAdminDuration(s string, max time.Duration) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: want a duration such as \"1h\" or \"30m\"", s)
	}
	if d <= 0 || d > max {
		return 0, fmt.Errorf("duration %q: must be positive and at most %v (or empty: until lifted)", s, max)
	}
	return d, nil
}
