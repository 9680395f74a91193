import { test } from "node:test";
import assert from "node:assert/strict";
import { encodePacket, Decoder, FramingError, HEAD_LEN } from "../src/framing.js";

const bytes = (...xs) => new Uint8Array(xs);

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

test("encodePacket writes the little-endian head [DataLen][MsgID]", () => {
  assert.deepEqual(encodePacket(0x01020304, bytes(9, 8)), bytes(2, 0, 0, 0, 4, 3, 2, 1, 9, 8));
});

test("encodePacket writes the big-endian head [MsgID][DataLen]", () => {
  assert.deepEqual(encodePacket(0x01020304, bytes(9), { bigEndian: true }), bytes(1, 2, 3, 4, 0, 0, 0, 1, 9));
});

test("several packets in one message", () => {
  const msg = concat([encodePacket(1, bytes(1)), encodePacket(2, bytes()), encodePacket(3, bytes(3, 3, 3))]);
  const got = new Decoder().push(msg);
  assert.deepEqual(got.map((p) => p.id), [1, 2, 3]);
  assert.deepEqual(got.map((p) => [...p.data]), [[1], [], [3, 3, 3]]);
});

test("a packet split across messages at every byte boundary", () => {
  for (const bigEndian of [false, true]) {
    const pkts = [encodePacket(7, bytes(1, 2, 3, 4, 5), { bigEndian }), encodePacket(65534, bytes(), { bigEndian }), encodePacket(8, bytes(6), { bigEndian })];
    const stream = concat(pkts);
    for (let cut = 0; cut <= stream.length; cut++) {
      for (let cut2 = cut; cut2 <= stream.length; cut2++) {
        const d = new Decoder({ bigEndian });
        const got = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut, cut2)), ...d.push(stream.subarray(cut2))];
        assert.deepEqual(got.map((p) => [p.id, [...p.data]]), [[7, [1, 2, 3, 4, 5]], [65534, []], [8, [6]]], `cuts ${cut},${cut2} BE=${bigEndian}`);
      }
    }
  }
});

test("one byte at a time", () => {
  const stream = concat([encodePacket(5, new Uint8Array(300).fill(7)), encodePacket(6, bytes(1))]);
  const d = new Decoder();
  const got = [];
  for (let i = 0; i < stream.length; i++) got.push(...d.push(stream.subarray(i, i + 1)));
  assert.equal(got.length, 2);
  assert.equal(got[0].data.length, 300);
  assert.ok(got[0].data.every((b) => b === 7));
});

test("the little-endian decoder reads a big-endian stream differently (the option matters)", () => {
  const be = encodePacket(1, bytes(1), { bigEndian: true }); // [0,0,0,1][0,0,0,1]: LE reads DataLen 16777216
  assert.throws(() => new Decoder().push(be), FramingError);
  assert.deepEqual(new Decoder({ bigEndian: true }).push(be).map((p) => p.id), [1]);
});

test("an oversize DataLen is refused from the head alone, before allocating", () => {
  const head = new Uint8Array(HEAD_LEN);
  new DataView(head.buffer).setUint32(0, 0xffffffff, true); // 4 GiB: allocating it would throw a RangeError, not a FramingError
  const d = new Decoder({ maxPayload: 4096 });
  assert.deepEqual(d.push(head.subarray(0, 5)), []);
  assert.throws(() => d.push(head.subarray(5)), FramingError);
  assert.throws(() => d.push(bytes(1)), FramingError, "a failed stream stays failed");
  // The limit itself is allowed.
  assert.equal(new Decoder({ maxPayload: 4 }).push(encodePacket(1, bytes(1, 2, 3, 4)))[0].data.length, 4);
  assert.throws(() => new Decoder({ maxPayload: 4 }).push(encodePacket(1, bytes(1, 2, 3, 4, 5))), FramingError);
});

test("random packets, random splits, round trip", () => {
  let seed = 12345;
  const rnd = (n) => { seed = (seed * 1103515245 + 12345) >>> 0; return seed % n; };
  for (let round = 0; round < 200; round++) {
    const bigEndian = rnd(2) === 1;
    const want = [];
    for (let i = rnd(20); i >= 0; i--) {
      const data = new Uint8Array(rnd(3) === 0 ? rnd(4096) : rnd(16));
      for (let j = 0; j < data.length; j++) data[j] = rnd(256);
      want.push({ id: rnd(2 ** 31) * 2 + rnd(2), data });
    }
    const stream = concat(want.map((p) => encodePacket(p.id, p.data, { bigEndian })));
    const d = new Decoder({ bigEndian });
    const got = [];
    for (let off = 0; off < stream.length;) {
      const n = 1 + rnd(rnd(2) ? 9 : 5000);
      got.push(...d.push(stream.subarray(off, off + n)));
      off += n;
    }
    assert.equal(got.length, want.length, `round ${round}`);
    for (let i = 0; i < want.length; i++) {
      assert.equal(got[i].id, want[i].id);
      assert.deepEqual(got[i].data, want[i].data);
    }
  }
});
