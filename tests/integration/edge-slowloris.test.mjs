// Slow clients on plain HTTP (slowloris: connections that send a header a byte at a time and never
// finish it): --max-connections-per-ip caps the connections one address holds open, others are still
// served, and --http-header-timeout-ms closes a connection whose header does not come in time.
// WebSockets are not counted (the per-IP session limit covers those).

import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { io } from "socket.io-client";
import { T, eventually, startHerald } from "./lib/herald.mjs";
import { scaled } from "./lib/timing.mjs";
import { WAIT, waitForEvent } from "./lib/wait.mjs";

const LIMIT = 5;
const HEADER_TIMEOUT_MS = 600;

/** A connection from `from` that sends the start of a request header and never finishes it. */
function slowConnection(port, from) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1", localAddress: from }, () => {
      socket.write("GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ");
      resolve(socket);
    });
    socket.setEncoding("latin1");
    socket.answer = "";
    socket.on("data", (d) => (socket.answer += d));
    socket.whenClosed = new Promise((done) => socket.on("close", done));
    socket.on("error", reject);
  });
}

function health(port, from) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/health", localAddress: from, agent: false, timeout: WAIT }, (res) => {
      let text = "";
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode, text }));
    });
    req.on("timeout", () => req.destroy(new Error("no answer")));
    req.on("error", reject);
  });
}

describe(`--max-connections-per-ip ${LIMIT}, --http-header-timeout-ms ${HEADER_TIMEOUT_MS}`, () => {
  let server;
  before(async () => {
    server = await startHerald(["--max-connections-per-ip", LIMIT, "--http-header-timeout-ms", HEADER_TIMEOUT_MS]);
  });
  after(() => server?.stop());

  it("one address holds at most the limit; its next connection gets 503; other addresses are served", T, async () => {
    const slow = [];
    for (let i = 0; i < LIMIT; i++) slow.push(await slowConnection(server.port, "127.0.0.2"));
    // The connections are open on the client's side before the server has accepted them all (each
    // loop accepts from its own queue): the limit holds once they are.
    let refused;
    await eventually(async () => (refused = await health(server.port, "127.0.0.2")).status === 503, "a 503");
    assert.match(refused.text, /Too many connections/);
    assert.equal((await health(server.port, "127.0.0.3")).status, 200, "another address is served");
    for (const socket of slow) socket.destroy();
  });

  it("a header that does not come in time closes the connection, and the address may connect again", T, async () => {
    const slow = [];
    for (let i = 0; i < LIMIT; i++) slow.push(await slowConnection(server.port, "127.0.0.4"));
    const started = Date.now();
    await Promise.all(slow.map((socket) => socket.whenClosed));
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= HEADER_TIMEOUT_MS - 100 && elapsed < HEADER_TIMEOUT_MS + scaled(1500), `closed after ${elapsed} ms`);
    for (const socket of slow) assert.equal(socket.answer, "", "no answer to an unfinished header");
    assert.equal((await health(server.port, "127.0.0.4")).status, 200, "the slots came back");
  });

  it("WebSockets are not counted against the HTTP connection limit", T, async () => {
    const sockets = [];
    for (let i = 0; i < LIMIT + 2; i++) {
      const socket = io(server.url, { transports: ["websocket"], forceNew: true, reconnection: false, timeout: WAIT });
      await waitForEvent(socket, "connect", { failOn: ["connect_error"] });
      sockets.push(socket);
    }
    assert.equal((await health(server.port, "127.0.0.1")).status, 200);
    for (const socket of sockets) socket.close();
  });
});
