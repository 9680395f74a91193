package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// goldenCase is one match played by both simulations: its seed (a decimal
// string, as JSON numbers lose 64-bit precision), seats, the frame before
// the first one, and each frame's inputs.
type goldenCase struct {
	Seed   string          `json:"seed"`
	Seats  int             `json:"seats"`
	Frame  uint32          `json:"frame"`
	Frames [][]goldenInput `json:"frames"`
}

// goldenInput is one input: its bytes as numbers, not base64.
type goldenInput struct {
	Slot uint32 `json:"slot"`
	Data []int  `json:"data"`
}

type goldenResult struct {
	Hashes  []string `json:"hashes"` // before the first frame, then after each
	Refused int      `json:"refused"`
}

// node finds node: a test that needs it fails in CI (CI=true), where the
// browser page's simulation must be checked, and is skipped elsewhere.
func node(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node is needed to check the browser page's sim.js: %v", err)
		}
		t.Skipf("node not found (%v); CI=true makes this a failure", err)
	}
	return path
}

// goldenInputs draws a frame's inputs: mostly the inputs honest clients
// send (dx, dy in -1..1, any order, several from one slot), and now and
// then what the sim must clamp (-128..127) or refuse (a slot out of range,
// a wrong length).
func goldenInputs(rng *rand.Rand, seats int) []goldenInput {
	ins := []goldenInput{}
	for n := rng.IntN(seats + 3); n > 0; n-- {
		slot := rng.IntN(seats)
		data := []int{rng.IntN(3) - 1, rng.IntN(3) - 1}
		switch rng.IntN(40) {
		case 0:
			slot = seats + rng.IntN(3)
		case 1:
			data = data[:rng.IntN(2)]
		case 2:
			data = append(data, 1)
		case 3:
			data = []int{rng.IntN(256) - 128, rng.IntN(256) - 128}
		}
		raw := make([]int, len(data))
		for i, d := range data {
			raw[i] = int(byte(int8(d)))
		}
		ins = append(ins, goldenInput{uint32(slot), raw})
	}
	return ins
}

func play(c goldenCase) goldenResult {
	seed, _ := strconv.ParseUint(c.Seed, 10, 64)
	s := New(seed, c.Seats, c.Frame)
	res := goldenResult{Hashes: []string{strconv.FormatUint(s.Hash(), 10)}}
	for _, f := range c.Frames {
		for _, in := range f {
			data := make([]byte, len(in.Data))
			for i, b := range in.Data {
				data[i] = byte(b)
			}
			if !s.Input(in.Slot, data) {
				res.Refused++
			}
		}
		s.Step()
		res.Hashes = append(res.Hashes, strconv.FormatUint(s.Hash(), 10))
	}
	return res
}

// TestGoldenJS plays the same frames with this package and with the
// browser page's examples/lockstep/web/sim.js under node, for seats 1 to 5
// and several seeds (0, the largest, and frame numbers that wrap around
// 2^32), and requires the same hash after every frame.
func TestGoldenJS(t *testing.T) {
	nodePath := node(t)
	const frames = 600
	seeds := []uint64{0, 1, 42, 0x9e3779b97f4a7c15, 1<<63 + 12345, ^uint64(0)}
	rng := rand.New(rand.NewPCG(7, 11))
	var cases []goldenCase
	for _, seed := range seeds {
		for seats := 1; seats <= 5; seats++ {
			c := goldenCase{Seed: strconv.FormatUint(seed, 10), Seats: seats}
			if seed == ^uint64(0) {
				c.Frame = ^uint32(0) - 300 // frame numbers wrap mid-match
			}
			for range frames {
				c.Frames = append(c.Frames, goldenInputs(rng, seats))
			}
			cases = append(cases, c)
		}
	}
	input, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodePath, "testdata/golden.mjs")
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node testdata/golden.mjs: %v\n%s", err, stderr.Bytes())
	}
	var js []goldenResult
	if err := json.Unmarshal(out, &js); err != nil {
		t.Fatalf("decoding the driver's output: %v", err)
	}
	if len(js) != len(cases) {
		t.Fatalf("the driver played %d cases, want %d", len(js), len(cases))
	}
	refused := 0
	for i, c := range cases {
		want := play(c)
		got := js[i]
		if len(got.Hashes) != frames+1 {
			t.Fatalf("seed %s seats %d: %d hashes from JS, want %d", c.Seed, c.Seats, len(got.Hashes), frames+1)
		}
		for f, h := range want.Hashes {
			if got.Hashes[f] != h {
				t.Fatalf("seed %s seats %d: after %d frames JS hash %s, Go %s", c.Seed, c.Seats, f, got.Hashes[f], h)
			}
		}
		if got.Refused != want.Refused {
			t.Errorf("seed %s seats %d: JS refused %d inputs, Go %d", c.Seed, c.Seats, got.Refused, want.Refused)
		}
		refused += want.Refused
	}
	if refused == 0 {
		t.Error("no input was refused: the cases miss the sim's checks")
	}
}
