// Helpers for the push service tests: start build/herald, real socket.io-client users that log in
// and acknowledge pushes, and HTTP calls to the push API (form-encoded or JSON).
//
// HERALD_BIN overrides the binary (default build/herald, relative to the repository root).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { io } from "socket.io-client";
import { canConnect, killOnExit } from "./processes.mjs";
import { REPO_ROOT, freePort } from "./server.mjs";
import { scaled } from "./timing.mjs";
import { WAIT, eventually, expectQuietFor, sleep, waitForEvent, withTimeout } from "./wait.mjs";

export const NSP = "/heikuai";
/** The server's default ack wait in these tests (--ack-timeout-ms). */
export const ACK_TIMEOUT_MS = 1500;
/** Per-test limit for node:test. */
export const T = { timeout: scaled(10_000) };

const READY_TIMEOUT_MS = 10_000;
const MAX_CAPTURE = 64 * 1024;

function heraldCommand() {
  const bin = (process.env.HERALD_BIN ?? "").trim() || "build/herald";
  return bin.includes("/") && !path.isAbsolute(bin) ? path.resolve(REPO_ROOT, bin) : bin;
}

/**
 * Starts herald on a free loopback port with the test defaults (2 threads, namespace /heikuai,
 * ack timeout 1500 ms) plus `extraArgs`; resolves once it accepts TCP connections.
 * Returns { port, url, pid, args, stderr(), exited(), stop() }; stop() fails if herald died on its own.
 */
export async function startHerald(extraArgs = []) {
  const command = heraldCommand();
  if (path.isAbsolute(command) && !fs.existsSync(command)) {
    throw new Error(`herald not found: ${command}\nBuild it (cmake --build build --target herald) or set HERALD_BIN.`);
  }
  const port = await freePort();
  const args = [
    "--host", "127.0.0.1",
    "--port", String(port),
    "--threads", "2",
    "--push-namespace", NSP,
    "--ack-timeout-ms", String(ACK_TIMEOUT_MS),
    "--log-level", "warn",
    ...extraArgs.map(String),
  ];
  const child = spawn(command, args, { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  killOnExit(child);
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stdout.setEncoding("utf8");
  child.stderr.on("data", (d) => {
    if (stderr.length < MAX_CAPTURE) stderr += d;
  });
  child.stdout.on("data", (d) => {
    if (stderr.length < MAX_CAPTURE) stderr += d;
  });
  let exitInfo = null;
  let spawnError = null;
  let stopping = false;
  const exitPromise = new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
  });
  child.once("error", (err) => {
    spawnError = err;
  });
  const describe = () => `command: ${command} ${args.join(" ")}\n--- herald output ---\n${stderr || "(empty)"}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (spawnError) throw new Error(`could not start herald: ${spawnError.message}\n${describe()}`);
    if (exitInfo) throw new Error(`herald exited at start (code ${exitInfo.code})\n${describe()}`);
    if (await canConnect(port)) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`herald did not listen on 127.0.0.1:${port} in time\n${describe()}`);
    }
    await sleep(30);
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    args,
    stderr: () => stderr,
    exited: () => exitInfo,
    async stop() {
      if (exitInfo && !stopping) throw new Error(`herald died during the tests (${JSON.stringify(exitInfo)})\n${describe()}`);
      if (exitInfo) return;
      stopping = true;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exitPromise;
      clearTimeout(timer);
    },
  };
}

// ---------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------

/** x-www-form-urlencoded text of `fields` (values as given; objects must be pre-stringified). */
export function formBody(fields) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(fields)) params.append(key, String(value));
  return params.toString();
}

/**
 * Calls the API. `body` is an object sent as a form (`as: "form"`, default) or JSON (`as: "json"`),
 * or a raw string with `type` as Content-Type. Resolves with { status, headers, text, json, ms }
 * (ms: time from sending to the full response).
 */
export async function call(server, urlPath, body, { as = "form", method = "POST", type, headers = {}, timeout = 8000 } = {}) {
  const init = { method, headers: { ...headers }, signal: AbortSignal.timeout(timeout) };
  if (body !== undefined) {
    if (typeof body === "string" || Buffer.isBuffer(body)) {
      // A Buffer body gets no Content-Type from fetch (a string would get text/plain).
      init.body = Buffer.from(body);
      if (type !== null) init.headers["content-type"] = type ?? "application/x-www-form-urlencoded";
    } else if (as === "json") {
      init.body = JSON.stringify(body);
      init.headers["content-type"] = type ?? "application/json";
    } else {
      init.body = formBody(body);
      init.headers["content-type"] = type ?? "application/x-www-form-urlencoded";
    }
  }
  const started = performance.now();
  const response = await fetch(`${server.url}${urlPath}`, init);
  const text = await response.text();
  const ms = performance.now() - started;
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json, ms, received: performance.now() };
}

/** Asserts a seed-style success reply and returns its body. */
export function seedOk(res) {
  assert.equal(res.status, 200, `HTTP status (body ${res.text})`);
  assert.equal(res.json?.code, 0, `code in ${res.text}`);
  assert.equal(res.json.msg, "success", `msg in ${res.text}`);
  return res.json.body;
}

/** Asserts a seed-style error reply ({code:-1, msg} with HTTP 200) whose msg matches `pattern`. */
export function seedError(res, pattern) {
  assert.equal(res.status, 200, `HTTP status of a seed error (body ${res.text})`);
  assert.ok(res.json && typeof res.json === "object", `JSON reply expected, got ${JSON.stringify(res.text)}`);
  assert.equal(res.json.code, -1, `code in ${res.text}`);
  assert.equal(typeof res.json.msg, "string", `msg in ${res.text}`);
  assert.ok(!("body" in res.json), `no body in an error reply: ${res.text}`);
  if (pattern) assert.match(res.json.msg, pattern, `msg in ${res.text}`);
  return res.json.msg;
}

/** Asserts a JSON API error (4xx with {error}) whose text matches `pattern`. */
export function apiError(res, status, pattern) {
  assert.equal(res.status, status, `HTTP status (body ${res.text})`);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
  assert.equal(typeof res.json?.error, "string", `{error} in ${res.text}`);
  if (pattern) assert.match(res.json.error, pattern, `error in ${res.text}`);
  return res.json.error;
}

// ---------------------------------------------------------------------------
// Socket.IO users
// ---------------------------------------------------------------------------

/**
 * A socket.io-client on the push namespace that records every `message(msgId, message, ack)`.
 * ackMode: "auto" (ack at once, default), "never", or a number of ms to wait before acking.
 * Each received message is { msgId, message, at, ackedAt, ack, hasAck }.
 */
/** A connection state recovery offset as Herald writes them: "<origin>~<seq>" per origin, dot-separated. */
export const RECOVERY_OFFSET = /^[A-Za-z0-9_+-]+~\d+(\.[A-Za-z0-9_+-]+~\d+)*$/;

export class PushUser {
  constructor(server, { ackMode = "auto", auth, transports = ["websocket"], nsp = NSP, event = "message", parser } = {}) {
    this.ackMode = ackMode;
    this.received = [];
    this.waiters = [];
    this.events = []; // every event: [name, ...args]
    this.socket = io(`${server.url}${nsp}`, {
      forceNew: true,
      reconnection: false,
      autoConnect: false,
      timeout: WAIT,
      transports,
      ...(auth ? { auth } : {}),
      ...(parser ? { parser } : {}), // e.g. socket.io-msgpack-parser
    });
    this.offsets = []; // connection state recovery: the offsets broadcasts carried
    this.socket.onAny((name, ...args) => {
      args = args.filter((a) => typeof a !== "function");
      // A replayable broadcast ends with its offset ("<origin>~<seq>", dot-separated) when the
      // connection has a recovery pid; it is recorded apart so that events compare as the sender
      // sent them.
      if (this.socket._pid && RECOVERY_OFFSET.test(args.at(-1))) this.offsets.push(args.pop());
      this.events.push([name, ...args]);
    });
    this.socket.on(event, (msgId, message, ack) => {
      const item = { msgId, message, at: performance.now(), ackedAt: null, hasAck: typeof ack === "function", ack };
      if (item.hasAck) {
        item.ack = (...reply) => {
          if (item.ackedAt !== null) return;
          item.ackedAt = performance.now();
          ack(...reply);
        };
        if (this.ackMode === "auto") item.ack();
        else if (typeof this.ackMode === "number") setTimeout(() => item.ack(), this.ackMode);
      }
      this.received.push(item);
      const waiter = this.waiters.shift();
      if (waiter) waiter();
    });
  }

  async connect() {
    const connected = waitForEvent(this.socket, "connect", { failOn: ["connect_error"] });
    this.socket.connect();
    await connected;
    return this;
  }

  /** Emits login(uid) with an ack callback; resolves with the server's answer. */
  login(uid) {
    return withTimeout(
      new Promise((resolve) => this.socket.emit("login", uid, (reply) => resolve(reply))),
      WAIT,
      `the answer to login(${JSON.stringify(uid)})`,
    );
  }

  logout() {
    return withTimeout(
      new Promise((resolve) => this.socket.emit("logout", (reply) => resolve(reply))),
      WAIT,
      "the answer to logout",
    );
  }

  /** Waits until `count` messages were received in total; returns them all. */
  async waitMessages(count, timeout = WAIT) {
    const deadline = Date.now() + timeout;
    while (this.received.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out waiting for ${count} messages, got ${JSON.stringify(this.msgIds())}`);
      }
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.received;
  }

  /** The next message after those already seen (`index` = how many were seen). */
  async message(index = 0, timeout = WAIT) {
    await this.waitMessages(index + 1, timeout);
    return this.received[index];
  }

  msgIds() {
    return this.received.map((m) => m.msgId);
  }

  eventsNamed(name) {
    return this.events.filter((e) => e[0] === name).map((e) => e.slice(1));
  }

  close() {
    this.socket.disconnect();
    this.socket.io.engine?.close();
  }
}

/** Connects a user and logs it in as `uid` (asserting the {code:0} answer). */
export async function loggedIn(server, uid, options = {}) {
  const user = await new PushUser(server, options).connect();
  const reply = await user.login(uid);
  assert.equal(reply?.code, 0, `login(${uid}) answer ${JSON.stringify(reply)}`);
  return user;
}

/** Keeps the users of a test file so that they are all closed after each test. */
export class Users {
  constructor() {
    this.all = new Set();
  }

  add(user) {
    this.all.add(user);
    return user;
  }

  async login(server, uid, options) {
    return this.add(await loggedIn(server, uid, options));
  }

  async connect(server, options) {
    return this.add(await new PushUser(server, options).connect());
  }

  closeAll() {
    for (const user of this.all) user.close();
    this.all.clear();
  }
}

/** Waits until GET /api/v1/stats reports `loggedIn` users (sockets logged in). */
export function waitLoggedIn(server, count, headers = {}) {
  return eventually(async () => {
    const res = await call(server, "/api/v1/stats", undefined, { method: "GET", headers });
    return res.json?.loggedIn === count ? res.json : null;
  }, `${count} logged-in sockets`);
}

export { eventually, expectQuietFor, sleep, performance };

/** Unique ids per test run so that tests never see each other's users or rooms. */
let counter = 0;
export function uniq(prefix = "u") {
  counter += 1;
  return `${prefix}${counter}-${process.pid}`;
}
