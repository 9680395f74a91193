// Reconnection delays: exponential from minMs, capped at maxMs, and jittered
// down by up to a fraction `jitter`, so the clients a server restart drops do
// not all come back in the same millisecond.

/**
 * The delay before reconnection attempt `attempt` (0-based), in ms: within
 * [base*(1-jitter), base] where base = min(maxMs, minMs*2^attempt).
 * @param {number} attempt
 * @param {{minMs?: number, maxMs?: number, jitter?: number}} [opts]
 * @param {() => number} [random] uniform in [0, 1)
 * @returns {number}
 */
export function backoffDelay(attempt, { minMs = 100, maxMs = 5000, jitter = 0.5 } = {}, random = Math.random) {
  const a = attempt > 0 ? Math.floor(Math.min(attempt, 60)) : 0; // NaN and negatives: the first attempt
  const lo = Math.max(0, minMs);
  const hi = Math.max(lo, maxMs);
  const base = Math.min(hi, lo * 2 ** a);
  const j = Math.min(1, Math.max(0, jitter));
  return base * (1 - j * random());
}
