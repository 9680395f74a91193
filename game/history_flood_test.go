package game

import (
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/zinxgame/zinxgame/ziface"
)

// TestHistoryFloodHeap measures how much heap a match's frame history
// takes under the heaviest input a room accepts: one 16-seat room at
// 120 Hz, every seat sending an input of MaxInputBytes at every tick for
// 15 s of frames (1,800 ticks, run by hand), each frame filled up to its
// budget and the rest refused. It logs the heap growth (HeapAlloc after a
// GC, before and after the ticks) and how it splits between the room's
// own log (kept for catch-up) and the frame store's copy. It does not
// assert the heap: the history it measures is unbounded by design here,
// and the figure is for comparison across versions (docs/performance.md).
// It asserts what the figure depends on: every frame was busy, full to the
// budget, and the log and the store hold the same frames.
func TestHistoryFloodHeap(t *testing.T) {
	cfg := DefaultLockstepConfig()
	cfg.MaxPlayers, cfg.TickRate = 16, 120
	if err := cfg.Validate(); err != nil {
		t.Fatalf("a 16-seat room at 120 Hz must be a valid config: %v", err)
	}
	l, err := NewLockstep(cfg, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const seconds = 15
	ticks := seconds * cfg.TickRate

	conns := make([]*countConn, cfg.MaxPlayers)
	ics := make([]ziface.IConnection, cfg.MaxPlayers)
	for i := range conns {
		conns[i] = &countConn{}
		ics[i] = conns[i]
	}
	r := startedRoom(t, l, ics)
	if len(r.seats) != cfg.MaxPlayers || r.opts.TickRate != uint32(cfg.TickRate) {
		t.Fatalf("room of %d seats at %d Hz, want %d at %d", len(r.seats), r.opts.TickRate, cfg.MaxPlayers, cfg.TickRate)
	}
	input := make([]byte, cfg.MaxInputBytes)
	for i := range input {
		input[i] = byte(i*7 + 1) // not all zero, as a real input would not be
	}
	sentBefore := 0
	for _, c := range conns {
		sentBefore += c.msgs
	}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	period := time.Second / time.Duration(cfg.TickRate)
	start := time.Now()
	for i := range ticks {
		for _, s := range r.seats {
			// The room copies the input into its frame: one buffer serves
			// every seat, so the heap measured is the history's alone.
			r.events <- roomEvent{kind: evInput, p: s.p, conn: s.conn, data: input, u32: uint32(i + 1)}
		}
		r.tick(start.Add(time.Duration(i) * period))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)

	// Each seat got one frame packet a tick (FramesPerPacket 1) and an
	// Error for each input the frame had no room for.
	sent := -sentBefore
	for _, c := range conns {
		sent += c.msgs
	}
	refused := sent - ticks*len(conns)
	accepted := ticks*len(conns) - refused

	if r.log.n != ticks {
		t.Fatalf("the room's log holds %d busy frames, want all %d", r.log.n, ticks)
	}
	perFrame := accepted / ticks
	if perFrame < 2 || refused == 0 {
		t.Fatalf("%d inputs accepted (%d a frame), %d refused: the frames were not filled to their budget", accepted, perFrame, refused)
	}
	if budget := r.budget; len(r.log.buf)/ticks > budget {
		t.Fatalf("the log holds %d bytes a frame, over the frame budget %d", len(r.log.buf)/ticks, budget)
	}
	ms, ok := l.store.(*MemoryFrameStore)
	if !ok {
		t.Fatalf("frame store %T, want the in-memory default", l.store)
	}
	ms.mu.RLock()
	stored := ms.logs[r.matchID]
	ms.mu.RUnlock()
	if stored == nil || stored.n != r.log.n || len(stored.buf) != len(r.log.buf) {
		t.Fatalf("the store's log and the room's differ: %+v frames against %d", stored, r.log.n)
	}

	growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	roomLog, storeLog := logHeap(&r.log), logHeap(stored)
	t.Logf("16 seats at 120 Hz, %d ticks (%d s of match), inputs of %d bytes: %d accepted (%d a frame), %d refused as over the frame budget (%d bytes)",
		ticks, seconds, cfg.MaxInputBytes, accepted, perFrame, refused, r.budget)
	t.Logf("heap growth %d bytes (%.1f MiB, %.0f B/s of match): room's own log %d bytes (%d used), frame store %d bytes (%d used), other %d",
		growth, float64(growth)/(1<<20), float64(growth)/seconds, roomLog, len(r.log.buf), storeLog, len(stored.buf),
		growth-int64(roomLog)-int64(storeLog))
	runtime.KeepAlive(r)
}

// logHeap is the heap a frame log's buffers hold (their capacity).
func logHeap(fl *frameLog) int {
	return cap(fl.buf) + cap(fl.index)*int(unsafe.Sizeof(logMark{}))
}
