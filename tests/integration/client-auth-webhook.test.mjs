// --client-auth webhook with the real socket.io-client and a real HTTP backend (node:http): per
// connection Herald POSTs {auth, query, headers, address, nsp} and logs the connection in as the
// backend's `200 {uid, rooms}`; any other answer refuses with connect_error carrying the backend's
// message; a backend that is too slow or unreachable refuses too (fail closed). The requests reuse
// pooled keep-alive connections.

import assert from "node:assert/strict";
import http from "node:http";
import { after, afterEach, before, describe, it } from "node:test";
import { io } from "socket.io-client";
import { startWebhookReceiver, waitItems } from "./lib/alerts.mjs";
import { NSP, T, call, seedOk, startHerald, uniq } from "./lib/herald.mjs";
import { freePort } from "./lib/server.mjs";
import { scaled } from "./lib/timing.mjs";
import { waitForEvent } from "./lib/wait.mjs";

const sockets = new Set();
afterEach(() => {
  for (const socket of sockets) socket.disconnect();
  sockets.clear();
});

function connect(server, options) {
  const socket = io(`${server.url}${NSP}`, { forceNew: true, reconnection: false, transports: ["websocket"], ...options });
  sockets.add(socket);
  socket.received = [];
  socket.on("message", (msgId, message, ack) => {
    socket.received.push(message);
    if (typeof ack === "function") ack();
  });
  return socket;
}

/** The backend: answers by the `auth.token` the client brought. Records every request. */
async function startBackend() {
  const backend = { requests: [], connections: 0 };
  backend.server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const request = JSON.parse(body);
      backend.requests.push({ method: req.method, url: req.url, contentType: req.headers["content-type"], body: request });
      const token = request.auth?.token;
      const reply = (status, value) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(value));
      };
      if (token?.startsWith("good:")) return reply(200, { uid: token.slice(5), rooms: ["team-a"] });
      if (token === "slow") return setTimeout(() => reply(200, { uid: "late" }), 3000);
      if (token === "no-uid") return reply(200, { name: "x" });
      reply(403, { message: `token ${JSON.stringify(token ?? null)} is not ours` });
    });
  });
  backend.server.keepAliveTimeout = 60_000;
  backend.server.on("connection", () => backend.connections++);
  backend.port = await freePort();
  await new Promise((resolve) => backend.server.listen(backend.port, "127.0.0.1", resolve));
  return backend;
}

describe("--client-auth webhook", () => {
  let backend;
  let server;
  let unreachable;
  let alerts;
  before(async () => {
    alerts = await startWebhookReceiver();
    backend = await startBackend();
    server = await startHerald(["--client-auth", "webhook", "--auth-webhook", `http://127.0.0.1:${backend.port}/herald/auth`, "--auth-webhook-timeout-ms", "800"]);
    unreachable = await startHerald(["--client-auth", "webhook", "--auth-webhook", `http://127.0.0.1:${await freePort()}/auth`, "--alert-webhook", alerts.url, "--node-name", "lonely"]);
  });
  after(async () => {
    await server?.stop();
    await unreachable?.stop();
    backend?.server.close();
    await alerts?.close();
  });

  it("200 {uid, rooms}: connected, logged in as uid, in the rooms; the backend saw auth, query, headers, address, nsp", T, async () => {
    const uid = uniq("hooked");
    const socket = connect(server, { auth: { token: `good:${uid}` }, query: { app: "web" }, extraHeaders: { "x-tenant": "acme" } });
    await waitForEvent(socket, "connect", { failOn: ["connect_error"] });
    const request = backend.requests.find((r) => r.body.auth?.token === `good:${uid}`);
    assert.ok(request, "the backend was asked");
    assert.equal(request.method, "POST");
    assert.equal(request.url, "/herald/auth");
    assert.match(request.contentType, /application\/json/);
    assert.match(request.body.query, /app=web/);
    assert.equal(request.body.headers["x-tenant"], "acme");
    assert.equal(request.body.address, "127.0.0.1");
    assert.equal(request.body.nsp, NSP);
    seedOk(await call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "m1", message: "to the user" }));
    seedOk(await call(server, "/pushMsgToRoom", { tags: "team-a", msgId: "m2", message: "to the room" }));
    const deadline = Date.now() + scaled(3000);
    while (socket.received.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(socket.received, ["to the user", "to the room"]);
    const answer = await new Promise((resolve) => socket.emit("login", "someone-else", resolve));
    assert.equal(answer.code, -1, "an authenticated connection cannot log in as another user");
  });

  it("403 {message}: connect_error with the backend's message", T, async () => {
    const socket = connect(server, { auth: { token: "forged" } });
    const [error] = await waitForEvent(socket, "connect_error", { failOn: ["connect"] });
    assert.equal(error.message, 'token "forged" is not ours');
  });

  it("200 without a uid is a refusal", T, async () => {
    const socket = connect(server, { auth: { token: "no-uid" } });
    const [error] = await waitForEvent(socket, "connect_error", { failOn: ["connect"] });
    assert.match(error.message, /without a uid/);
  });

  it("a backend slower than --auth-webhook-timeout-ms refuses (fail closed)", T, async () => {
    const socket = connect(server, { auth: { token: "slow" } });
    const started = Date.now();
    const [error] = await waitForEvent(socket, "connect_error", { failOn: ["connect"], timeout: scaled(3000) });
    assert.match(error.message, /did not answer in time/);
    // The backend answers after 3 s: a refusal later than that may have waited for it.
    assert.ok(Date.now() - started < scaled(2500, { below: 3000 }), "refused at the timeout, not when the backend answers");
  });

  it("an unreachable backend refuses (fail closed) and alerts the operator once", T, async () => {
    for (let i = 0; i < 2; i++) {
      const socket = connect(unreachable, { auth: { token: "good:x" } });
      const [error] = await waitForEvent(socket, "connect_error", { failOn: ["connect"] });
      assert.match(error.message, /unreachable/);
    }
    const [alert] = await waitItems(() => alerts.from("lonely"), 1, "auth webhook alert");
    assert.equal(alert.json.kind, "auth_webhook");
    assert.equal(alert.json.state, "alert");
    assert.match(alert.json.text, /cannot be reached/);
    assert.equal(alerts.from("lonely").length, 1, "one alert for two refusals");
  });

  it("requests reuse pooled keep-alive connections", T, async () => {
    const before = backend.connections;
    for (let i = 0; i < 10; i++) {
      const socket = connect(server, { auth: { token: `good:${uniq("pool")}` } });
      await waitForEvent(socket, "connect", { failOn: ["connect_error"] });
    }
    // Two loops: at most a connection or two each, not one per request.
    assert.ok(backend.connections - before <= 4, `${backend.connections - before} new connections for 10 requests`);
  });
});
