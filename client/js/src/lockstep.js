// LockstepClient speaks zinxgame's lockstep protocol over a Connection:
// login with a kept token, rooms, inputs, numbered frames delivered once each
// and in order, state hashes, and resumption of the seat after a dropped
// socket or a page reload (Reconnect{last_frame} and catch-up).
import { create, toBinary, fromBinary } from "@bufbuild/protobuf";
import { LoginSchema, LoginAckSchema, ErrorSchema, ErrorCode } from "../gen/commonpb/common_pb.js";
import {
  RoomCreateSchema, RoomJoinSchema, RoomListSchema, RoomListAckSchema, ReadySchema, RoomStateSchema,
  PlayerEventSchema, MatchStartSchema, InputSchema, FrameBatchSchema, HashReportSchema, DesyncSchema,
  ReconnectSchema, MatchEndSchema, MatchResultSchema, RoomJoinOrCreateSchema, RoomStatus,
} from "../gen/lspb/lockstep_pb.js";
import { Connection } from "./connection.js";
import { Emitter } from "./emitter.js";

/** Lockstep message IDs (protocol/lspb/ids.go). */
export const MsgID = Object.freeze({
  Login: 1000, LoginAck: 1001, RoomCreate: 1002, RoomJoin: 1003, RoomLeave: 1004, RoomList: 1005,
  RoomListAck: 1006, Ready: 1007, RoomState: 1008, PlayerEvent: 1009, MatchStart: 1010, Input: 1011,
  Frames: 1012, HashReport: 1013, Desync: 1014, Reconnect: 1015, CatchUp: 1016, MatchEnd: 1017,
  MatchResult: 1018, Error: 1019, Replay: 1020, ReplayStart: 1021, Logout: 1022, LogoutAck: 1023,
  RoomJoinOrCreate: 1024,
});

// Login errors after which the stored token is useless: log in afresh.
const STALE_TOKEN = new Set([ErrorCode.ERROR_BAD_TOKEN, ErrorCode.ERROR_TOKEN_EXPIRED, ErrorCode.ERROR_TOKEN_REVOKED]);

const now = () => (typeof performance !== "undefined" ? performance.now() : Date.now());

/** The error a request rejects with: .code is the commonpb ErrorCode (0 for a timeout or a lost connection). */
export class RequestError extends Error {
  constructor(message, code = 0, { timeout = false, requestId = 0, seq = 0, notice = null } = {}) {
    super(message);
    this.name = "RequestError";
    this.code = code;
    this.timeout = timeout;
    /** The message ID of the failed request (the Error's request_id), 0 when not from an Error. */
    this.requestId = requestId;
    /** For a refused input: its sequence number. */
    this.seq = seq;
    /**
     * For a refused login: the "banned" or "maintenance" notice the server
     * sent just before it ({code, reason, retry_after_ms}), else null. After
     * "banned" the client stops; after "maintenance" it keeps trying on its
     * backoff schedule, since maintenance ends.
     */
    this.notice = notice;
  }
}

/**
 * Expands a FrameBatch into its frames, in order: count consecutive frames
 * from firstFrame, the ones not listed in busy with no inputs.
 * @returns {Array<{number: number, inputs: Array<{slot: number, data: Uint8Array, seq: number}>, catchUp: boolean, at: number}>}
 */
export function expandBatch(batch, catchUp, at) {
  const frames = new Array(batch.count);
  for (let i = 0; i < batch.count; i++) frames[i] = { number: batch.firstFrame + i, inputs: [], catchUp, at };
  for (const b of batch.busy) {
    if (b.offset >= batch.count) continue; // malformed: outside the batch
    const f = frames[b.offset];
    for (const s of b.inputs) f.inputs.push({ slot: s.slot, data: s.data, seq: s.seq });
  }
  return frames;
}

function memoryStore() {
  let token = null;
  return { get: () => token, set: (t) => { token = t; } };
}

/**
 * LockstepClient: see client/js/README.md and the contract. Events (on/off):
 * "state", "roomState", "playerEvent", "matchStart", "frame", "desync",
 * "matchEnd", "notice", "error", "rtt". Like Connection, it lives on one
 * event loop: call it from there; listeners run from socket callbacks.
 */
export class LockstepClient extends Emitter {
  constructor(o) {
    super();
    if (!o || typeof o.url !== "string" || typeof o.socketFactory !== "function") {
      throw new TypeError("LockstepClient needs url and socketFactory");
    }
    this.name = o.name ?? "";
    this.tokenStore = o.tokenStore ?? memoryStore();
    this.game = o.game ?? null;
    this.requestTimeoutMs = o.requestTimeoutMs ?? 10000;
    this.conn = new Connection({
      url: o.url, socketFactory: o.socketFactory, keepAliveMs: o.keepAliveMs, deadAfterMs: o.deadAfterMs,
      dialTimeoutMs: o.dialTimeoutMs, backoff: o.backoff, maxPayload: o.maxPayload, bigEndian: o.bigEndian,
      ids: o.ids, timers: o.timers, random: o.random,
    });
    this._timers = o.timers ?? { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: (t) => clearTimeout(t) };

    /** The last frame delivered (0 before the first). */
    this.lastFrame = 0;
    /** The player's ID from LoginAck (a uint64). */
    this.playerId = 0n;
    this.token = this.tokenStore.get() ?? "";
    /** commonpb.Limits from LoginAck, or null. */
    this.limits = null;
    /** The running match's MatchStart, or null. */
    this.match = null;
    /** This player's slot in its room. */
    this.slot = 0;
    /** The room the player is in (the last RoomState), or null. */
    this.room = null;
    /** @type {"idle"|"connecting"|"connected"|"reconnecting"|"resumed"|"closed"} */
    this.state = "idle";

    this._seq = 0;
    this._waiters = []; // {ids, match(id, msg), resolve, reject, timer}
    this._loggedIn = false; // the current socket's Login was answered
    this._resuming = false; // a Reconnect was sent and live frames have not come yet
    this._resumeEnded = false; // a MatchEnd answered the Reconnect under way
    this._freshLogin = false; // the stored token was refused once; log in without it
    this._refusal = null; // a "banned" or "maintenance" notice on this socket, for a refused login
    this._connectWaiter = null;

    this.conn.on("open", () => this._login());
    this.conn.on("packet", (p) => this._onPacket(p));
    this.conn.on("notice", (n) => {
      // The server says why before it refuses a login: kept for the Error.
      if (n.code === "banned" || n.code === "maintenance") this._refusal = n;
      this.emit("notice", n);
    });
    this.conn.on("rtt", (ms) => this.emit("rtt", ms));
    this.conn.on("error", (e) => this.emit("error", e));
    this.conn.on("down", ({ error }) => this._down(error));
    this.conn.on("state", ({ state, error }) => {
      // "connected" is the client's once logged in, not the socket's.
      if (state === "connecting" || state === "reconnecting" || state === "closed") {
        this._loggedIn = false; // until this socket's LoginAck
        this._setState(state, error);
      }
      if (state === "closed") this._closed(error);
    });
  }

  /** The last measured round trip, ms. */
  get rtt() {
    return this.conn.rtt;
  }

  /**
   * Dials and logs in; resolves with the LoginAck once logged in and, when the
   * server holds a seat for this player, once the seat is resumed (its
   * RoomState is in c.room). Rejects when the connection gives up or closes first.
   */
  connect() {
    if (this._connectWaiter) return this._connectWaiter.promise;
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    this._connectWaiter = { promise, resolve, reject, done: false };
    this.conn.start();
    return promise;
  }

  /** Creates a room and takes its first seat; resolves with its RoomState. */
  create(options = {}, label = "") {
    const m = create(RoomCreateSchema, { options: options ?? {}, label });
    return this._request(MsgID.RoomCreate, toBinary(RoomCreateSchema, m), [MsgID.RoomState]);
  }

  /** Joins a room by ID; resolves with its RoomState. */
  join(roomId) {
    const m = create(RoomJoinSchema, { roomId: BigInt(roomId) });
    return this._request(MsgID.RoomJoin, toBinary(RoomJoinSchema, m), [MsgID.RoomState]);
  }

  /** Lists rooms; resolves with the RoomListAck. */
  list({ openOnly = false, label = "", after = 0n, limit = 0 } = {}) {
    const m = create(RoomListSchema, { openOnly, label, after: BigInt(after), limit });
    return this._request(MsgID.RoomList, toBinary(RoomListSchema, m), [MsgID.RoomListAck]);
  }

  /**
   * Joins the oldest open room with this label and a free seat, or creates
   * one with these options when there is none (RoomJoinOrCreate, 1024); the
   * server decides atomically, so players looking at once meet in one room.
   * Resolves with its RoomState.
   */
  joinOrCreate(label = "", options = {}) {
    const m = create(RoomJoinOrCreateSchema, { options: options ?? {}, label });
    return this._request(MsgID.RoomJoinOrCreate, toBinary(RoomJoinOrCreateSchema, m), [MsgID.RoomState]);
  }

  /** Says whether this player is ready; the match starts when everyone is. */
  ready(ready = true) {
    return this.conn.send(MsgID.Ready, toBinary(ReadySchema, create(ReadySchema, { ready: !!ready })));
  }

  /**
   * Sends an input for the frame being assembled (frame_hint = lastFrame);
   * returns its sequence number, echoed in the frame, or 0 when it was not
   * sent: no socket is open, the login on it has not been answered, or the
   * seat is still being resumed (the server would refuse it, and a late
   * input would land in a later frame than the player meant).
   */
  input(data) {
    if (!this.conn.open || !this._loggedIn || this._resuming) return 0;
    const seq = (this._seq = (this._seq + 1) >>> 0 || 1);
    const m = create(InputSchema, { data, frameHint: this.lastFrame, seq });
    this.conn.send(MsgID.Input, toBinary(InputSchema, m));
    return seq;
  }

  /** Votes for the match's result; the match ends when a majority agree. */
  vote(result) {
    return this.conn.send(MsgID.MatchResult, toBinary(MatchResultSchema, create(MatchResultSchema, { result })));
  }

  /** Reports the state hash after frame (a uint64, number or bigint). */
  reportHash(frame, hash) {
    const m = create(HashReportSchema, { frame, hash: BigInt.asUintN(64, BigInt(hash)) });
    return this.conn.send(MsgID.HashReport, toBinary(HashReportSchema, m));
  }

  /** Drops the socket as a network fault would; the client reconnects and resumes by itself. */
  drop() {
    this.conn.drop();
  }

  /** Closes for good (no logout: the seat is held for the reconnect grace period). */
  close() {
    this.conn.close();
  }

  _setState(state, error = null) {
    this.state = state;
    this.emit("state", { state, error });
  }

  _send(id, schema, msg) {
    return this.conn.send(id, toBinary(schema, create(schema, msg)));
  }

  _login() {
    this._refusal = null; // a notice of this socket's, not an earlier one's
    const token = this._freshLogin ? "" : (this.tokenStore.get() ?? this.token ?? "");
    this._freshLogin = false;
    this._send(MsgID.Login, LoginSchema, { name: this.name, token });
  }

  _request(id, payload, replyIds) {
    return new Promise((resolve, reject) => {
      if (!this.conn.open) {
        reject(new RequestError("not connected"));
        return;
      }
      const w = { req: id, replyIds, resolve, reject, timer: null };
      w.timer = this._timers.setTimeout(() => {
        this._waiters.splice(this._waiters.indexOf(w), 1);
        reject(new RequestError(`no answer to message ${id} within ${this.requestTimeoutMs} ms`, 0, { timeout: true }));
      }, this.requestTimeoutMs);
      this._waiters.push(w);
      try {
        this.conn.send(id, payload);
      } catch (err) {
        this._settle(w);
        reject(err);
      }
    });
  }

  _settle(w) {
    this._timers.clearTimeout(w.timer);
    const i = this._waiters.indexOf(w);
    if (i >= 0) this._waiters.splice(i, 1);
  }

  // _answer resolves the oldest request a message of this ID answers.
  _answer(id, msg) {
    const w = this._waiters.find((w) => w.replyIds.includes(id));
    if (!w) return false;
    this._settle(w);
    w.resolve(msg);
    return true;
  }

  _down(error) {
    for (const w of [...this._waiters]) {
      this._settle(w);
      w.reject(new RequestError(`connection lost: ${error?.message ?? ""}`));
    }
  }

  _closed(error) {
    this._down(error ?? new Error("closed"));
    const cw = this._connectWaiter;
    if (cw && !cw.done) {
      cw.done = true;
      cw.reject(error ?? new Error("closed before logging in"));
    }
  }

  _onPacket({ id, data }) {
    try {
      this._handle(id, data);
    } catch (err) {
      // A message that does not decode: the server is broken or not ours.
      this.emit("error", err);
    }
  }

  _handle(id, data) {
    switch (id) {
      case MsgID.LoginAck:
        return this._onLoginAck(fromBinary(LoginAckSchema, data));
      case MsgID.RoomState:
        return this._onRoomState(fromBinary(RoomStateSchema, data));
      case MsgID.RoomListAck:
        return this._answer(id, fromBinary(RoomListAckSchema, data));
      case MsgID.PlayerEvent:
        return this.emit("playerEvent", fromBinary(PlayerEventSchema, data));
      case MsgID.MatchStart:
        return this._onMatchStart(fromBinary(MatchStartSchema, data));
      case MsgID.Frames:
      case MsgID.CatchUp:
        return this._onFrames(fromBinary(FrameBatchSchema, data), id === MsgID.CatchUp);
      case MsgID.Desync:
        return this.emit("desync", fromBinary(DesyncSchema, data));
      case MsgID.MatchEnd:
        return this._onMatchEnd(fromBinary(MatchEndSchema, data));
      case MsgID.Error:
        return this._onError(fromBinary(ErrorSchema, data));
      default:
        return undefined; // another module's message: not ours to judge
    }
  }

  _onLoginAck(ack) {
    this._ack = ack;
    this._loggedIn = true;
    this._retriedFresh = false;
    this.playerId = ack.playerId;
    this.token = ack.token;
    this.tokenStore.set(ack.token);
    this.limits = ack.limits ?? null;
    if (ack.roomId !== 0n) {
      this._resuming = true;
      this._resumeEnded = false;
      this._setState("connected");
      this._send(MsgID.Reconnect, ReconnectSchema, { lastFrame: this.lastFrame });
      return;
    }
    // No seat: whatever match this client ran is over for it.
    this.match = null;
    this.room = null;
    this._setState("connected");
    this._connected(ack);
  }

  _connected(ack) {
    const cw = this._connectWaiter;
    if (cw && !cw.done) {
      cw.done = true;
      cw.resolve(ack ?? this._ack);
    }
  }

  _onRoomState(rs) {
    this.room = rs;
    this.slot = rs.yourSlot;
    const answered = this._answer(MsgID.RoomState, rs);
    if (!answered && this._resuming) {
      if (rs.room?.status !== RoomStatus.RUNNING) {
        // Resumed into a room whose match has not started: nothing to catch up.
        this._resuming = false;
        this._setState("resumed");
      }
      this._connected(null);
    }
    this.emit("roomState", rs);
  }

  _onMatchStart(m) {
    const same = this.match !== null && this.match.matchId === m.matchId;
    const resumed = this._resuming;
    this.match = m;
    this.slot = m.yourSlot;
    if (!same) {
      this.lastFrame = m.startFrame > 0 ? m.startFrame - 1 : 0;
      if (this.game) this.game.start(m);
    }
    this.emit("matchStart", { match: m, resumed });
  }

  _onFrames(batch, catchUp) {
    if (!this.match) return; // frames of no match we know: a stray after MatchEnd
    if (!catchUp && this._resuming) {
      this._resuming = false;
      this._setState("resumed");
    }
    const at = now();
    const hi = this.match.hashInterval;
    for (const f of expandBatch(batch, catchUp, at)) {
      if (f.number <= this.lastFrame) continue; // already delivered
      if (f.number !== this.lastFrame + 1) {
        // A gap never comes from a working server; ask for the frames again.
        this.emit("error", new Error(`frame ${f.number} after ${this.lastFrame}: resynchronising`));
        this._resuming = true;
        this._send(MsgID.Reconnect, ReconnectSchema, { lastFrame: this.lastFrame });
        return;
      }
      this.lastFrame = f.number;
      if (this.game) {
        try {
          this.game.step(f);
        } catch (err) {
          this.emit("error", err);
        }
      }
      this.emit("frame", f);
      // Catch-up hashes are too old for the server to judge: live ones only.
      if (this.game && !catchUp && hi > 0 && f.number % hi === 0) this.reportHash(f.number, this.game.hash());
    }
  }

  _onMatchEnd(e) {
    if (this.match && this.match.matchId === e.matchId) this.match = null;
    // A resume answered MatchEnd (MATCH_END_INTERRUPTED: the server that
    // ran the match stopped) and then ERROR_NO_SEAT: the match is over.
    if (this._resuming) this._resumeEnded = true;
    this.emit("matchEnd", e);
  }

  _onError(e) {
    if (e.requestId === MsgID.Login) {
      // A banned player's token is refused as revoked: logging in afresh
      // would be dodging the ban, and the server is closing anyway.
      if (STALE_TOKEN.has(e.code) && !this._retriedFresh && this._refusal?.code !== "banned") {
        this._retriedFresh = true;
        this.tokenStore.set("");
        this.token = "";
        this._freshLogin = true;
        this._login();
        return;
      }
      const n = this._refusal;
      const why = n ? `${n.code}: ${n.reason}` : e.message;
      this.emit("error", new RequestError(`login refused: ${why}`, e.code, { requestId: e.requestId, notice: n }));
      return;
    }
    if (e.requestId === MsgID.Reconnect && this._resuming) {
      this._resuming = false;
      const ended = this._resumeEnded;
      this._resumeEnded = false;
      if (e.code === ErrorCode.ERROR_NO_SEAT) {
        this.match = null;
        this.room = null;
      }
      this._connected(null);
      // The matchEnd event told why there is no seat: not an error.
      if (ended && e.code === ErrorCode.ERROR_NO_SEAT) return;
    }
    // RoomState answers both create and join: match the failed request's ID.
    const w = this._waiters.find((w) => w.req === e.requestId);
    if (w) {
      this._settle(w);
      w.reject(new RequestError(e.message, e.code, { requestId: e.requestId }));
      return;
    }
    this.emit("error", new RequestError(e.message, e.code, { requestId: e.requestId, seq: e.seq }));
  }
}
