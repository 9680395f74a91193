package durability

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zinxgame/zinxgame/client"
	"github.com/zinxgame/zinxgame/protocol/commonpb"
	"github.com/zinxgame/zinxgame/protocol/lspb"
)

// The checks of a workload's records against Redis and through a
// restarted server. They collect findings rather than fail at once, so a
// run reports every loss, and the negative control can look at them.

// matchEndInterrupted is lspb.MatchEndReason_MATCH_END_INTERRUPTED (6):
// "the server running the match stopped without ending it". Spelled out
// so this package builds before the protocol gains the name.
const matchEndInterrupted = lspb.MatchEndReason_MATCH_END_INTERRUPTED

// reasonName is a reason as Redis stores it (its enum name), known to the
// generated code or not.
func reasonName(r lspb.MatchEndReason) string {
	if r == matchEndInterrupted {
		return "MATCH_END_INTERRUPTED"
	}
	return r.String()
}

// lossRule says which acknowledgements must have survived.
type lossRule struct {
	// sync: every acknowledgement must have survived (sync durability
	// for sessions, frames and matches).
	sync bool
	// kill is when the server died; zero for a clean stop, after which
	// every acknowledgement must have survived.
	kill time.Time
	// window is how long before the kill an async acknowledgement may be
	// lost: one FlushInterval and the flusher's margin.
	window time.Duration
}

// flushed is the cut: the writes made before it had been flushed when the
// server died (zero: all of them).
func (r lossRule) flushed() time.Time {
	if r.kill.IsZero() {
		return time.Time{}
	}
	return r.kill.Add(-r.window)
}

// required says whether a record acknowledged at must have survived.
func (r lossRule) required(at time.Time) bool {
	return r.sync || r.kill.IsZero() || at.Before(r.flushed())
}

// ago says how long before the kill at was, for a message.
func (r lossRule) ago(at time.Time) string {
	if r.kill.IsZero() {
		return "before the stop"
	}
	return r.kill.Sub(at).Round(time.Millisecond).String() + " before the kill"
}

// tally counts one kind of record.
type tally struct {
	acked    int // acknowledged to a client
	required int // ... and required to survive
	lost     int // required and missing (each also a failure)
	window   int // missing, but acknowledged inside the loss window
}

func (t tally) String() string {
	return fmt.Sprintf("%d acked (%d required), %d lost, %d lost in the window", t.acked, t.required, t.lost, t.window)
}

// verdict is what the checks found.
type verdict struct {
	sessions, frames, ends, unfinished, relogins tally
	failures                                     []string
}

func (v *verdict) failf(format string, args ...any) {
	v.failures = append(v.failures, fmt.Sprintf(format, args...))
}

// count adds one record to t: present or not, required or not.
func (v *verdict) count(t *tally, required, present bool, what string, args ...any) {
	t.acked++
	if required {
		t.required++
	}
	switch {
	case present:
	case required:
		t.lost++
		v.failf("lost: "+what, args...)
	default:
		t.window++
	}
}

// report fails t with every finding (the first 40) and returns a one-line
// summary.
func (v *verdict) report(t *testing.T, label string) string {
	t.Helper()
	for i, f := range v.failures {
		if i == 40 {
			t.Errorf("%s: ... and %d more", label, len(v.failures)-i)
			break
		}
		t.Errorf("%s: %s", label, f)
	}
	return v.summary()
}

func (v *verdict) summary() string {
	return fmt.Sprintf("sessions: %v; frames: %v; match ends: %v; unfinished matches: %v; logins again: %v",
		v.sessions, v.frames, v.ends, v.unfinished, v.relogins)
}

// checkRedis reads every record of logins and matches in Redis. Matches
// with no MatchEnd received must be ended there with unfinishedReason
// (MATCH_END_INTERRUPTED after a crash, MATCH_END_SHUTDOWN after a stop),
// or MATCH_END_RESULT when their players had voted. It returns the
// matches whose players must hear unfinishedReason when they log in again.
func checkRedis(ctx context.Context, rv *redisView, logins []*loginRec, matches []*matchRec, rule lossRule,
	unfinishedReason lspb.MatchEndReason, v *verdict) map[uint64]uint64 {
	for _, l := range logins {
		jti, err := rv.sessionID(ctx, l.token)
		if err != nil {
			v.failf("the token of %s does not verify: %v", l.name, err)
			continue
		}
		h, err := rv.session(ctx, jti)
		if err != nil {
			v.failf("reading session %s: %v", jti, err)
			continue
		}
		if len(h) > 0 && h["player"] != strconv.FormatUint(l.player, 10) {
			v.failf("session %s of %s names player %q, want %d", jti, l.name, h["player"], l.player)
		}
		v.count(&v.sessions, rule.required(l.at), len(h) > 0, "session %s of %s (player %d), LoginAck %s",
			jti, l.name, l.player, rule.ago(l.at))
	}
	for _, m := range matches {
		checkFrames(ctx, rv, m, rule, v)
		if m.end != nil {
			checkEnd(ctx, rv, m, rule, v)
		}
	}
	return checkUnfinished(ctx, rv, matches, rule, unfinishedReason, v)
}

// checkFrames: every busy frame received is in frames:<id> with the same
// inputs, and the stored frames have no hole (they survive as a prefix).
func checkFrames(ctx context.Context, rv *redisView, m *matchRec, rule lossRule, v *verdict) {
	stored, err := rv.frames(ctx, m.id)
	if err != nil {
		v.failf("reading the frames of match %d: %v", m.id, err)
		return
	}
	var top uint32
	for f := range stored {
		top = max(top, f)
	}
	for f, fr := range m.frames {
		in, ok := stored[f]
		if ok && !sameInputs(fr.inputs, clientInputs(in)) {
			v.failf("match %d frame %d: Redis holds %s, the players received %s", m.id, f, fmtInputs(clientInputs(in)), fmtInputs(fr.inputs))
		}
		if !ok && f < top {
			v.failf("match %d frame %d is missing though frame %d is stored: the surviving frames are not a prefix", m.id, f, top)
		}
		v.count(&v.frames, rule.required(fr.at), ok, "match %d frame %d (%d inputs), received %s",
			m.id, f, len(fr.inputs), rule.ago(fr.at))
	}
}

func clientInputs(in []*lspb.SlotInput) []client.FrameInput {
	out := make([]client.FrameInput, len(in))
	for i, x := range in {
		out[i] = client.FrameInput{Slot: x.Slot, Data: x.Data, Seq: x.Seq}
	}
	return out
}

// checkEnd: a MatchEnd received is in match:<id> (ended, reason, last).
func checkEnd(ctx context.Context, rv *redisView, m *matchRec, rule lossRule, v *verdict) {
	h, err := rv.match(ctx, m.id)
	if err != nil {
		v.failf("reading match %d: %v", m.id, err)
		return
	}
	want := reasonName(m.end.Reason)
	ok := h["reason"] == want && h["ended"] != "" && h["ended"] != "0"
	if ok && h["last"] != strconv.FormatUint(uint64(m.end.LastFrame), 10) {
		v.failf("match %d ended at frame %s in Redis, its MatchEnd said %d", m.id, h["last"], m.end.LastFrame)
	}
	if !ok && h["reason"] != "" && h["reason"] != reasonName(matchEndInterrupted) {
		// Another end than the players were told (an INTERRUPTED one is a
		// lost end: the recovery marked a match whose end did not land).
		v.failf("match %d ended with %s in Redis, its MatchEnd said %s", m.id, h["reason"], want)
	}
	v.count(&v.ends, rule.required(m.endAt), ok, "the end (%s, frame %d) of match %d, MatchEnd %s; Redis has reason %q ended %q",
		want, m.end.LastFrame, m.id, rule.ago(m.endAt), h["reason"], h["ended"])
}

// checkUnfinished checks the matches started and never ended for their
// players: each one Redis holds (its SaveMatch at the start landed, and
// with it the running index) must be ended there, and so must each one
// whose start or frames had to survive. Recovery may run just after the
// server starts serving, so it waits up to 10s for the ends.
func checkUnfinished(ctx context.Context, rv *redisView, matches []*matchRec, rule lossRule,
	want lspb.MatchEndReason, v *verdict) map[uint64]uint64 {
	type pending struct {
		m        *matchRec
		required bool
		h        map[string]string
	}
	var ps []*pending
	for _, m := range matches {
		if m.end != nil || m.startAt.IsZero() {
			continue
		}
		// In sync mode a busy frame goes out only once every write before
		// it is durable, the match's start among them.
		req := rule.sync && len(m.frames) > 0 || rule.kill.IsZero() || m.startAt.Before(rule.flushed())
		ps = append(ps, &pending{m: m, required: req})
	}
	read := func() bool {
		done := true
		for _, p := range ps {
			h, err := rv.match(ctx, p.m.id)
			if err != nil {
				h = nil
			}
			p.h = h
			if h["reason"] == "" && (p.required || h["id"] != "") {
				done = false
			}
		}
		return done
	}
	eventually(10*time.Second, read)
	expect := map[uint64]uint64{} // player -> match
	for _, p := range ps {
		m, h := p.m, p.h
		reason := h["reason"]
		ok := reason == reasonName(want) || m.voted && reason == lspb.MatchEndReason_MATCH_END_RESULT.String()
		if reason != "" && !ok {
			v.failf("match %d, running for its players, ended with %q in Redis, want %s", m.id, reason, reasonName(want))
		}
		if ok {
			// Its last durable frame: at least every busy frame that had to
			// survive.
			need := m.lastBusy(time.Time{})
			if !rule.sync {
				need = m.lastBusy(rule.flushed())
			}
			if last, err := strconv.ParseUint(h["last"], 10, 32); err != nil || uint32(last) < need {
				v.failf("match %d ended (%s) at frame %q in Redis; its players had received busy frame %d, which had to survive",
					m.id, reason, h["last"], need)
			}
		}
		required := p.required || h["id"] != ""
		v.count(&v.unfinished, required, ok, "the %s end of match %d (started %s, %d busy frames received): Redis has %v",
			reasonName(want), m.id, rule.ago(m.startAt), len(m.frames), h)
		// Its players must hear of its end when they log in again; not of
		// a RESULT end their votes made just before the kill (they would
		// have had it live).
		if reason == reasonName(want) || required && reason == "" {
			for _, pl := range m.players {
				expect[pl.player] = m.id
			}
		}
	}
	return expect
}

// checkLogins logs every player in again with its token, through the
// server at addr: each must be let in as itself (never TOKEN_REVOKED for a
// session that had to survive), and each player in expectEnd must get a
// MatchEnd for its match with reason want.
func checkLogins(ctx context.Context, addr string, logins []*loginRec, rule lossRule, expectEnd map[uint64]uint64,
	want lspb.MatchEndReason, v *verdict) {
	d, err := client.NewDialer(client.Config{Backoff: client.Backoff{Attempts: -1}, RequestTimeout: 5 * time.Second})
	if err != nil {
		v.failf("dialer: %v", err)
		return
	}
	defer d.Close()
	type result struct {
		l       *loginRec
		err     error
		player  uint64
		end     *lspb.MatchEnd
		waitEnd bool
	}
	results := make(chan result, len(logins))
	sem := make(chan struct{}, 8) // logins at once
	for _, l := range logins {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			r := result{l: l}
			match, waitEnd := expectEnd[l.player]
			r.waitEnd = waitEnd
			ends := make(chan *lspb.MatchEnd, 4)
			h := client.Handler{OnMatchEnd: func(e *lspb.MatchEnd) {
				select {
				case ends <- e:
				default:
				}
			}}
			c, err := d.DialLockstep(ctx, addr, client.Player{Name: l.name, Token: l.token}, h)
			if err != nil {
				r.err = err
				results <- r
				return
			}
			r.player = c.PlayerID()
			if waitEnd {
				timeout := time.After(5 * time.Second)
			wait:
				for {
					select {
					case e := <-ends:
						if e.MatchId == match {
							r.end = e
							break wait
						}
					case <-timeout:
						break wait
					}
				}
			}
			_ = c.Close()
			results <- r
		}()
	}
	for range logins {
		r := <-results
		l := r.l
		revoked := client.Code(r.err) == commonpb.ErrorCode_ERROR_TOKEN_REVOKED
		if r.err != nil && !revoked {
			v.failf("logging %s in again with its token: %v", l.name, r.err)
			continue
		}
		v.count(&v.relogins, rule.required(l.at), r.err == nil, "the login of %s (player %d) with its token: %v (LoginAck %s)",
			l.name, l.player, r.err, rule.ago(l.at))
		if r.err != nil {
			continue
		}
		if r.player != l.player {
			v.failf("%s's token logged in as player %d, want %d", l.name, r.player, l.player)
		}
		if r.waitEnd {
			switch {
			case r.end == nil:
				v.failf("%s (player %d) logged in again and got no MatchEnd for match %d within 5s, want reason %s",
					l.name, l.player, expectEnd[l.player], reasonName(want))
			case r.end.Reason != want:
				v.failf("%s logged in again and got MatchEnd %v, want reason %s", l.name, r.end, reasonName(want))
			}
		}
	}
}

// problemsOf turns the clients' disagreements into failures.
func problemsOf(problems []string, v *verdict) {
	for _, p := range problems {
		v.failf("%s", p)
	}
}

// failuresMention reports whether some finding contains every part.
func failuresMention(v *verdict, parts ...string) bool {
	for _, f := range v.failures {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(f, p)
		}
		if all {
			return true
		}
	}
	return false
}
