// Package redisproc runs a private redis-server process on a loopback
// port: what the tests' redistest and the scenario tool (tests/scenario)
// share. It never touches the machine's shared Redis: the server it starts
// is its own, on a port it picked, with its data in a directory the caller
// owns, and Kill stops that process only, by its PID.
package redisproc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// startTimeout bounds the wait for a new server's first +PONG.
const startTimeout = 10 * time.Second

// Bin finds redis-server on PATH or at Debian's path.
func Bin() (string, error) {
	bin, err := exec.LookPath("redis-server")
	if err == nil {
		return bin, nil
	}
	const debian = "/usr/bin/redis-server"
	if _, serr := os.Stat(debian); serr != nil {
		return "", fmt.Errorf("redisproc: redis-server not found on PATH or at %s (install Debian's redis-server package): %w", debian, err)
	}
	return debian, nil
}

// FreeAddr returns a loopback address nobody listens on right now. Another
// process could take it before the caller binds it; a server started on it
// then fails with a log that says so.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("redisproc: finding a free port: %w", err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr, nil
}

// Config is how to run one server.
type Config struct {
	Bin  string   // redis-server; "" finds it with Bin
	Addr string   // 127.0.0.1:port to listen on; "" picks a free port
	Dir  string   // its working directory (data, log); must exist
	Args []string // more arguments, after the defaults (later ones win)
}

// Persistent are the arguments that make what Redis acknowledged survive a
// kill, as with a production Redis: the append-only file, fsynced before
// every reply. By default nothing is saved.
var Persistent = []string{"--appendonly", "yes", "--appendfsync", "always"}

// Proc is one running redis-server. Its methods are safe to call from
// several goroutines.
type Proc struct {
	Addr    string // host:port on 127.0.0.1
	LogPath string // the server's log file, in Config.Dir

	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited

	killOnce sync.Once
}

// Start runs a redis-server and waits until it answers PING (after loading
// its data, when Persistent), at most 10 s.
func Start(cfg Config) (*Proc, error) {
	if cfg.Bin == "" {
		bin, err := Bin()
		if err != nil {
			return nil, err
		}
		cfg.Bin = bin
	}
	if cfg.Addr == "" {
		addr, err := FreeAddr()
		if err != nil {
			return nil, err
		}
		cfg.Addr = addr
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("redisproc: address %q: %w", cfg.Addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("redisproc: address %q: only loopback", cfg.Addr)
	}
	logPath := filepath.Join(cfg.Dir, "redis.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("redisproc: %w", err)
	}
	defer logFile.Close()
	args := append([]string{"--port", port, "--bind", host, "--save", "", "--appendonly", "no",
		"--dir", cfg.Dir, "--daemonize", "no", "--logfile", ""}, cfg.Args...)
	cmd := exec.Command(cfg.Bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("redisproc: starting %s: %w", cfg.Bin, err)
	}
	p := &Proc{Addr: cfg.Addr, LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()

	deadline := time.Now().Add(startTimeout)
	for {
		err := Ping(p.Addr)
		if err == nil {
			return p, nil
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("redisproc: redis-server on %s exited at start (%v); its log:\n%s", p.Addr, cmd.ProcessState, Tail(logPath))
		default:
		}
		if time.Now().After(deadline) {
			p.Kill()
			return nil, fmt.Errorf("redisproc: redis-server on %s does not answer PING after %s (%v); its log:\n%s", p.Addr, startTimeout, err, Tail(logPath))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Kill stops the server at once with SIGKILL, as a crash would, and waits
// until the process is gone. Later calls do nothing.
func (p *Proc) Kill() {
	p.killOnce.Do(func() {
		_ = p.cmd.Process.Kill() // by PID: the process we started
		<-p.done
	})
}

// Done is closed once the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Ping sends an inline PING and wants +PONG (not -LOADING, which a server
// still reading its append-only file answers).
func Ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line = strings.TrimSpace(line); line != "+PONG" {
		return errors.New("PING answered " + strconv.Quote(line))
	}
	return nil
}

// Tail returns the end of a log file, for an error message.
func Tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}
