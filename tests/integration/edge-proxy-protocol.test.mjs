// The PROXY protocol (--proxy-protocol true) through a real HAProxy in TCP mode, v1 (send-proxy)
// and v2 (send-proxy-v2): clients that reach HAProxy from different loopback addresses are told
// apart by the per-IP limits, although every connection to Herald comes from HAProxy. A trusted
// peer without the header is refused; an untrusted one cannot send one to choose its address.

import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { startTcpProxy } from "./lib/cluster.mjs";
import { T, call, startHerald } from "./lib/herald.mjs";
import { WAIT } from "./lib/wait.mjs";

/** An Engine.IO polling handshake through `port`, sent from the loopback address `from`. */
function handshake(port, from) {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: "127.0.0.1", port, path: "/socket.io/?EIO=4&transport=polling", localAddress: from, agent: false, timeout: WAIT },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode));
      },
    );
    req.on("timeout", () => req.destroy(new Error("no answer")));
    req.on("error", reject);
  });
}

/** Sends `bytes` from `from` straight to herald; resolves with its answer once it closes. */
function raw(port, bytes, from) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1", localAddress: from }, () => socket.write(bytes));
    let answer = "";
    socket.setEncoding("latin1");
    socket.on("data", (d) => (answer += d));
    socket.on("close", () => resolve(answer));
    socket.on("error", (err) => (err.code === "ECONNRESET" ? resolve(answer) : reject(err)));
    socket.setTimeout(WAIT, () => reject(new Error("neither an answer nor a close")));
  });
}

async function metric(server, name) {
  const res = await call(server, "/metrics", undefined, { method: "GET" });
  return Number(res.text.split("\n").find((l) => l.startsWith(name))?.split(" ").pop());
}

describe("--proxy-protocol true behind HAProxy, --max-sessions-per-ip 1", () => {
  let server;
  let v1;
  let v2;
  before(async () => {
    // HAProxy reaches herald from 127.0.0.1; the clients come from 127.0.0.2 and up.
    server = await startHerald(["--trusted-proxies", "127.0.0.1/32", "--proxy-protocol", "true", "--max-sessions-per-ip", "1"]);
    v1 = await startTcpProxy(server.port, { sendProxy: "send-proxy" });
    v2 = await startTcpProxy(server.port, { sendProxy: "send-proxy-v2" });
  });
  after(async () => {
    await v1?.stop();
    await v2?.stop();
    await server?.stop();
  });

  it("v1 (send-proxy): each client address has its own limit", T, async () => {
    assert.equal(await handshake(v1.port, "127.0.0.2"), 200);
    assert.equal(await handshake(v1.port, "127.0.0.3"), 200, "another client behind the same proxy");
    assert.equal(await handshake(v1.port, "127.0.0.2"), 503, "the first client's second session");
  });

  it("v2 (send-proxy-v2): the same", T, async () => {
    assert.equal(await handshake(v2.port, "127.0.0.4"), 200);
    assert.equal(await handshake(v2.port, "127.0.0.5"), 200);
    assert.equal(await handshake(v2.port, "127.0.0.4"), 503);
  });

  it("the trusted proxy's address without a PROXY header is refused (closed, counted)", T, async () => {
    // Metrics are read through HAProxy: a direct request from 127.0.0.1 would be refused too.
    const viaProxy = { url: `http://127.0.0.1:${v1.port}` };
    const before = await metric(viaProxy, "herald_proxy_protocol_refusals_total");
    const answer = await raw(server.port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", "127.0.0.1");
    assert.equal(answer, "", "no answer to a connection that skipped the header");
    assert.equal(await metric(viaProxy, "herald_proxy_protocol_refusals_total"), before + 1);
  });

  it("an untrusted peer's PROXY header is not believed: 400, and its own address counts", T, async () => {
    const answer = await raw(server.port, "PROXY TCP4 203.0.113.9 127.0.0.1 1234 80\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n", "127.0.0.6");
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.equal(await handshake(server.port, "127.0.0.6"), 200, "served directly with its own address");
  });
});
