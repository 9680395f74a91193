// Waiting helpers for the tests against a real server (integration/,
// operator/): real sockets and real timers, so they poll.

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// until polls cond every 5 ms, and throws naming what after timeoutMs.
export async function until(what, cond, timeoutMs = 15000) {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
