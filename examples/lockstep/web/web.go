// Package web serves the lockstep demo's browser page: a small 4-player
// game on a canvas (sim.js, the port of examples/lockstep/demo) played
// through the browser client (client/js), loaded as plain ES modules with
// an import map, no bundler. Everything is embedded in the binary.
//
// Routes: "/" the page, "/demo.js", "/sim.js", "/style.css", "/config.json"
// (what the page needs to connect: the WebSocket URL, tick rate, framing)
// and "/client/..." the client library (jsclient.FS()).
package web

import (
	"embed"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	jsclient "github.com/zinxgame/zinxgame/client/js"
	"github.com/zinxgame/zinxgame/game/lockstep"
	"github.com/zinxgame/zinxgame/zconf"
)

//go:embed index.html demo.js sim.js style.css
var page embed.FS

// ClientPrefix is where the client library is served.
const ClientPrefix = "/client/"

// Config is what the page is told at /config.json.
type Config struct {
	// WsURL is the WebSocket URL the page connects to. Empty: derived per
	// request from the host the page was loaded from (so a page opened as
	// http://192.168.1.5:8080/ connects to ws://192.168.1.5:WsPort/), with
	// WsPort, WsPath and WsTLS.
	WsURL  string
	WsPort int    // the server's WebSocket port; used when WsURL is empty
	WsPath string // its path; empty means "/"
	WsTLS  bool   // wss:// instead of ws://
	// The room a page creates: seats and tick rate (the server's defaults
	// when 0). A ?players= on the page's URL overrides Players.
	Players  int
	TickRate int
	// Framing and the framework's message IDs, as the server is configured
	// (zconf.Config's MaxPackageSize, Framing, PingMsgID, NoticeMsgID,
	// ServerPingMsgID); 0 means zconf's defaults.
	MaxPayload                              int
	BigEndian                               bool
	PingMsgID, NoticeMsgID, ServerPingMsgID uint32
	// Logger receives the handler's errors (a failed write); nil discards.
	Logger *slog.Logger
}

// ConfigFor is the page's Config for a server run with net and ls: the
// WebSocket port and path, framing and IDs, and the rooms' defaults.
func ConfigFor(nc zconf.Config, ls lockstep.Config) Config {
	nc = nc.WithDefaults()
	return Config{
		WsPort: nc.WsPort, WsPath: nc.WsPath, WsTLS: nc.TLSEnabled(),
		Players: ls.MaxPlayers, TickRate: ls.TickRate,
		MaxPayload: nc.MaxPackageSize, BigEndian: nc.Framing == "be",
		PingMsgID: nc.PingMsgID, NoticeMsgID: nc.NoticeMsgID, ServerPingMsgID: nc.ServerPingMsgID,
	}
}

// pageConfig is /config.json. The IDs are numbers the JS client takes as
// they are; a ping ID of MsgIDOff (the server does not answer pings) is
// sent as 0, which turns the page's keep-alive off.
type pageConfig struct {
	WsURL      string `json:"wsUrl"`
	Players    int    `json:"players,omitempty"`
	TickRate   int    `json:"tickRate,omitempty"`
	MaxPayload int    `json:"maxPayload"`
	BigEndian  bool   `json:"bigEndian"`
	IDs        struct {
		Ping       uint32 `json:"ping"`
		Notice     uint32 `json:"notice"`
		ServerPing uint32 `json:"serverPing"`
	} `json:"ids"`
}

// Handler serves the page and the client library. The files are read and
// gzipped once, here. Safe for concurrent use. It panics only if the
// embedded files cannot be read, which a build that compiled cannot do.
func Handler(cfg Config) http.Handler {
	d := zconf.Default()
	if cfg.MaxPayload == 0 {
		cfg.MaxPayload = d.MaxPackageSize
	}
	if cfg.PingMsgID == 0 {
		cfg.PingMsgID = d.PingMsgID
	}
	if cfg.NoticeMsgID == 0 {
		cfg.NoticeMsgID = d.NoticeMsgID
	}
	if cfg.ServerPingMsgID == 0 {
		cfg.ServerPingMsgID = d.ServerPingMsgID
	}
	if cfg.WsPath == "" {
		cfg.WsPath = "/"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	as, err := loadAssets(page, jsclient.FS(), jsclient.ImportMap(ClientPrefix))
	if err != nil {
		panic("web: reading the embedded page: " + err.Error())
	}
	return &handler{cfg: cfg, assets: as, log: log}
}

type handler struct {
	cfg    Config
	assets map[string]*asset // by URL path
	log    *slog.Logger
}

// ServeHTTP answers GET and HEAD. Safe for concurrent use.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.URL.Path == "/config.json" {
		h.serveConfig(w, r)
		return
	}
	a, ok := h.assets[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	a.serve(w, r, h.log)
}

func (h *handler) serveConfig(w http.ResponseWriter, r *http.Request) {
	pc := pageConfig{WsURL: h.cfg.WsURL, Players: h.cfg.Players, TickRate: h.cfg.TickRate,
		MaxPayload: h.cfg.MaxPayload, BigEndian: h.cfg.BigEndian}
	if pc.WsURL == "" {
		u, ok := h.wsURL(r.Host)
		if !ok {
			http.Error(w, "bad Host header", http.StatusBadRequest)
			return
		}
		pc.WsURL = u
	}
	pc.IDs.Ping, pc.IDs.Notice, pc.IDs.ServerPing = h.cfg.PingMsgID, h.cfg.NoticeMsgID, h.cfg.ServerPingMsgID
	if pc.IDs.Ping == zconf.MsgIDOff {
		pc.IDs.Ping = 0
	}
	body, err := json.Marshal(pc)
	if err != nil { // a struct of strings and numbers: cannot happen
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store") // the URL follows the Host
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodGet {
		if _, err := w.Write(body); err != nil {
			h.log.Debug("web: writing config.json", "err", err)
		}
	}
}

// wsURL is the WebSocket URL on the host the page was loaded from. Host
// is the client's own header, sent back only to it; still, anything but an
// IP address or a host name is refused (false) rather than passed on.
func (h *handler) wsURL(hostport string) (string, bool) {
	host := hostport
	if hh, _, err := net.SplitHostPort(hostport); err == nil {
		host = hh
	}
	host = strings.Trim(host, "[]")
	if host == "" {
		host = "127.0.0.1"
	}
	if net.ParseIP(host) == nil && !hostName(host) {
		return "", false
	}
	u := url.URL{Scheme: "ws", Host: net.JoinHostPort(host, strconv.Itoa(h.cfg.WsPort)), Path: h.cfg.WsPath}
	if h.cfg.WsTLS {
		u.Scheme = "wss"
	}
	return u.String(), true
}

// hostName reports whether s is made of DNS name characters only.
func hostName(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
