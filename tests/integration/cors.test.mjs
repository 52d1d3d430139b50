// CORS on the HTTP long-polling transport of /socket.io/:
//   --cors-origin ORIGIN (repeatable)  -> only those origins are allowed
//   --cors-origin "*"                  -> any origin is allowed
//   no --cors-origin                   -> no CORS headers at all

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { PollingSession, eioQuery, request } from "./lib/raw.mjs";
import { startEchoServer } from "./lib/server.mjs";
import { TEST_TIMEOUT } from "./lib/wait.mjs";

const T = { timeout: TEST_TIMEOUT };
const PATH = "/socket.io/";
const ALLOWED = "http://allowed.example";
const ALSO_ALLOWED = "http://second.example:8080";
const OTHER = "http://evil.example";

const servers = {};

before(async () => {
  const [listed, any, none] = await Promise.all([
    startEchoServer(["--cors-origin", ALLOWED, "--cors-origin", ALSO_ALLOWED]),
    startEchoServer(["--cors-origin", "*"]),
    startEchoServer([]),
  ]);
  Object.assign(servers, { listed, any, none });
});

after(async () => {
  await Promise.all(Object.values(servers).map((s) => s.stop()));
});

function handshakeUrl(server) {
  return `${server.url}${PATH}?${eioQuery()}`;
}

function preflight(server, origin) {
  return request(handshakeUrl(server), {
    method: "OPTIONS",
    headers: {
      Origin: origin,
      "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": "content-type",
    },
  });
}

function listOf(header) {
  return (header ?? "")
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
}

function corsHeaders(headers) {
  return [...headers.keys()].filter((k) => k.toLowerCase().startsWith("access-control-"));
}

describe("with --cors-origin listing two origins", () => {
  it("a handshake from an allowed origin gets Access-Control-Allow-Origin and -Credentials", T, async () => {
    const res = await request(handshakeUrl(servers.listed), { headers: { Origin: ALLOWED } });
    assert.equal(res.status, 200);
    assert.ok(res.text.startsWith("0{"));
    assert.equal(res.headers.get("access-control-allow-origin"), ALLOWED);
    assert.equal(res.headers.get("access-control-allow-credentials"), "true");
  });

  it("the second --cors-origin is allowed too", T, async () => {
    const res = await request(handshakeUrl(servers.listed), { headers: { Origin: ALSO_ALLOWED } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("access-control-allow-origin"), ALSO_ALLOWED);
    assert.equal(res.headers.get("access-control-allow-credentials"), "true");
  });

  it("POST and GET of an established session carry the CORS headers", T, async () => {
    const session = await PollingSession.open(servers.listed.url, PATH);
    const post = await request(session.url(), { method: "POST", body: "40", headers: { Origin: ALLOWED } });
    assert.equal(post.status, 200);
    assert.equal(post.text, "ok");
    assert.equal(post.headers.get("access-control-allow-origin"), ALLOWED);
    assert.equal(post.headers.get("access-control-allow-credentials"), "true");
    const get = await request(session.url(), { headers: { Origin: ALLOWED } });
    assert.equal(get.status, 200);
    assert.ok(get.text.startsWith("40{"), get.text);
    assert.equal(get.headers.get("access-control-allow-origin"), ALLOWED);
  });

  it("an OPTIONS preflight is answered 204 with the allowed methods and headers", T, async () => {
    const res = await preflight(servers.listed, ALLOWED);
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("access-control-allow-origin"), ALLOWED);
    assert.equal(res.headers.get("access-control-allow-credentials"), "true");
    const methods = listOf(res.headers.get("access-control-allow-methods"));
    assert.ok(methods.includes("get") && methods.includes("post"), `Access-Control-Allow-Methods: ${methods}`);
    const allowedHeaders = listOf(res.headers.get("access-control-allow-headers"));
    assert.ok(allowedHeaders.includes("content-type"), `Access-Control-Allow-Headers: ${allowedHeaders}`);
  });

  it("a handshake from another origin gets no Access-Control-Allow-Origin", T, async () => {
    const res = await request(handshakeUrl(servers.listed), { headers: { Origin: OTHER } });
    assert.equal(res.headers.get("access-control-allow-origin"), null);
  });

  it("a preflight from another origin gets no Access-Control-Allow-Origin", T, async () => {
    const res = await preflight(servers.listed, OTHER);
    assert.equal(res.headers.get("access-control-allow-origin"), null);
  });

  it("an origin that only shares a prefix with an allowed one is not allowed", T, async () => {
    const res = await request(handshakeUrl(servers.listed), { headers: { Origin: `${ALLOWED}.evil.example` } });
    assert.equal(res.headers.get("access-control-allow-origin"), null);
  });

  it("a handshake without an Origin header still works", T, async () => {
    const res = await request(handshakeUrl(servers.listed));
    assert.equal(res.status, 200);
    assert.ok(res.text.startsWith("0{"));
  });
});

describe('with --cors-origin "*"', () => {
  for (const origin of [ALLOWED, OTHER, "http://localhost:5173"]) {
    it(`a handshake from ${origin} is allowed`, T, async () => {
      const res = await request(handshakeUrl(servers.any), { headers: { Origin: origin } });
      assert.equal(res.status, 200);
      const allowOrigin = res.headers.get("access-control-allow-origin");
      assert.ok(allowOrigin === "*" || allowOrigin === origin, `Access-Control-Allow-Origin: ${allowOrigin}`);
    });
  }

  it("an OPTIONS preflight is answered 204", T, async () => {
    const res = await preflight(servers.any, OTHER);
    assert.equal(res.status, 204);
    const allowOrigin = res.headers.get("access-control-allow-origin");
    assert.ok(allowOrigin === "*" || allowOrigin === OTHER, `Access-Control-Allow-Origin: ${allowOrigin}`);
    assert.ok(listOf(res.headers.get("access-control-allow-methods")).includes("post"));
  });
});

describe("without --cors-origin", () => {
  it("no CORS headers are sent, even to a request with an Origin", T, async () => {
    const res = await request(handshakeUrl(servers.none), { headers: { Origin: ALLOWED } });
    assert.equal(res.status, 200);
    assert.deepEqual(corsHeaders(res.headers), []);
    const session = await PollingSession.open(servers.none.url, PATH);
    const post = await request(session.url(), { method: "POST", body: "40", headers: { Origin: ALLOWED } });
    assert.equal(post.status, 200);
    assert.deepEqual(corsHeaders(post.headers), []);
  });
});
