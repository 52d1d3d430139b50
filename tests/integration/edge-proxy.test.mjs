// Behind a proxy every client has the proxy's address: --trusted-proxies makes X-Forwarded-For from
// those proxies give the client address, so the per-IP limits apply per client; from other peers
// the header is ignored (a client cannot choose its address). --metrics-token guards /metrics.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { T, call, startHerald } from "./lib/herald.mjs";

const handshake = (server, forwardedFor) =>
  call(server, "/socket.io/?EIO=4&transport=polling", undefined, { method: "GET", headers: forwardedFor ? { "x-forwarded-for": forwardedFor } : {} });

describe("--trusted-proxies with --max-sessions-per-ip 1", () => {
  let trusted;
  let untrusted;
  before(async () => {
    trusted = await startHerald(["--trusted-proxies", "127.0.0.0/8", "--max-sessions-per-ip", "1"]);
    untrusted = await startHerald(["--max-sessions-per-ip", "1"]);
  });
  after(async () => {
    await trusted.stop();
    await untrusted.stop();
  });

  it("from a trusted proxy, each forwarded client has its own limit", T, async () => {
    assert.equal((await handshake(trusted, "203.0.113.1")).status, 200);
    assert.equal((await handshake(trusted, "203.0.113.2")).status, 200, "another client behind the same proxy");
    assert.equal((await handshake(trusted, "203.0.113.1")).status, 503, "the first client's second session");
  });

  it("without --trusted-proxies, X-Forwarded-For is ignored", T, async () => {
    assert.equal((await handshake(untrusted, "203.0.113.1")).status, 200);
    assert.equal((await handshake(untrusted, "203.0.113.2")).status, 503, "one peer, one limit, whatever the header says");
  });
});

describe("--metrics-token", () => {
  let server;
  before(async () => {
    server = await startHerald(["--metrics-token", "scrape-me"]);
  });
  after(() => server.stop());

  it("/metrics needs the bearer token; /health and /ready do not", T, async () => {
    assert.equal((await call(server, "/metrics", undefined, { method: "GET" })).status, 401);
    assert.equal((await call(server, "/metrics", undefined, { method: "GET", headers: { authorization: "Bearer nope" } })).status, 401);
    const ok = await call(server, "/metrics", undefined, { method: "GET", headers: { authorization: "Bearer scrape-me" } });
    assert.equal(ok.status, 200);
    assert.match(ok.text, /herald_uptime_seconds/);
    assert.equal((await call(server, "/health", undefined, { method: "GET" })).status, 200);
    assert.equal((await call(server, "/ready", undefined, { method: "GET" })).status, 200);
  });
});
