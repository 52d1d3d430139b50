// TLS on the client port (--tls-cert, --tls-key): the real socket.io-client over https (polling) and
// wss (websocket) trusting a CA the test makes with the openssl CLI; the push API over https; plain
// HTTP on the TLS port refused with a clear answer; SIGHUP loads a new certificate while an open wss
// connection keeps working; --workers serves TLS from every worker, and SIGUSR1 to the supervisor
// reloads the certificate in each; behind HAProxy's send-proxy-v2 the PROXY header precedes TLS.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { after, before, describe, it } from "node:test";
import { io } from "socket.io-client";
import { startRedis, startTcpProxy } from "./lib/cluster.mjs";
import { NSP, T, startHerald, uniq } from "./lib/herald.mjs";
import { WAIT, sleep, waitForEvent, withTimeout } from "./lib/wait.mjs";

let dir;
let ca;

function openssl(...args) {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
}

/** A key and a certificate for 127.0.0.1 signed by the test CA; `name` is its common name. */
function makeCertificate(name) {
  fs.writeFileSync(path.join(dir, `${name}.ext`), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${name}.key`,
    "-out", `${name}.csr`, "-subj", `/CN=${name}`);
  openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
    "-out", `${name}.pem`, "-extfile", `${name}.ext`);
  return { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "herald-tls-test-"));
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key",
    "-out", "ca.pem", "-days", "2", "-subj", "/CN=Herald Test CA");
  ca = fs.readFileSync(path.join(dir, "ca.pem"));
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A socket.io-client on the push namespace over TLS, logged in as `uid` once connected. */
async function connectUser(port, uid, transports) {
  const socket = io(`https://127.0.0.1:${port}${NSP}`, { ca, transports, forceNew: true, reconnection: false, timeout: WAIT });
  const messages = [];
  socket.on("message", (msgId, message, ack) => {
    messages.push({ msgId, message });
    if (typeof ack === "function") ack();
  });
  await waitForEvent(socket, "connect", { failOn: ["connect_error"] });
  const reply = await withTimeout(new Promise((resolve) => socket.emit("login", uid, resolve)), WAIT, "login answer");
  assert.equal(reply?.code, 0, `login answer ${JSON.stringify(reply)}`);
  return { uid, socket, messages };
}

/** POSTs JSON to the push API over https (trusting the test CA). */
function httpsJson(port, urlPath, body) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = https.request(
      { host: "127.0.0.1", port, path: urlPath, method: "POST", ca, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(data) } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode, text, json: JSON.parse(text || "null") }));
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

async function pushTo(port, uid, message) {
  const res = await httpsJson(port, "/api/v1/push", { users: [uid], msgId: uniq("m"), message });
  assert.equal(res.status, 200, `push answer ${res.text}`);
}

async function waitForMessage(user, message) {
  const deadline = Date.now() + WAIT;
  while (!user.messages.some((m) => JSON.stringify(m.message) === JSON.stringify(message))) {
    if (Date.now() > deadline) throw new Error(`no message ${JSON.stringify(message)}; got ${JSON.stringify(user.messages)}`);
    await sleep(10);
  }
}

/** GETs `urlPath` over a new https connection (trusting the test CA). */
function httpsGet(port, urlPath) {
  return new Promise((resolve, reject) => {
    https.get({ host: "127.0.0.1", port, path: urlPath, ca, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode, text }));
    }).on("error", reject);
  });
}

/** The certificate a new TLS connection is served (its subject's common name). */
function servedName(port) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, ca, servername: "localhost" }, () => {
      const name = socket.getPeerCertificate().subject.CN;
      socket.end();
      resolve(name);
    });
    socket.on("error", reject);
  });
}

/** Sends `bytes` over plain TCP and resolves with everything the server answers before it closes. */
function rawExchange(port, bytes) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(bytes));
    let answer = "";
    socket.setEncoding("latin1");
    socket.on("data", (d) => (answer += d));
    socket.on("close", () => resolve(answer));
    socket.on("error", (err) => (err.code === "ECONNRESET" ? resolve(answer) : reject(err)));
    socket.setTimeout(WAIT, () => reject(new Error("the server neither answered nor closed")));
  });
}

describe("--tls-cert / --tls-key, one process", () => {
  let server;
  let files;
  before(async () => {
    files = makeCertificate("first");
    server = await startHerald(["--tls-cert", files.cert, "--tls-key", files.key]);
  });
  after(() => server?.stop());

  it("socket.io-client over https (polling) logs in and gets a push sent over https", T, async () => {
    const uid = uniq("polling");
    const user = await connectUser(server.port, uid, ["polling"]);
    assert.equal(user.socket.io.engine.transport.name, "polling");
    await pushTo(server.port, uid, { over: "https" });
    await waitForMessage(user, { over: "https" });
    user.socket.close();
  });

  it("socket.io-client over wss (websocket) logs in and gets a push; a big message crosses records", T, async () => {
    const uid = uniq("wss");
    const user = await connectUser(server.port, uid, ["websocket"]);
    assert.equal(user.socket.io.engine.transport.name, "websocket");
    const big = { text: "x".repeat(100_000) }; // several TLS records each way
    await pushTo(server.port, uid, big);
    await waitForMessage(user, big);
    const echoed = await withTimeout(new Promise((resolve) => user.socket.emit("login", uid, resolve)), WAIT, "a second answer");
    assert.equal(echoed.code, 0);
    user.socket.close();
  });

  it("polling upgrades to wss", T, async () => {
    const uid = uniq("upgrade");
    const user = await connectUser(server.port, uid, ["polling", "websocket"]);
    if (user.socket.io.engine.transport.name !== "websocket") await waitForEvent(user.socket.io.engine, "upgrade");
    assert.equal(user.socket.io.engine.transport.name, "websocket");
    await pushTo(server.port, uid, "after upgrade");
    await waitForMessage(user, "after upgrade");
    user.socket.close();
  });

  it("a client that does not trust the certificate is refused by its own check", T, async () => {
    const socket = io(`https://127.0.0.1:${server.port}${NSP}`, { transports: ["websocket"], forceNew: true, reconnection: false, timeout: WAIT });
    const [error] = await waitForEvent(socket, "connect_error");
    // The transport's error carries the TLS failure underneath (ws' ErrorEvent, or the cause).
    const reason = [error?.message, error?.description?.message, error?.description?.error?.message, error?.description?.code]
      .filter(Boolean)
      .join(" ");
    assert.match(reason, /self[- ]signed|unable to verify|certificate|websocket error/i);
    socket.close();
  });

  it("plain HTTP on the TLS port gets a 400 that says to use https, then the connection closes", T, async () => {
    const answer = await rawExchange(server.port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.match(answer, /https/);
    const viaHttp = await new Promise((resolve, reject) => {
      http.get({ host: "127.0.0.1", port: server.port, path: "/health" }, (res) => {
        let text = "";
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode, text }));
      }).on("error", reject);
    });
    assert.equal(viaHttp.status, 400);
    assert.match(viaHttp.text, /TLS|https/);
    // Still serving TLS.
    assert.equal(await servedName(server.port), "first");
  });

  it("a client that stalls in the handshake or sends garbage is dropped, and counted", T, async () => {
    const answer = await rawExchange(server.port, Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]));
    assert.doesNotMatch(answer, /HTTP/, "no HTTP answer inside or outside TLS");
    const metrics = (await httpsGet(server.port, "/metrics")).text;
    const count = (reason) => Number(metrics.split("\n").find((l) => l.startsWith(`herald_tls_refusals_total{reason="${reason}"}`))?.split(" ").pop());
    assert.ok(count("handshake") >= 1, `handshake refusals counted:\n${metrics}`);
    assert.ok(count("plain_http") >= 2, "the plain HTTP requests of the test before are counted");
  });

  it("SIGHUP loads a new certificate: an open wss connection keeps working, a new one gets the new certificate", T, async () => {
    const uid = uniq("reload");
    const user = await connectUser(server.port, uid, ["websocket"]);
    assert.equal(await servedName(server.port), "first");
    const second = makeCertificate("second");
    fs.copyFileSync(second.cert, files.cert);
    fs.copyFileSync(second.key, files.key);
    process.kill(server.pid, "SIGHUP");
    const deadline = Date.now() + WAIT;
    while ((await servedName(server.port)) !== "second") {
      assert.ok(Date.now() < deadline, "new connections get the new certificate after SIGHUP");
      await sleep(20);
    }
    assert.ok(user.socket.connected, "the connection made before the reload is still open");
    await pushTo(server.port, uid, "after reload");
    await waitForMessage(user, "after reload");
    user.socket.close();
  });

  it("SIGHUP with a broken certificate file keeps the served one and says why", T, async () => {
    const saved = fs.readFileSync(files.cert);
    fs.writeFileSync(files.cert, "not a certificate\n");
    process.kill(server.pid, "SIGHUP");
    const deadline = Date.now() + WAIT;
    while (!/cannot load/.test(server.stderr())) {
      assert.ok(Date.now() < deadline, `the failed reload is logged:\n${server.stderr()}`);
      await sleep(20);
    }
    assert.equal(await servedName(server.port), "second", "still the certificate loaded before");
    fs.writeFileSync(files.cert, saved);
  });
});

describe("TLS behind HAProxy with the PROXY protocol (--proxy-protocol true, --max-sessions-per-ip 1)", () => {
  let server;
  let proxy;
  before(async () => {
    const files = makeCertificate("proxied");
    server = await startHerald(["--tls-cert", files.cert, "--tls-key", files.key, "--trusted-proxies", "127.0.0.1/32",
      "--proxy-protocol", "true", "--max-sessions-per-ip", "1"]);
    proxy = await startTcpProxy(server.port, { sendProxy: "send-proxy-v2" });
  });
  after(async () => {
    await proxy?.stop();
    await server?.stop();
  });

  const handshake = (from) =>
    new Promise((resolve, reject) => {
      https.get({ host: "127.0.0.1", port: proxy.port, path: "/socket.io/?EIO=4&transport=polling", ca, localAddress: from, agent: false }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode));
      }).on("error", reject);
    });

  it("the PROXY header comes before TLS; each client address has its own limit", T, async () => {
    assert.equal(await handshake("127.0.0.2"), 200);
    assert.equal(await handshake("127.0.0.3"), 200);
    assert.equal(await handshake("127.0.0.2"), 503);
  });
});

describe("--tls-cert / --tls-key with --workers 2", () => {
  let redis;
  let server;
  let files;
  before(async () => {
    redis = await startRedis();
    files = makeCertificate("workers");
    server = await startHerald(["--workers", "2", "--redis", redis.url, "--tls-cert", files.cert, "--tls-key", files.key]);
  });
  after(async () => {
    await server?.stop();
    await redis?.stop();
  });

  it("both workers answer https; users over wss and polling get pushes through either", { timeout: 20_000 }, async () => {
    const pids = new Set();
    const deadline = Date.now() + 10_000;
    while (pids.size < 2) {
      assert.ok(Date.now() < deadline, `https answered by both workers (saw ${[...pids]})`);
      const health = await httpsGet(server.port, "/health").catch(() => null);
      if (health?.status === 200) pids.add(JSON.parse(health.text).pid);
    }
    const users = [];
    for (let i = 0; i < 6; i++) users.push(await connectUser(server.port, uniq(`w${i}`), [i % 2 ? "websocket" : "polling"]));
    for (const [i, user] of users.entries()) {
      await pushTo(server.port, user.uid, `to ${i}`);
      await waitForMessage(user, `to ${i}`);
    }
    for (const user of users) user.socket.close();
  });

  it("polling upgraded to wss across workers (the upgrade may reach the other worker, which tunnels it)", { timeout: 20_000 }, async () => {
    const users = [];
    for (let i = 0; i < 6; i++) users.push(await connectUser(server.port, uniq(`u${i}`), ["polling", "websocket"]));
    for (const [i, user] of users.entries()) {
      const engine = user.socket.io.engine;
      if (engine.transport.name !== "websocket") await waitForEvent(engine, "upgrade", { timeout: 5000 });
      await pushTo(server.port, user.uid, `upgraded ${i}`);
      await waitForMessage(user, `upgraded ${i}`);
    }
    for (const user of users) user.socket.close();
  });

  it("SIGUSR1 to the supervisor reloads the certificate in every worker; open connections stay", { timeout: 20_000 }, async () => {
    const users = [];
    for (let i = 0; i < 4; i++) users.push(await connectUser(server.port, uniq(`r${i}`), ["websocket"]));
    const renewed = makeCertificate("renewed");
    fs.copyFileSync(renewed.cert, files.cert);
    fs.copyFileSync(renewed.key, files.key);
    process.kill(server.pid, "SIGUSR1");
    // Every worker: a run of new connections (spread by the kernel) all get the new certificate.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const names = await Promise.all(Array.from({ length: 8 }, () => servedName(server.port)));
      if (names.every((name) => name === "renewed")) break;
      assert.ok(Date.now() < deadline, `new connections still get ${names}`);
      await sleep(50);
    }
    for (const [i, user] of users.entries()) {
      assert.ok(user.socket.connected, "a connection made before the reload is still open");
      await pushTo(server.port, user.uid, `kept ${i}`);
      await waitForMessage(user, `kept ${i}`);
      user.socket.close();
    }
  });
});
