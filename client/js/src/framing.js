// Zinx framing: every packet is an 8-byte head and a payload. The classic
// (little-endian) head is [DataLen u32][MsgID u32]; newer Zinx's big-endian
// head is [MsgID u32][DataLen u32]. A WebSocket binary message may carry
// several packets and a packet may span messages (the server writes a
// stream), so the Decoder keeps what it has of an unfinished packet.

/** The size of a packet head, in both framings. */
export const HEAD_LEN = 8;

/**
 * Encodes one packet.
 * @param {number} msgId a u32 message ID
 * @param {Uint8Array} payload
 * @param {{bigEndian?: boolean}} [opts]
 * @returns {Uint8Array} the head and a copy of the payload
 */
export function encodePacket(msgId, payload, { bigEndian = false } = {}) {
  const p = payload ?? new Uint8Array(0);
  const out = new Uint8Array(HEAD_LEN + p.length);
  const v = new DataView(out.buffer);
  if (bigEndian) {
    v.setUint32(0, msgId >>> 0, false);
    v.setUint32(4, p.length, false);
  } else {
    v.setUint32(0, p.length, true);
    v.setUint32(4, msgId >>> 0, true);
  }
  out.set(p, HEAD_LEN);
  return out;
}

/** The error a Decoder throws for a head announcing more than maxPayload. */
export class FramingError extends Error {
  constructor(message) {
    super(message);
    this.name = "FramingError";
  }
}

/**
 * Decoder turns a stream of chunks (WebSocket messages) into packets. It is
 * not safe to share between connections: it holds one stream's partial packet.
 * A packet wholly inside one chunk is returned as a view of that chunk (no
 * copy), so a caller must not modify a chunk after pushing it.
 */
export class Decoder {
  /** @param {{maxPayload?: number, bigEndian?: boolean}} [opts] */
  constructor({ maxPayload = 4096, bigEndian = false } = {}) {
    this.maxPayload = maxPayload;
    this.bigEndian = bigEndian;
    this._head = new Uint8Array(HEAD_LEN);
    this._headView = new DataView(this._head.buffer);
    this._headFill = 0;
    this._id = 0;
    this._body = null; // the payload being completed across chunks
    this._bodyFill = 0;
    this._failed = null;
  }

  /**
   * Feeds one chunk; returns the packets it completed, in order.
   * Throws a FramingError (and keeps throwing: the stream cannot be resynchronised)
   * when a head announces a payload over maxPayload, before allocating it.
   * @param {Uint8Array} chunk
   * @returns {Array<{id: number, data: Uint8Array}>}
   */
  push(chunk) {
    if (this._failed) throw this._failed;
    const out = [];
    const n = chunk.length;
    let off = 0;
    const view = n >= HEAD_LEN ? new DataView(chunk.buffer, chunk.byteOffset, n) : null;
    while (off < n) {
      if (this._body !== null) {
        const take = Math.min(this._body.length - this._bodyFill, n - off);
        this._body.set(chunk.subarray(off, off + take), this._bodyFill);
        this._bodyFill += take;
        off += take;
        if (this._bodyFill === this._body.length) {
          out.push({ id: this._id, data: this._body });
          this._body = null;
        }
        continue;
      }
      let len;
      if (this._headFill === 0 && n - off >= HEAD_LEN) {
        // The common case: a whole head in this chunk.
        len = this._parseHead(view, off);
        off += HEAD_LEN;
        if (n - off >= len) {
          out.push({ id: this._id, data: chunk.subarray(off, off + len) });
          off += len;
          continue;
        }
      } else {
        const take = Math.min(HEAD_LEN - this._headFill, n - off);
        this._head.set(chunk.subarray(off, off + take), this._headFill);
        this._headFill += take;
        off += take;
        if (this._headFill < HEAD_LEN) break;
        this._headFill = 0;
        len = this._parseHead(this._headView, 0);
      }
      if (len === 0) {
        out.push({ id: this._id, data: new Uint8Array(0) });
        continue;
      }
      this._body = new Uint8Array(len);
      this._bodyFill = 0;
    }
    return out;
  }

  _parseHead(v, at) {
    let id, len;
    if (this.bigEndian) {
      id = v.getUint32(at, false);
      len = v.getUint32(at + 4, false);
    } else {
      len = v.getUint32(at, true);
      id = v.getUint32(at + 4, true);
    }
    if (len > this.maxPayload) {
      this._failed = new FramingError(`packet ${id} announces ${len} bytes, max ${this.maxPayload}`);
      throw this._failed;
    }
    this._id = id;
    return len;
  }
}
