package botkit

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"sync"
)

// Group runs goroutines that Wait waits for; once Wait has begun, Go
// starts nothing more, so a run can end without racing late starters.
type Group struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// Go runs f on a new goroutine unless Wait has begun.
func (g *Group) Go(f func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		f()
	}()
}

// Wait stops further starts and waits for every goroutine started.
func (g *Group) Wait() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.wg.Wait()
}

// StartProfile writes the process's CPU profile to file until the returned
// stop is called; with file empty it does nothing.
func StartProfile(file string) (stop func(), err error) {
	if file == "" {
		return func() {}, nil
	}
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// Report is what a bot swarm's run produces.
type Report interface {
	WriteText(w io.Writer)
	WriteJSON(file string) error
	Passed() bool
}

// Finish prints rep (and saves it as JSON when jsonFile is set) and returns
// the exit status: 0 on PASS, 1 on FAIL or error.
func Finish(rep Report, err error, jsonFile string) int {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bot:", err)
		return 1
	}
	rep.WriteText(os.Stdout)
	if jsonFile != "" {
		if err := rep.WriteJSON(jsonFile); err != nil {
			fmt.Fprintln(os.Stderr, "bot:", err)
			return 1
		}
	}
	if !rep.Passed() {
		return 1
	}
	return 0
}
