// Connection is the network core: one WebSocket at a time from an injected
// factory, Zinx framing, the framework's keep-alive (client pings with RTT,
// echoes of the server's pings), its notices, and reconnection with backoff.
// It uses no DOM, so it runs in a page, a worker or Node (with `ws`).
import { Decoder, encodePacket } from "./framing.js";
import { backoffDelay } from "./backoff.js";
import { Emitter } from "./emitter.js";

/** The framework's message IDs (zconf.Default). */
export const DEFAULT_IDS = Object.freeze({ ping: 65534, notice: 65535, serverPing: 65533 });

/** Reconnection defaults: 15 attempts, 100 ms..5 s, jitter 0.5. */
export const DEFAULT_BACKOFF = Object.freeze({ attempts: 15, minMs: 100, maxMs: 5000, jitter: 0.5 });

const OPEN = 1; // WebSocket.OPEN
// A socket whose unsent bytes pass this is a dead or hopelessly slow link: it
// is dropped rather than letting the browser buffer without bound.
const MAX_BUFFERED = 1 << 20;

const defaultTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (t) => clearTimeout(t),
  now: () => (typeof performance !== "undefined" ? performance.now() : Date.now()),
};

/**
 * Connection events: "open" (a socket is open), "packet" ({id, data}: every
 * packet that is not keep-alive or a notice), "notice" ({code, reason,
 * retry_after_ms}), "rtt" (ms), "state" ({state, error}: "connecting",
 * "connected", "reconnecting", "closed"), "down" ({error}: the open socket
 * was lost), "error" (Error).
 *
 * A Connection runs on its event loop: all methods are to be called from it
 * (JavaScript's one thread), and events are emitted from socket and timer
 * callbacks, never re-entrantly from a method except close().
 */
export class Connection extends Emitter {
  /**
   * @param {object} o
   * @param {string} o.url
   * @param {(url: string) => any} o.socketFactory returns a WebSocket-like object
   * @param {number} [o.keepAliveMs] ping interval; 0 or less turns pings off
   * @param {number} [o.deadAfterMs] drop a socket silent this long (default 5 pings; 0: never)
   * @param {number} [o.dialTimeoutMs] give up on a socket not open after this long
   * @param {{attempts?: number, minMs?: number, maxMs?: number, jitter?: number}} [o.backoff]
   * @param {number} [o.maxPayload] the largest payload read or sent
   * @param {boolean} [o.bigEndian]
   * @param {{ping?: number, notice?: number, serverPing?: number}} [o.ids]
   * @param {{setTimeout: Function, clearTimeout: Function, now: () => number}} [o.timers] for tests
   * @param {() => number} [o.random] for tests
   */
  constructor(o) {
    super();
    if (!o || typeof o.url !== "string" || typeof o.socketFactory !== "function") {
      throw new TypeError("Connection needs url and socketFactory");
    }
    this.url = o.url;
    this._factory = o.socketFactory;
    this.keepAliveMs = o.keepAliveMs ?? 2000;
    this.deadAfterMs = o.deadAfterMs ?? (this.keepAliveMs > 0 ? 5 * this.keepAliveMs : 0);
    this.dialTimeoutMs = o.dialTimeoutMs ?? 5000;
    this.backoff = { ...DEFAULT_BACKOFF, ...(o.backoff ?? {}) };
    this.maxPayload = o.maxPayload ?? 4096;
    this.bigEndian = !!o.bigEndian;
    this.ids = { ...DEFAULT_IDS, ...(o.ids ?? {}) };
    this._t = o.timers ?? defaultTimers;
    this._random = o.random ?? Math.random;

    /** @type {"idle"|"connecting"|"connected"|"reconnecting"|"closed"} */
    this.state = "idle";
    /** The last measured round trip, ms (0 before the first pong). */
    this.rtt = 0;
    /** Reconnection attempts since the last socket the server spoke on. */
    this.attempt = 0;
    this._sock = null;
    this._opened = false;
    this._gen = 0; // tags socket callbacks, so a replaced socket's are ignored
    this._everOpen = false;
    this._retryAfterMs = 0; // from a shutdown notice, for the next dial
    this._noReconnect = null; // the reason reconnection is off (a kick, a ban)
    this._closing = false; // close() was called
    this._timer = null; // dial, dial timeout or reconnect delay
    this._pingTimer = null;
    this._lastRecv = 0;
  }

  /** Starts dialing (once); later calls do nothing. */
  start() {
    if (this.state !== "idle") return;
    this._setState("connecting");
    this._dial();
  }

  /** Whether a socket is open. */
  get open() {
    return this._sock !== null && this._sock.readyState === OPEN && this._opened;
  }

  /**
   * Sends one packet; returns false (and sends nothing) when no socket is open.
   * Throws a RangeError for a payload over maxPayload, which the server would refuse.
   * @param {number} id
   * @param {Uint8Array} payload
   */
  send(id, payload) {
    if (payload.length > this.maxPayload) {
      throw new RangeError(`payload of ${payload.length} bytes for message ${id}, max ${this.maxPayload}`);
    }
    if (!this.open) return false;
    const s = this._sock;
    if ((s.bufferedAmount ?? 0) > MAX_BUFFERED) {
      this._lose(new Error(`over ${MAX_BUFFERED} bytes unsent: link dropped`));
      return false;
    }
    s.send(encodePacket(id, payload, { bigEndian: this.bigEndian }));
    return true;
  }

  /** Closes the socket as a network fault would; the connection then reconnects by itself. */
  drop() {
    if (this._sock) this._lose(new Error("dropped"));
  }

  /** Closes for good: no reconnection. */
  close() {
    if (this.state === "closed") return;
    this._closing = true;
    this._finish(null);
  }

  _setState(state, error = null) {
    this.state = state;
    this.emit("state", { state, error });
  }

  _dial() {
    this._timer = null;
    const gen = ++this._gen;
    let s;
    try {
      s = this._factory(this.url);
    } catch (err) {
      this._failed(gen, err);
      return;
    }
    this._sock = s;
    this._opened = false;
    this._decoder = new Decoder({ maxPayload: this.maxPayload, bigEndian: this.bigEndian });
    s.binaryType = "arraybuffer";
    s.onopen = () => gen === this._gen && this._onOpen();
    s.onmessage = (ev) => gen === this._gen && this._onMessage(ev.data);
    s.onerror = () => {}; // onclose follows; the error carries nothing more a browser shows
    s.onclose = (ev) => gen === this._gen && this._onClose(ev);
    if (this.dialTimeoutMs > 0) {
      this._timer = this._t.setTimeout(() => {
        if (gen === this._gen && !this._opened) this._failed(gen, new Error(`no connection within ${this.dialTimeoutMs} ms`));
      }, this.dialTimeoutMs);
    }
  }

  _onOpen() {
    this._clearTimer();
    this._opened = true;
    this._everOpen = true;
    this._lastRecv = this._t.now();
    this._setState("connected");
    this.emit("open");
    if (this.keepAliveMs > 0) this._schedulePing();
  }

  _schedulePing() {
    this._pingTimer = this._t.setTimeout(() => {
      this._pingTimer = null;
      if (!this.open) return;
      const now = this._t.now();
      if (this.deadAfterMs > 0 && now - this._lastRecv > this.deadAfterMs) {
        this._lose(new Error(`nothing received for ${Math.round(now - this._lastRecv)} ms`));
        return;
      }
      const p = new Uint8Array(8);
      new DataView(p.buffer).setFloat64(0, now, true); // echoed unchanged: any 8 bytes of ours
      this.send(this.ids.ping, p);
      this._schedulePing();
    }, this.keepAliveMs);
  }

  _onMessage(data) {
    let chunk;
    if (data instanceof ArrayBuffer) chunk = new Uint8Array(data);
    else if (ArrayBuffer.isView(data)) chunk = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else {
      this._lose(new Error("text message on a binary protocol"));
      return;
    }
    let packets;
    try {
      packets = this._decoder.push(chunk);
    } catch (err) {
      this._lose(err);
      return;
    }
    this._lastRecv = this._t.now();
    const gen = this._gen;
    for (const p of packets) {
      if (gen !== this._gen) return; // a handler replaced or closed the socket
      this._dispatch(p);
    }
  }

  _dispatch(p) {
    const ids = this.ids;
    if (p.id === ids.ping) {
      if (p.data.length === 8) {
        const sent = new DataView(p.data.buffer, p.data.byteOffset, 8).getFloat64(0, true);
        const rtt = this._t.now() - sent;
        if (rtt >= 0 && rtt < 3600e3) {
          this.rtt = rtt;
          this.emit("rtt", rtt);
        }
      }
      return;
    }
    if (p.id === ids.serverPing) {
      this.send(ids.serverPing, p.data);
      return;
    }
    if (p.id === ids.notice) {
      this._onNotice(p.data);
      return;
    }
    // The server answered something: this link works, so backoff starts over.
    this.attempt = 0;
    this.emit("packet", p);
  }

  _onNotice(data) {
    let n;
    try {
      n = JSON.parse(new TextDecoder().decode(data));
    } catch (err) {
      this.emit("error", new Error(`bad notice: ${err.message}`));
      return;
    }
    if (n === null || typeof n !== "object") return;
    const notice = { code: String(n.code ?? ""), reason: String(n.reason ?? ""), retry_after_ms: Number(n.retry_after_ms) || 0 };
    if (notice.code === "shutdown") this._retryAfterMs = Math.max(0, notice.retry_after_ms);
    // After a kick or a ban the server would only refuse this client again
    // (and a ban says so with every dial): reconnection is off.
    if (notice.code === "kicked" || notice.code === "banned") {
      this._noReconnect = Object.assign(new Error(`${notice.code}: ${notice.reason}`), { notice });
    }
    this.emit("notice", notice);
  }

  _onClose(ev) {
    const why = this._opened ? `connection closed (${ev?.code ?? "?"})` : "connection failed";
    this._lose(new Error(why));
  }

  // _failed is a dial that never opened.
  _failed(gen, err) {
    if (gen !== this._gen) return;
    this._lose(err);
  }

  // _lose drops the current socket and reconnects, unless reconnection is off.
  _lose(err) {
    const wasOpen = this._opened;
    this._detach();
    if (wasOpen) this.emit("down", { error: err });
    if (this._closing || this.state === "closed") {
      this._finish(null);
      return;
    }
    if (this._noReconnect) {
      this._finish(this._noReconnect);
      return;
    }
    if (this.attempt >= this.backoff.attempts) {
      this._finish(new Error(`gave up after ${this.attempt} attempts: ${err.message}`));
      return;
    }
    const delay = Math.max(backoffDelay(this.attempt, this.backoff, this._random), this._retryAfterMs);
    this._retryAfterMs = 0;
    this.attempt++;
    this._setState(this._everOpen ? "reconnecting" : "connecting", err);
    this._timer = this._t.setTimeout(() => this._dial(), delay);
  }

  _detach() {
    this._clearTimer();
    if (this._pingTimer !== null) {
      this._t.clearTimeout(this._pingTimer);
      this._pingTimer = null;
    }
    const s = this._sock;
    this._gen++;
    this._sock = null;
    this._opened = false;
    if (s) {
      s.onopen = s.onmessage = s.onclose = null;
      // Not null: closing a socket still connecting makes `ws` emit an error,
      // which with no listener at all is thrown as an uncaught exception.
      s.onerror = () => {};
      try {
        s.close();
      } catch {
        // closing a socket that never opened may throw; it is gone either way
      }
    }
  }

  _finish(error) {
    this._detach();
    if (this.state !== "closed") this._setState("closed", error);
  }

  _clearTimer() {
    if (this._timer !== null) {
      this._t.clearTimeout(this._timer);
      this._timer = null;
    }
  }
}
