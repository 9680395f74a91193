package main

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// scenarioSpec is what a scenario runs by default.
type scenarioSpec struct {
	server   string        // "lockstep" or "mmo": the server binary
	bots     int           // default -bots (in all)
	duration time.Duration // default -duration
	profiles bool          // takes -profile
	nodes    int           // server processes
	redis    bool          // needs a Redis
	rolling  bool          // restarts the servers under load
	// env is the scenario's server settings (ZINX_* variables).
	env []string
	// botArgs are the bot command's flags but -addr, -bots, -duration,
	// -ramp and -json.
	botArgs []string
	// ramp is the bots' ramp under the steady profile; 0: a tenth of
	// the duration, at most 5 s.
	ramp time.Duration
}

var scenarios = map[string]scenarioSpec{
	// Many clients connect and log in at once: the lockstep bots, a
	// quarter of a second for all of them, few inputs.
	"storm": {
		server: "lockstep", bots: 200, duration: 10 * time.Second, nodes: 1,
		botArgs: []string{"-players", "4", "-input-rate", "2", "-tick-rate", "30", "-no-replay"},
		ramp:    250 * time.Millisecond,
	},
	// Steady lockstep rooms: 4 players a room at 30 Hz, 10 inputs a
	// second each.
	"lockstep": {
		server: "lockstep", bots: 100, duration: 20 * time.Second, nodes: 1, profiles: true,
		botArgs: []string{"-players", "4", "-input-rate", "10", "-tick-rate", "30"},
	},
	// A crowded MMO scene: the map is one area-of-interest cell
	// (CntX = CntZ = 1), so every player is in view of every other and
	// each move goes to all of them.
	"mmo-crowd": {
		server: "mmo", bots: 100, duration: 20 * time.Second, nodes: 1, profiles: true,
		env:     []string{"ZINX_MMO_CNTX=1", "ZINX_MMO_CNTZ=1"},
		botArgs: []string{"-move-rate", "4", "-chat-rate", "0"},
	},
	// Chat fan-out: world chat goes to every player of the scene; the
	// players chat 4 times a second (the server allows 5 a second, a
	// burst of 10), and move once a second (the move latency is the bot's
	// own target).
	"chat": {
		server: "mmo", bots: 50, duration: 20 * time.Second, nodes: 1, profiles: true,
		env:     []string{"ZINX_MMO_CHATRATE=5", "ZINX_MMO_CHATBURST=10"},
		botArgs: []string{"-move-rate", "1", "-chat-rate", "240"},
	},
	// A rolling restart under load: two lockstep nodes on one Redis,
	// the bots split over them, each node restarted in turn while its
	// bots play; the bots re-form their rooms on the restarted node
	// (-survive-restarts).
	"rolling": {
		server: "lockstep", bots: 32, duration: 30 * time.Second, nodes: 2, redis: true, rolling: true,
		botArgs: []string{"-players", "4", "-input-rate", "10", "-tick-rate", "30", "-survive-restarts"},
	},
}

func scenarioNames() []string { return sortedKeys(scenarios) }

// serverFacts are the facts only servers the tool started give: against
// an external server (-addr) their checks are skipped, so that a canary
// run takes the same thresholds file.
var serverFacts = []string{"server_exit_nonzero", "server_starts"}

// factsOf are the facts a scenario's runs give.
func factsOf(sp scenarioSpec) []string {
	f := append([]string{"bots_failed", "bot_processes", "not_ready_samples", "peak_connections"}, serverFacts...)
	if sp.rolling {
		f = append(f, "restarts", "restart_ready_seconds_max", "restart_exit_nonzero", "acked_matches", "acked_matches_lost")
	}
	slices.Sort(f)
	return f
}

// botRun is one bot process of the run.
type botRun struct {
	Label    string        `json:"label"` // base, spike, node-1, ...
	Node     int           `json:"node"`  // the server it loads (index)
	Bots     int           `json:"bots"`
	At       time.Duration `json:"-"` // start, from the run's start
	Duration time.Duration `json:"-"`
	Ramp     time.Duration `json:"-"`
}

// schedule splits the bots into processes by profile and node.
//
//   - steady: every bot for the whole run, logged in over a short ramp;
//   - ramp: the bots arrive linearly over 90% of the run;
//   - spike: the bots for the whole run, and as many again in a second
//     process from 40% to 60% of the run (its own -duration).
//
// A scenario with several nodes splits the bots evenly over them.
func schedule(sp scenarioSpec, profile string, bots int, d time.Duration) []botRun {
	ramp := sp.ramp
	if ramp == 0 {
		ramp = min(d/10, 5*time.Second)
	}
	if profile == "ramp" {
		ramp = d * 9 / 10
	}
	var runs []botRun
	per := bots / sp.nodes
	for n := range sp.nodes {
		label := "base"
		if sp.nodes > 1 {
			label = "node-" + strconv.Itoa(n+1)
		}
		runs = append(runs, botRun{Label: label, Node: n, Bots: per, Duration: d, Ramp: ramp})
	}
	if profile == "spike" {
		at, length := d*4/10, d*2/10
		runs = append(runs, botRun{Label: "spike", Bots: bots, At: at, Duration: length, Ramp: length / 10})
	}
	return runs
}

// checkBots says whether the bot count fits the scenario: a multiple of
// the room size (4) for lockstep bots, on every node.
func checkBots(sp scenarioSpec, bots int) error {
	unit := 1
	if sp.server == "lockstep" {
		unit = 4
	}
	unit *= sp.nodes
	if bots < unit || bots%unit != 0 || bots > 10000 {
		return fmt.Errorf("-bots %d: must be a multiple of %d (the room size times the nodes), at most 10000", bots, unit)
	}
	return nil
}
