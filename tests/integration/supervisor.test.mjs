// `herald --workers 2` (build/herald, or HERALD_BIN): the supervisor process and its workers. Two
// worker processes answer on one port; a worker killed with SIGKILL is replaced; SIGHUP replaces
// every worker one by one while a client sees no failed request, and a SIGHUP during a reload is
// queued; SIGTERM / SIGINT stop everything with exit code 0 and free the port; workers that die at
// start are restarted with a growing backoff and one crash-loop alert (log and webhook).
//
// Workers are told apart by the "pid" in GET /health. Workers need Redis to reach each other: when
// redis-server is installed, one is started for the file and passed as --redis. Linux only (/proc).
// SUPERVISOR_SLOW_TESTS=1 also runs the crash-loop recovery (about 45 s).

import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { canConnect } from "./lib/processes.mjs";
import { REPO_ROOT, freePort } from "./lib/server.mjs";
import { scaled } from "./lib/timing.mjs";
import { eventually, expectQuietFor, sleep } from "./lib/wait.mjs";

const HERALD = (() => {
  const bin = (process.env.HERALD_BIN ?? "").trim() || "build/herald";
  return path.isAbsolute(bin) ? bin : path.resolve(REPO_ROOT, bin);
})();
const WORKERS = 2;
const GRACE_MS = 1000; // --shutdown-grace-ms: the supervisor kills stragglers after grace + 2 s
const START_TIMEOUT_MS = 10_000;
const SLOW = process.env.SUPERVISOR_SLOW_TESTS === "1";

// ---------------------------------------------------------------------------
// Processes
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
let redis = null; // { port, child } when redis-server is installed

function which(command) {
  try {
    return execFileSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" }).trim() || null;
  } catch {
    return null;
  }
}

before(async () => {
  assert.ok(fs.existsSync(HERALD), `herald binary not found at ${HERALD}; build it (cmake --build build) or set HERALD_BIN`);
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "herald-supervisor-test-"));
  const redisServer = which("redis-server");
  if (redisServer) {
    const port = await freePort();
    const child = spawn(redisServer, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      cwd: tmpDir,
      stdio: "ignore",
    });
    children.add(child);
    await eventually(() => canConnect(port), `redis-server on port ${port}`, 5000);
    redis = { port, child };
  }
});

after(() => {
  for (const child of children) child.kill("SIGKILL");
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
});

/** The environment of the test runner without any HERALD_* variable. */
function environment() {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("HERALD_")) env[key] = value;
  return env;
}

/** Spawns `herald --workers 2` on `port` plus `extra` flags; captures its log. */
function spawnSupervisor(port, extra = []) {
  const args = ["--host", "127.0.0.1", "--port", port, "--workers", WORKERS, "--threads", 1];
  args.push("--shutdown-grace-ms", GRACE_MS, "--log-level", "info");
  if (redis) args.push("--redis", `redis://127.0.0.1:${redis.port}`);
  args.push(...extra);
  const child = spawn(HERALD, args.map(String), { cwd: tmpDir, env: environment(), stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  const h = { child, pid: child.pid, port, log: "", exit: null };
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (d) => (h.log += d));
  child.stderr.on("data", (d) => (h.log += d));
  h.exited = new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      h.exit = { code, signal };
      children.delete(child);
      resolve(h.exit);
    });
    child.once("error", (err) => {
      h.exit = { code: null, signal: null, error: err.message };
      children.delete(child);
      resolve(h.exit);
    });
  });
  h.describe = () => `herald ${args.join(" ")}\n--- log ---\n${h.log || "(empty)"}\n--- end of log ---`;
  h.stop = async () => {
    if (h.exit) return;
    const workers = workersOf(h);
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), GRACE_MS + 3000);
    await h.exited;
    clearTimeout(timer);
    for (const pid of workers.filter(alive)) process.kill(pid, "SIGKILL");
  };
  return h;
}

/** Starts the supervisor and resolves once its 2 workers answer GET /health. */
async function startSupervisor(extra = []) {
  const h = spawnSupervisor(await freePort(), extra);
  try {
    await eventually(
      async () => {
        if (h.exit) throw new Error(`herald exited early (code ${h.exit.code}, signal ${h.exit.signal})`);
        if (workersOf(h).length !== WORKERS) return false;
        return (await health(h.port).catch(() => null)) !== null;
      },
      `${WORKERS} workers answering on port ${h.port}`,
      START_TIMEOUT_MS,
    );
  } catch (err) {
    await h.stop();
    throw new Error(`${err.message}\n${h.describe()}`);
  }
  return h;
}

/** Pids of the live (not zombie) children of `pid`, from /proc. */
function childrenOf(pid) {
  const found = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
    const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(ppid) === pid && state !== "Z") found.push(Number(entry));
  }
  return found.sort((a, b) => a - b);
}

/** The worker processes of a supervisor: its children that stay (an alert sender is short-lived). */
function workersOf(h) {
  return childrenOf(h.pid);
}

function alive(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// Network helpers
// ---------------------------------------------------------------------------

function portIsFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/**
 * GET /health over a new connection; resolves with the JSON body, rejects on anything but 200.
 * `onConnect` is called once the TCP connection is established.
 */
function health(port, timeout = 2000, onConnect = null) {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: "127.0.0.1", port, path: "/health", agent: false, headers: { Connection: "close" }, timeout },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (body += d));
        res.on("error", reject);
        res.on("end", () => {
          if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${body}`));
          try {
            const json = JSON.parse(body);
            if (!Number.isInteger(json.pid)) throw new Error("no pid");
            resolve(json);
          } catch (err) {
            reject(new Error(`GET /health: ${err.message}: ${body}`));
          }
        });
      },
    );
    if (onConnect) req.on("socket", (socket) => (socket.connecting ? socket.once("connect", onConnect) : onConnect()));
    req.on("timeout", () => req.destroy(new Error(`GET /health timed out after ${timeout} ms`)));
    req.on("error", reject);
  });
}

/** Pids answering GET /health over up to `max` new connections, until `enough` distinct ones. */
async function pidsServing(port, { enough = WORKERS, max = 200, tolerateErrors = false } = {}) {
  const pids = new Set();
  for (let i = 0; i < max && pids.size < enough; i++) {
    try {
      pids.add((await health(port)).pid);
    } catch (err) {
      if (!tolerateErrors) throw err;
    }
  }
  return pids;
}

/**
 * Clients sending GET /health in a loop, each request over a new connection. stop() resolves with
 * { ok, failures, pids } (pids: answers per pid, in order of first answer).
 */
function hammer(port, clients = 2) {
  const state = { ok: 0, failures: [], pids: new Map(), running: true };
  const loop = async () => {
    while (state.running) {
      try {
        const { pid } = await health(port);
        state.ok++;
        state.pids.set(pid, (state.pids.get(pid) ?? 0) + 1);
      } catch (err) {
        state.failures.push(`${new Date().toISOString()} ${err.code ?? ""} ${err.message}`);
      }
    }
  };
  const done = Promise.all(Array.from({ length: clients }, loop));
  state.stop = async () => {
    state.running = false;
    await done;
    return state;
  };
  return state;
}

function waitForLog(h, pattern, timeout, what = String(pattern)) {
  return eventually(() => pattern.test(h.log), `log line ${what}`, timeout).catch((err) => {
    throw new Error(`${err.message}\n${h.describe()}`);
  });
}

function count(text, pattern) {
  return [...text.matchAll(new RegExp(pattern.source, `${pattern.flags.replace("g", "")}g`))].length;
}

/** A local HTTP server that records the JSON bodies POSTed to it (the alert webhook). */
async function webhookReceiver() {
  const received = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      try {
        received.push(JSON.parse(body));
      } catch {
        received.push({ unparsed: body });
      }
      res.writeHead(200, { "Content-Type": "application/json" }).end("{}");
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/alerts`,
    received,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** A plain listener (no SO_REUSEPORT) on 127.0.0.1:`port`, so that every worker fails to bind it. */
async function occupy(port) {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host: "127.0.0.1", exclusive: true }, resolve);
  });
  return { close: () => new Promise((resolve) => server.close(resolve)) };
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

describe("herald --workers 2", () => {
  it("answers from 2 worker processes, children of the supervisor", { timeout: 20_000 }, async () => {
    const h = await startSupervisor();
    try {
      const pids = await pidsServing(h.port);
      assert.equal(pids.size, WORKERS, `distinct pids over new connections: ${[...pids]}\n${h.describe()}`);
      assert.deepEqual([...pids].sort((a, b) => a - b), workersOf(h), "the answering pids are the supervisor's children");
      assert.ok(!pids.has(h.pid), "the supervisor itself serves nothing");
      for (let i = 0; i < WORKERS; i++) assert.match(h.log, new RegExp(`worker ${i} \\(pid \\d+\\) started`));
    } finally {
      await h.stop();
    }
  });

  it("replaces a worker killed with SIGKILL within 2 s", { timeout: 20_000 }, async () => {
    const h = await startSupervisor();
    try {
      const initial = workersOf(h);
      const victim = initial[0];
      const killedAt = Date.now();
      process.kill(victim, "SIGKILL");
      const replacement = await eventually(
        async () => {
          const now = workersOf(h);
          if (now.length !== WORKERS || now.includes(victim)) return null;
          const fresh = now.find((pid) => !initial.includes(pid));
          // The new worker must serve, not only exist.
          const pids = await pidsServing(h.port, { enough: WORKERS, max: 50, tolerateErrors: true });
          return pids.has(fresh) && !pids.has(victim) ? fresh : null;
        },
        `a worker in place of pid ${victim}`,
        scaled(5000),
      ).catch((err) => {
        throw new Error(`${err.message}\n${h.describe()}`);
      });
      const elapsed = Date.now() - killedAt;
      assert.ok(elapsed < scaled(2500), `the replacement (pid ${replacement}) served after ${elapsed} ms`);
      assert.match(h.log, new RegExp(`worker \\d+ \\(pid ${victim}\\) was killed by SIGKILL; restarting in \\d+ ms`));
      assert.match(h.log, new RegExp(`worker \\d+ \\(pid ${replacement}\\) started`));
      assert.ok(alive(initial[1]), "the other worker was left alone");
    } finally {
      await h.stop();
    }
  });

  it("SIGHUP replaces every worker one by one; a client in a loop sees no failed request", { timeout: 30_000 }, async () => {
    const h = await startSupervisor();
    try {
      const initial = workersOf(h);
      const load = hammer(h.port);
      await eventually(() => load.ok >= 10, "the client loop to be answered", 5000).catch((err) => {
        throw new Error(`${err.message}\n${h.describe()}`);
      });
      process.kill(h.pid, "SIGHUP");
      await waitForLog(h, /reload: done/, 15_000);
      await eventually(() => workersOf(h).every((pid) => load.pids.has(pid)), "the new workers to answer the loop", 5000).catch((err) => {
        throw new Error(`${err.message}\n${h.describe()}`);
      });
      await expectQuietFor(300, "a failed request just after the reload");
      const result = await load.stop();

      const renewed = workersOf(h);
      assert.equal(renewed.length, WORKERS, `workers after the reload: ${renewed}`);
      assert.deepEqual(renewed.filter((pid) => initial.includes(pid)), [], `every worker replaced: ${initial} -> ${renewed}`);
      assert.deepEqual(
        result.failures,
        [],
        `failed requests during the reload (${result.ok} succeeded): ${result.failures.slice(0, 5).join("; ")}\n${h.describe()}`,
      );
      assert.ok(result.ok >= 20, `requests answered during the reload: ${result.ok}`);
      const answered = [...result.pids.keys()];
      for (const pid of renewed) assert.ok(answered.includes(pid), `new worker ${pid} answered (answers: ${answered})`);

      // One by one: worker 1's replacement starts only after worker 0 was replaced.
      const replaced = [...h.log.matchAll(/reload: worker (\d+) replaced \(pid (\d+) -> pid (\d+)\)/g)];
      assert.deepEqual(
        replaced.map((m) => Number(m[1])),
        [0, 1],
        `replacements logged in order\n${h.describe()}`,
      );
      assert.deepEqual(replaced.map((m) => Number(m[2])).sort((a, b) => a - b), initial, "old pids");
      assert.deepEqual(replaced.map((m) => Number(m[3])).sort((a, b) => a - b), renewed, "new pids");
      assert.ok(
        h.log.indexOf(replaced[0][0]) < h.log.search(/reload: worker 1 \(pid \d+\) started to replace/),
        `worker 1 replaced after worker 0\n${h.describe()}`,
      );
      const fresh = await pidsServing(h.port);
      assert.deepEqual([...fresh].sort((a, b) => a - b), renewed, "only the new workers serve");
    } finally {
      await h.stop();
    }
  });

  it("a SIGHUP during a reload is queued: one more reload follows, not more", { timeout: 30_000 }, async () => {
    const h = await startSupervisor();
    try {
      // The old worker 0, stopped, cannot exit: the reload waits on it while the next SIGHUPs arrive.
      const old0 = Number(h.log.match(/worker 0 \(pid (\d+)\) started/)[1]);
      process.kill(old0, "SIGSTOP");
      process.kill(h.pid, "SIGHUP");
      await waitForLog(h, new RegExp(`reload: worker 0 \\(pid \\d+\\) ready; stopping pid ${old0}`), 10_000);
      process.kill(h.pid, "SIGHUP");
      await waitForLog(h, /reload: SIGHUP during a reload; another one follows it/, 5000);
      process.kill(h.pid, "SIGHUP");
      await sleep(100); // a SIGHUP already queued logs nothing: no line to wait for
      process.kill(old0, "SIGCONT");
      await eventually(() => count(h.log, /reload: done/) >= 2, "two reloads", 15_000).catch((err) => {
        throw new Error(`${err.message}\n${h.describe()}`);
      });
      await expectQuietFor(1000, "a third reload");
      assert.equal(count(h.log, /reload: done/), 2, `reloads\n${h.describe()}`);
      assert.equal(count(h.log, /reload: worker \d+ replaced/), 2 * WORKERS, `replacements\n${h.describe()}`);
      assert.equal(workersOf(h).length, WORKERS);
      assert.equal((await pidsServing(h.port)).size, WORKERS);
    } finally {
      await h.stop();
    }
  });

  for (const signal of ["SIGTERM", "SIGINT"]) {
    it(`${signal} stops every worker and the supervisor (exit 0) and frees the port`, { timeout: 20_000 }, async () => {
      const h = await startSupervisor();
      const workers = workersOf(h);
      const sentAt = Date.now();
      process.kill(h.pid, signal);
      const exit = await Promise.race([h.exited, sleep(GRACE_MS + 3000).then(() => null)]);
      if (!exit) await h.stop();
      assert.ok(exit, `the supervisor still ran ${GRACE_MS + 3000} ms after ${signal}\n${h.describe()}`);
      assert.deepEqual(exit, { code: 0, signal: null }, `exit of the supervisor\n${h.describe()}`);
      const elapsed = Date.now() - sentAt;
      for (const pid of workers) assert.ok(!alive(pid), `worker ${pid} is gone`);
      assert.ok(await portIsFree(h.port), `port ${h.port} is free after ${elapsed} ms`);
    });
  }

  it("a port in use stops the supervisor at once with a clear error, before any worker", { timeout: 20_000 }, async () => {
    const port = await freePort();
    const blocker = await occupy(port);
    const h = spawnSupervisor(port);
    try {
      const exit = await Promise.race([h.exited, sleep(5000).then(() => null)]);
      assert.deepEqual(exit, { code: 1, signal: null }, `exit of the supervisor\n${h.describe()}`);
      assert.match(h.log, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: .*in use`, "i"), h.describe());
      assert.doesNotMatch(h.log, /worker \d+ \(pid \d+\) started/, h.describe());
    } finally {
      await h.stop();
      await blocker.close();
    }
  });

  it("connections queued while a worker is gone wait for its replacement instead of being reset", { timeout: 30_000 }, async () => {
    const h = await startSupervisor();
    try {
      // A stopped worker accepts nothing, so connections pile up in its sockets' queues; killing it
      // then would reset them all if its sockets closed with it.
      const victims = workersOf(h);
      for (const pid of victims) process.kill(pid, "SIGSTOP");
      let connected = 0;
      const pending = Array.from({ length: 20 }, () => health(h.port, 5000, () => connected++).then(
        ({ pid }) => ({ pid }),
        (err) => ({ error: `${err.code ?? ""} ${err.message}` }),
      ));
      // The kernel accepts them into the stopped workers' queues.
      await eventually(() => connected === pending.length, "the connections to be queued", 5000).catch((err) => {
        throw new Error(`${err.message}\n${h.describe()}`);
      });
      for (const pid of victims) process.kill(pid, "SIGKILL");
      const results = await Promise.all(pending);
      const errors = results.filter((r) => r.error).map((r) => r.error);
      assert.deepEqual(errors, [], `requests made while no worker ran\n${h.describe()}`);
      const served = new Set(results.map((r) => r.pid));
      for (const pid of victims) assert.ok(!served.has(pid), `killed worker ${pid} answered nothing`);
      assert.match(h.log, /was killed by SIGKILL; restarting in \d+ ms/);
    } finally {
      await h.stop();
    }
  });

  it("workers that die at start are restarted with a growing backoff; one crash-loop alert", { timeout: 30_000 }, async () => {
    const webhook = await webhookReceiver();
    // Workers cannot open their own port for routed requests while something else holds it.
    const internal = await freePort();
    const blocker = await occupy(internal);
    const h = spawnSupervisor(await freePort(), ["--alert-webhook", webhook.url, "--internal-port", internal]);
    try {
      await waitForLog(h, /crash loop:/, 10_000);
      await eventually(() => webhook.received.length > 0, "the crash-loop webhook", 5000).catch((err) => {
        throw new Error(`${err.message}\n${h.describe()}`);
      });
      await expectQuietFor(1500, "a second crash-loop log line or alert");
      assert.equal(count(h.log, /crash loop:/), 1, `crash loop logged once\n${h.describe()}`);
      const alerts = webhook.received.filter((a) => a.kind === "worker_crash_loop" && a.state === "alert");
      assert.equal(alerts.length, 1, `one crash-loop alert: ${JSON.stringify(webhook.received)}`);
      assert.equal(webhook.received.length, 1, `nothing else sent: ${JSON.stringify(webhook.received)}`);

      // Worker 0's delays double until the crash loop, which holds them at the longest one.
      const loopAt = h.log.search(/crash loop:/);
      const delays = [...h.log.matchAll(/worker 0 \(pid \d+\) exited with code [1-9]\d*; restarting in (\d+) ms/g)];
      assert.ok(delays.length >= 2, `worker 0 restarted at least twice\n${h.describe()}`);
      const early = delays.filter((m) => m.index < loopAt).map((m) => Number(m[1]));
      for (let i = 1; i < early.length; i++) assert.equal(early[i], 2 * early[i - 1], `doubling delays ${early}`);
      const late = [...h.log.matchAll(/restarting in (\d+) ms/g)].filter((m) => m.index > loopAt).map((m) => Number(m[1]));
      assert.ok(late.length > 0 && late.every((d) => d === late[0] && d >= Math.max(...early)), `delays in the loop: ${late}`);

      // Nothing runs, and pending restarts do not delay the exit.
      process.kill(h.pid, "SIGTERM");
      const exit = await Promise.race([h.exited, sleep(GRACE_MS + 3000).then(() => null)]);
      assert.deepEqual(exit, { code: 0, signal: null }, `exit after SIGTERM\n${h.describe()}`);
    } finally {
      await h.stop();
      await blocker.close();
      await webhook.close();
    }
  });

  it(
    "a crash loop ends once the workers stay up; one recovery notice",
    { timeout: 90_000, skip: !SLOW && "takes about 45 s; set SUPERVISOR_SLOW_TESTS=1" },
    async () => {
      const webhook = await webhookReceiver();
      const internal = await freePort();
      const blocker = await occupy(internal);
      const h = spawnSupervisor(await freePort(), ["--alert-webhook", webhook.url, "--internal-port", internal]);
      try {
        await waitForLog(h, /crash loop:/, 10_000);
        await blocker.close();
        // The longest backoff, then the workers must stay up for the stable period (30 s by default).
        await waitForLog(h, /crash loop over/, 70_000);
        await eventually(() => webhook.received.length >= 2, "the recovery webhook", 5000);
        const recovered = webhook.received.filter((a) => a.state === "recovered" || a.kind === "worker_recovered");
        assert.equal(recovered.length, 1, `one recovery notice: ${JSON.stringify(webhook.received)}`);
        assert.equal((await pidsServing(h.port)).size, WORKERS);
      } finally {
        await h.stop();
        await blocker.close().catch(() => {});
        await webhook.close();
      }
    },
  );
});
