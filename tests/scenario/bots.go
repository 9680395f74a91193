package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// botMargin is how long a bot process may run past its -duration: the
// matches' result vote, the replay, disconnecting.
const botMargin = 60 * time.Second

// botResult is one bot process's outcome.
type botResult struct {
	botRun
	Kind      string         `json:"kind"`
	StartedMs int64          `json:"started_ms"` // from the run's start
	StoppedMs int64          `json:"stopped_ms"`
	Exit      int            `json:"exit"`
	Report    map[string]any `json:"-"`
	Failures  []string       `json:"failures,omitempty"` // the bot's own, when it failed
	log       string
}

// botArgs are the bot command's flags for run against addr.
func (rn *runner) botArgs(br botRun, addr, jsonFile string, serverPID int) []string {
	args := []string{"-addr", addr, "-bots", strconv.Itoa(br.Bots),
		"-duration", br.Duration.String(), "-ramp", br.Ramp.String(), "-json", jsonFile}
	if serverPID > 0 {
		args = append(args, "-server-pid", strconv.Itoa(serverPID))
	}
	if br.Duration > capDuration {
		args = append(args, "-soak")
	}
	args = append(args, rn.spec.botArgs...)
	if br.Label == "spike" && rn.spec.server == "lockstep" && !slices.Contains(args, "-no-replay") {
		args = append(args, "-no-replay") // the extra bots come and go; the base load replays
	}
	return args
}

// runBot runs one bot process to its end (bounded by its duration and
// botMargin) and reads its JSON report. A bot that exits 0 or 1 (its own
// PASS or FAIL) is a result; anything else, or no report, is an error.
func (rn *runner) runBot(br botRun) (*botResult, error) {
	kind := rn.spec.server + "-bot"
	srv := rn.servers[0]
	if br.Node < len(rn.servers) {
		srv = rn.servers[br.Node]
	}
	addr, pid := rn.externalAddr, 0
	if srv != nil {
		addr = srv.addr
		if srv.proc != nil {
			pid = srv.proc.cmd.Process.Pid
		}
	}
	name := kind + "-" + br.Label
	jsonFile := filepath.Join(rn.dir, name+".json")
	res := &botResult{botRun: br, Kind: kind, log: filepath.Join(rn.dir, name+".log")}
	c, err := startChild(&rn.procs, name, rn.bin(kind), rn.botArgs(br, addr, jsonFile, pid), nil, res.log)
	if err != nil {
		return nil, err
	}
	res.StartedMs = c.started.Sub(rn.start).Milliseconds()
	t := time.NewTimer(br.Duration + botMargin)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
		c.kill()
		return nil, fmt.Errorf("%s: still running %s after its -duration %s: killed; its log:\n%s", name, botMargin, br.Duration, c.tail())
	}
	res.StoppedMs = c.exited.Sub(rn.start).Milliseconds()
	res.Exit = c.exitCode()
	if res.Exit != 0 && res.Exit != 1 {
		return nil, fmt.Errorf("%s exited %d; its log:\n%s", name, res.Exit, c.tail())
	}
	b, err := os.ReadFile(jsonFile)
	if err != nil {
		return nil, fmt.Errorf("%s exited %d with no report: %w; its log:\n%s", name, res.Exit, err, c.tail())
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&res.Report); err != nil {
		return nil, fmt.Errorf("%s: its report %s: %w", name, jsonFile, err)
	}
	if f, ok := res.Report["failures"].([]any); ok {
		for _, s := range f {
			res.Failures = append(res.Failures, fmt.Sprint(s))
		}
	}
	return res, nil
}

// reportFigure is a dotted path's number in a bot report (true is 1).
func reportFigure(rep map[string]any, path string) (float64, error) {
	var cur any = rep
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return 0, fmt.Errorf("%q: %v is not an object", path, cur)
		}
		v, ok := m[part]
		if !ok {
			return 0, fmt.Errorf("%q: no %q (the report has %s)", path, part, strings.Join(sortedKeys(m), ", "))
		}
		cur = v
	}
	switch v := cur.(type) {
	case json.Number:
		return v.Float64()
	case bool:
		if v {
			return 1, nil
		}
		return 0, nil
	}
	return 0, fmt.Errorf("%q: %v is not a number or a boolean", path, cur)
}

// reportValue evaluates a report check over the bot processes: a name no
// report has is an error (the thresholds file is wrong).
func reportValue(c *Check, bots []*botResult) (float64, string, error) {
	var vals []float64
	for _, b := range bots {
		v, err := reportFigure(b.Report, c.Report)
		if err != nil {
			return math.NaN(), "", fmt.Errorf("%s report %s: %w", b.Kind, b.Label, err)
		}
		vals = append(vals, v)
	}
	if len(vals) == 0 {
		return math.NaN(), "no bot reports", nil
	}
	agg := c.Agg
	if agg == "" {
		agg = "max"
	}
	return combine(agg, vals), fmt.Sprintf("%s over %d bot process(es)", agg, len(vals)), nil
}
