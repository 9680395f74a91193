import { test } from "node:test";
import assert from "node:assert/strict";
import { Connection } from "../src/connection.js";
import { encodePacket } from "../src/framing.js";
import { FakeClock, fakeFactory } from "./fakes.js";

function setup(opts = {}) {
  const clock = new FakeClock();
  const f = fakeFactory(clock);
  const c = new Connection({ url: "ws://test/", socketFactory: f.factory, timers: clock.timers(), random: () => 0, ...opts });
  const states = [];
  const notices = [];
  const packets = [];
  c.on("state", (s) => states.push(s.state));
  c.on("notice", (n) => notices.push(n));
  c.on("packet", (p) => packets.push(p));
  return { clock, f, c, states, notices, packets };
}

test("dials once on start, sets binaryType, reports connected", () => {
  const { f, c, states } = setup();
  c.start();
  c.start();
  assert.equal(f.sockets.length, 1);
  assert.equal(f.last().binaryType, "arraybuffer");
  assert.equal(c.open, false);
  assert.equal(c.send(1, new Uint8Array(1)), false, "nothing is sent before open");
  f.last().accept();
  assert.equal(c.open, true);
  assert.deepEqual(states, ["connecting", "connected"]);
  assert.equal(c.send(9, new Uint8Array([1, 2])), true);
  assert.deepEqual(f.last().packets.map((p) => [p.id, [...p.data]]), [[9, [1, 2]]]);
  assert.throws(() => c.send(9, new Uint8Array(4097)), RangeError);
});

test("packets split across messages reach 'packet' listeners whole", () => {
  const { f, c, packets } = setup();
  c.start();
  f.last().accept();
  const wire = new Uint8Array([...encodePacket(1001, new Uint8Array([1, 2, 3])), ...encodePacket(1012, new Uint8Array([4]))]);
  f.last().deliver(wire.subarray(0, 5));
  f.last().deliver(wire.subarray(5, 12));
  assert.equal(packets.length, 1);
  f.last().deliver(wire.subarray(12));
  assert.deepEqual(packets.map((p) => [p.id, [...p.data]]), [[1001, [1, 2, 3]], [1012, [4]]]);
});

test("keep-alive pings every keepAliveMs and measures the RTT from the echo", () => {
  const { f, c, clock } = setup({ keepAliveMs: 2000 });
  const rtts = [];
  c.on("rtt", (ms) => rtts.push(ms));
  c.start();
  f.last().accept();
  clock.advance(1999);
  assert.equal(f.last().packets.length, 0);
  clock.advance(1);
  const ping = f.last().packets.at(-1);
  assert.equal(ping.id, 65534);
  assert.equal(ping.data.length, 8);
  clock.advance(37);
  f.last().packet(65534, ping.data); // the server echoes it unchanged
  assert.deepEqual(rtts, [37]);
  assert.equal(c.rtt, 37);
  clock.advance(2000 - 37);
  assert.equal(f.last().packets.filter((p) => p.id === 65534).length, 2);
});

test("a server ping is echoed back unchanged and is not a packet", () => {
  const { f, c, packets } = setup({ keepAliveMs: 0 });
  c.start();
  f.last().accept();
  const payload = new Uint8Array([8, 7, 6, 5, 4, 3, 2, 1]);
  f.last().packet(65533, payload);
  assert.deepEqual(f.last().packets.map((p) => [p.id, [...p.data]]), [[65533, [...payload]]]);
  assert.equal(packets.length, 0);
});

test("reconnects with backoff after a drop; attempts reset once the server speaks", () => {
  const { f, c, clock, states } = setup({ keepAliveMs: 0, random: () => 0 });
  c.start();
  f.last().accept();
  f.last().serverClose();
  assert.equal(c.state, "reconnecting");
  clock.advance(99);
  assert.equal(f.sockets.length, 1);
  clock.advance(1); // attempt 0: 100 ms
  assert.equal(f.sockets.length, 2);
  f.last().serverClose(); // refused
  clock.advance(199);
  assert.equal(f.sockets.length, 2);
  clock.advance(1); // attempt 1: 200 ms
  assert.equal(f.sockets.length, 3);
  f.last().accept();
  f.last().packet(1001);
  assert.equal(c.attempt, 0);
  assert.deepEqual(states, ["connecting", "connected", "reconnecting", "reconnecting", "connected"]);
});

test("gives up after the configured attempts", () => {
  const { f, c, clock } = setup({ keepAliveMs: 0, backoff: { attempts: 3, minMs: 10, maxMs: 20 } });
  let last;
  c.on("state", (s) => { last = s; });
  c.start();
  for (let i = 0; i < 10; i++) { f.last().serverClose(); clock.advance(1000); }
  assert.equal(f.sockets.length, 4, "the first dial and 3 reconnections");
  assert.equal(c.state, "closed");
  assert.match(last.error.message, /gave up after 3 attempts/);
});

test("a dial that never opens times out and is retried", () => {
  const { f, c, clock } = setup({ keepAliveMs: 0, dialTimeoutMs: 1000 });
  c.start();
  clock.advance(1000);
  assert.ok(f.sockets[0].closedByClient);
  clock.advance(100);
  assert.equal(f.sockets.length, 2);
});

test("a silent link is dropped after deadAfterMs and redialed", () => {
  const { f, c, clock } = setup({ keepAliveMs: 1000, deadAfterMs: 3000 });
  c.start();
  f.last().accept();
  clock.advance(3999);
  assert.equal(f.sockets.length, 1);
  clock.advance(1); // the ping at 4000 finds nothing received for 4000 ms
  assert.ok(f.sockets[0].closedByClient);
  clock.advance(100);
  assert.equal(f.sockets.length, 2);
});

test("a shutdown notice's retry_after_ms delays the reconnection", () => {
  const { f, c, clock, notices } = setup({ keepAliveMs: 0 });
  c.start();
  f.last().accept();
  f.last().notice({ code: "shutdown", reason: "the server is shutting down", retry_after_ms: 3000 });
  assert.deepEqual(notices, [{ code: "shutdown", reason: "the server is shutting down", retry_after_ms: 3000 }]);
  f.last().serverClose(1001);
  clock.advance(2999);
  assert.equal(f.sockets.length, 1, "no dial before retry_after_ms");
  clock.advance(1);
  assert.equal(f.sockets.length, 2);
  f.last().serverClose(); // the hint was for one reconnection only
  clock.advance(200);
  assert.equal(f.sockets.length, 3);
});

test("no reconnection after a kicked notice", () => {
  const { f, c, clock } = setup({ keepAliveMs: 0 });
  let last;
  c.on("state", (s) => { last = s; });
  c.start();
  f.last().accept();
  f.last().notice({ code: "kicked", reason: "logged in from another connection" });
  f.last().serverClose(1000);
  clock.advance(60000);
  assert.equal(f.sockets.length, 1);
  assert.equal(c.state, "closed");
  assert.match(last.error.message, /kicked: logged in from another connection/);
});

test("no reconnection after a banned notice; the error carries it", () => {
  const { f, c, clock } = setup({ keepAliveMs: 0 });
  let last;
  c.on("state", (s) => { last = s; });
  c.start();
  f.last().accept();
  f.last().notice({ code: "banned", reason: "your address is banned", retry_after_ms: 60000 });
  f.last().serverClose(1000);
  clock.advance(120000);
  assert.equal(f.sockets.length, 1);
  assert.equal(c.state, "closed");
  assert.match(last.error.message, /banned: your address is banned/);
  assert.equal(last.error.notice.code, "banned");
  assert.equal(last.error.notice.retry_after_ms, 60000);
});

test("a maintenance notice leaves reconnection on", () => {
  const { f, c, clock } = setup({ keepAliveMs: 0 });
  c.start();
  f.last().accept();
  f.last().notice({ code: "maintenance", reason: "the server is in maintenance" });
  f.last().serverClose(1000);
  clock.advance(60000);
  assert.ok(f.sockets.length > 1, "dialed again");
  assert.notEqual(c.state, "closed");
});

test("no reconnection after close()", () => {
  const { f, c, clock, states } = setup({ keepAliveMs: 1000 });
  c.start();
  f.last().accept();
  c.close();
  assert.ok(f.sockets[0].closedByClient);
  clock.advance(60000);
  assert.equal(f.sockets.length, 1);
  assert.equal(clock.pending, 0, "no timer left running");
  assert.equal(states.at(-1), "closed");
  assert.equal(c.send(1, new Uint8Array(0)), false);
});

test("hostile input: a text message or an oversize packet drops the socket", () => {
  const { f, c, clock } = setup({ keepAliveMs: 0 });
  c.start();
  f.last().accept();
  f.last().onmessage({ data: "hello" });
  assert.ok(f.sockets[0].closedByClient);
  clock.advance(100);
  f.last().accept();
  const head = new Uint8Array(8);
  new DataView(head.buffer).setUint32(0, 1 << 30, true);
  f.last().deliver(head);
  assert.ok(f.sockets[1].closedByClient);
  assert.equal(c.state, "reconnecting");
  // A malformed notice is reported, not thrown.
  clock.advance(1000);
  f.last().accept();
  const errors = [];
  c.on("error", (e) => errors.push(e));
  f.last().packet(65535, new Uint8Array([123, 0]));
  assert.equal(errors.length, 1);
  assert.equal(c.open, true);
});

test("a socket whose unsent bytes pile up is dropped", () => {
  const { f, c } = setup({ keepAliveMs: 0 });
  c.start();
  f.last().accept();
  f.last().bufferedAmount = 2 << 20;
  assert.equal(c.send(1, new Uint8Array(1)), false);
  assert.ok(f.sockets[0].closedByClient);
});
