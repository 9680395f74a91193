import { test } from "node:test";
import assert from "node:assert/strict";
import { create, toBinary, fromBinary } from "@bufbuild/protobuf";
import { LockstepClient, MsgID } from "../src/lockstep.js";
import * as commonpb from "../gen/commonpb/common_pb.js";
import * as lspb from "../gen/lspb/lockstep_pb.js";
import { FakeClock, fakeFactory } from "./fakes.js";

const enc = (schema, init) => toBinary(schema, create(schema, init));

function setup(opts = {}) {
  const clock = new FakeClock();
  const f = fakeFactory(clock);
  const steps = [];
  const starts = [];
  const game = opts.game === null ? undefined : {
    start(m) { starts.push(m.matchId); },
    step(fr) { steps.push(fr.number); },
    hash() { return 0xdeadbeefcafef00dn + BigInt(steps.length); },
  };
  const c = new LockstepClient({ url: "ws://t/", socketFactory: f.factory, name: "ann", game, timers: clock.timers(), random: () => 0, keepAliveMs: 0, ...opts });
  const events = [];
  for (const t of ["state", "roomState", "matchStart", "frame", "desync", "matchEnd", "error", "playerEvent"]) c.on(t, (v) => events.push([t, v]));
  const sock = () => f.last();
  const sent = (id, schema) => sock().packets.filter((p) => p.id === id).map((p) => fromBinary(schema, p.data));
  const reply = (id, schema, init) => sock().packet(id, enc(schema, init));
  const login = (init = {}) => {
    sock().accept();
    reply(MsgID.LoginAck, commonpb.LoginAckSchema, { playerId: 7n, token: "tok-1", ...init });
  };
  const batch = (first, count, busy = [], catchUp = false) =>
    reply(catchUp ? MsgID.CatchUp : MsgID.Frames, lspb.FrameBatchSchema, { firstFrame: first, count, busy });
  const matchStart = (init = {}) =>
    reply(MsgID.MatchStart, lspb.MatchStartSchema, { matchId: 99n, seed: 5n, tickRate: 30, startFrame: 1, yourSlot: 1, hashInterval: 3, framesPerPacket: 1, ...init });
  return { clock, f, c, events, sock, sent, reply, login, batch, matchStart, steps, starts };
}

test("connect logs in with the stored token and stores the new one", async () => {
  const store = { v: "old", get() { return this.v; }, set(t) { this.v = t; } };
  const s = setup({ tokenStore: store });
  const p = s.c.connect();
  s.login({ limits: { maxInputBytes: 256 } });
  const ack = await p;
  assert.equal(ack.playerId, 7n);
  assert.deepEqual(s.sent(MsgID.Login, commonpb.LoginSchema).map((l) => [l.name, l.token]), [["ann", "old"]]);
  assert.equal(store.v, "tok-1");
  assert.equal(s.c.token, "tok-1");
  assert.equal(s.c.playerId, 7n);
  assert.equal(s.c.limits.maxInputBytes, 256);
  assert.equal(s.c.state, "connected");
});

test("a refused stored token is dropped and the client logs in afresh", async () => {
  const store = { v: "stale", get() { return this.v; }, set(t) { this.v = t; } };
  const s = setup({ tokenStore: store });
  const p = s.c.connect();
  s.sock().accept();
  s.reply(MsgID.Error, commonpb.ErrorSchema, { code: commonpb.ErrorCode.ERROR_TOKEN_EXPIRED, requestId: MsgID.Login });
  s.reply(MsgID.LoginAck, commonpb.LoginAckSchema, { playerId: 8n, token: "fresh" });
  await p;
  assert.deepEqual(s.sent(MsgID.Login, commonpb.LoginSchema).map((l) => l.token), ["stale", ""]);
  assert.equal(store.v, "fresh");
});

test("a login refused in maintenance names the notice and keeps trying until maintenance ends", async () => {
  const s = setup();
  const errors = [];
  s.c.on("error", (e) => errors.push(e));
  const p = s.c.connect();
  s.sock().accept();
  s.sock().notice({ code: "maintenance", reason: "the server is in maintenance: patch 1.2" });
  s.reply(MsgID.Error, commonpb.ErrorSchema, { code: commonpb.ErrorCode.ERROR_UNAVAILABLE, message: "the server is in maintenance: patch 1.2", requestId: MsgID.Login });
  s.sock().serverClose(1000);
  assert.equal(errors.length, 1);
  assert.equal(errors[0].code, commonpb.ErrorCode.ERROR_UNAVAILABLE);
  assert.equal(errors[0].notice.code, "maintenance");
  assert.match(errors[0].message, /login refused: maintenance: the server is in maintenance: patch 1.2/);
  for (let ms = 0; s.f.sockets.length < 2 && ms < 60000; ms += 10) s.clock.advance(10);
  assert.equal(s.f.sockets.length, 2, "dialed again");
  s.login(); // maintenance is over
  const ack = await p;
  assert.equal(ack.playerId, 7n);
  // A later refusal on the new socket without a notice is not blamed on it.
  s.c.drop();
  for (let ms = 0; s.f.sockets.length < 3 && ms < 60000; ms += 10) s.clock.advance(10);
  assert.equal(s.f.sockets.length, 3, "dialed again after the drop");
  s.sock().accept();
  s.reply(MsgID.Error, commonpb.ErrorSchema, { code: commonpb.ErrorCode.ERROR_NAME_TOO_LONG, message: "name too long", requestId: MsgID.Login });
  assert.equal(errors.at(-1).notice, null);
  assert.equal(errors.at(-1).message, "login refused: name too long");
});

test("a banned player's connect rejects with the ban and the client stops", async () => {
  const s = setup();
  const p = s.c.connect();
  s.sock().accept();
  s.sock().notice({ code: "banned", reason: "you are banned: cheating" });
  s.reply(MsgID.Error, commonpb.ErrorSchema, { code: commonpb.ErrorCode.ERROR_TOKEN_REVOKED, message: "you are banned: cheating", requestId: MsgID.Login });
  assert.equal(s.sent(MsgID.Login, commonpb.LoginSchema).length, 1, "no fresh login to dodge the ban");
  s.sock().serverClose(1000);
  await assert.rejects(p, (e) => /banned: you are banned: cheating/.test(e.message) && e.notice.code === "banned");
  s.clock.advance(60000);
  assert.equal(s.f.sockets.length, 1, "no dial after a ban");
  assert.equal(s.c.state, "closed");
});

test("requests resolve with their answer and reject with the Error's code, or on timeout", async () => {
  const s = setup({ requestTimeoutMs: 500 });
  const p = s.c.connect();
  s.login();
  await p;
  const created = s.c.create({ maxPlayers: 2 }, "duel");
  const rc = s.sent(MsgID.RoomCreate, lspb.RoomCreateSchema)[0];
  assert.equal(rc.options.maxPlayers, 2);
  assert.equal(rc.label, "duel");
  s.reply(MsgID.RoomState, lspb.RoomStateSchema, { room: { roomId: 42n, status: lspb.RoomStatus.OPEN }, yourSlot: 0 });
  assert.equal((await created).room.roomId, 42n);
  assert.equal(s.c.room.room.roomId, 42n);

  const joined = s.c.join(43);
  s.reply(MsgID.Error, commonpb.ErrorSchema, { code: commonpb.ErrorCode.ERROR_ROOM_FULL, message: "full", requestId: MsgID.RoomJoin });
  await assert.rejects(joined, (e) => e.code === commonpb.ErrorCode.ERROR_ROOM_FULL && e.message === "full");

  const listed = s.c.list({ openOnly: true, label: "x", limit: 5 });
  assert.deepEqual(s.sent(MsgID.RoomList, lspb.RoomListSchema).map((l) => [l.openOnly, l.label, l.limit]), [[true, "x", 5]]);
  s.clock.advance(500);
  await assert.rejects(listed, (e) => e.timeout === true && e.code === 0);

  // A request in flight when the link drops is rejected, not left hanging.
  const lost = s.c.join(44);
  s.sock().serverClose();
  await assert.rejects(lost, /connection lost/);
  await assert.rejects(s.c.join(45), /not connected/);
});

test("joinOrCreate asks the server for a seat in one request (RoomJoinOrCreate) and resolves with its RoomState", async () => {
  const s = setup();
  const p = s.c.connect();
  s.login();
  await p;
  const done = s.c.joinOrCreate("ffa", { maxPlayers: 3 });
  await new Promise((r) => setImmediate(r));
  const jc = s.sent(MsgID.RoomJoinOrCreate, lspb.RoomJoinOrCreateSchema);
  assert.deepEqual(jc.map((m) => [m.label, m.options.maxPlayers]), [["ffa", 3]]);
  s.reply(MsgID.RoomState, lspb.RoomStateSchema, { room: { roomId: 3n }, yourSlot: 0 });
  assert.equal((await done).room.roomId, 3n);
  const refused = s.c.joinOrCreate("", { maxPlayers: 99 });
  await new Promise((r) => setImmediate(r));
  s.reply(MsgID.Error, commonpb.ErrorSchema, { code: commonpb.ErrorCode.ERROR_BAD_OPTIONS, requestId: MsgID.RoomJoinOrCreate });
  await assert.rejects(refused, (e) => e.code === commonpb.ErrorCode.ERROR_BAD_OPTIONS);
});

test("frames are expanded and delivered once each, in order; hashes reported every hash_interval", async () => {
  const s = setup();
  const p = s.c.connect();
  s.login();
  await p;
  s.matchStart();
  assert.deepEqual(s.starts, [99n]);
  const seq = s.c.input(new Uint8Array([5]));
  assert.equal(seq, 1);
  assert.deepEqual(s.sent(MsgID.Input, lspb.InputSchema).map((i) => [i.seq, i.frameHint, [...i.data]]), [[1, 0, [5]]]);
  s.batch(1, 3, [{ offset: 1, inputs: [{ slot: 1, data: new Uint8Array([5]), seq: 1 }, { slot: 0, data: new Uint8Array([6]), seq: 9 }] }]);
  s.batch(2, 3); // frames 2, 3 again (a repeat) and 4
  s.batch(5, 2);
  assert.deepEqual(s.steps, [1, 2, 3, 4, 5, 6]);
  const frames = s.events.filter(([t]) => t === "frame").map(([, f]) => f);
  assert.deepEqual(frames.map((f) => f.number), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(frames[1].inputs.map((i) => [i.slot, [...i.data], i.seq]), [[1, [5], 1], [0, [6], 9]]);
  assert.equal(frames[0].inputs.length, 0);
  assert.equal(frames[0].catchUp, false);
  assert.equal(s.c.lastFrame, 6);
  const hashes = s.sent(MsgID.HashReport, lspb.HashReportSchema);
  assert.deepEqual(hashes.map((h) => [h.frame, h.hash]), [[3, 0xdeadbeefcafef00dn + 3n], [6, 0xdeadbeefcafef00dn + 6n]]);
  s.c.input(new Uint8Array([1]));
  assert.equal(s.sent(MsgID.Input, lspb.InputSchema).at(-1).frameHint, 6);
});

test("a dropped socket reconnects, logs in with the token, resumes from lastFrame with no gap and no repeat", async () => {
  const s = setup();
  const p = s.c.connect();
  s.login();
  await p;
  s.matchStart();
  s.batch(1, 4);
  s.sock().serverClose();
  assert.equal(s.c.state, "reconnecting");
  s.clock.advance(100);
  s.sock().accept();
  assert.equal(s.c.input(new Uint8Array([1])), 0, "no input before the new socket's login is answered");
  assert.deepEqual(s.sent(MsgID.Login, commonpb.LoginSchema).map((l) => l.token), ["tok-1"]);
  s.reply(MsgID.LoginAck, commonpb.LoginAckSchema, { playerId: 7n, token: "tok-2", roomId: 42n });
  assert.deepEqual(s.sent(MsgID.Reconnect, lspb.ReconnectSchema).map((r) => r.lastFrame), [4]);
  s.reply(MsgID.RoomState, lspb.RoomStateSchema, { room: { roomId: 42n, status: lspb.RoomStatus.RUNNING }, yourSlot: 1 });
  s.matchStart();
  s.batch(5, 3, [], true);
  assert.equal(s.c.input(new Uint8Array([1])), 0, "no input while the seat is caught up");
  s.batch(8, 2);
  assert.notEqual(s.c.input(new Uint8Array([1])), 0, "inputs again once live");
  assert.equal(s.sent(MsgID.Input, lspb.InputSchema).length, 1);
  assert.deepEqual(s.starts, [99n], "game.start is not called again for the same match");
  assert.deepEqual(s.steps, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const frames = s.events.filter(([t]) => t === "frame").map(([, f]) => [f.number, f.catchUp]);
  assert.deepEqual(frames.slice(4), [[5, true], [6, true], [7, true], [8, false], [9, false]]);
  const ms = s.events.filter(([t]) => t === "matchStart").map(([, v]) => v.resumed);
  assert.deepEqual(ms, [false, true]);
  const states = s.events.filter(([t]) => t === "state").map(([, v]) => v.state);
  assert.deepEqual(states, ["connecting", "connected", "reconnecting", "connected", "resumed"]);
  // Catch-up frames are not hash-reported (too old to judge); live ones are.
  assert.deepEqual(s.sent(MsgID.HashReport, lspb.HashReportSchema).map((h) => h.frame), [9]);
});

test("a reload (new client, stored token) starts the game and catches up from frame 1", async () => {
  const store = { v: "tok-1", get() { return this.v; }, set(t) { this.v = t; } };
  const s = setup({ tokenStore: store });
  const p = s.c.connect();
  s.sock().accept();
  s.reply(MsgID.LoginAck, commonpb.LoginAckSchema, { playerId: 7n, token: "tok-1", roomId: 42n });
  assert.deepEqual(s.sent(MsgID.Reconnect, lspb.ReconnectSchema).map((r) => r.lastFrame), [0]);
  s.reply(MsgID.RoomState, lspb.RoomStateSchema, { room: { roomId: 42n, status: lspb.RoomStatus.RUNNING }, yourSlot: 2 });
  await p; // connect resolves once the seat's state is back
  assert.equal(s.c.room.room.roomId, 42n);
  s.matchStart({ yourSlot: 2 });
  assert.deepEqual(s.starts, [99n]);
  s.batch(1, 5, [], true);
  s.batch(6, 1);
  assert.deepEqual(s.steps, [1, 2, 3, 4, 5, 6]);
  assert.equal(s.c.slot, 2);
  assert.equal(s.c.state, "resumed");
});

test("a resume answered MatchEnd(INTERRUPTED) then NO_SEAT ends the match, with no error and no more reconnecting", async () => {
  const s = setup();
  const p = s.c.connect();
  s.login();
  await p;
  s.matchStart();
  s.batch(1, 3);
  s.sock().serverClose(); // the server died
  s.clock.advance(100);
  const sock = s.sock();
  sock.accept(); // the next server process
  s.reply(MsgID.LoginAck, commonpb.LoginAckSchema, { playerId: 7n, token: "tok-2", roomId: 42n });
  assert.deepEqual(s.sent(MsgID.Reconnect, lspb.ReconnectSchema).map((r) => r.lastFrame), [3]);
  s.reply(MsgID.MatchEnd, lspb.MatchEndSchema, { matchId: 99n, lastFrame: 2, reason: lspb.MatchEndReason.MATCH_END_INTERRUPTED });
  s.reply(MsgID.Error, commonpb.ErrorSchema, { code: commonpb.ErrorCode.ERROR_NO_SEAT, requestId: MsgID.Reconnect });
  const ev = (t) => s.events.filter(([x]) => x === t).map(([, v]) => v);
  assert.deepEqual(ev("matchEnd").map((e) => [e.matchId, e.reason]), [[99n, lspb.MatchEndReason.MATCH_END_INTERRUPTED]]);
  assert.deepEqual(ev("error"), [], "the match end is not an error");
  assert.equal(s.c.match, null);
  assert.equal(s.c.state, "connected");
  s.clock.advance(10000);
  assert.equal(s.sock(), sock, "no reconnection after the answer");
  assert.equal(s.sent(MsgID.Reconnect, lspb.ReconnectSchema).length, 1);
  // Today's answer, NO_SEAT alone, is still an error event.
  s.c._resuming = true;
  s.reply(MsgID.Error, commonpb.ErrorSchema, { code: commonpb.ErrorCode.ERROR_NO_SEAT, requestId: MsgID.Reconnect });
  assert.deepEqual(ev("error").map((e) => e.code), [commonpb.ErrorCode.ERROR_NO_SEAT]);
});

test("a gap asks the server for the frames again instead of skipping them", async () => {
  const s = setup();
  const p = s.c.connect();
  s.login();
  await p;
  s.matchStart();
  s.batch(1, 2);
  s.batch(5, 1);
  assert.deepEqual(s.steps, [1, 2]);
  assert.deepEqual(s.sent(MsgID.Reconnect, lspb.ReconnectSchema).map((r) => r.lastFrame), [2]);
  assert.ok(s.events.some(([t, e]) => t === "error" && /frame 5 after 2/.test(e.message)));
});

test("desync, match end and unanswered errors are events", async () => {
  const s = setup();
  const p = s.c.connect();
  s.login();
  await p;
  s.matchStart();
  s.reply(MsgID.Desync, lspb.DesyncSchema, { frame: 30, slots: [2] });
  s.reply(MsgID.Error, commonpb.ErrorSchema, { code: commonpb.ErrorCode.ERROR_INPUT_TOO_LARGE, requestId: MsgID.Input, seq: 4 });
  s.reply(MsgID.MatchEnd, lspb.MatchEndSchema, { matchId: 99n, lastFrame: 30, reason: lspb.MatchEndReason.MATCH_END_SHUTDOWN });
  const ev = (t) => s.events.filter(([x]) => x === t).map(([, v]) => v);
  assert.deepEqual(ev("desync").map((d) => [d.frame, d.slots]), [[30, [2]]]);
  assert.deepEqual(ev("error").map((e) => e.code), [commonpb.ErrorCode.ERROR_INPUT_TOO_LARGE]);
  assert.deepEqual(ev("matchEnd").map((e) => e.reason), [lspb.MatchEndReason.MATCH_END_SHUTDOWN]);
  assert.equal(s.c.match, null);
  // A malformed message is an error event, not a crash.
  s.sock().packet(MsgID.RoomState, new Uint8Array([0xff, 0xff, 0xff]));
  assert.equal(ev("error").length, 2);
});

test("close() rejects connect and stops for good", async () => {
  const s = setup();
  const p = s.c.connect();
  s.c.close();
  await assert.rejects(p);
  s.clock.advance(60000);
  assert.equal(s.f.sockets.length, 1);
  assert.equal(s.c.state, "closed");
  assert.equal(s.c.input(new Uint8Array(1)), 0);
});
