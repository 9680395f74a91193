package lockstep

// Rand is the deterministic random number generator of lockstep matches:
// every client seeds one with MatchStart.seed and, drawing in the same order,
// gets the same numbers on every platform. The algorithm is fixed forever
// (a change would desync every client in the field):
//
//   - state: four uint32 words s0..s3, filled from the 64-bit seed by
//     SplitMix64 (two outputs; each gives s[2i] = low 32 bits, s[2i+1] =
//     high 32 bits); an all-zero state cannot come out of SplitMix64 in
//     practice, but is replaced by s0 = 1 if it does;
//   - output: xoshiro128** 1.1 (Blackman and Vigna):
//     result = rotl(s1*5, 7) * 9; t = s1 << 9; s2 ^= s0; s3 ^= s1;
//     s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 11); all arithmetic mod 2^32.
//
// Only 32-bit integer operations are used after seeding, so a JavaScript
// client can follow it with Math.imul and >>> 0. There are no floats on
// purpose: float results differ across platforms. IntN draws by rejection,
// never by a float scale, for the same reason.
type Rand struct {
	s [4]uint32
}

// NewRand returns a generator seeded with seed.
func NewRand(seed uint64) *Rand {
	r := &Rand{}
	r.Seed(seed)
	return r
}

// Seed resets r to the sequence of seed.
func (r *Rand) Seed(seed uint64) {
	x := seed
	for i := 0; i < 2; i++ {
		x += 0x9e3779b97f4a7c15
		z := x
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		z ^= z >> 31
		r.s[2*i], r.s[2*i+1] = uint32(z), uint32(z>>32)
	}
	if r.s == [4]uint32{} {
		r.s[0] = 1
	}
}

func rotl32(x uint32, k uint) uint32 { return x<<k | x>>(32-k) }

// Uint32 returns the next 32 random bits.
func (r *Rand) Uint32() uint32 {
	s := &r.s
	result := rotl32(s[1]*5, 7) * 9
	t := s[1] << 9
	s[2] ^= s[0]
	s[3] ^= s[1]
	s[1] ^= s[2]
	s[0] ^= s[3]
	s[2] ^= t
	s[3] = rotl32(s[3], 11)
	return result
}

// IntN returns a uniform integer in [0, n); n must be in [1, 2^31), which
// on a 32-bit platform is every positive int. Values below 2^32 mod n are
// drawn again, so every result is equally likely.
func (r *Rand) IntN(n int) int {
	// Compared as uint64: the constant 1<<31 does not fit a 32-bit int.
	if n <= 0 || uint64(n) >= 1<<31 {
		panic("game: Rand.IntN: n out of range")
	}
	m := uint32(n)
	threshold := -m % m // (2^32 - m) mod m
	for {
		if x := r.Uint32(); x >= threshold {
			return int(x % m)
		}
	}
}
