package lossy

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Profile describes the impairment applied to each packet, each direction
// independently. The zero value is a perfect link: no loss, no delay.
type Profile struct {
	// Loss is the probability, in [0,1], that a packet is dropped.
	Loss float64
	// Delay is the one-way base latency added to every packet.
	Delay time.Duration
	// Jitter adds a uniform random offset in [-Jitter, +Jitter] to each
	// packet's delay (the sum clamped at 0). Jitter alone reorders packets
	// sent closer together than the offsets differ.
	Jitter time.Duration
	// Reorder is the probability, in [0,1], that a packet is held back by an
	// extra Delay+Jitter (at least ReorderMinHold) so it lands after packets
	// sent later.
	Reorder float64
	// Seed seeds the random source; 0 picks a random seed. It is read when a
	// proxy is created; SetProfile does not reseed.
	Seed int64
}

// ReorderMinHold is the least extra delay of a packet picked for reordering,
// so Reorder still reorders on a link with no Delay.
const ReorderMinHold = time.Millisecond

// maxDuration bounds Delay and Jitter: a profile is for emulating networks,
// and an hour-long delay is a typo that would hold packets (and their memory)
// for the whole run.
const maxDuration = time.Minute

// Validate reports the first field out of range. Safe for concurrent use.
func (p Profile) Validate() error {
	switch {
	case math.IsNaN(p.Loss) || p.Loss < 0 || p.Loss > 1:
		return fmt.Errorf("lossy: loss %v out of range [0,1]", p.Loss)
	case math.IsNaN(p.Reorder) || p.Reorder < 0 || p.Reorder > 1:
		return fmt.Errorf("lossy: reorder %v out of range [0,1]", p.Reorder)
	case p.Delay < 0 || p.Delay > maxDuration:
		return fmt.Errorf("lossy: delay %v out of range [0,%v]", p.Delay, maxDuration)
	case p.Jitter < 0 || p.Jitter > maxDuration:
		return fmt.Errorf("lossy: jitter %v out of range [0,%v]", p.Jitter, maxDuration)
	}
	return nil
}

// String renders p in the form ParseProfile reads; fields at zero are left
// out, and the zero Profile renders as "". Safe for concurrent use.
func (p Profile) String() string {
	var parts []string
	if p.Loss != 0 {
		parts = append(parts, "loss="+formatRatio(p.Loss))
	}
	if p.Delay != 0 {
		parts = append(parts, "delay="+p.Delay.String())
	}
	if p.Jitter != 0 {
		parts = append(parts, "jitter="+p.Jitter.String())
	}
	if p.Reorder != 0 {
		parts = append(parts, "reorder="+formatRatio(p.Reorder))
	}
	if p.Seed != 0 {
		parts = append(parts, "seed="+strconv.FormatInt(p.Seed, 10))
	}
	return strings.Join(parts, ",")
}

// formatRatio prints a probability as a percentage when that is exact
// enough to parse back to the same float, else as a plain fraction.
func formatRatio(v float64) string {
	pct := strconv.FormatFloat(v*100, 'g', -1, 64)
	if back, err := strconv.ParseFloat(pct, 64); err == nil && back/100 == v {
		return pct + "%"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// maxProfileLen bounds the text ParseProfile accepts; a profile is a handful
// of short fields.
const maxProfileLen = 256

// ParseProfile reads the compact flag form, comma-separated key=value pairs:
//
//	loss=5%,delay=30ms,jitter=20ms,reorder=1%,seed=42
//
// loss and reorder take a percentage ("5%") or a fraction ("0.05"); delay
// and jitter take Go durations. Keys may appear in any order, at most once;
// spaces around items are ignored; "" is the zero Profile. The result is
// validated.
func ParseProfile(s string) (Profile, error) {
	var p Profile
	if len(s) > maxProfileLen {
		return p, fmt.Errorf("lossy: profile longer than %d bytes", maxProfileLen)
	}
	if strings.TrimSpace(s) == "" {
		return p, nil
	}
	seen := make(map[string]bool)
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		key, val, ok := strings.Cut(item, "=")
		if !ok {
			return Profile{}, fmt.Errorf("lossy: profile item %q: want key=value", item)
		}
		key, val = strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(val)
		if seen[key] {
			return Profile{}, fmt.Errorf("lossy: profile key %q given twice", key)
		}
		seen[key] = true
		var err error
		switch key {
		case "loss":
			p.Loss, err = parseRatio(val)
		case "reorder":
			p.Reorder, err = parseRatio(val)
		case "delay":
			p.Delay, err = time.ParseDuration(val)
		case "jitter":
			p.Jitter, err = time.ParseDuration(val)
		case "seed":
			p.Seed, err = strconv.ParseInt(val, 10, 64)
		default:
			return Profile{}, fmt.Errorf("lossy: unknown profile key %q (want loss, delay, jitter, reorder, seed)", key)
		}
		if err != nil {
			return Profile{}, fmt.Errorf("lossy: profile %s=%q: %w", key, val, err)
		}
	}
	if err := p.Validate(); err != nil {
		return Profile{}, err
	}
	return p, nil
}

var errEmptyValue = errors.New("empty value")

// parseRatio reads "5%" as 0.05 and "0.05" as itself.
func parseRatio(s string) (float64, error) {
	if s == "" {
		return 0, errEmptyValue
	}
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil {
		return 0, err
	}
	if pct {
		v /= 100
	}
	return v, nil
}
