package lockstep

import (
	"bytes"
	"fmt"
	"testing"
)

func TestHistoryReadsAndTrims(t *testing.T) {
	h := newHistory(2 * segBytes)
	input := bytes.Repeat([]byte{7}, 1000)
	for f := uint32(1); f <= 1000; f += 2 { // busy frames 1, 3, 5, ...
		h.append(f, []byte{byte(f), byte(f >> 8)})
	}
	t.Run("ranges", func(t *testing.T) {
		var got []uint32
		if !h.read(10, 20, func(f uint32, in []byte) bool { got = append(got, f); return true }) {
			t.Fatal("recent frames not held")
		}
		if fmt.Sprint(got) != "[11 13 15 17 19]" {
			t.Fatalf("read [10, 20]: %v", got)
		}
	})

	big := newHistory(2 * segBytes) // holds 128 KiB
	for f := uint32(1); f <= 1000; f++ {
		big.append(f, input)
	}
	if held := big.held(); held > 2*segBytes {
		t.Fatalf("the history holds %d bytes, over its bound %d", held, 2*segBytes)
	}
	from := big.from()
	// 128 KiB holds 130 frames of 1,000 bytes; whole 64 KiB segments go.
	if from < 1000-131 || from > 1000-60 {
		t.Fatalf("kept from frame %d after a million bytes into a 128 KiB history, want the last 60-130 frames", from)
	}
	if big.read(from-1, 1000, func(uint32, []byte) bool { return true }) {
		t.Fatal("a read from a trimmed frame claimed to be answered")
	}
	n, last := 0, uint32(0)
	if !big.read(from, 1000, func(f uint32, in []byte) bool {
		if f != last+1 && last != 0 || len(in) != len(input) {
			t.Fatalf("frame %d after %d, %d bytes", f, last, len(in))
		}
		last = f
		n++
		return true
	}) || last != 1000 || n != int(1000-from+1) {
		t.Fatalf("read %d frames up to %d from %d", n, last, from)
	}
	stopped := 0
	big.read(from, 1000, func(uint32, []byte) bool { stopped++; return stopped < 3 })
	if stopped != 3 {
		t.Fatalf("fn returning false did not stop the read (%d calls)", stopped)
	}
}
