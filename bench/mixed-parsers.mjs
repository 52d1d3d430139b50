// Broadcast deliveries with clients of every encoding against default-parser clients only, on one
// herald process: rounds of pushes to all (no ack, so each carries its recovery offset) to
// `--clients` raw WebSocket clients that count the frames they get, alternating between
//   default: every client socket.io-client 4.x's default parser (Engine.IO v4)
//   mixed:   a third default, a third socket.io-client 2.x (Engine.IO v3), a third msgpack
// Each round prints deliveries per second of wall time and per CPU-second of the server (read from
// /proc, so slower clients on a shared machine change the first figure more than the second).
//
//   node bench/mixed-parsers.mjs [--clients 600] [--pushes 400] [--rounds 3] [--herald build/herald]

import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";

const require = createRequire(import.meta.url);
const notepack = require("notepack.io");
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const option = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const CLIENTS = Number(option("clients", 600));
const PUSHES = Number(option("pushes", 400));
const ROUNDS = Number(option("rounds", 3));
const HERALD = path.resolve(ROOT, option("herald", "build/herald"));
const TICKS = 100; // clock ticks per second of /proc/<pid>/stat (Linux's USER_HZ)

const freePort = () =>
  new Promise((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

function cpuSeconds(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS; // utime + stime
}

/**
 * A raw client of `kind` (default, v3, msgpack) connected to "/" and logged in (pushes to all reach
 * logged-in sockets); then counts the broadcasts it gets.
 */
function connect(port, kind, uid) {
  const eio = kind === "v3" ? 3 : 4;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=${eio}&transport=websocket`, { perMessageDeflate: false });
  const client = { ws, received: 0, ready: false };
  const login = () =>
    kind === "msgpack" ? ws.send(notepack.encode({ type: 2, nsp: "/", id: 1, data: ["login", uid] })) : ws.send(`421["login","${uid}"]`);
  return new Promise((resolve, reject) => {
    ws.on("error", reject);
    ws.on("message", (data, binary) => {
      if (client.ready) {
        if (binary || data.toString().startsWith("42")) client.received++;
        else if (data.toString() === "2") ws.send("3");
        return;
      }
      if (binary) {
        const packet = notepack.decode(data);
        if (packet.type === 0) login(); // the CONNECT answer
        if (packet.type === 3) resolve(Object.assign(client, { ready: true })); // the login answer
        return;
      }
      const text = data.toString();
      if (text === "2") return ws.send("3");
      if (text.startsWith("0{")) {
        if (kind === "default") ws.send("40");
        if (kind === "msgpack") ws.send(notepack.encode({ type: 0, nsp: "/" }));
        return;
      }
      if (text.startsWith("40")) return login();
      if (text.startsWith("431")) resolve(Object.assign(client, { ready: true }));
    });
  });
}

async function push(port, msgId) {
  const res = await fetch(`http://127.0.0.1:${port}/pushMsgToAll`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ msgId, message: { text: "a broadcast of some size", n: msgId }, ack: false }),
  });
  if (res.status !== 200) throw new Error(`push answered ${res.status}`);
  await res.text();
}

async function round(port, pid, kinds) {
  const clients = [];
  for (let i = 0; i < CLIENTS; i += 50)
    clients.push(...(await Promise.all(kinds.slice(i, i + 50).map((kind, j) => connect(port, kind, `u${i + j}`)))));
  // v3 clients ping the server themselves.
  const pinger = setInterval(() => clients.forEach((c, i) => kinds[i] === "v3" && c.ws.send("2")), 5000);
  const startCpu = cpuSeconds(pid);
  const start = performance.now();
  for (let sent = 0; sent < PUSHES; sent += 8)
    await Promise.all(Array.from({ length: Math.min(8, PUSHES - sent) }, (_, j) => push(port, `m${sent + j}`)));
  const expected = CLIENTS * PUSHES;
  const total = () => clients.reduce((sum, c) => sum + c.received, 0);
  while (total() < expected && performance.now() - start < 60_000) await new Promise((r) => setTimeout(r, 5));
  const seconds = (performance.now() - start) / 1000;
  const cpu = cpuSeconds(pid) - startCpu;
  clearInterval(pinger);
  for (const c of clients) c.ws.terminate();
  await new Promise((r) => setTimeout(r, 300));
  if (total() < expected) throw new Error(`only ${total()} of ${expected} deliveries arrived`);
  return { perSecond: expected / seconds, perCpuSecond: expected / cpu };
}

const port = await freePort();
const herald = spawn(HERALD, ["--host", "127.0.0.1", "--port", String(port), "--threads", "1", "--log-level", "warn"], {
  stdio: ["ignore", "inherit", "inherit"],
});
process.on("exit", () => herald.kill("SIGKILL"));
for (let i = 0; ; i++) {
  if (await new Promise((resolve) => net.connect(port, "127.0.0.1").on("connect", function () { this.destroy(); resolve(true); }).on("error", () => resolve(false)))) break;
  if (i > 100) throw new Error("herald did not start");
  await new Promise((r) => setTimeout(r, 50));
}

const onlyDefault = Array.from({ length: CLIENTS }, () => "default");
const mixed = Array.from({ length: CLIENTS }, (_, i) => ["default", "v3", "msgpack"][i % 3]);
console.log(`herald ${HERALD}, 1 thread; ${CLIENTS} clients; ${PUSHES} pushes to all per round (no ack)`);
const results = { default: [], mixed: [] };
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, kinds] of [["default", onlyDefault], ["mixed", mixed]]) {
    const result = await round(port, herald.pid, kinds);
    results[name].push(result);
    console.log(
      `round ${r + 1} ${name.padEnd(7)}: ${Math.round(result.perSecond).toLocaleString("en")} deliveries/s, ` +
        `${Math.round(result.perCpuSecond).toLocaleString("en")} per server CPU-second`,
    );
  }
}
const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
const summary = {};
for (const name of ["default", "mixed"]) {
  summary[name] = {
    perSecond: median(results[name].map((r) => r.perSecond)),
    perCpuSecond: median(results[name].map((r) => r.perCpuSecond)),
  };
}
console.log(
  `median: default ${Math.round(summary.default.perSecond).toLocaleString("en")}/s ` +
    `(${Math.round(summary.default.perCpuSecond).toLocaleString("en")}/CPU-s), mixed ` +
    `${Math.round(summary.mixed.perSecond).toLocaleString("en")}/s (${Math.round(summary.mixed.perCpuSecond).toLocaleString("en")}/CPU-s): ` +
    `mixed/default ${(summary.mixed.perSecond / summary.default.perSecond).toFixed(3)} wall, ` +
    `${(summary.mixed.perCpuSecond / summary.default.perCpuSecond).toFixed(3)} CPU`,
);
herald.kill("SIGTERM");
