package durability

import (
	"bytes"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/zinxgame/zinxgame/client"
	"github.com/zinxgame/zinxgame/protocol/lspb"
)

// What the clients were told, each with the moment they were told: the
// acknowledgements the server gave, to be found in Redis afterwards.

// loginRec is a LoginAck: a new identity and its token.
type loginRec struct {
	name   string
	player uint64
	token  string
	at     time.Time // DialLockstep returned: the LoginAck had arrived
}

// frameRec is a busy frame (one with inputs) as the first of its match's
// players received it.
type frameRec struct {
	frame  uint32
	inputs []client.FrameInput
	at     time.Time // its batch arrived
}

// matchRec is a match as its players saw it.
type matchRec struct {
	id      uint64
	players []*loginRec
	startAt time.Time // the first MatchStart arrived
	voted   bool      // a result vote was sent: a RESULT end is possible
	frames  map[uint32]*frameRec
	end     *lspb.MatchEnd // the first MatchEnd received; nil before
	endAt   time.Time
}

// lastBusy is the highest busy frame received at or before cutoff (0 for
// none); the zero cutoff means any.
func (m *matchRec) lastBusy(cutoff time.Time) uint32 {
	var last uint32
	for f, fr := range m.frames {
		if f > last && (cutoff.IsZero() || fr.at.Before(cutoff)) {
			last = f
		}
	}
	return last
}

// records gathers one workload's acknowledgements. Safe for concurrent
// use: every client's callbacks write into it.
type records struct {
	mu       sync.Mutex
	logins   []*loginRec
	matches  map[uint64]*matchRec
	problems []string // the clients disagreeing on a frame: a server bug, reported by the checks
}

func newRecords() *records { return &records{matches: map[uint64]*matchRec{}} }

func (r *records) login(l *loginRec) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logins = append(r.logins, l)
}

func (r *records) matchLocked(id uint64) *matchRec {
	m := r.matches[id]
	if m == nil {
		m = &matchRec{id: id, frames: map[uint32]*frameRec{}}
		r.matches[id] = m
	}
	return m
}

func (r *records) matchStart(id uint64, p *loginRec, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.matchLocked(id)
	if m.startAt.IsZero() || at.Before(m.startAt) {
		m.startAt = at
	}
	m.players = append(m.players, p)
}

func (r *records) voted(id uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.matchLocked(id).voted = true
}

// frame records a busy frame; the second player's copy must agree.
func (r *records) frame(id uint64, f client.Frame) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.matchLocked(id)
	if old := m.frames[f.Number]; old != nil {
		if !sameInputs(old.inputs, f.Inputs) {
			r.problems = append(r.problems, fmt.Sprintf("match %d frame %d: the players received different inputs: %s and %s",
				id, f.Number, fmtInputs(old.inputs), fmtInputs(f.Inputs)))
		}
		if f.At.Before(old.at) {
			old.at = f.At
		}
		return
	}
	in := make([]client.FrameInput, len(f.Inputs))
	for i, x := range f.Inputs {
		in[i] = client.FrameInput{Slot: x.Slot, Data: bytes.Clone(x.Data), Seq: x.Seq}
	}
	m.frames[f.Number] = &frameRec{frame: f.Number, inputs: in, at: f.At}
}

func (r *records) matchEnd(e *lspb.MatchEnd, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.matchLocked(e.MatchId)
	if m.end == nil {
		m.end, m.endAt = e, at
		return
	}
	if m.end.Reason != e.Reason || m.end.LastFrame != e.LastFrame {
		r.problems = append(r.problems, fmt.Sprintf("match %d: the players received different ends: %v and %v", e.MatchId, m.end, e))
	}
}

// snapshot copies the records for the checks, matches in ID order.
func (r *records) snapshot() ([]*loginRec, []*matchRec, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	logins := append([]*loginRec(nil), r.logins...)
	ms := make([]*matchRec, 0, len(r.matches))
	for _, m := range r.matches {
		c := *m
		c.players = append([]*loginRec(nil), m.players...)
		c.frames = make(map[uint32]*frameRec, len(m.frames))
		for k, v := range m.frames {
			c.frames[k] = v
		}
		ms = append(ms, &c)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].id < ms[j].id })
	return logins, ms, append([]string(nil), r.problems...)
}

func sameInputs(a, b []client.FrameInput) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Slot != b[i].Slot || a[i].Seq != b[i].Seq || !bytes.Equal(a[i].Data, b[i].Data) {
			return false
		}
	}
	return true
}

func fmtInputs(in []client.FrameInput) string {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, x := range in {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d:%q#%d", x.Slot, x.Data, x.Seq)
	}
	b.WriteByte(']')
	return b.String()
}
