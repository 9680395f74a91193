package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zinxgame/zinxgame/internal/botkit"
)

// Targets of the issue: no desync, no gap, p99 input -> frame within one
// tick period plus targetSlack, and at most targetDownBps downstream per
// player at targetDownRate inputs a second per bot (1.5 KB/s, KB = 1000 B).
const (
	targetSlack    = 5 * time.Millisecond
	targetDownBps  = 1500
	targetDownRate = 10
	// minWindow: a bot whose match ran shorter than this is left out of the
	// bytes/s figures (a few messages over a short time say little).
	minWindow = time.Second
)

// Report is the outcome of a run; it is printed and optionally saved as JSON.
type Report struct {
	Server        string  `json:"server"`
	Bots          int     `json:"bots"`
	Players       int     `json:"players_per_room"`
	InputRate     float64 `json:"input_rate_per_s"`
	ReconnectProb float64 `json:"reconnect_prob_per_s"`
	Seconds       float64 `json:"seconds"` // measured: start to end of the run
	RampSeconds   float64 `json:"ramp_seconds"`
	TickRate      uint32  `json:"tick_rate"` // from MatchStart
	TickPeriod    Millis  `json:"tick_period_ms"`

	LoggedIn   int64             `json:"logged_in"`
	InMatch    int64             `json:"in_match"` // bots that got MatchStart
	DialErrors uint64            `json:"dial_errors"`
	GaveUp     map[string]uint64 `json:"gave_up,omitempty"` // bots that stopped early, by reason
	// FirstGaveUp is the first of them: its reason and error.
	FirstGaveUp string `json:"first_gave_up,omitempty"`
	Rooms       Rooms  `json:"rooms"`

	Received      []Count `json:"received"`
	ReceivedTotal uint64  `json:"received_total"`

	Frames     Frames     `json:"frames"`
	Inputs     Inputs     `json:"inputs"`
	Hashes     Hashes     `json:"hashes"`
	Latency    Latency    `json:"input_to_frame"`
	Login      Latency    `json:"login"` // a new player's dial to its LoginAck: connect and login
	Downstream Downstream `json:"downstream"`
	Reconnect  Reconnect  `json:"reconnect"`
	Switch     Switch     `json:"switch"`
	Restarts   Restarts   `json:"restarts"`
	// AckedMatches are the matches whose MatchEnd a bot got (at most
	// maxAcked; AckedTotal counts them all).
	AckedMatches []AckedMatch `json:"acked_matches"`
	AckedTotal   int          `json:"acked_matches_total"`

	Errors        map[string]uint64 `json:"errors,omitempty"` // Error (1019) by code
	ReadyLate     uint64            `json:"ready_late"`       // tolerated: Ready crossed MatchStart
	InputLate     uint64            `json:"input_late"`       // tolerated: an Input crossed MatchEnd
	MatchMismatch uint64            `json:"match_mismatch"`
	LostConns     uint64            `json:"lost_connections"`
	SendErrors    uint64            `json:"send_errors"`
	Dec           DecodeErrors      `json:"decode_errors"`

	CPU *CPU `json:"server_cpu,omitempty"`
	// Ticks is from the server's own metrics (-metrics, or -serve).
	Ticks    *ServerTicks `json:"server_ticks,omitempty"`
	TicksErr string       `json:"server_ticks_error,omitempty"` // the metrics could not be read
	BotCPU   *CPU         `json:"bot_cpu,omitempty"`

	// Replay is one ended match fetched again and re-simulated; nil when
	// none ended on a vote (or -replay=false).
	Replay *Replay `json:"replay,omitempty"`
	// Flood is the listing load (-fill-rooms, -list-rate); nil for none.
	Flood *FloodReport `json:"listing_load,omitempty"`

	Pass     bool     `json:"pass"`
	Failures []string `json:"failures,omitempty"`
}

// Rooms counts the rooms and their matches.
type Rooms struct {
	Rooms          int            `json:"rooms"`
	Created        int            `json:"created"`
	MatchesStarted int            `json:"matches_started"`
	MatchesEnded   int            `json:"matches_ended"`
	EndReasons     map[string]int `json:"end_reasons,omitempty"`
	EndedEarly     int            `json:"ended_during_run"` // before the run's end: not by the bots' vote
	List           string         `json:"room_list"`
	ListOK         bool           `json:"room_list_ok"`
}

// Frames counts the frames the bots applied and what was wrong with them.
type Frames struct {
	Applied         uint64 `json:"applied"` // frames, summed over bots
	LiveBatches     uint64 `json:"live_batches"`
	CatchUpBatches  uint64 `json:"catch_up_batches"`
	Gaps            uint64 `json:"gaps"` // batches that skipped frames
	GapFrames       uint64 `json:"gap_frames"`
	Duplicates      uint64 `json:"duplicates"` // batches that repeated frames
	DuplicateFrames uint64 `json:"duplicate_frames"`
	CatchUpUnasked  uint64 `json:"catch_up_unasked"` // catch-up (1016) frames with no reconnection under way
	// Stale: messages of connections the bots had replaced, and frames
	// outside a match or before a resync's MatchStart (ignored).
	Stale uint64 `json:"stale_messages"`
}

// Inputs counts the bots' inputs and their fate.
type Inputs struct {
	Sent       uint64 `json:"sent"`
	Echoed     uint64 `json:"echoed"`            // seen again in a frame
	CaughtUp   uint64 `json:"echoed_in_catchup"` // not timed
	Lost       uint64 `json:"lost"`              // never relayed, on a connection still in use
	LostByDrop uint64 `json:"lost_by_drop"`      // never relayed, sent just before a bot dropped its connection
	Unmatched  uint64 `json:"unmatched"`         // relayed twice or never sent
	Expired    uint64 `json:"expired"`
	BadRelayed uint64 `json:"bad_relayed"` // relayed inputs no bot sends (slot out of range, bad length)
}

// Hashes counts state hashes and disagreements.
type Hashes struct {
	Sent            uint64   `json:"reports_sent"`
	Desyncs         uint64   `json:"desyncs_received"` // Desync (1014) from the server
	DesyncSamples   []string `json:"desync_samples,omitempty"`
	LocalMismatches uint64   `json:"local_mismatches"` // bots of a room that computed different hashes
	ResultsSent     uint64   `json:"results_sent"`
	ResultsMissed   uint64   `json:"results_missed"`
	ResultMismatch  uint64   `json:"result_mismatch"` // MatchEnd.result differs from the vote
}

// Latency summarises a histogram.
type Latency struct {
	Count uint64 `json:"count"`
	P50   Millis `json:"p50_ms"`
	P90   Millis `json:"p90_ms"`
	P99   Millis `json:"p99_ms"`
	Max   Millis `json:"max_ms"`
}

// Downstream is what each player received, bytes a second from its
// MatchStart to the end of the run, frame heads included.
type Downstream struct {
	Players  int     `json:"players"` // bots in the figures (matches of at least minWindow)
	MeanBps  float64 `json:"mean_bytes_per_s"`
	MaxBps   float64 `json:"max_bytes_per_s"`
	TotalMiB float64 `json:"total_mib"` // every message to every bot, the whole run
}

// Reconnect counts the bots' reconnections and times their catch-up:
// Reconnect sent -> first live frame after it.
type Reconnect struct {
	Begun   uint64  `json:"begun"`
	OK      uint64  `json:"ok"`
	Failed  uint64  `json:"failed"`
	CatchUp Latency `json:"catch_up"`
}

// Count is the number of messages received with one ID.
type Count struct {
	ID    uint32 `json:"id"`
	Name  string `json:"name"`
	Count uint64 `json:"count"`
}

// DecodeErrors counts messages the bots could not make sense of.
type DecodeErrors struct {
	Total      uint64 `json:"total"`
	Unmarshal  uint64 `json:"unmarshal"`   // proto.Unmarshal failed
	Malformed  uint64 `json:"malformed"`   // decoded, but not what the protocol says
	UnknownIDs uint64 `json:"unknown_ids"` // message IDs the bots do not expect
	Framing    uint64 `json:"framing"`     // connections closed for a bad frame
}

// CPU is a process's CPU time over the run.
type CPU = botkit.CPU

// Millis is a duration that reads as milliseconds.
type Millis = botkit.Millis

func (rep *Report) fail(format string, args ...any) {
	rep.Failures = append(rep.Failures, fmt.Sprintf(format, args...))
	rep.Pass = false
}

// LatencyTarget is the p99 input -> frame allowed: a tick and targetSlack.
func (rep *Report) LatencyTarget() time.Duration {
	return time.Duration(rep.TickPeriod) + targetSlack
}

// judge sets Pass and Failures from the figures.
func (rep *Report) judge() {
	rep.Pass, rep.Failures = true, nil
	if rep.Hashes.Desyncs > 0 {
		rep.fail("%d desyncs received", rep.Hashes.Desyncs)
	}
	if rep.Hashes.LocalMismatches > 0 {
		rep.fail("%d state hashes differ from the room's other bots'", rep.Hashes.LocalMismatches)
	}
	if f := rep.Frames; f.GapFrames > 0 || f.DuplicateFrames > 0 {
		rep.fail("frames: %d gaps (%d frames missing), %d duplicates (%d frames repeated)", f.Gaps, f.GapFrames, f.Duplicates, f.DuplicateFrames)
	}
	if f := rep.Frames; f.CatchUpUnasked > 0 {
		rep.fail("frames: %d catch-up frames unasked", f.CatchUpUnasked)
	}
	playing := rep.Bots > 0 // -bots 0: only the listing load runs
	switch {
	case !playing:
	case rep.TickRate == 0:
		rep.fail("no match started")
	case rep.InputRate > 0 && rep.Latency.Count == 0:
		rep.fail("input -> frame latency: no samples")
	case time.Duration(rep.Latency.P99) > rep.LatencyTarget():
		rep.fail("input -> frame p99 %s > %s (one tick + %s)", rep.Latency.P99, botkit.Ms(rep.LatencyTarget()), botkit.Ms(targetSlack))
	}
	if rep.InputRate <= targetDownRate && rep.Downstream.MeanBps > targetDownBps {
		rep.fail("downstream %.0f B/s per player > %d B/s", rep.Downstream.MeanBps, targetDownBps)
	}
	if rep.Dec.Total > 0 {
		rep.fail("%d decode errors", rep.Dec.Total)
	}
	if rep.InMatch != int64(rep.Bots) {
		rep.fail("%d of %d bots got into a match", rep.InMatch, rep.Bots)
	}
	if n := sum(rep.GaveUp); n > 0 {
		rep.fail("%d bots gave up: %v", n, rep.GaveUp)
	}
	if n := sum(rep.Errors); n > 0 {
		rep.fail("%d errors from the server: %v", n, rep.Errors)
	}
	if rep.LostConns > 0 {
		rep.fail("%d connections lost", rep.LostConns)
	}
	if rep.MatchMismatch > 0 {
		rep.fail("%d MatchStart/RoomState disagreeing with the bot's match", rep.MatchMismatch)
	}
	if i := rep.Inputs; i.Lost > 0 || i.Unmatched > 0 || i.BadRelayed > 0 {
		rep.fail("inputs: %d lost, %d relayed twice or unknown, %d bad", i.Lost, i.Unmatched, i.BadRelayed)
	}
	if rc := rep.Reconnect; rc.Failed > 0 || rc.OK != rc.Begun {
		rep.fail("reconnections: %d of %d failed", rc.Begun-rc.OK, rc.Begun)
	}
	if rs := rep.Restarts; rs.Failed > 0 {
		rep.fail("restarts: %d bots could not come back after a server restart", rs.Failed)
	}
	if sw := rep.Switch; sw.Failed > 0 || sw.OK != sw.Begun {
		rep.fail("transport switches: %d of %d failed", sw.Begun-sw.OK, sw.Begun)
	}
	ro := rep.Rooms
	if ro.MatchesEnded < ro.MatchesStarted {
		rep.fail("%d of %d matches did not end after the result vote", ro.MatchesStarted-ro.MatchesEnded, ro.MatchesStarted)
	}
	if ro.EndedEarly > 0 {
		rep.fail("%d matches ended during the run: %v", ro.EndedEarly, ro.EndReasons)
	}
	if h := rep.Hashes; h.ResultsMissed > 0 || h.ResultMismatch > 0 {
		rep.fail("result votes: %d missed, %d MatchEnd results differing from the vote", h.ResultsMissed, h.ResultMismatch)
	}
	if playing && !ro.ListOK {
		rep.fail("room list check: %s", ro.List)
	}
	if rep.Flood != nil {
		rep.Flood.judge(rep)
	}
	if rep.TicksErr != "" {
		rep.fail("server metrics: %s", rep.TicksErr)
	}
	if st := rep.Ticks; st != nil && st.Judged && !st.Met() {
		rep.fail("server ticks: %d of %d (%.2f%%) later than %s, over 1%%", st.LateOver, st.Ticks, 100*st.LateShare, botkit.Ms(targetLateness))
	}
	if rp := rep.Replay; rp != nil && !rp.OK {
		rep.fail("replay of match %d: hash %s at frame %d, want %s (%s)", rp.MatchID, rp.GotHash, rp.ResultFrame, rp.WantHash, rp.Err)
	}
}

// listed is " " and v printed, or nothing when v is empty (a map or slice).
func listed[T interface {
	~map[string]uint64 | ~map[string]int | ~[]string
}](v T) string {
	if len(v) == 0 {
		return ""
	}
	return fmt.Sprintf(" %v", v)
}

func sum[K comparable](m map[K]uint64) (n uint64) {
	for _, v := range m {
		n += v
	}
	return n
}

func (r *runner) report(cpuPID int, start, ramped, end snapshot, framing uint64) *Report {
	c := r.counters() // everything, the vote included
	rep := &Report{
		Server: r.addr, Bots: r.cfg.Bots, Players: r.cfg.Players,
		InputRate: r.cfg.InputRate, ReconnectProb: r.cfg.ReconnectProb,
		Seconds: end.at.Sub(start.at).Seconds(), RampSeconds: r.cfg.Ramp.Seconds(),
		TickRate: r.tickRate.Load(), LoggedIn: r.loggedIn.Load(), InMatch: r.inMatch.Load(),
		DialErrors: r.dialErrs.Load(),
		Frames: Frames{
			Applied: c[cFramesApplied], LiveBatches: c[cRecvFrames], CatchUpBatches: c[cRecvCatchUp],
			Gaps: c[cGaps], GapFrames: c[cGapFrames], Duplicates: c[cDups], DuplicateFrames: c[cDupFrames],
			CatchUpUnasked: c[cCatchUpUnasked], Stale: c[cStale],
		},
		Inputs: Inputs{
			Sent: c[cInputsSent], Echoed: c[cInputsEchoed], CaughtUp: c[cInputsCaughtUp], Lost: c[cInputsLost],
			LostByDrop: c[cInputsLostDrop], Unmatched: c[cInputsUnmatched], Expired: c[cInputsExpired],
			BadRelayed: c[cBadInput],
		},
		Hashes: Hashes{
			Sent: c[cHashesSent], Desyncs: c[cRecvDesync], LocalMismatches: c[cLocalMismatch],
			ResultsSent: c[cResultsSent], ResultsMissed: c[cResultMissed], ResultMismatch: c[cResultMismatch],
		},
		Reconnect: Reconnect{
			Begun: c[cReconnects], OK: c[cReconnectsOK], Failed: c[cReconnectsFailed],
			CatchUp: summary(&r.catchUp),
		},
		Switch: Switch{Begun: c[cSwitches], OK: c[cSwitchesOK], Failed: c[cSwitchesFailed]},
		Restarts: Restarts{Enabled: r.cfg.SurviveRestarts, MatchesEnded: c[cShutdownEnds], Rejoined: c[cRejoined],
			Failed: c[cRejoinFailed], TooLate: c[cTooLate], DialRetries: c[cDialRetries]},
		Latency:   summary(&r.lat),
		Login:     summary(&r.login),
		ReadyLate: c[cReadyLate], InputLate: c[cInputLate], MatchMismatch: c[cMatchMismatch], LostConns: c[cLostConns],
		SendErrors: c[cSendErr],
	}
	if rep.TickRate > 0 {
		rep.TickPeriod = Millis(time.Second / time.Duration(rep.TickRate))
	}
	if r.switchAddr != "" {
		rep.Switch.Between = r.addr + " and " + r.switchAddr
	}
	if r.cfg.Serve {
		rep.Server += " (in-process, -serve)"
	} else if cpuPID > 0 {
		rep.Server += fmt.Sprintf(" (external, pid %d)", cpuPID)
	}
	for _, n := range []struct {
		i    int
		id   uint32
		name string
	}{
		{cRecvLoginAck, 1001, "LoginAck"}, {cRecvRoomState, 1008, "RoomState"}, {cRecvRoomListAck, 1006, "RoomListAck"},
		{cRecvPlayerEvent, 1009, "PlayerEvent"}, {cRecvMatchStart, 1010, "MatchStart"}, {cRecvFrames, 1012, "FrameBatch (live)"},
		{cRecvCatchUp, 1016, "FrameBatch (catch-up)"}, {cRecvDesync, 1014, "Desync"}, {cRecvMatchEnd, 1017, "MatchEnd"},
		{cRecvError, 1019, "Error"}, {cRecvNotice, 65535, "server notice"}, {cRecvUnknownID, 0, "unknown IDs"},
	} {
		rep.Received = append(rep.Received, Count{ID: n.id, Name: n.name, Count: c[n.i]})
	}
	rep.ReceivedTotal = recvTotal(c)

	r.mu.Lock()
	rep.GaveUp = maps.Clone(r.failures)
	rep.FirstGaveUp = r.firstFailure
	rep.AckedMatches, rep.AckedTotal = slices.Clone(r.acked), r.ackedTotal
	if rep.AckedMatches == nil {
		rep.AckedMatches = []AckedMatch{}
	}
	rep.Hashes.DesyncSamples = slices.Clone(r.desyncs)
	rep.Rooms.List, rep.Rooms.ListOK = r.roomList, r.listOK
	switch {
	case r.cfg.Bots == 0:
		rep.Rooms.List = "not checked: no playing bots (-bots 0)"
	case rep.Rooms.List == "":
		rep.Rooms.List = "not done (bot-0 did not create its room)"
	}
	if len(r.errCodes) > 0 {
		rep.Errors = map[string]uint64{}
		for code, n := range r.errCodes {
			rep.Errors[code.String()] += n
		}
	}
	r.mu.Unlock()

	rooms := r.generations()
	rep.Rooms.Rooms = len(rooms)
	for _, rm := range rooms {
		rm.mu.Lock()
		if rm.id != 0 {
			rep.Rooms.Created++
		}
		if rm.started {
			rep.Rooms.MatchesStarted++
		}
		if rm.ended {
			rep.Rooms.MatchesEnded++
			if rep.Rooms.EndReasons == nil {
				rep.Rooms.EndReasons = map[string]int{}
			}
			rep.Rooms.EndReasons[rm.endReason.String()]++
			if rm.endedLive {
				rep.Rooms.EndedEarly++
			}
		}
		rm.mu.Unlock()
	}

	var total uint64
	for _, b := range r.bots {
		total += b.bytes.Load()
		at := b.matchAt.Load()
		if at == 0 {
			continue
		}
		window := time.Duration(end.ns - at)
		if window < minWindow {
			continue
		}
		bps := float64(b.matchBytes.Load()) / window.Seconds()
		rep.Downstream.Players++
		rep.Downstream.MeanBps += bps
		rep.Downstream.MaxBps = max(rep.Downstream.MaxBps, bps)
	}
	if rep.Downstream.Players > 0 {
		rep.Downstream.MeanBps /= float64(rep.Downstream.Players)
	}
	rep.Downstream.TotalMiB = float64(total) / (1 << 20)

	rep.Dec = DecodeErrors{Unmarshal: c[cUnmarshalErr], Malformed: c[cMalformed], UnknownIDs: c[cRecvUnknownID], Framing: framing}
	rep.Dec.Total = rep.Dec.Unmarshal + rep.Dec.Malformed + rep.Dec.UnknownIDs + rep.Dec.Framing

	cpu := func(source string, a, b, c time.Duration) *CPU {
		return botkit.CPUOver(source, start.at, ramped.at, end.at, a, b, c)
	}
	switch {
	case r.cfg.Serve:
		rep.CPU = cpu("/proc/self/stat: bots and in-process server together (-serve cannot separate them)",
			start.self, ramped.self, end.self)
	case cpuPID > 0:
		rep.CPU = cpu(fmt.Sprintf("/proc/%d/stat", cpuPID), start.cpu, ramped.cpu, end.cpu)
		rep.BotCPU = cpu("/proc/self/stat", start.self, ramped.self, end.self)
	default:
		rep.BotCPU = cpu("/proc/self/stat", start.self, ramped.self, end.self)
	}
	if r.metrics != nil {
		var err error
		if err = errors.Join(ramped.ticksErr, end.ticksErr); err == nil {
			rep.Ticks, err = serverTicks(r.metricsSrc, ramped.ticks, end.ticks)
		}
		if rep.Ticks != nil {
			rep.Ticks.Judged = !r.cfg.Serve
		}
		if err != nil {
			rep.TicksErr = err.Error()
		}
	}
	rep.judge()
	return rep
}

func summary(h *botkit.Hist) Latency {
	var s botkit.HistSnap
	s.Add(h)
	return Latency{
		Count: s.Count(),
		P50:   Millis(s.Quantile(0.50)), P90: Millis(s.Quantile(0.90)),
		P99: Millis(s.Quantile(0.99)), Max: Millis(s.Max()),
	}
}

// WriteText prints the report for people.
func (rep *Report) WriteText(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	verdict := func(ok bool) string { return map[bool]string{true: "PASS", false: "FAIL"}[ok] }
	ro, f, in, h, d, rc := rep.Rooms, rep.Frames, rep.Inputs, rep.Hashes, rep.Downstream, rep.Reconnect
	p("lockstep bot report")
	p("  server        %s", rep.Server)
	p("  run           %.1fs (ramp %.1fs); %d bots, %d a room; each sends %g inputs/s, reconnects with probability %g/s",
		rep.Seconds, rep.RampSeconds, rep.Bots, rep.Players, rep.InputRate, rep.ReconnectProb)
	p("  bots          %d logged in, %d in a match, %d dial errors, %d gave up%s",
		rep.LoggedIn, rep.InMatch, rep.DialErrors, sum(rep.GaveUp), listed(rep.GaveUp))
	if rep.FirstGaveUp != "" {
		p("  first gave up %s", rep.FirstGaveUp)
	}
	p("  rooms         %d: %d created, %d matches started, %d ended%s (%d during the run)",
		ro.Rooms, ro.Created, ro.MatchesStarted, ro.MatchesEnded, listed(ro.EndReasons), ro.EndedEarly)
	p("  room list     %s", ro.List)
	p("  tick          %d/s (%s a frame)", rep.TickRate, rep.TickPeriod)
	p("  received      %d messages", rep.ReceivedTotal)
	for _, c := range rep.Received {
		id := strconv.Itoa(int(c.ID))
		if c.ID == 0 {
			id = "?"
		}
		p("    %-6s %-22s %d", id, c.Name, c.Count)
	}
	p("  frames        %d applied (all bots); %d live and %d catch-up batches; gaps %d (%d frames), duplicates %d (%d frames); "+
		"%d catch-up frames unasked, %d stale ignored",
		f.Applied, f.LiveBatches, f.CatchUpBatches, f.Gaps, f.GapFrames, f.Duplicates, f.DuplicateFrames,
		f.CatchUpUnasked, f.Stale)
	p("  inputs        %d sent, %d echoed (%d in catch-up), %d lost, %d lost with a dropped connection, %d unmatched, %d expired, %d bad relayed",
		in.Sent, in.Echoed, in.CaughtUp, in.Lost, in.LostByDrop, in.Unmatched, in.Expired, in.BadRelayed)
	p("  hashes        %d reports sent, %d desyncs received%s, %d local mismatches; results %d sent, %d missed, %d mismatched",
		h.Sent, h.Desyncs, listed(h.DesyncSamples), h.LocalMismatches, h.ResultsSent, h.ResultsMissed, h.ResultMismatch)
	lat := func(name string, l Latency) {
		p("  %-13s n=%d  p50 %s  p90 %s  p99 %s  max %s", name, l.Count, l.P50, l.P90, l.P99, l.Max)
	}
	lat("input->frame", rep.Latency)
	lat("login", rep.Login)
	p("  downstream    %.0f B/s per player (mean over %d), max %.0f B/s; %.2f MiB in all", d.MeanBps, d.Players, d.MaxBps, d.TotalMiB)
	p("  reconnect     %d begun, %d ok, %d failed", rc.Begun, rc.OK, rc.Failed)
	if rs := rep.Restarts; rs.Enabled {
		p("  restarts      %d matches ended by a server shutdown; %d bots back in a new match, %d failed, %d left out (the run was ending); %d dials retried",
			rs.MatchesEnded, rs.Rejoined, rs.Failed, rs.TooLate, rs.DialRetries)
	}
	p("  acknowledged  %d matches ended (MatchEnd received)", rep.AckedTotal)
	if sw := rep.Switch; sw.Between != "" {
		p("  switch        %d begun, %d ok, %d failed (between %s)", sw.Begun, sw.OK, sw.Failed, sw.Between)
	}
	lat("catch-up", rc.CatchUp)
	p("  errors        %d from the server%s; %d late Ready and %d late Input answered (tolerated); %d match mismatches; %d connections lost; %d send errors",
		sum(rep.Errors), listed(rep.Errors), rep.ReadyLate, rep.InputLate, rep.MatchMismatch, rep.LostConns, rep.SendErrors)
	dec := rep.Dec
	p("  decode errors %d (unmarshal %d, malformed %d, unknown IDs %d, bad frames %d)",
		dec.Total, dec.Unmarshal, dec.Malformed, dec.UnknownIDs, dec.Framing)
	cpu := func(name string, c *CPU) {
		if c != nil {
			p("%s", c.Line(name))
		}
	}
	if rp := rep.Replay; rp != nil {
		p("  replay        match %d: %d frames in %s, state hash at frame %d %s (players voted %s): %s%s",
			rp.MatchID, rp.Frames, rp.Took, rp.ResultFrame, rp.GotHash, rp.WantHash, verdict(rp.OK), map[bool]string{true: "", false: " " + rp.Err}[rp.Err == ""])
	}
	if rep.Flood != nil {
		rep.Flood.lines(p)
	}
	if rep.CPU == nil {
		p("  server CPU    not measured (give -server-pid, or use -serve)")
	}
	cpu("server CPU", rep.CPU)
	if rep.Ticks != nil {
		p("%s", rep.Ticks.line())
	}
	cpu("bot CPU", rep.BotCPU)
	down := "not checked (the target is at 10 inputs/s)"
	if rep.InputRate <= targetDownRate {
		down = verdict(d.MeanBps <= targetDownBps)
	}
	if rep.Bots == 0 {
		p("  targets       the bots' not checked: no playing bots (-bots 0)")
	} else {
		p("  targets       desyncs %d == 0: %s; gaps %d == 0: %s; p99 input->frame %s <= %s: %s; downstream %.0f <= %d B/s: %s",
			h.Desyncs, verdict(h.Desyncs == 0), f.GapFrames, verdict(f.GapFrames == 0),
			rep.Latency.P99, botkit.Ms(rep.LatencyTarget()), verdict(rep.TickRate > 0 && time.Duration(rep.Latency.P99) <= rep.LatencyTarget()),
			d.MeanBps, targetDownBps, down)
	}
	if st := rep.Ticks; st != nil {
		v := verdict(st.Met())
		if !st.Judged {
			v += " (not judged: -serve shares the process with the bots)"
		}
		p("                p99 tick lateness <= %s (%.3f%% later): %s", botkit.Ms(targetLateness), 100*st.LateShare, v)
	}
	if rep.Pass {
		p("RESULT PASS")
	} else {
		p("RESULT FAIL: %s", strings.Join(rep.Failures, "; "))
	}
}

// WriteJSON saves the report.
func (rep *Report) WriteJSON(file string) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := os.WriteFile(file, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// Passed reports whether the run met every target (botkit.Report).
func (rep *Report) Passed() bool { return rep.Pass }
