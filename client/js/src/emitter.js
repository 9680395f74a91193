// A minimal event emitter (the DOM's EventTarget is not in every runtime the
// client targets, and its events would wrap every payload).

/**
 * Emitter: on(type, fn), off(type, fn), emit(type, value). A listener that
 * throws does not stop the others or the caller: its error is emitted as
 * "error" (or, from an "error" listener, reported asynchronously).
 */
export class Emitter {
  constructor() {
    this._listeners = new Map();
  }

  /** Adds fn for type; returns this. */
  on(type, fn) {
    if (typeof fn !== "function") throw new TypeError("listener must be a function");
    let set = this._listeners.get(type);
    if (!set) this._listeners.set(type, (set = new Set()));
    set.add(fn);
    return this;
  }

  /** Removes fn for type; returns this. */
  off(type, fn) {
    this._listeners.get(type)?.delete(fn);
    return this;
  }

  /** Calls type's listeners with value, in the order they were added. */
  emit(type, value) {
    const set = this._listeners.get(type);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(value);
      } catch (err) {
        if (type === "error") queueMicrotask(() => { throw err; });
        else this.emit("error", err);
      }
    }
  }
}
