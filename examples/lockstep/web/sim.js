// The lockstep demo's game, the exact port of examples/lockstep/demo/sim.go:
// one unit per seat on a square world that wraps around, driven only by
// frames. Integer-only, with game/lockstep.Rand (xoshiro128** seeded by
// SplitMix64) and the FNV-1a 64 state hash, so a page and the Go bots that
// apply the same frames hold the same state and report the same hashes
// (examples/lockstep/demo/golden_test.go checks it frame by frame).
//
// Numbers: every 32-bit step uses Math.imul and >>> 0 (or | 0 for the
// signed int32 fields); BigInt only seeds the RNG and returns the hash.

export const WorldSize = 1 << 16; // positions are in [0, WorldSize)
export const MaxSpeed = 8; // |velocity| per axis, per frame
export const InputLen = 2; // an input is (dx, dy), each an int8 in -1..1
const windEvery = 30; // frames between wind changes

const mask64 = (1n << 64n) - 1n;

// Rand is game/lockstep.Rand: the same numbers as Go's for the same seed.
export class Rand {
  constructor(seed = 0n) {
    this.s = new Uint32Array(4);
    this.seed(seed);
  }

  // seed resets the state from a 64-bit seed (bigint, or a safe integer).
  seed(seed) {
    let x = BigInt.asUintN(64, BigInt(seed));
    for (let i = 0; i < 2; i++) {
      x = (x + 0x9e3779b97f4a7c15n) & mask64;
      let z = x;
      z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & mask64;
      z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & mask64;
      z ^= z >> 31n;
      this.s[2 * i] = Number(z & 0xffffffffn);
      this.s[2 * i + 1] = Number(z >> 32n);
    }
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) {
      this.s[0] = 1;
    }
  }

  // uint32 returns the next 32 random bits (xoshiro128** 1.1).
  uint32() {
    const s = this.s; // a Uint32Array stores every value mod 2^32
    const result = Math.imul(rotl32(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl32(s[3], 11);
    return result;
  }

  // intN returns a uniform integer in [0, n), 1 <= n < 2^31, drawing
  // again below 2^32 mod n as Go's IntN does.
  intN(n) {
    if (!Number.isInteger(n) || n <= 0 || n >= 2 ** 31) {
      throw new RangeError("Rand.intN: n out of range");
    }
    const threshold = (2 ** 32 - n) % n;
    for (;;) {
      const x = this.uint32();
      if (x >= threshold) {
        return x % n;
      }
    }
  }
}

function rotl32(x, k) {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function clamp(v, lo, hi) {
  return Math.min(Math.max(v, lo), hi);
}

function wrap(v) {
  return v & (WorldSize - 1);
}

// Sim is the state of one match (demo.Sim).
export class Sim {
  // seed: the match's seed (bigint); seats: slots; frame: the frame before
  // the first one (start_frame - 1).
  constructor(seed, seats, frame) {
    this.frame = frame >>> 0;
    this.wind = [0, 0];
    this.rng = new Rand(seed);
    this.units = [];
    for (let i = 0; i < seats; i++) {
      const x = this.rng.intN(WorldSize);
      const y = this.rng.intN(WorldSize);
      this.units.push({ x, y, vx: 0, vy: 0 });
    }
  }

  // input applies one player's input (a Uint8Array) to the frame being
  // built; false for one no client sends (slot out of range, bad length),
  // leaving the state alone.
  input(slot, data) {
    if (slot >= this.units.length || data.length !== InputLen) {
      return false;
    }
    const u = this.units[slot];
    u.vx = clamp(u.vx + clamp((data[0] << 24) >> 24, -1, 1), -MaxSpeed, MaxSpeed);
    u.vy = clamp(u.vy + clamp((data[1] << 24) >> 24, -1, 1), -MaxSpeed, MaxSpeed);
    return true;
  }

  // step ends the frame: it moves every unit.
  step() {
    this.frame = (this.frame + 1) >>> 0;
    if (this.frame % windEvery === 0) {
      const wx = this.rng.intN(3) - 1;
      const wy = this.rng.intN(3) - 1;
      this.wind = [wx, wy];
    }
    const n = this.units.length;
    if (n > 0) {
      const u = this.units[this.frame % n];
      u.vx = clamp(u.vx + this.rng.intN(3) - 1, -MaxSpeed, MaxSpeed);
    }
    for (const u of this.units) {
      u.x = wrap(u.x + u.vx + this.wind[0]);
      u.y = wrap(u.y + u.vy + this.wind[1]);
    }
  }

  // hash is FNV-1a 64 over the frame number, the wind and every unit, each
  // as little-endian 32-bit words, as a bigint. The 64-bit product is done
  // in two 32-bit halves: prime = 2^40 + 0x1b3.
  hash() {
    let hi = 0xcbf29ce4;
    let lo = 0x84222325;
    const word = (v) => {
      for (let i = 0; i < 4; i++) {
        lo = (lo ^ ((v >>> (8 * i)) & 0xff)) >>> 0;
        const t = lo * 0x1b3; // < 2^41: exact
        hi = (Math.imul(hi, 0x1b3) + Math.floor(t / 4294967296) + (lo << 8)) >>> 0;
        lo = t >>> 0;
      }
    };
    word(this.frame);
    word(this.wind[0]);
    word(this.wind[1]);
    for (const u of this.units) {
      word(u.x);
      word(u.y);
      word(u.vx);
      word(u.vy);
    }
    return (BigInt(hi) << 32n) | BigInt(lo);
  }
}

// encodeInput is the wire form of an input (dx, dy), each -1..1.
export function encodeInput(dx, dy) {
  return new Uint8Array([dx & 0xff, dy & 0xff]);
}

// DemoGame adapts Sim to LockstepClient's game ({start, step, hash}) the
// way the Go bots do: the seats are the highest slot + 1, the first frame
// is start_frame. A frame's inputs are applied in order, then it steps.
export class DemoGame {
  constructor() {
    this.sim = null;
    this.badInputs = 0; // inputs the sim refused (none from honest clients)
  }

  start(m) {
    let seats = 0;
    for (const p of m.slots) {
      seats = Math.max(seats, p.slot + 1);
    }
    this.sim = new Sim(m.seed, seats, m.startFrame - 1);
  }

  step(frame) {
    if (!this.sim) {
      return;
    }
    for (const input of frame.inputs) {
      if (!this.sim.input(input.slot, input.data)) {
        this.badInputs++;
      }
    }
    this.sim.step();
  }

  hash() {
    return this.sim ? this.sim.hash() : 0n;
  }
}
