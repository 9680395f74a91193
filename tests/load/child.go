package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/zinxgame/zinxgame/zconf"
)

// served is a server the tool started for one measurement.
type served struct {
	addr  string // TCP host:port
	wsURL string // ws://host:port/path, when it speaks WebSocket
	// kcpAddr is the UDP host:port, when it speaks KCP.
	kcpAddr string
	pid     int // its process; 0 when it runs in this process
	stop    func() error
	// memStats asks the server process for its Go runtime memory figures;
	// nil when it cannot.
	memStats func() (goMem, error)
}

// goMem is the Go runtime's view of a server process's memory, in bytes.
type goMem struct {
	HeapInuse    uint64 `json:"heap_inuse"`
	HeapIdle     uint64 `json:"heap_idle"`
	HeapReleased uint64 `json:"heap_released"`
	StackInuse   uint64 `json:"stack_inuse"`
	Sys          uint64 `json:"sys"`
	Goroutines   int    `json:"goroutines"`
}

// childLife bounds a server process's life: the whole measurement plus
// margins.
func (o *options) childLife() time.Duration {
	return o.Ramp + o.Warmup + o.Duration + o.grace + 2*dialTimeout + 30*time.Second
}

// launchChild starts the server in a new process: this executable with
// -serve. The child prints its addresses on stdout; it is stopped with
// SIGTERM, killed if it does not exit in time, and also exits on its own
// when its stdin (a pipe from this process) closes or -max-life passes.
func launchChild(ctx context.Context, o *options, m measurement, r int) (*served, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	sc := o.serverConfig(m)
	life := o.childLife()
	args := []string{
		"-serve", m.Target,
		"-listen", sc.Listen,
		"-framing", sc.Framing,
		"-max-package", strconv.Itoa(sc.MaxPackageSize),
		"-workers", strconv.Itoa(sc.Workers),
		"-max-conn", strconv.Itoa(sc.MaxConn),
		"-read-buf", strconv.Itoa(sc.ReadBuf),
		"-max-life", life.String(),
	}
	if sc.WS {
		args = append(args, "-ws")
	}
	if sc.KCP {
		args = append(args, "-kcp")
	}
	if o.CPUProfile != "" {
		args = append(args, "-cpuprofile", fmt.Sprintf("%s-%s-run%d.pprof", o.CPUProfile, m.label(), r))
	}
	var memDir string
	if o.Idle {
		if memDir, err = os.MkdirTemp("", "load-mem-"); err != nil {
			return nil, err
		}
		args = append(args, "-memstats", filepath.Join(memDir, "memstats.json"))
		if o.MemProfile != "" {
			args = append(args, "-memprofile", fmt.Sprintf("%s-%s-run%d.pprof", o.MemProfile, m.label(), r))
		}
	}
	cctx, cancel := context.WithTimeout(ctx, life+10*time.Second)
	cmd := exec.CommandContext(cctx, exe, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 8 * time.Second // then it is killed
	if o.ServerProcs > 0 {
		cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(o.ServerProcs))
	}
	cmd.Stderr = os.Stderr
	out := newFirstLine(os.Stderr)
	cmd.Stdout = out
	// The child exits when this pipe closes, so it cannot outlive us.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, err
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	var once sync.Once
	var stopErr error
	stop := func() error {
		once.Do(func() {
			_ = stdin.Close()
			cancel() // SIGTERM, then a kill after WaitDelay
			<-exited
			if memDir != "" {
				_ = os.RemoveAll(memDir)
			}
			if !cmd.ProcessState.Success() {
				stopErr = fmt.Errorf("server process %d: %w", cmd.Process.Pid, waitErr)
			}
		})
		return stopErr
	}
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case line := <-out.line:
		s := &served{pid: cmd.Process.Pid, stop: stop}
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case transportTCP:
				s.addr = v
			case transportWS:
				s.wsURL = v
			case transportKCP:
				s.kcpAddr = v
			}
		}
		if s.addr == "" || (sc.WS && s.wsURL == "") || (sc.KCP && s.kcpAddr == "") {
			_ = stop()
			return nil, fmt.Errorf("server process printed %q, want its addresses (tcp=HOST:PORT, ws=URL, kcp=HOST:PORT)", line)
		}
		if memDir != "" {
			s.memStats = func() (goMem, error) {
				return askMemStats(cmd.Process, filepath.Join(memDir, "memstats.json"), exited)
			}
		}
		return s, nil
	case <-exited:
		_ = stop()
		return nil, fmt.Errorf("server process exited before printing its address: %w", waitErr)
	case <-t.C:
		_ = stop()
		return nil, errors.New("server process did not print its address within 10s")
	case <-ctx.Done():
		_ = stop()
		return nil, ctx.Err()
	}
}

// askMemStats signals the server process (SIGUSR1) to write its memory
// figures to path and reads them, waiting at most 5 seconds.
func askMemStats(p *os.Process, path string, exited <-chan struct{}) (goMem, error) {
	var m goMem
	_ = os.Remove(path)
	if err := signalMemStats(p); err != nil {
		return m, fmt.Errorf("asking the server for its memory figures: %w", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		data, err := os.ReadFile(path)
		if err == nil {
			if err := json.Unmarshal(data, &m); err != nil {
				return m, fmt.Errorf("server memory figures: %w", err)
			}
			return m, nil
		}
		if time.Now().After(deadline) {
			return m, fmt.Errorf("server memory figures: none within 5s: %w", err)
		}
		select {
		case <-exited:
			return m, errors.New("server memory figures: the server exited")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// firstLine is a writer that hands its first line to a channel and passes
// anything after it to rest.
type firstLine struct {
	mu   sync.Mutex
	buf  []byte
	sent bool
	line chan string
	rest io.Writer
}

func newFirstLine(rest io.Writer) *firstLine {
	return &firstLine{line: make(chan string, 1), rest: rest}
}

func (f *firstLine) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sent {
		return f.rest.Write(p)
	}
	f.buf = append(f.buf, p...)
	i := strings.IndexByte(string(f.buf), '\n')
	if i < 0 {
		return len(p), nil
	}
	f.sent = true
	f.line <- string(f.buf[:i])
	if rest := f.buf[i+1:]; len(rest) > 0 {
		_, _ = f.rest.Write(rest)
	}
	f.buf = nil
	return len(p), nil
}

// childMain is the server process: `load -serve framework|baseline ...`.
// It prints its addresses as one line on stdout, "tcp=HOST:PORT", then
// "ws=URL" with -ws and "kcp=HOST:PORT" with -kcp, then serves until SIGTERM or SIGINT, until its stdin
// closes (the parent is gone), or until -max-life has passed, whichever
// comes first. With -memstats, SIGUSR1 makes it write its Go runtime
// memory figures to that file (and a heap profile to -memprofile).
func childMain(args []string) int {
	fs := flag.NewFlagSet("load -serve", flag.ContinueOnError)
	def := zconf.Default()
	serve := fs.String("serve", "", "server to run: framework or baseline")
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	framing := fs.String("framing", def.Framing, "le or be")
	maxPkg := fs.Int("max-package", def.MaxPackageSize, "MaxPackageSize")
	workers := fs.Int("workers", def.WorkerPoolSize, "framework WorkerPoolSize")
	maxConn := fs.Int("max-conn", def.MaxConn, "framework MaxConn")
	readBuf := fs.Int("read-buf", def.IOReadBuffSize, "framework IOReadBuffSize; the baseline's bufio sizes")
	ws := fs.Bool("ws", false, "framework: serve WebSocket too, on a port of its own")
	kcpOn := fs.Bool("kcp", false, "framework: serve KCP too, on a UDP port of its own")
	maxLife := fs.Duration("max-life", 10*time.Minute, "exit after this long in any case")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the server to this file")
	memStats := fs.String("memstats", "", "on SIGUSR1, write the Go runtime's memory figures to this file")
	memProfile := fs.String("memprofile", "", "on SIGUSR1, also write a heap profile (after a GC) to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *memProfile != "" {
		// Every allocation, not one per 512 KiB: an idle connection is a
		// few small objects, which sampling would miss or inflate.
		runtime.MemProfileRate = 1
	}
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "load -serve %s: %v\n", *serve, err)
		return 1
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return fail(err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fail(fmt.Errorf("listen address %q: only loopback addresses are allowed", *listen))
	}
	if _, err := raiseFDLimit(*maxConn + fdMargin); err != nil {
		return fail(err)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fail(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fail(err)
		}
		defer pprof.StopCPUProfile()
	}
	srv, err := startServer(*serve, serverConfig{
		Listen: *listen, Framing: *framing, MaxPackageSize: *maxPkg,
		Workers: *workers, MaxConn: *maxConn, ReadBuf: *readBuf, WS: *ws, KCP: *kcpOn,
	})
	if err != nil {
		return fail(err)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	usr1 := make(chan os.Signal, 1)
	if *memStats != "" {
		notifyMemStats(usr1)
	}
	// The parent may signal as soon as it reads the address.
	line := transportTCP + "=" + srv.Addr
	if srv.WSURL != "" {
		line += " " + transportWS + "=" + srv.WSURL
	}
	if srv.KCPAddr != "" {
		line += " " + transportKCP + "=" + srv.KCPAddr
	}
	fmt.Println(line)
	parentGone := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(parentGone)
	}()
	life := time.NewTimer(*maxLife)
	defer life.Stop()
wait:
	for {
		select {
		case <-sig:
			break wait
		case <-parentGone:
			break wait
		case <-life.C:
			fmt.Fprintf(os.Stderr, "load -serve %s: -max-life %s reached; exiting\n", *serve, *maxLife)
			break wait
		case <-usr1:
			if err := writeMemStats(*memStats, *memProfile); err != nil {
				fmt.Fprintf(os.Stderr, "load -serve %s: %v\n", *serve, err)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Stop(ctx); err != nil {
		return fail(fmt.Errorf("shutdown: %w", err))
	}
	return 0
}

// writeMemStats writes this process's goMem to path (through a rename, so
// a reader never sees half a file) and, when profile is set, a heap
// profile after a GC.
func writeMemStats(path, profile string) error {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	data, err := json.Marshal(goMem{
		HeapInuse: ms.HeapInuse, HeapIdle: ms.HeapIdle, HeapReleased: ms.HeapReleased,
		StackInuse: ms.StackInuse, Sys: ms.Sys, Goroutines: runtime.NumGoroutine(),
	})
	if err != nil {
		return err
	}
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return fmt.Errorf("heap profile: %w", err)
		}
		runtime.GC()
		err = pprof.Lookup("heap").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("heap profile: %w", err)
		}
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("memory figures: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("memory figures: %w", err)
	}
	return nil
}
