// A descriptor reserve: when clients take every descriptor the open-file limit allows, the last
// ones serve /health, /ready and /metrics only (anything else gets 503 with Retry-After), and an
// idle connection on them is closed within 500 ms, so a balancer's health check still gets through.
// Herald runs under `prlimit --nofile=160` here; the test holds idle TCP connections against it.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { eventually } from "./lib/herald.mjs";
import { canConnect, killOnExit } from "./lib/processes.mjs";
import { freePort } from "./lib/server.mjs";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const LIMIT = 160;
let child;
let port;
let output = "";
const held = [];

before(async () => {
  port = await freePort();
  const bin = (process.env.HERALD_BIN ?? "").trim() || "build/herald";
  const command = path.isAbsolute(bin) ? bin : path.resolve(REPO_ROOT, bin);
  child = killOnExit(
    spawn("prlimit", [`--nofile=${LIMIT}:${LIMIT}`, "--", command, "--host", "127.0.0.1", "--port", String(port), "--threads", "1"], {
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d) => (output = (output + d).slice(-8000)));
  await eventually(() => canConnect(port), `herald on ${port}: ${output}`, 5000);
});

after(async () => {
  for (const socket of held) socket.destroy();
  child.kill("SIGTERM");
  await new Promise((resolve) => child.once("exit", resolve));
});

/** One HTTP/1.1 request on a fresh connection: { status, headers, body } or null when none came. */
function request(target, timeout = 10000) {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let data = "";
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(null);
    }, timeout);
    socket.on("connect", () => socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    socket.setEncoding("latin1");
    socket.on("data", (d) => (data += d));
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      if (!data) return resolve(null);
      const [head, ...rest] = data.split("\r\n\r\n");
      resolve({ status: Number(head.split(" ")[1]), head, body: rest.join("\r\n\r\n") });
    });
  });
}

async function metric(name) {
  const res = await request("/metrics");
  const line = res.body.split("\n").find((l) => l.startsWith(`${name} `));
  return Number(line.slice(name.length + 1));
}

describe("the last descriptors serve health checks only", () => {
  it("with every descriptor taken by idle clients, /health answers and Socket.IO gets 503", { timeout: 30_000 }, async () => {
    assert.equal((await request("/health")).status, 200);
    for (let i = 0; i < LIMIT; i++) {
      const socket = net.connect(port, "127.0.0.1");
      socket.on("error", () => {});
      held.push(socket);
    }
    await Promise.all(held.map((s) => new Promise((resolve) => (s.connecting ? s.once("connect", resolve).once("error", resolve) : resolve()))));
    // Once herald has accepted them all, only the reserve is left: Socket.IO is refused.
    const refused = await eventually(async () => {
      const res = await request("/socket.io/?EIO=4&transport=polling");
      return res?.status === 503 ? res : null;
    }, "a 503 for Socket.IO once herald holds every descriptor", 5000);
    const health = await request("/health");
    assert.equal(health?.status, 200, `GET /health while clients hold every descriptor: ${health?.head}\n${output}`);
    assert.match(refused.head, /Retry-After: 1/i);
    assert.match(refused.body, /open-file limit/);
    assert.ok((await metric("herald_descriptor_refusals_total")) >= 1);
    assert.equal(child.exitCode, null, "herald is still running");
    for (const socket of held.splice(0)) socket.destroy();
    await eventually(async () => (await request("/socket.io/?EIO=4&transport=polling"))?.status === 200, "Socket.IO served again once clients leave", 5000);
  });
});
