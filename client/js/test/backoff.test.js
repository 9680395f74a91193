import { test } from "node:test";
import assert from "node:assert/strict";
import { backoffDelay } from "../src/backoff.js";

test("backoff doubles from minMs and caps at maxMs", () => {
  const none = { minMs: 100, maxMs: 5000, jitter: 0 };
  assert.deepEqual([0, 1, 2, 3, 5, 6, 10, 1000].map((a) => backoffDelay(a, none)), [100, 200, 400, 800, 3200, 5000, 5000, 5000]);
});

test("jitter keeps the delay within [base*(1-jitter), base]", () => {
  for (let a = 0; a < 20; a++) {
    const base = Math.min(5000, 100 * 2 ** a);
    assert.equal(backoffDelay(a, {}, () => 0), base);
    assert.equal(backoffDelay(a, {}, () => 0.999999), base * (1 - 0.5 * 0.999999));
    for (let i = 0; i < 50; i++) {
      const d = backoffDelay(a);
      assert.ok(d >= base * 0.5 && d <= base, `attempt ${a}: ${d}`);
    }
  }
});

test("odd inputs give sane delays", () => {
  assert.equal(backoffDelay(-3, { jitter: 0 }), 100);
  assert.equal(backoffDelay(NaN, { jitter: 0 }), 100);
  assert.equal(backoffDelay(Infinity, { jitter: 0 }), 5000);
  assert.equal(backoffDelay(3, { minMs: 100, maxMs: 50, jitter: 0 }), 100, "maxMs below minMs is minMs");
  assert.equal(backoffDelay(2, { jitter: 7 }, () => 0.5), 200, "jitter over 1 is 1");
});
