// Small promise helpers with timeouts, so that a missing reply fails a test
// quickly with a readable message instead of hanging it.

import { scaled } from "./timing.mjs";

/** Per-test timeout (ms) for node:test; every wait below is shorter. */
export const TEST_TIMEOUT = scaled(5000);
/** Default time to wait for one expected event or message (ms); a slower build waits longer. */
export const WAIT = scaled(3000);

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `probe` (sync or async) until it returns a truthy value; returns it. The wait for something
 * that must happen: it ends as soon as it did, and fails with "timed out after … waiting for
 * <what>" after `timeout` ms.
 */
export async function eventually(probe, what, timeout = WAIT) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(25);
  }
}

/**
 * The wait for something that must NOT happen (a duplicate, a redelivery, a kick): there is no
 * event to wait for, so it gives the thing `ms` to happen before the test asserts it did not.
 * `what` names it, for the reader. Not scaled (lib/timing.mjs): it bounds nothing the server must do.
 */
export function expectQuietFor(ms, what) {
  return sleep(ms);
}

/** Rejects with `Error("timed out after … waiting for <what>")` unless `promise` settles first. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function on(emitter, event, fn) {
  if (typeof emitter.on === "function") emitter.on(event, fn);
  else emitter.addEventListener(event, fn);
}

function off(emitter, event, fn) {
  if (typeof emitter.off === "function") emitter.off(event, fn);
  else if (typeof emitter.removeListener === "function") emitter.removeListener(event, fn);
  else emitter.removeEventListener(event, fn);
}

/**
 * Resolves with the argument list of the next `event` on `emitter`
 * (a Node EventEmitter or a socket.io-client Emitter).
 * Rejects after `timeout` ms, or as soon as one of `failOn` events fires.
 */
export function waitForEvent(emitter, event, { timeout = WAIT, failOn = [] } = {}) {
  return new Promise((resolve, reject) => {
    const listeners = [];
    const cleanup = () => {
      clearTimeout(timer);
      for (const [name, fn] of listeners) off(emitter, name, fn);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeout} ms waiting for "${event}"`));
    }, timeout);
    const onEvent = (...args) => {
      cleanup();
      resolve(args);
    };
    listeners.push([event, onEvent]);
    on(emitter, event, onEvent);
    for (const name of failOn) {
      const fn = (...args) => {
        cleanup();
        const detail = args.map((a) => (a instanceof Error ? a.message : JSON.stringify(a))).join(", ");
        reject(new Error(`got "${name}" (${detail}) while waiting for "${event}"`));
      };
      listeners.push([name, fn]);
      on(emitter, name, fn);
    }
  });
}

/**
 * Records every occurrence of `event` from the moment it is created.
 * `next()` returns the next recorded argument list (waiting if needed),
 * `items` holds everything received and not yet taken.
 */
export class EventQueue {
  constructor(emitter, event) {
    this.emitter = emitter;
    this.event = event;
    this.items = [];
    this.waiters = [];
    this.listener = (...args) => {
      const waiter = this.waiters.shift();
      if (waiter) waiter(args);
      else this.items.push(args);
    };
    on(emitter, event, this.listener);
  }

  next(timeout = WAIT) {
    if (this.items.length > 0) return Promise.resolve(this.items.shift());
    let resolver;
    const p = new Promise((resolve) => {
      resolver = resolve;
      this.waiters.push(resolve);
    });
    return withTimeout(p, timeout, `"${this.event}"`).catch((err) => {
      const i = this.waiters.indexOf(resolver);
      if (i !== -1) this.waiters.splice(i, 1);
      throw err;
    });
  }

  /** Waits `ms` and returns whatever arrived in the meantime (without taking it). */
  async settle(ms) {
    await sleep(ms);
    return this.items;
  }

  stop() {
    off(this.emitter, this.event, this.listener);
  }
}
