// Test doubles: a manual clock and a WebSocket-like socket the test drives
// from the server's side.
import { encodePacket, Decoder } from "../src/framing.js";

export class FakeClock {
  constructor() {
    this.t = 0;
    this._next = 1;
    this._timers = new Map(); // id -> {at, fn}
  }
  now() { return this.t; }
  setTimeout(fn, ms) {
    const id = this._next++;
    this._timers.set(id, { at: this.t + Math.max(0, ms), fn, id });
    return id;
  }
  clearTimeout(id) { this._timers.delete(id); }
  /** Runs every timer due within ms, in time order, moving the clock to each. */
  advance(ms) {
    const end = this.t + ms;
    for (;;) {
      let due = null;
      for (const tm of this._timers.values()) if (tm.at <= end && (due === null || tm.at < due.at || (tm.at === due.at && tm.id < due.id))) due = tm;
      if (due === null) break;
      this._timers.delete(due.id);
      this.t = due.at;
      due.fn();
    }
    this.t = end;
  }
  get pending() { return this._timers.size; }
  timers() { return { setTimeout: (f, ms) => this.setTimeout(f, ms), clearTimeout: (id) => this.clearTimeout(id), now: () => this.now() }; }
}

export class FakeSocket {
  constructor(url, clock) {
    this.url = url;
    this.clock = clock;
    this.readyState = 0;
    this.binaryType = "blob";
    this.sentRaw = [];
    this.closedByClient = false;
    this.bufferedAmount = 0;
    this._dec = new Decoder({ maxPayload: 1 << 20 });
    this.packets = []; // decoded packets the client sent
  }
  send(bytes) {
    if (this.readyState !== 1) throw new Error("send on a socket that is not open");
    this.sentRaw.push(bytes);
    this.packets.push(...this._dec.push(bytes));
  }
  close() { this.closedByClient = true; this.readyState = 3; }
  // Server side:
  accept() { this.readyState = 1; this.onopen?.({}); }
  deliver(bytes) { const b = bytes.slice(); this.onmessage?.({ data: b.buffer }); }
  packet(id, payload = new Uint8Array(0)) { this.deliver(encodePacket(id, payload)); }
  notice(obj) { this.packet(65535, new TextEncoder().encode(JSON.stringify(obj))); }
  serverClose(code = 1006) { this.readyState = 3; this.onclose?.({ code }); }
  sentIds() { return this.packets.map((p) => p.id); }
}

/** A socket factory that records every socket it makes. */
export function fakeFactory(clock) {
  const sockets = [];
  const factory = (url) => { const s = new FakeSocket(url, clock); sockets.push(s); return s; };
  return { factory, sockets, last: () => sockets[sockets.length - 1] };
}
