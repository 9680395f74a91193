// Against the real Go lockstep server, started by client/js/js_test.go
// (TestIntegration), which passes its WebSocket URL in ZINX_WS_URL and a
// control endpoint (POST /shutdown) in ZINX_CONTROL_URL. Run it through
// `go test ./client/js/ -run TestIntegration`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import WebSocket from "ws";
import { LockstepClient, lspb } from "../../src/index.js";
import { sleep, until } from "../wait.js";

const URL_ = process.env.ZINX_WS_URL;
const CONTROL = process.env.ZINX_CONTROL_URL;

// The test's game: its state is a FNV-1a 64 hash of every frame's number and
// inputs, so every client that saw the same frames agrees on every hash.
class HashGame {
  constructor() {
    this.h = 0xcbf29ce484222325n;
    this.started = [];
    this.frames = []; // frame numbers stepped, in order
    this.hashAt = new Map(); // frame -> hash after it
    this.catchUp = 0;
    this.lie = false;
    this.inputs = new Map(); // "slot:seq" -> data, every input seen in a frame
  }
  mix(b) {
    this.h = BigInt.asUintN(64, (this.h ^ BigInt(b & 0xff)) * 0x100000001b3n);
  }
  start(m) {
    this.started.push(m.matchId);
  }
  step(f) {
    for (let s = f.number; s > 0; s >>>= 8) this.mix(s);
    for (const i of f.inputs) {
      this.mix(i.slot);
      this.mix(i.seq);
      this.mix(i.seq >>> 8);
      for (const b of i.data) this.mix(b);
      this.inputs.set(`${i.slot}:${i.seq}`, [...i.data]);
    }
    this.frames.push(f.number);
    this.hashAt.set(f.number, this.h);
    if (f.catchUp) this.catchUp++;
  }
  hash() {
    return this.lie ? this.h ^ 1n : this.h;
  }
}

// A client with a recording socket factory (sockets made, when) and its events.
function player(name, store, opts = {}) {
  const sockets = [];
  const game = new HashGame();
  const c = new LockstepClient({
    url: URL_, name, game, tokenStore: store, keepAliveMs: 200,
    socketFactory: (u) => { const s = new WebSocket(u); sockets.push({ s, at: Date.now() }); return s; },
    ...opts,
  });
  const ev = { state: [], notice: [], desync: [], matchEnd: [], matchStart: [], error: [], rtt: [] };
  for (const t of Object.keys(ev)) c.on(t, (v) => ev[t].push(v));
  return { c, game, sockets, ev, name };
}

function store() {
  return { v: null, get() { return this.v; }, set(t) { this.v = t; } };
}

function assertConsecutive(p, from = 1) {
  const fr = p.game.frames;
  for (let i = 0; i < fr.length; i++) {
    if (fr[i] !== from + i) assert.fail(`${p.name}: frame ${fr[i]} at position ${i}, want ${from + i} (gap or repeat)`);
  }
}

function assertSameHashes(a, b) {
  let common = 0;
  for (const [f, h] of b.game.hashAt) {
    if (!a.game.hashAt.has(f)) continue;
    assert.equal(a.game.hashAt.get(f), h, `${a.name} and ${b.name} disagree after frame ${f}`);
    common++;
  }
  return common;
}

function post(path) {
  return new Promise((resolve, reject) => {
    const req = request(CONTROL + path, { method: "POST" }, (res) => { res.resume(); res.on("end", () => resolve(res.statusCode)); });
    req.on("error", reject);
    req.end();
  });
}

test("two JS clients play a match on the Go server, survive a drop and a reload, and hear the shutdown", { timeout: 60000 }, async () => {
  assert.ok(URL_ && CONTROL, "ZINX_WS_URL and ZINX_CONTROL_URL are set by js_test.go");
  const a = player("ann", store(), { backoff: { minMs: 300, maxMs: 1000 } });
  const bStore = store();
  const b = player("bob", bStore);
  const inputsSent = []; // ann's: {key, data, at}
  let timer = null;
  let bob = b.c; // who sends bob's inputs: the reloaded client after the reload
  try {
    await Promise.all([a.c.connect(), b.c.connect()]);
    assert.ok(a.c.token && b.c.token && a.c.playerId !== b.c.playerId);
    assert.equal(bStore.v, b.c.token, "the token is kept in the store");
    assert.ok(a.c.limits && a.c.limits.maxInputBytes > 0, "LoginAck carries the limits");

    const rs = await a.c.create({ maxPlayers: 3, tickRate: 60, hashInterval: 10 }, "js-integration");
    const roomId = rs.room.roomId;
    const listed = await b.c.list({ openOnly: true, label: "js-integration" });
    assert.deepEqual(listed.rooms.map((r) => r.roomId), [roomId]);
    const rsB = await b.c.joinOrCreate("js-integration", { maxPlayers: 3 });
    assert.equal(rsB.room.roomId, roomId, "joinOrCreate joined the open room");
    assert.notEqual(a.c.slot, b.c.slot);

    // Three seats, two players: the match starts when both are ready (a full room would start at once).
    a.c.ready(true);
    b.c.ready(true);
    await until("the match to start", () => a.c.match && b.c.match);
    assert.equal(a.c.match.matchId, b.c.match.matchId);
    assert.deepEqual(a.game.started, [a.c.match.matchId]);

    // Inputs from both, ~25 a second each.
    let n = 0;
    timer = setInterval(() => {
      n++;
      const data = new Uint8Array([n & 0xff, (n >> 8) & 0xff]);
      const seq = a.c.input(data);
      if (seq) inputsSent.push({ key: `${a.c.slot}:${seq}`, data: [...data], at: Date.now() });
      bob.input(new Uint8Array([0xb0, n & 0xff]));
    }, 40);

    await until("60 frames", () => a.c.lastFrame >= 60 && b.c.lastFrame >= 60);
    assert.ok(a.ev.rtt.length > 0 && a.c.rtt >= 0, "keep-alive measured the RTT");

    // 1. Drop ann's socket as a network fault would: it reconnects by itself.
    const dropAt = a.c.lastFrame;
    const droppedAt = Date.now();
    a.sockets.at(-1).s.terminate();
    await until("ann to reconnect", () => a.ev.state.some((s) => s.state === "reconnecting"));
    await until("ann to resume", () => a.ev.state.some((s) => s.state === "resumed"));
    await until("ann to be live again", () => a.c.lastFrame >= dropAt + 40);
    assert.equal(a.sockets.length, 2, "one new socket");
    assert.ok(a.game.catchUp > 0, "the frames missed came as catch-up");
    assert.deepEqual(a.game.started, [a.c.match.matchId], "game.start not called again on a reconnection");
    assert.equal(a.ev.matchStart.at(-1).resumed, true);
    assertConsecutive(a);
    assertConsecutive(b);
    assert.ok(assertSameHashes(a, b) >= dropAt, "ann and bob agree on every frame");

    // Every input ann sent well before the drop reached a frame, under its
    // slot and seq, in both clients (the ones in flight at the drop may be lost).
    const early = inputsSent.filter((x) => x.at < droppedAt - 200);
    assert.ok(early.length >= 10, `${early.length} inputs`);
    for (const x of early) {
      assert.deepEqual(a.game.inputs.get(x.key), x.data, `ann's input ${x.key}`);
      assert.deepEqual(b.game.inputs.get(x.key), x.data, `ann's input ${x.key} as bob saw it`);
    }

    // 2. A reload: a new client for bob from the stored token. The server
    // kicks the old connection (which must not reconnect) and the new one
    // resumes the seat from frame 1.
    const c = player("bob", bStore);
    await c.c.connect();
    assert.equal(c.c.playerId, b.c.playerId, "same identity");
    assert.ok(c.c.room && c.c.room.room.roomId === roomId, "connect resolved with the seat resumed");
    await until("bob's old tab to be kicked", () => b.c.state === "closed");
    assert.ok(b.ev.notice.some((x) => x.code === "kicked"), "the old connection heard it was kicked");
    const oldClients = b.sockets.length;
    const frameBefore = a.c.lastFrame;
    await until("the reloaded client to be live", () => c.ev.state.some((s) => s.state === "resumed") && c.c.lastFrame >= frameBefore + 30);
    assert.equal(b.sockets.length, oldClients, "no reconnection after a kick");
    assert.equal(c.c.slot, b.c.slot, "the same seat");
    assert.equal(c.game.frames[0], 1, "caught up from frame 1");
    assertConsecutive(c);
    assert.ok(c.game.catchUp >= frameBefore - 5, `most frames were catch-up (${c.game.catchUp})`);
    assert.deepEqual(c.game.started, [a.c.match.matchId], "game.start called once in the reloaded client");
    assert.ok(assertSameHashes(a, c) >= frameBefore, "the reloaded client agrees on every frame");
    bob = c.c;
    await sleep(300); // a few more hash rounds with three hash reports judged
    for (const p of [a, c]) assert.deepEqual(p.ev.desync, [], `${p.name}: the server saw no desync`);
    assert.deepEqual([...a.ev.error.map((e) => `ann: ${e} (${e.requestId})`), ...c.ev.error.map((e) => `reloaded bob: ${e} (${e.requestId})`)], []);

    // 3. The hash path is live: a lying client is caught.
    a.game.lie = true;
    await until("a desync report", () => a.ev.desync.length > 0 && c.ev.desync.length > 0);
    a.game.lie = false;

    // 4. The server shuts down: the notice is heard, with its retry hint, and
    // no reconnection is tried before it.
    clearInterval(timer);
    timer = null;
    const dialsBefore = a.sockets.length;
    assert.equal(await post("/shutdown"), 202);
    await until("the shutdown notice", () => a.ev.notice.some((x) => x.code === "shutdown") && c.ev.notice.some((x) => x.code === "shutdown"));
    const noticeAt = Date.now();
    const notice = a.ev.notice.find((x) => x.code === "shutdown");
    assert.equal(notice.retry_after_ms, 1500);
    assert.ok(a.ev.matchEnd.some((e) => e.reason === lspb.MatchEndReason.MATCH_END_SHUTDOWN), "the match ended for the shutdown");
    await until("ann to try again", () => a.sockets.length > dialsBefore, 10000);
    const waited = a.sockets[dialsBefore].at - noticeAt;
    assert.ok(waited >= 1400, `reconnected ${waited} ms after the notice, hint 1500 ms`);
    a.c.close();
    c.c.close();
    assert.equal(a.c.state, "closed");
  } finally {
    if (timer) clearInterval(timer);
    a.c.close();
    b.c.close();
    bob.close();
  }
});
