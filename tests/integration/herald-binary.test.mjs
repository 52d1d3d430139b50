// The `herald` server binary (build/herald, or HERALD_BIN): its settings (--help, TOML file,
// HERALD_* environment, flags, precedence, refused values), its startup log, the real
// socket.io-client over every transport on a 2-thread herald, heartbeats of many polling clients
// across threads, graceful shutdown on SIGTERM / SIGINT, and a half-open WebSocket.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { io } from "socket.io-client";
import { canConnect } from "./lib/processes.mjs";
import { openEngineWebSocket, request } from "./lib/raw.mjs";
import { REPO_ROOT, freePort } from "./lib/server.mjs";
import { scaled } from "./lib/timing.mjs";
import { WAIT, eventually, expectQuietFor, sleep, waitForEvent, withTimeout } from "./lib/wait.mjs";

const HERALD = (() => {
  const bin = (process.env.HERALD_BIN ?? "").trim() || "build/herald";
  return path.isAbsolute(bin) ? bin : path.resolve(REPO_ROOT, bin);
})();
const PATH = "/socket.io/";
const READY_TIMEOUT_MS = 5000;
const T = { timeout: 8000 };

// ---------------------------------------------------------------------------
// Process helpers
// ---------------------------------------------------------------------------

const children = new Set();
process.on("exit", () => {
  for (const child of children) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
});

let tmpDir;
before(() => {
  assert.ok(fs.existsSync(HERALD), `herald binary not found at ${HERALD}; build it (cmake --build build) or set HERALD_BIN`);
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "herald-binary-test-"));
});

after(async () => {
  for (const child of children) child.kill("SIGKILL");
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
});

/** The environment of the test runner without any HERALD_* variable, plus `extra`. */
function environment(extra = {}) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("HERALD_")) env[key] = value;
  return { ...env, ...extra };
}

let tomlCount = 0;
function writeToml(text) {
  const file = path.join(tmpDir, `settings-${++tomlCount}.toml`);
  fs.writeFileSync(file, text);
  return file;
}

/** Spawns herald with exactly `args`; captures its output. */
function spawnHerald(args, { env = {} } = {}) {
  const child = spawn(HERALD, args.map(String), {
    cwd: tmpDir,
    env: environment(env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  const h = { child, args, stdout: "", stderr: "", exit: null, spawnError: null };
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (d) => (h.stdout += d));
  child.stderr.on("data", (d) => (h.stderr += d));
  h.exited = new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      h.exit = { code, signal };
      children.delete(child);
      resolve(h.exit);
    });
    // A spawn failure emits no "exit": settle here so that nothing waits for it forever.
    child.once("error", (err) => {
      h.spawnError = err;
      if (!h.exit) h.exit = { code: null, signal: null, error: err.message };
      children.delete(child);
      resolve(h.exit);
    });
  });
  h.describe = () =>
    `herald ${args.join(" ")}\n--- stderr ---\n${h.stderr || "(empty)"}\n--- stdout ---\n${h.stdout || "(empty)"}`;
  h.kill = async () => {
    if (!h.exit) child.kill("SIGKILL");
    await withTimeout(h.exited, 3000, "herald to die after SIGKILL");
  };
  return h;
}

/**
 * Runs herald expecting it to exit by itself within `timeout` ms. Resolves with
 * { code, signal, stdout, stderr, running } (running: it had to be killed).
 */
async function runToExit(args, { env, timeout = 3000 } = {}) {
  const h = spawnHerald(args, { env });
  // A herald that logs "listening on" has started: no need to wait for the timeout.
  const deadline = Date.now() + timeout;
  const started = new Promise((resolve) => {
    const check = () => {
      if (/listening on/.test(h.stderr) || Date.now() > deadline) resolve(null);
      else if (!h.exit) setTimeout(check, 20).unref();
    };
    check();
  });
  const exit = await Promise.race([h.exited, started]);
  if (h.spawnError) throw new Error(`could not run herald: ${h.spawnError.message}\n${h.describe()}`);
  if (!exit) await sleep(50); // the rest of its startup log
  if (!exit) {
    await h.kill();
    return { code: null, signal: null, stdout: h.stdout, stderr: h.stderr, running: true };
  }
  return { ...exit, stdout: h.stdout, stderr: h.stderr, running: false };
}

/** True if 127.0.0.1:port can be bound (nobody listens on it). */
function portIsFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** Starts herald and resolves once 127.0.0.1:`port` accepts TCP connections. */
async function startHerald(args, { env, port } = {}) {
  const h = spawnHerald(args, { env });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (h.spawnError) throw new Error(`could not start herald: ${h.spawnError.message}\n${h.describe()}`);
    if (h.exit) throw new Error(`herald exited early (code ${h.exit.code}, signal ${h.exit.signal})\n${h.describe()}`);
    if (await canConnect(port)) break;
    if (Date.now() > deadline) {
      await h.kill();
      throw new Error(`herald did not listen on 127.0.0.1:${port} within ${READY_TIMEOUT_MS} ms\n${h.describe()}`);
    }
    await sleep(25);
  }
  h.port = port;
  h.url = `http://127.0.0.1:${port}`;
  h.wsUrl = `ws://127.0.0.1:${port}`;
  return h;
}

/** Three distinct free ports. */
async function freePorts(n) {
  const ports = new Set();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/** An Engine.IO polling handshake on `port`; resolves with the parsed open packet. */
async function handshake(port, headers = {}) {
  const response = await request(`http://127.0.0.1:${port}${PATH}?EIO=4&transport=polling`, { headers });
  assert.equal(response.status, 200, `handshake on port ${port}: ${response.status} ${response.text}`);
  assert.match(response.text, /^0\{/, "an Engine.IO open packet");
  return { open: JSON.parse(response.text.slice(1)), headers: response.headers };
}

/** The event loop a session lives on, read from its Engine.IO session id (byte 4). */
function loopOfSid(sid) {
  const bytes = Buffer.from(sid, "base64url");
  assert.equal(bytes.length, 15, `sid ${sid} holds 15 bytes`);
  return bytes[4];
}

// ---------------------------------------------------------------------------
// socket.io-client helpers
// ---------------------------------------------------------------------------

const sockets = new Set();
afterEach(() => {
  for (const socket of sockets) {
    socket.io.reconnection(false);
    socket.disconnect();
    socket.io.engine?.close();
  }
  sockets.clear();
});

const TRANSPORTS = {
  websocket: ["websocket"],
  polling: ["polling"],
  upgrade: ["polling", "websocket"],
};

function client(url, mode, { nsp = "/", ...options } = {}) {
  const socket = io(`${url}${nsp}`, {
    forceNew: true,
    reconnection: false,
    timeout: WAIT,
    transports: TRANSPORTS[mode],
    ...options,
  });
  sockets.add(socket);
  return socket;
}

async function connected(socket) {
  if (!socket.connected) await waitForEvent(socket, "connect", { failOn: ["connect_error"] });
  assert.equal(socket.connected, true);
  return socket;
}

// ---------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------

describe("--version", () => {
  it("prints the version and the build, and exits 0", T, async () => {
    const result = await runToExit(["--version"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout.trim(), /^herald \d+\.\d+\.\d+ \(build \S+, \w+\)$/);
  });
});

describe("--help", () => {
  it("exits 0 and documents every setting with its flag and environment variable", T, async () => {
    const result = await runToExit(["--help"]);
    assert.equal(result.running, false, "herald --help kept running");
    assert.equal(result.code, 0, `exit code of --help\n${result.stderr}`);
    const help = result.stdout + result.stderr;
    for (const flag of ["--config", "--port", "--host", "--threads", "--ping-interval-ms", "--ping-timeout-ms", "--log-level"]) {
      assert.match(help, new RegExp(`(^|\\s)${flag}\\b`), `--help mentions ${flag}`);
    }
    for (const env of ["HERALD_PORT", "HERALD_HOST", "HERALD_THREADS", "HERALD_PING_INTERVAL_MS", "HERALD_LOG_LEVEL"]) {
      assert.ok(help.includes(env), `--help mentions ${env}`);
    }
    // Every setting flag names its environment variable: --ping-interval-ms -> HERALD_PING_INTERVAL_MS.
    const flags = [...help.matchAll(/^\s*(?:-\w,)?--([a-z][a-z0-9-]*)/gm)].map((m) => m[1]);
    const settings = flags.filter((f) => !["help", "config", "version", "print-config"].includes(f));
    assert.ok(settings.length >= 6, `settings found in --help: ${settings.join(", ")}`);
    // A setting's entry runs from its flag to the next flag (a long flag wraps its description).
    const entries = new Map();
    let current = null;
    for (const line of help.split("\n")) {
      const m = line.match(/^\s*(?:-\w,)?--([a-z][a-z0-9-]*)/);
      if (m) current = m[1];
      if (current) entries.set(current, `${entries.get(current) ?? ""}${line}\n`);
    }
    for (const flag of settings) {
      const env = `HERALD_${flag.toUpperCase().replaceAll("-", "_")}`;
      const entry = entries.get(flag);
      assert.ok(entry.includes(env), `--${flag} documents ${env}: ${entry.trim()}`);
    }
  });
});

describe("settings precedence: defaults < file < env < flags", () => {
  let ports;
  before(async () => {
    ports = await freePorts(3);
  });

  // Starts herald, checks it answers a handshake on `expect.port` and nothing else, and returns
  // the open packet there.
  async function expectListening({ args = [], env = {}, expect }) {
    const h = await startHerald(["--host", "127.0.0.1", "--threads", "1", ...args], { env, port: expect.port });
    try {
      const { open } = await handshake(expect.port);
      for (const other of ports.filter((p) => p !== expect.port)) {
        assert.equal(await canConnect(other), false, `herald must not listen on ${other} (expected ${expect.port})`);
      }
      if (expect.pingInterval !== undefined) assert.equal(open.pingInterval, expect.pingInterval, "pingInterval");
      return open;
    } finally {
      await h.kill();
    }
  }

  it("the TOML file alone sets the port and ping interval", T, async () => {
    const [a] = ports;
    const file = writeToml(`port = ${a}\nping_interval_ms = 1111\ncors_origins = ["*"]\n`);
    await expectListening({ args: ["--config", file], expect: { port: a, pingInterval: 1111 } });
  });

  it("the environment overrides the file", T, async () => {
    const [a, b] = ports;
    const file = writeToml(`port = ${a}\nping_interval_ms = 1111\n`);
    await expectListening({
      args: ["--config", file],
      env: { HERALD_PORT: String(b), HERALD_PING_INTERVAL_MS: "2222" },
      expect: { port: b, pingInterval: 2222 },
    });
  });

  it("flags override the environment and the file", T, async () => {
    const [a, b, c] = ports;
    const file = writeToml(`port = ${a}\nping_interval_ms = 1111\n`);
    await expectListening({
      args: ["--config", file, "--port", c, "--ping-interval-ms", 3333],
      env: { HERALD_PORT: String(b), HERALD_PING_INTERVAL_MS: "2222" },
      expect: { port: c, pingInterval: 3333 },
    });
  });

  it("flags override the file without environment", T, async () => {
    const [a, , c] = ports;
    const file = writeToml(`port = ${a}\nping_interval_ms = 1111\n`);
    await expectListening({ args: ["--config", file, "--port", c], expect: { port: c, pingInterval: 1111 } });
  });

  it("flags override the environment without file; unset settings keep their defaults", T, async () => {
    const [, b, c] = ports;
    const open = await expectListening({
      args: ["--port", c],
      env: { HERALD_PORT: String(b) },
      expect: { port: c, pingInterval: 15000 },
    });
    assert.equal(open.pingTimeout, 20000, "default ping timeout");
  });

  it("the environment alone sets the port", T, async () => {
    const [, b] = ports;
    await expectListening({ env: { HERALD_PORT: String(b) }, expect: { port: b } });
  });

  it("a list setting from the file (cors_origins = [\"*\"]) takes effect", T, async () => {
    const [a] = ports;
    const file = writeToml(`port = ${a}\ncors_origins = ["*"]\n`);
    const h = await startHerald(["--config", file, "--host", "127.0.0.1", "--threads", "1"], { port: a });
    try {
      const { headers } = await handshake(a, { Origin: "http://client.example" });
      assert.ok(
        ["*", "http://client.example"].includes(headers.get("access-control-allow-origin")),
        `Access-Control-Allow-Origin: ${headers.get("access-control-allow-origin")}`,
      );
    } finally {
      await h.kill();
    }
  });
});

describe("refused settings exit with code 2 and name the setting", () => {
  let port;
  before(async () => {
    port = await freePort();
  });

  // Every run also gets a free port on 127.0.0.1, so that a value accepted by mistake does not
  // make herald listen on 1994 (the test then fails: herald kept running).
  async function expectRefused(args, { env, names }) {
    const result = await runToExit(["--host", "127.0.0.1", ...args, ...(args.includes("--port") ? [] : ["--port", port])], {
      env,
    });
    const what = `herald ${args.join(" ")} ${env ? JSON.stringify(env) : ""}`;
    assert.equal(result.running, false, `${what} was accepted: herald started\n${result.stderr}`);
    assert.equal(result.code, 2, `${what}: exit code (signal ${result.signal})\n${result.stderr}`);
    assert.ok(result.stderr.trim().length > 0, `${what}: a message on stderr`);
    assert.match(result.stderr, names, `${what}: the message names the setting`);
    assert.doesNotMatch(result.stderr, /listening on/, `${what}: herald must not start`);
    return result;
  }

  it("--port 70000", T, async () => {
    await expectRefused(["--port", "70000"], { names: /port/ });
  });

  it("--log-level loud", T, async () => {
    await expectRefused(["--log-level", "loud"], { names: /log[_-]level/ });
  });

  it("HERALD_THREADS=abc", T, async () => {
    await expectRefused([], { env: { HERALD_THREADS: "abc" }, names: /threads/ });
  });

  it("HERALD_PORT=-1 and --ping-interval-ms 0", T, async () => {
    await expectRefused([], { env: { HERALD_PORT: "-1" }, names: /port/ });
    await expectRefused(["--ping-interval-ms", "0"], { names: /ping[_-]interval[_-]ms/ });
  });

  it("a TOML file with an unknown key", T, async () => {
    const file = writeToml(`ping_interval_ms = 1000\nno_such_setting = 1\n`);
    await expectRefused(["--config", file], { names: /no_such_setting/ });
  });

  it("a TOML file with a value of the wrong type", T, async () => {
    await expectRefused(["--config", writeToml(`port = [1, 2]\n`)], { names: /port/ });
    await expectRefused(["--config", writeToml(`ping_timeout_ms = 1.5\n`)], { names: /ping_timeout_ms/ });
    await expectRefused(["--config", writeToml(`cors_origins = [1, 2]\n`)], { names: /cors_origins/ });
    await expectRefused(["--config", writeToml(`port = "abc"\n`)], { names: /port/ });
  });

  it("a TOML boolean or float for a whole-number setting", T, async () => {
    // Regression: `threads = true` was taken as threads = 1 and `port = 2000.0` as 2000 (toml++'s
    // permissive value<int64_t>() converts booleans and integral floats).
    await expectRefused(["--config", writeToml(`threads = true\n`)], { names: /threads/ });
    await expectRefused(["--config", writeToml(`max_payload = false\n`)], { names: /max_payload/ });
    await expectRefused(["--config", writeToml(`threads = 2.0\n`)], { names: /threads/ });
  });

  it("a TOML file that does not parse", T, async () => {
    await expectRefused(["--config", writeToml(`port = \n`)], { names: /settings-\d+\.toml|line/ });
  });

  it("--config naming a missing file", T, async () => {
    // Regression: exited 105 (CLI11's ValidationError code) instead of 2.
    await expectRefused(["--config", path.join(os.tmpdir(), "herald-no-such-file.toml")], { names: /config|file/i });
  });
});

// ---------------------------------------------------------------------------
// A running herald with 2 threads
// ---------------------------------------------------------------------------

describe("herald --threads 2 with socket.io-client", () => {
  let herald;
  before(async () => {
    const port = await freePort();
    herald = await startHerald(["--host", "127.0.0.1", "--port", port, "--threads", "2", "--log-level", "info"], { port });
  });
  after(async () => {
    await herald?.kill();
  });

  it("logs the open-file limit and the connections it allows at startup", T, async () => {
    // the line comes before the listener is open
    assert.match(herald.stderr, /open-file limit \d+ \(hard \d+\): about \d+ concurrent connections/);
    assert.match(herald.stderr, /2 threads/);
  });

  for (const mode of ["websocket", "polling", "upgrade"]) {
    it(`connects to / over ${mode}`, T, async () => {
      const socket = client(herald.url, mode);
      const engine = socket.io.engine; // created at once (autoConnect)
      assert.equal(engine.transport.name, TRANSPORTS[mode][0], "first transport");
      const upgraded = mode === "upgrade" ? waitForEvent(engine, "upgrade", { failOn: ["upgradeError"] }) : null;
      upgraded?.catch(() => {});
      await connected(socket);
      assert.ok(socket.id, "a Socket.IO id");
      assert.notEqual(socket.id, socket.io.engine.id, "the Socket.IO id is not the Engine.IO sid");
      if (upgraded) await upgraded;
      assert.equal(socket.io.engine.transport.name, mode === "polling" ? "polling" : "websocket");
      // still connected a moment later
      await expectQuietFor(100, "a disconnect");
      assert.equal(socket.connected, true);
    });
  }

  it("refuses an unknown namespace with Invalid namespace", T, async () => {
    const socket = client(herald.url, "websocket", { nsp: "/no-such-namespace" });
    const [err] = await waitForEvent(socket, "connect_error", { failOn: ["connect"] });
    assert.equal(err.message, "Invalid namespace");
  });

  it("20 polling clients on both threads answer their pings and stay connected over 3 heartbeats", { timeout: 15000 }, async () => {
    // A separate herald with a 300 ms heartbeat: every client must answer pings routed to its
    // session's thread, whichever thread its HTTP requests land on. herald sends the next ping only
    // once the pong of the one before reached the session, so a client's third ping says two of its
    // pongs got there; a lost pong shows as pings that stop coming. The clients get the default 20 s
    // to answer a ping: one answered late on a busy machine is not what this test is about.
    const PING_INTERVAL_MS = 300;
    const port = await freePort();
    const h = await startHerald(
      ["--host", "127.0.0.1", "--port", port, "--threads", "2", "--ping-interval-ms", PING_INTERVAL_MS, "--ping-timeout-ms", 20000],
      { port },
    );
    try {
      const url = `http://127.0.0.1:${port}`;
      const clients = Array.from({ length: 20 }, () => client(url, "polling"));
      const disconnects = [];
      const pings = new Map();
      await Promise.all(clients.map((s) => connected(s)));
      for (const s of clients) {
        s.on("disconnect", (reason) => disconnects.push(reason));
        pings.set(s, 0);
        s.io.engine.on("ping", () => pings.set(s, pings.get(s) + 1));
      }
      const loops = new Set(clients.map((s) => loopOfSid(s.io.engine.id)));
      assert.deepEqual([...loops].sort(), [0, 1], "sessions are spread over both threads");
      await eventually(
        () => [...pings.values()].every((n) => n >= 3),
        "3 pings on every client, each after the pong of the one before reached herald",
        WAIT + 3 * PING_INTERVAL_MS,
      ).catch((err) => {
        throw new Error(`${err.message}: pings ${[...pings.values()]}, disconnects ${JSON.stringify(disconnects)}`);
      });
      assert.deepEqual(disconnects, [], "no client was disconnected");
      for (const s of clients) {
        assert.equal(s.connected, true);
        assert.equal(s.io.engine.transport.name, "polling");
      }
      assert.equal(h.exit, null, "herald is still running");
    } finally {
      await h.kill();
    }
  });
});

describe("herald --push-namespace", () => {
  it("accepts connections on / and on the push namespace", T, async () => {
    const port = await freePort();
    const h = await startHerald(["--host", "127.0.0.1", "--port", port, "--threads", "2", "--push-namespace", "/pushed"], {
      port,
    });
    try {
      const url = `http://127.0.0.1:${port}`;
      await connected(client(url, "websocket", { nsp: "/pushed" }));
      await connected(client(url, "polling", { nsp: "/pushed" }));
      await connected(client(url, "websocket", { nsp: "/" }));
    } finally {
      await h.kill();
    }
  });
});

// ---------------------------------------------------------------------------
// Graceful shutdown
// ---------------------------------------------------------------------------

describe("graceful shutdown", () => {
  async function shutdown(signal, { websocket, polling }) {
    const port = await freePort();
    const h = await startHerald(["--host", "127.0.0.1", "--port", port, "--threads", "2"], { port });
    const url = `http://127.0.0.1:${port}`;
    let ws;
    try {
      const options = { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 200, randomizationFactor: 0 };
      const clients = [
        ...Array.from({ length: websocket }, () => client(url, "websocket", options)),
        ...Array.from({ length: polling }, () => client(url, "polling", options)),
      ];
      await Promise.all(clients.map((s) => connected(s)));
      // Raw clients: the Engine.IO close packet itself.
      ({ ws } = await openEngineWebSocket(h.wsUrl, PATH));
      const rawOpen = await request(`${url}${PATH}?EIO=4&transport=polling`);
      const rawSid = JSON.parse(rawOpen.text.slice(1)).sid;
      const rawPoll = request(`${url}${PATH}?EIO=4&transport=polling&sid=${rawSid}`, { timeout: 4000 });
      await sleep(100); // the raw GET is waiting in herald

      const reasons = clients.map((s) => waitForEvent(s, "disconnect", { timeout: 3000 }).then(([reason]) => reason));
      const attempts = clients.map((s) => waitForEvent(s.io, "reconnect_attempt", { timeout: 3000 }));
      reasons.forEach((p) => p.catch(() => {}));
      attempts.forEach((p) => p.catch(() => {}));

      const start = Date.now();
      h.child.kill(signal);
      const exit = await withTimeout(h.exited, scaled(3000), `herald to exit after ${signal}`).catch(async (err) => {
        await h.kill();
        throw new Error(`${err.message}\n${h.describe()}`);
      });
      const elapsed = Date.now() - start;

      assert.deepEqual(await Promise.all(reasons), clients.map(() => "transport close"), "disconnect reasons");
      await Promise.all(attempts); // socket.io-client tries to reconnect (allowed)
      const rawMessages = [];
      for (;;) {
        try {
          rawMessages.push(await ws.next(500));
        } catch {
          break;
        }
      }
      assert.ok(rawMessages.includes("1"), `the raw websocket got a close packet: ${JSON.stringify(rawMessages)}`);
      const polled = await rawPoll;
      assert.equal(polled.status, 200, `the pending GET was answered: ${polled.status} ${polled.error ?? ""}`);
      assert.equal(polled.text.split("\x1e").at(-1), "1", `the pending GET got a close packet: ${polled.text}`);

      assert.deepEqual(exit, { code: 0, signal: null }, `herald exit after ${signal}\n${h.describe()}`);
      assert.ok(elapsed < scaled(3000), `herald took ${elapsed} ms to exit`);
      assert.match(h.stderr, new RegExp(`received ${signal}`));
      assert.equal(await canConnect(port), false, "nothing listens after the shutdown");
      assert.equal(await portIsFree(port), true, "the port can be bound again");
    } finally {
      ws?.terminate();
      for (const s of sockets) {
        s.io.reconnection(false);
        s.disconnect();
      }
      await h.kill();
    }
  }

  it("SIGTERM closes every client with a close packet and exits 0 within 3 s", { timeout: 12000 }, async () => {
    // Regression: herald died with SIGSEGV (exit 139) after "stopped (0 sessions left)": the
    // shutdown check lambda in src/app/main.cpp destroyed itself, then read `pool` from the freed
    // closure.
    await shutdown("SIGTERM", { websocket: 3, polling: 3 });
  });

  it("SIGINT does the same", { timeout: 12000 }, async () => {
    // Regression: the same crash as SIGTERM.
    await shutdown("SIGINT", { websocket: 1, polling: 2 });
  });

  it("an idle herald exits 0 on SIGTERM", T, async () => {
    // Regression: the same crash, with no client at all.
    const port = await freePort();
    const h = await startHerald(["--host", "127.0.0.1", "--port", port, "--threads", "1"], { port });
    h.child.kill("SIGTERM");
    const exit = await withTimeout(h.exited, 3000, "herald to exit").finally(() => h.kill());
    assert.deepEqual(exit, { code: 0, signal: null }, h.describe());
  });
});

// ---------------------------------------------------------------------------
// Half-open connections
// ---------------------------------------------------------------------------

describe("half-open connections", () => {
  it("a WebSocket that never answers pings is closed after ping interval + timeout", T, async () => {
    const port = await freePort();
    const h = await startHerald(
      ["--host", "127.0.0.1", "--port", port, "--threads", "2", "--ping-interval-ms", 200, "--ping-timeout-ms", 200, "--log-level", "debug"],
      { port },
    );
    const socket = net.connect({ host: "127.0.0.1", port });
    try {
      await waitForEvent(socket, "connect");
      const key = crypto.randomBytes(16).toString("base64");
      socket.write(
        `GET ${PATH}?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      let received = Buffer.alloc(0);
      let closeFrameAt = null;
      let handshakeAt = null;
      socket.on("data", (chunk) => {
        received = Buffer.concat([received, chunk]);
        const end = received.indexOf("\r\n\r\n");
        if (handshakeAt === null && end !== -1) handshakeAt = Date.now();
        if (closeFrameAt === null && end !== -1 && frames(received.subarray(end + 4)).some((f) => f.opcode === 8)) {
          closeFrameAt = Date.now();
        }
      });
      const ended = new Promise((resolve) => {
        socket.once("end", () => resolve(Date.now()));
        socket.once("close", () => resolve(Date.now()));
      });
      const endedAt = await withTimeout(ended, scaled(3000), "herald to close the silent connection");
      const head = received.subarray(0, received.indexOf("\r\n\r\n")).toString();
      assert.match(head, /^HTTP\/1\.1 101 /, "the WebSocket handshake completed");
      const accept = crypto.createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
      assert.match(head, new RegExp(`sec-websocket-accept: ${accept.replace(/[+/=]/g, "\\$&")}`, "i"));
      const got = frames(received.subarray(received.indexOf("\r\n\r\n") + 4));
      const texts = got.filter((f) => f.opcode === 1).map((f) => f.payload.toString());
      assert.match(texts[0] ?? "", /^0\{/, "the open packet");
      assert.ok(texts.includes("2"), `a ping was sent before closing: ${JSON.stringify(texts)}`);
      const closedAfter = (closeFrameAt ?? endedAt) - handshakeAt;
      assert.ok(closedAfter >= 350, `closed after ${closedAfter} ms, before ping interval + timeout (400 ms)`);
      assert.ok(closedAfter < scaled(1500), `closed after ${closedAfter} ms, long after ping interval + timeout (400 ms)`);
      assert.match(h.stderr, /ping timeout/, "herald logs the ping timeout");
    } finally {
      socket.destroy();
      await h.kill();
    }
  });
});

/** Parses unmasked server-to-client WebSocket frames (stops at an incomplete one). */
function frames(buffer) {
  const out = [];
  let offset = 0;
  while (offset + 2 <= buffer.length) {
    const opcode = buffer[offset] & 0x0f;
    let length = buffer[offset + 1] & 0x7f;
    let header = 2;
    if (length === 126) {
      if (offset + 4 > buffer.length) break;
      length = buffer.readUInt16BE(offset + 2);
      header = 4;
    } else if (length === 127) {
      if (offset + 10 > buffer.length) break;
      length = Number(buffer.readBigUInt64BE(offset + 2));
      header = 10;
    }
    if (offset + header + length > buffer.length) break;
    out.push({ opcode, payload: buffer.subarray(offset + header, offset + header + length) });
    offset += header + length;
  }
  return out;
}
