package servercmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/zinxgame/zinxgame/zconf"
)

// healthcheck GETs the admin listener's /healthz (or /readyz) and returns
// 0 on 200, else 1 with a one-line reason on Stderr.
func (c Command) healthcheck(args []string) int {
	fs, status := c.subFlags("healthcheck")
	file := fs.String("c", "", "JSON config file, as the server's -c (read for AdminAddr)")
	ready := fs.Bool("ready", false, "GET /readyz (takes new players) instead of /healthz (alive)")
	base := fs.String("url", "", "the admin listener's base URL (http://host:port) instead of the config's AdminAddr")
	timeout := fs.Duration("timeout", 2*time.Second, "give up after this long")
	if done, code := parse(fs, args, status); done {
		return code
	}
	if err := c.check(*file, *base, *ready, *timeout); err != nil {
		fmt.Fprintf(c.stderr(), "%s healthcheck: %v\n", c.Name, err)
		return 1
	}
	return 0
}

// check does healthcheck's work; the error is its one-line reason.
func (c Command) check(file, base string, ready bool, timeout time.Duration) error {
	path := "/healthz"
	if ready {
		path = "/readyz"
	}
	if base == "" {
		// The config's warnings are the server's to log, not the probe's:
		// an orchestrator runs this every few seconds.
		cfg, err := c.Load(zconf.Source{File: file, Environ: c.Environ,
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return fmt.Errorf("loading the config: %w", err)
		}
		base, err = AdminURL(cfg.AdminAddr)
		if err != nil {
			return err
		}
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-url %q: want http://host:port", base)
	}
	target := strings.TrimSuffix(u.String(), "/") + path

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", target, err)
	}
	// No proxy (the admin listener is this host's or the pod's) and no
	// redirects (the endpoints answer themselves; anything else is wrong).
	client := &http.Client{
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("GET %s: no answer within %v", target, timeout)
		}
		return fmt.Errorf("GET %s: %w", target, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// The endpoints say why in one line ("not ready"); a bound keeps a
		// stranger's long body out of the reason.
		line, _ := bufio.NewReader(io.LimitReader(resp.Body, 200)).ReadString('\n')
		return fmt.Errorf("GET %s: %s: %s", target, resp.Status, strings.TrimSpace(line))
	}
	return nil
}

// AdminURL returns the base URL (http://host:port) at which this host
// reaches an admin listener on addr: a wildcard or empty host (0.0.0.0,
// [::], ":9101") means 127.0.0.1. An empty addr (the admin listener off)
// is an error saying how to turn it on.
func AdminURL(addr string) (string, error) {
	if addr == "" {
		return "", errors.New("AdminAddr is not set, so there is no admin listener to probe: " +
			"set AdminAddr (ZINX_ADMINADDR, e.g. 0.0.0.0:9101) or give -url")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("AdminAddr %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}
