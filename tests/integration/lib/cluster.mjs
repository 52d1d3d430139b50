// Helpers for the cluster tests: a real redis-server per test file (free port, no persistence),
// herald nodes joined to it, a node `redis` client, HAProxy in front of nodes (round robin, no
// stickiness), and a Node socket.io server with @socket.io/redis-adapter (lib/node-peer.mjs) as a
// child process driven over IPC.

import assert from "node:assert/strict";
import { fork, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "redis";
import { NSP, call, eventually, startHerald } from "./herald.mjs";
import { canConnect, killOnExit } from "./processes.mjs";
import { freePort } from "./server.mjs";
import { sleep, withTimeout } from "./wait.mjs";

export const REDIS_SERVER = process.env.REDIS_SERVER || "/usr/bin/redis-server";
export const HAPROXY = process.env.HAPROXY || "/usr/sbin/haproxy";
export const HEARTBEAT_MS = 200;
export const REQUEST_CHANNEL = `socket.io-request#${NSP}#`;

const LIB_DIR = path.dirname(fileURLToPath(import.meta.url));

async function waitListening(port, child, what, output, timeout = 5000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited at start (${child.exitCode ?? child.signalCode})\n${output()}`);
    }
    if (await canConnect(port)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port} in time\n${output()}`);
    await sleep(20);
  }
}

function exitOf(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", resolve));
}

/** SIGTERM, then SIGKILL after 2 s; resolves once `child` has exited. */
async function terminate(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
  await exitOf(child);
  clearTimeout(timer);
}

/**
 * Runs HAProxy on `config`, written into `dir`; keeps the last 8000 characters of its output.
 * Returns { child, output(), stop() } (stop also removes `dir`).
 */
function spawnHAProxy(dir, config) {
  const file = path.join(dir, "haproxy.cfg");
  fs.writeFileSync(file, config);
  let output = "";
  const child = killOnExit(spawn(HAPROXY, ["-f", file, "-db"], { stdio: ["ignore", "pipe", "pipe"] }));
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (d) => (output = (output + d).slice(-8000)));
  child.stderr.on("data", (d) => (output = (output + d).slice(-8000)));
  return {
    child,
    output: () => output,
    async stop() {
      await terminate(child);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------
// redis-server
// ---------------------------------------------------------------------------

/**
 * Starts redis-server on a free port (`--save '' --appendonly no`).
 * Returns { port, url, kill(), start(), stop() }: kill() SIGKILLs it (as a crash), start()
 * starts it again on the same port (empty, as nothing is saved).
 */
export async function startRedis() {
  const port = await freePort();
  const redis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    child: null,
    output: "",
    async start() {
      const child = killOnExit(
        spawn(REDIS_SERVER, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
          stdio: ["ignore", "pipe", "pipe"],
        }),
      );
      child.stdout.setEncoding("utf8");
      child.stderr.setEncoding("utf8");
      child.stdout.on("data", (d) => (redis.output = (redis.output + d).slice(-8000)));
      child.stderr.on("data", (d) => (redis.output = (redis.output + d).slice(-8000)));
      redis.child = child;
      await waitListening(port, child, "redis-server", () => redis.output);
    },
    async kill() {
      if (!redis.child) return;
      const child = redis.child;
      redis.child = null;
      child.kill("SIGKILL");
      await withTimeout(exitOf(child), 3000, "redis-server to die");
    },
    async stop() {
      await redis.kill();
    },
  };
  await redis.start();
  return redis;
}

/** A connected node `redis` client (v4) that does not reconnect forever after the test. */
export async function redisClient(redis) {
  const client = createClient({ url: redis.url, socket: { reconnectStrategy: (retries) => Math.min(50 * retries, 300) } });
  client.on("error", () => {}); // reconnects by itself; errors are seen through the commands
  await client.connect();
  return client;
}

export async function quitClient(client) {
  if (!client) return;
  try {
    await client.disconnect();
  } catch {
    // already closed
  }
}

// ---------------------------------------------------------------------------
// herald nodes
// ---------------------------------------------------------------------------

const liveNodes = new Set();

/**
 * Starts a herald node in the cluster of `redis` (heartbeat 200 ms unless `heartbeatMs`) plus
 * `extra` flags. The returned object also has pid (from GET /health), kill() (SIGKILL, as a crash)
 * and a stop() that accepts a node killed on purpose.
 */
export async function startNode(redis, extra = [], { heartbeatMs = HEARTBEAT_MS } = {}) {
  const node = await startHerald(["--redis", redis.url, "--node-heartbeat-ms", String(heartbeatMs), ...extra]);
  const health = await call(node, "/health", undefined, { method: "GET" });
  assert.equal(health.status, 200, `GET /health: ${health.text}`);
  node.pid = health.json.pid;
  for (const other of liveNodes) {
    if (other.pid === node.pid && !other.exited()) {
      throw new Error(`port ${node.port} answers for another herald process (pid ${node.pid}, port ${other.port})`);
    }
  }
  liveNodes.add(node);
  node.killed = false;
  const stop = node.stop.bind(node);
  node.kill = async () => {
    node.killed = true;
    process.kill(node.pid, "SIGKILL");
    await eventually(() => node.exited(), "the killed herald to exit", 3000);
  };
  node.stop = async () => {
    if (node.killed) return;
    await stop();
  };
  return node;
}

/**
 * Starts `count` nodes one after the other (not at once: a node's internal port is any free port,
 * and two herald processes starting together could take the port chosen for the other's public
 * listener, which SO_REUSEPORT would then share between them).
 */
export async function startNodes(redis, count, extra = []) {
  const nodes = [];
  for (let i = 0; i < count; i++) nodes.push(await startNode(redis, extra));
  return nodes;
}

/** GET /ready of a node: { status, json }. */
/** `count` herald nodes (with `flags`) on `redis`, once they joined (as `client` sees) and say ready. */
export async function startReadyNodes(redis, client, count, flags = []) {
  const nodes = await startNodes(redis, count, flags);
  await waitServers(client, count);
  await waitReady(nodes);
  return nodes;
}

/**
 * A test file's cluster: a private redis-server, a client on it for checking keys, and `count`
 * herald nodes (with `flags`) that joined and say ready. stop() takes it all down.
 */
export async function startCluster(count = 2, flags = []) {
  const redis = await startRedis();
  const client = await redisClient(redis);
  const nodes = await startReadyNodes(redis, client, count, flags);
  return {
    redis,
    client,
    nodes,
    async stop() {
      await quitClient(client);
      await Promise.all(nodes.map((node) => node.stop()));
      await redis.stop();
    },
  };
}

export async function readiness(node) {
  const res = await call(node, "/ready", undefined, { method: "GET", timeout: 2000 });
  return res.json ?? { status: `HTTP ${res.status}` };
}

/** Waits until /ready of every node says `status` (default "ready"). */
export async function waitReady(nodes, status = "ready", timeout = 5000) {
  for (const node of nodes) {
    await eventually(async () => (await readiness(node)).status === status, `${node.url}/ready = ${status}`, timeout);
  }
}

/** Number of servers subscribed to the push namespace's request channel (PUBSUB NUMSUB). */
export async function serverCount(client, channel = REQUEST_CHANNEL) {
  const reply = await client.sendCommand(["PUBSUB", "NUMSUB", channel]);
  return Number(reply[1]);
}

/** Waits until `count` servers (herald or Node) listen on the push namespace's channels. */
export function waitServers(client, count, timeout = 5000) {
  return eventually(async () => (await serverCount(client)) === count, `${count} servers in the cluster`, timeout);
}

/**
 * The sockets of `room` in the push namespace across the cluster, as a Node server would ask for
 * them: a fetchSockets request (@socket.io/redis-adapter's REMOTE_FETCH) published on the request
 * channel, and every server's answer gathered from this requester's response channel. Resolves
 * with the ids found, once `servers` servers have answered (rejects after `timeout` ms).
 */
export async function socketsInRoom(client, room, servers, timeout = 2000) {
  const uid = `test-${process.pid}-${++fetchCount}`;
  const requestId = `fetch-${fetchCount}`;
  const sub = client.duplicate();
  sub.on("error", () => {});
  await sub.connect();
  try {
    const ids = [];
    let answered = 0;
    let done;
    const all = new Promise((resolve) => (done = resolve));
    await sub.subscribe(`socket.io-response#${NSP}#${uid}#`, (message) => {
      const answer = JSON.parse(message);
      if (answer.requestId !== requestId) return;
      for (const socket of answer.sockets ?? []) ids.push(socket.id);
      if (++answered === servers) done();
    });
    const request = { uid, requestId, type: 5, opts: { rooms: [room], except: [] } };
    await client.publish(REQUEST_CHANNEL, JSON.stringify(request));
    await withTimeout(all, timeout, `${servers} answers to fetchSockets(${room})`);
    return ids;
  } finally {
    await quitClient(sub);
  }
}
let fetchCount = 0;

/**
 * One HTTP request on a connection of its own (closed after it). A connection that carried a
 * request for another node's session is tunnelled to that node for good, so requests that must
 * reach a given node never share a pooled connection (fetch's) with such requests.
 * Resolves with { status, headers, text }, or { status: null, error } if the connection fails.
 */
export function httpOnce(url, { method = "GET", body, headers = {}, timeout = 3000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false, headers: { connection: "close", ...headers }, timeout }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, text }));
      res.on("error", (error) => resolve({ status: null, error }));
    });
    req.on("timeout", () => {
      req.destroy();
      reject(new Error(`timed out after ${timeout} ms waiting for ${method} ${url}`));
    });
    req.on("error", (error) => resolve({ status: null, error }));
    req.end(body);
  });
}

/**
 * Whether a polling session opened on `owner` can be used through `other` (which tunnels the
 * request to the owner): true when the CONNECT sent through `other` is answered.
 */
export async function routes(owner, other) {
  const base = `/socket.io/?EIO=4&transport=polling`;
  const open = await httpOnce(`${owner.url}${base}`);
  const sid = JSON.parse(open.text.slice(1)).sid;
  try {
    const res = await httpOnce(`${other.url}${base}&sid=${encodeURIComponent(sid)}`, { method: "POST", body: `40${NSP},` });
    return res.status === 200;
  } finally {
    await httpOnce(`${owner.url}${base}&sid=${encodeURIComponent(sid)}`, { method: "POST", body: "1" });
  }
}

/** Waits until every node routes requests for every other node's sessions. */
export async function waitRouting(nodes, timeout = 8000) {
  for (const owner of nodes) {
    for (const other of nodes) {
      if (owner === other) continue;
      const deadline = Date.now() + timeout;
      while (!(await routes(owner, other))) {
        if (Date.now() > deadline) throw new Error(`${other.url} does not route requests for sessions of ${owner.url} after ${timeout} ms`);
        await sleep(100);
      }
    }
  }
}

/** Value of a metric (first sample whose line starts with `name`) from GET /metrics. */
export async function metric(node, name) {
  const res = await call(node, "/metrics", undefined, { method: "GET" });
  for (const line of res.text.split("\n")) {
    if (line.startsWith(`${name} `)) return Number(line.slice(name.length + 1));
  }
  throw new Error(`metric ${name} not in /metrics of ${node.url}`);
}

/** Lines of a node's log (warn level and above in these tests) after `from` characters. */
export function logSince(node, from) {
  return node
    .stderr()
    .slice(from)
    .split("\n")
    .filter((line) => line.trim() !== "");
}

// ---------------------------------------------------------------------------
// HAProxy
// ---------------------------------------------------------------------------

/**
 * Starts HAProxy (mode http, balance roundrobin, no stickiness, option http-server-close: every
 * request is balanced on its own) in front of `nodes`. Each response carries `x-backend: <name>`
 * (the server that answered: node0, node1, ...). Returns { port, url, wsUrl, stats(), stop() };
 * stats() gives the CSV stats rows of the backend's servers by name.
 */
export async function startHAProxy(nodes) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "herald-haproxy-"));
  const port = await freePort();
  const statsPort = await freePort();
  const servers = nodes.map((node, i) => `  server node${i} 127.0.0.1:${node.port}`).join("\n");
  const config = `global
  maxconn 2000

defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  timeout tunnel 30s
  option http-server-close

frontend front
  bind 127.0.0.1:${port}
  default_backend heralds

backend heralds
  balance roundrobin
  http-response set-header x-backend %[srv_name]
${servers}

listen stats
  bind 127.0.0.1:${statsPort}
  stats enable
  stats uri /stats
`;
  const haproxy = spawnHAProxy(dir, config);
  const { child, output } = haproxy;
  await waitListening(port, child, "haproxy", output);
  await waitListening(statsPort, child, "haproxy stats", output);
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    config,
    output,
    /** { node0: {req_tot, hrsp_4xx, ...}, node1: ..., BACKEND: ..., front: ... } from the CSV stats. */
    async stats() {
      const res = await fetch(`http://127.0.0.1:${statsPort}/stats;csv`);
      const lines = (await res.text()).trim().split("\n");
      const header = lines[0].replace(/^# /, "").split(",");
      const rows = {};
      for (const line of lines.slice(1)) {
        const values = line.split(",");
        const row = Object.fromEntries(header.map((key, i) => [key, values[i]]));
        if (row.pxname === "heralds" || row.pxname === "front") rows[row.svname === "FRONTEND" ? "front" : row.svname] = row;
      }
      return rows;
    },
    stop: haproxy.stop,
  };
}

/**
 * Starts HAProxy passing TCP through (mode tcp) to 127.0.0.1:`targetPort`, sending the client
 * address as a PROXY protocol header when `sendProxy` is "send-proxy" (v1) or "send-proxy-v2".
 * Returns { port, output(), stop() }.
 */
export async function startTcpProxy(targetPort, { sendProxy = null } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "herald-haproxy-tcp-"));
  const port = await freePort();
  const config = `global
  maxconn 2000

defaults
  mode tcp
  timeout connect 2s
  timeout client 30s
  timeout server 30s

listen passthrough
  bind 127.0.0.1:${port}
  server herald 127.0.0.1:${targetPort}${sendProxy ? ` ${sendProxy}` : ""}
`;
  const haproxy = spawnHAProxy(dir, config);
  const { child, output } = haproxy;
  await waitListening(port, child, "haproxy", output);
  return {
    port,
    output,
    stop: haproxy.stop,
  };
}

// ---------------------------------------------------------------------------
// A Node socket.io server with @socket.io/redis-adapter
// ---------------------------------------------------------------------------

/**
 * Starts lib/node-peer.mjs (socket.io 4.8 + @socket.io/redis-adapter on `redis`, namespace NSP)
 * on a free port; with `sharded`, createShardedAdapter on the Redis Cluster `redis` (redis-ha.mjs). Returns { port, url, request(op, args), events(name), exited(), stop() }.
 */
export async function startNodePeer(redis, { sharded = false } = {}) {
  const port = await freePort();
  let output = "";
  const where = sharded ? [redis.addresses, NSP, "sharded"] : [redis.url, NSP];
  const child = killOnExit(
    fork(path.join(LIB_DIR, "node-peer.mjs"), [String(port), ...where], {
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      serialization: "advanced", // Buffers cross as Buffers
    }),
  );
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (d) => (output = (output + d).slice(-16000)));
  child.stderr.on("data", (d) => (output = (output + d).slice(-16000)));
  let exitInfo = null;
  child.once("exit", (code, signal) => (exitInfo = { code, signal }));
  const pending = new Map();
  let nextId = 0;
  const ready = new Promise((resolve, reject) => {
    child.on("message", (message) => {
      if (message.ready) return resolve();
      const waiter = pending.get(message.id);
      if (!waiter) return;
      pending.delete(message.id);
      if (message.error) waiter.reject(new Error(`node peer: ${message.error}`));
      else waiter.resolve(message.result);
    });
    child.once("exit", (code) => reject(new Error(`node peer exited at start (${code})\n${output}`)));
  });
  await withTimeout(ready, 5000, `the node peer to start\n${output}`);
  const peer = {
    port,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    exited: () => exitInfo,
    /** Runs an operation in the peer (see node-peer.mjs) and resolves with its result. */
    request(op, args = {}, timeout = 5000) {
      if (exitInfo) return Promise.reject(new Error(`node peer is gone (${JSON.stringify(exitInfo)})\n${output}`));
      const id = ++nextId;
      const result = new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
      child.send({ id, op, ...args });
      return withTimeout(result, timeout, `node peer ${op}`).finally(() => pending.delete(id));
    },
    async stop() {
      if (exitInfo) throw new Error(`node peer died during the tests (${JSON.stringify(exitInfo)})\n${output}`);
      await terminate(child);
    },
  };
  return peer;
}
