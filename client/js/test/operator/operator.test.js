// The operator controls against the real Go lockstep server, started by
// client/js/operator_test.go (TestOperatorControls), which passes its
// WebSocket URL in ZINX_WS_URL, its admin listener in ZINX_ADMIN_URL and
// the operator token in ZINX_ADMIN_TOKEN. Run it through
// `go test ./client/js/ -run TestOperatorControls`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import WebSocket from "ws";
import { LockstepClient, commonpb } from "../../src/index.js";
import { sleep, until } from "../wait.js";

const URL_ = process.env.ZINX_WS_URL;
const ADMIN = process.env.ZINX_ADMIN_URL;
const TOKEN = process.env.ZINX_ADMIN_TOKEN;

// admin calls an operator endpoint; resolves with {status, body}.
function admin(method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? "" : JSON.stringify(body);
    const req = request(ADMIN + path, { method, headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c) => { text += c; });
      res.on("end", () => resolve({ status: res.statusCode, body: text }));
    });
    req.on("error", reject);
    req.end(data);
  });
}

function player(name, store = { v: null, get() { return this.v; }, set(t) { this.v = t; } }) {
  const sockets = [];
  const c = new LockstepClient({
    url: URL_, name, tokenStore: store, keepAliveMs: 200, backoff: { minMs: 100, maxMs: 300, attempts: 100 },
    socketFactory: (u) => { const s = new WebSocket(u); sockets.push(s); return s; },
  });
  const ev = { state: [], notice: [], error: [] };
  for (const t of Object.keys(ev)) c.on(t, (v) => ev[t].push(v));
  return { c, ev, sockets, store, name };
}

const closedWith = (p) => p.ev.state.find((s) => s.state === "closed")?.error ?? null;

test("a broadcast, maintenance, a player ban and an IP ban reach JS clients as notices and refusals", { timeout: 60000 }, async () => {
  assert.ok(URL_ && ADMIN && TOKEN, "ZINX_WS_URL, ZINX_ADMIN_URL and ZINX_ADMIN_TOKEN are set by operator_test.go");
  const ann = player("ann");
  const others = [];
  try {
    await ann.c.connect();

    // A broadcast: every connection hears it.
    let r = await admin("POST", "/admin/broadcast", { message: "the server restarts at 14:00" });
    assert.equal(r.status, 200, r.body);
    await until("ann hearing the announcement", () => ann.ev.notice.some((n) => n.code === "announcement"));
    assert.equal(ann.ev.notice.find((n) => n.code === "announcement").reason, "the server restarts at 14:00");

    // Maintenance: a new login is refused with the notice and keeps
    // trying; ann, logged in already, plays on; the login gets through
    // once maintenance ends.
    r = await admin("POST", "/admin/maintenance", { on: true, reason: "patch 1.2" });
    assert.equal(r.status, 200, r.body);
    const bob = player("bob");
    others.push(bob);
    const bobIn = bob.c.connect();
    bobIn.catch(() => {}); // awaited below; a rejection before then is reported there
    await until("bob's login refused", () => bob.ev.error.length > 0);
    const refusal = bob.ev.error[0];
    assert.equal(refusal.code, commonpb.ErrorCode.ERROR_UNAVAILABLE);
    assert.equal(refusal.notice?.code, "maintenance");
    assert.match(refusal.message, /login refused: maintenance: .*patch 1\.2/);
    await until("bob dialing again", () => bob.sockets.length >= 2);
    assert.equal(closedWith(bob), null, "maintenance does not stop the client");
    assert.equal(ann.c.state, "connected");
    r = await admin("POST", "/admin/maintenance", { on: false });
    assert.equal(r.status, 200, r.body);
    await bobIn;
    assert.equal(bob.c.state, "connected");

    // A player ban: ann is closed with it and does not reconnect; her token
    // is refused with it, and the client does not log in afresh to dodge it.
    r = await admin("POST", `/admin/players/${ann.c.playerId}/ban`, { duration: "1h", reason: "griefing" });
    assert.equal(r.status, 200, r.body);
    await until("ann closed", () => closedWith(ann) !== null);
    assert.match(closedWith(ann).message, /banned: .*griefing/);
    const annAgain = player("ann", ann.store);
    others.push(annAgain);
    await assert.rejects(annAgain.c.connect(), (e) => /banned: .*griefing/.test(e.message));
    await sleep(500);
    assert.equal(annAgain.sockets.length, 1, "no dial after the ban");
    assert.equal(ann.sockets.length, 1, "ann did not reconnect");

    // An IP ban (loopback here): bob's connection is closed with it, and a
    // new client is refused at accept; lifted, a client gets in again.
    r = await admin("POST", "/admin/bans/ip", { ip: "127.0.0.1", duration: "1m", reason: "flood" });
    assert.equal(r.status, 200, r.body);
    await until("bob closed", () => closedWith(bob) !== null);
    assert.match(closedWith(bob).message, /^banned: /);
    const cat = player("cat");
    others.push(cat);
    await assert.rejects(cat.c.connect(), (e) => /^banned: /.test(e.message) && e.notice?.code === "banned");
    r = await admin("DELETE", "/admin/bans/ip?ip=127.0.0.1");
    assert.equal(r.status, 200, r.body);
    const dan = player("dan");
    others.push(dan);
    await dan.c.connect();
    assert.equal(dan.c.state, "connected");
  } finally {
    ann.c.close();
    for (const p of others) p.c.close();
  }
});
