// Raw Engine.IO v4 / Socket.IO v5 helpers: a WebSocket wrapper with a message
// queue (built on `ws`) and HTTP long-polling helpers (built on global fetch).

import WebSocket from "ws";
import { WAIT, sleep, withTimeout } from "./wait.mjs";

export const SEPARATOR = "\x1e";

// ---------------------------------------------------------------------------
// WebSocket
// ---------------------------------------------------------------------------

/**
 * A WebSocket whose incoming messages are queued: text frames as strings,
 * binary frames as Buffers. With `autoPong` (default) every Engine.IO ping
 * ("2") is answered with a pong ("3") and not queued, so long tests do not
 * hit the server's ping timeout.
 */
export class RawWebSocket {
  constructor(ws, { autoPong }) {
    this.ws = ws;
    this.autoPong = autoPong;
    this.queue = [];
    this.waiters = [];
    this.pings = 0;
    this.closeInfo = null;
    this.closeWaiters = [];
    ws.on("message", (data, isBinary) => {
      const message = isBinary ? Buffer.from(data) : data.toString("utf8");
      if (this.autoPong && message === "2") {
        this.pings++;
        if (ws.readyState === WebSocket.OPEN) ws.send("3");
        return;
      }
      const waiter = this.waiters.shift();
      if (waiter) waiter.resolve(message);
      else this.queue.push(message);
    });
    ws.on("close", (code, reason) => {
      this.closeInfo = { code, reason: reason.toString() };
      for (const w of this.closeWaiters) w(this.closeInfo);
      this.closeWaiters = [];
      for (const w of this.waiters) w.reject(new Error(`websocket closed (code ${code}) while waiting for a message`));
      this.waiters = [];
    });
    ws.on("error", () => {
      // reported through "close"
    });
  }

  /**
   * Opens a WebSocket; rejects if the server refuses the upgrade (e.g. HTTP
   * 400), closes the connection or does not answer within `timeout` ms.
   */
  static open(url, { autoPong = true, timeout = WAIT } = {}) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      let settled = false;
      const fail = (err) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ws.removeAllListeners();
        ws.on("error", () => {});
        ws.terminate();
        reject(err);
      };
      const timer = setTimeout(() => fail(new Error(`websocket to ${url} not open after ${timeout} ms`)), timeout);
      // Install the queue before "open" so that a message sent right after the
      // handshake (the Engine.IO open packet) is never missed.
      const raw = new RawWebSocket(ws, { autoPong });
      ws.once("open", () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(raw);
      });
      ws.once("error", (err) => fail(err));
      ws.once("close", (code) => fail(new Error(`websocket to ${url} closed before opening (code ${code})`)));
    });
  }

  get isOpen() {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(data) {
    this.ws.send(data);
  }

  /** Next queued message (string or Buffer). */
  next(timeout = WAIT) {
    if (this.queue.length > 0) return Promise.resolve(this.queue.shift());
    if (this.closeInfo) {
      return Promise.reject(new Error(`websocket already closed (code ${this.closeInfo.code}), no message queued`));
    }
    let waiter;
    const p = new Promise((resolve, reject) => {
      waiter = { resolve, reject };
      this.waiters.push(waiter);
    });
    return withTimeout(p, timeout, "a websocket message").catch((err) => {
      const i = this.waiters.indexOf(waiter);
      if (i !== -1) this.waiters.splice(i, 1);
      throw err;
    });
  }

  /** Next `count` messages. */
  async nextN(count, timeout = WAIT) {
    const out = [];
    for (let i = 0; i < count; i++) out.push(await this.next(timeout));
    return out;
  }

  /** Resolves with { code, reason } once the connection is closed. */
  closed(timeout = WAIT) {
    if (this.closeInfo) return Promise.resolve(this.closeInfo);
    return withTimeout(
      new Promise((resolve) => this.closeWaiters.push(resolve)),
      timeout,
      "the server to close the websocket",
    );
  }

  /** Waits `ms`; returns the messages that arrived meanwhile (without taking them). */
  async settle(ms) {
    await sleep(ms);
    return this.queue;
  }

  terminate() {
    this.ws.terminate();
  }
}

/**
 * Asserts that a WebSocket to `url` does not become an Engine.IO session:
 * either the upgrade is refused (e.g. HTTP 400), or the connection is closed
 * without an open packet ("0{…}") ever being sent.
 */
export async function expectWebSocketRefused(url, { timeout = WAIT } = {}) {
  let ws;
  try {
    ws = await RawWebSocket.open(url, { timeout });
  } catch {
    return "refused";
  }
  try {
    await ws.closed(timeout);
  } finally {
    ws.terminate();
  }
  const opens = ws.queue.filter((m) => typeof m === "string" && m.startsWith("0"));
  if (opens.length > 0) {
    throw new Error(`the server opened an Engine.IO session on ${url}: ${opens[0]}`);
  }
  return "closed";
}

/** Query string for Engine.IO requests. */
export function eioQuery({ transport = "polling", sid, eio = "4", extra = "" } = {}) {
  let q = "";
  if (eio !== null) q += `EIO=${eio}`;
  if (transport !== null) q += `${q ? "&" : ""}transport=${transport}`;
  if (sid) q += `&sid=${encodeURIComponent(sid)}`;
  if (extra) q += `&${extra}`;
  return q;
}

/**
 * Opens an Engine.IO WebSocket session on `path` and reads the open packet.
 * Returns { ws, handshake } where handshake is the parsed JSON of "0{…}".
 */
export async function openEngineWebSocket(wsUrl, path, { autoPong = true } = {}) {
  const ws = await RawWebSocket.open(`${wsUrl}${path}?${eioQuery({ transport: "websocket" })}`, { autoPong });
  const open = await ws.next();
  if (typeof open !== "string" || open[0] !== "0") {
    ws.terminate();
    throw new Error(`expected an Engine.IO open packet, got ${JSON.stringify(String(open))}`);
  }
  return { ws, handshake: JSON.parse(open.slice(1)) };
}

// ---------------------------------------------------------------------------
// HTTP long-polling
// ---------------------------------------------------------------------------

/**
 * Performs an HTTP request; resolves with { status, headers, text } or, if
 * the connection fails (reset, closed without answer), with
 * { status: null, error }. Aborts after `timeout` ms (then it rejects).
 */
export async function request(url, { method = "GET", body, headers = {}, timeout = WAIT } = {}) {
  let response;
  try {
    response = await fetch(url, { method, body, headers, signal: AbortSignal.timeout(timeout) });
  } catch (error) {
    if (error?.name === "TimeoutError" || error?.name === "AbortError") {
      throw new Error(`timed out after ${timeout} ms waiting for the response to ${method} ${url}`);
    }
    return { status: null, headers: new Headers(), text: null, error };
  }
  let text;
  try {
    text = await response.text();
  } catch (error) {
    if (error?.name === "TimeoutError" || error?.name === "AbortError") {
      throw new Error(`timed out after ${timeout} ms reading the body of ${method} ${url}`);
    }
    return { status: response.status, headers: response.headers, text: null, error };
  }
  return { status: response.status, headers: response.headers, text };
}

export function decodePayload(text) {
  return text.split(SEPARATOR);
}

export function encodePayload(packets) {
  return packets.join(SEPARATOR);
}

/** A polling client for one Engine.IO session on `path` ("/engine.io/" or "/socket.io/"). */
export class PollingSession {
  constructor(baseUrl, path, sid, handshake) {
    this.baseUrl = baseUrl;
    this.path = path;
    this.sid = sid;
    this.handshake = handshake;
  }

  url(extra = "") {
    return `${this.baseUrl}${this.path}?${eioQuery({ sid: this.sid, extra })}`;
  }

  static async open(baseUrl, path, { headers } = {}) {
    const res = await request(`${baseUrl}${path}?${eioQuery()}`, { headers });
    if (res.status !== 200) {
      throw new Error(`polling handshake on ${path} failed: status ${res.status} ${res.error?.message ?? ""}`);
    }
    const packets = decodePayload(res.text);
    if (packets[0][0] !== "0") throw new Error(`expected an open packet, got ${JSON.stringify(res.text)}`);
    const handshake = JSON.parse(packets[0].slice(1));
    const session = new PollingSession(baseUrl, path, handshake.sid, handshake);
    session.handshakeResponse = res;
    return session;
  }

  /** GET: { status, text, packets } (packets is null unless status is 200). */
  async get({ timeout = WAIT, extra = "" } = {}) {
    const res = await request(this.url(extra), { timeout });
    return { ...res, packets: res.status === 200 ? decodePayload(res.text) : null };
  }

  /** POST `body` (a string, or an array of packets joined with the separator). */
  post(body, { timeout = WAIT } = {}) {
    const payload = Array.isArray(body) ? encodePayload(body) : body;
    return request(this.url(), { method: "POST", body: payload, timeout });
  }

  /**
   * GETs until `count` packets other than server pings ("2") were received,
   * answering pings with "3" on the way. Returns the packets.
   */
  async receive(count, { timeout = WAIT } = {}) {
    const deadline = Date.now() + timeout;
    const packets = [];
    while (packets.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${count} packets, got ${JSON.stringify(packets)}`);
      const res = await this.get({ timeout: left });
      if (res.status !== 200) {
        throw new Error(`GET on the session answered ${res.status} ${res.error?.message ?? ""}; got so far ${JSON.stringify(packets)}`);
      }
      let pinged = false;
      for (const p of res.packets) {
        if (p === "2") pinged = true;
        else packets.push(p);
      }
      if (pinged) {
        const pong = await this.post("3");
        if (pong.status !== 200) throw new Error(`pong POST answered ${pong.status}`);
      }
    }
    return packets;
  }
}

// ---------------------------------------------------------------------------
// Socket.IO over a raw WebSocket
// ---------------------------------------------------------------------------

/**
 * Opens an Engine.IO WebSocket session on /socket.io/, sends a CONNECT for
 * `nsp` (with `auth` if given) and reads the CONNECT reply and the "auth"
 * event. Returns { ws, eioSid, sid, connectPacket, authPacket }.
 */
export async function openSocketIo(wsUrl, { nsp = "/", auth, autoPong = true } = {}) {
  const { ws, handshake } = await openEngineWebSocket(wsUrl, "/socket.io/", { autoPong });
  const prefix = nsp === "/" ? "" : `${nsp},`;
  ws.send(`40${prefix}${auth === undefined ? "" : JSON.stringify(auth)}`);
  const connectPacket = await ws.next();
  const head = `40${prefix}`;
  if (typeof connectPacket !== "string" || !connectPacket.startsWith(head)) {
    ws.terminate();
    throw new Error(`expected a CONNECT reply "${head}{…}", got ${JSON.stringify(String(connectPacket))}`);
  }
  const { sid } = JSON.parse(connectPacket.slice(head.length));
  const authPacket = await ws.next();
  return { ws, eioSid: handshake.sid, sid, connectPacket, authPacket };
}
