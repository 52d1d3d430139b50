// --api-token: every API call needs the token (Authorization: Bearer, X-Api-Token or ?token);
// without it or with a wrong one: 401, {code:-1,msg} on seed paths, {error} on /api/v1, and nothing
// is delivered. CORS headers (--cors-origins) are for the socket side only, never on API answers.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { T, Users, call, eventually, expectQuietFor, seedOk, startHerald, uniq } from "./lib/herald.mjs";

const TOKEN = "s3cret";
const ORIGIN = "http://app.example";
let server;
const users = new Users();

before(async () => {
  server = await startHerald(["--api-token", TOKEN, "--cors-origins", "*"]);
});

afterEach(() => users.closeAll());

after(async () => {
  users.closeAll();
  await server.stop();
});

const ENDPOINTS = (uid, room) => [
  ["POST", "/pushMsgToSingleDevice", { useraccount: uid, msgId: "m", message: "x" }],
  ["POST", "/pushBatchUniMsg", { useraccounts: uid, msgId: "m", message: "x" }],
  ["POST", "/pushMsgToRoom", { tags: room, msgId: "m", message: "x" }],
  ["POST", "/pushMsgToAll", { msgId: "m", message: "x" }],
  ["POST", "/pushOffLineMsg", { useraccount: uid, msglist: JSON.stringify([{ msgId: "m", message: "x" }]) }],
  ["POST", "/changeRoom", { useraccounts: uid, joins: "other" }],
  ["POST", "/api/v1/push", { users: uid, msgId: "m", message: "x" }],
  ["POST", "/api/v1/offline", { user: uid, messages: JSON.stringify([{ msgId: "m", message: "x" }]) }],
  ["POST", "/api/v1/rooms", { users: uid, joins: "other" }],
  ["GET", "/api/v1/stats", undefined],
  ["GET", `/api/v1/users/${uid}`, undefined],
  ["GET", `/api/v1/users/${uid}/rooms`, undefined],
  ["PUT", `/api/v1/users/${uid}/rooms`, { rooms: "r" }],
];

/** A logged-in user in a room; the room is joined with the token. */
async function target() {
  const uid = uniq();
  const room = uniq("room");
  const user = await users.login(server, uid);
  const joined = await call(server, "/changeRoom", { useraccounts: uid, joins: room }, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(seedOk(joined), true);
  // The HTTP answer can overtake the changeRoom notice on the socket: wait for the notice first.
  await eventually(() => user.eventsNamed("changeRoom").length === 1, "the changeRoom notice");
  user.events.length = 0;
  return { uid, room, user };
}

function expect401(res, path) {
  assert.equal(res.status, 401, `${path}: ${res.status} ${res.text}`);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/, path);
  if (path.startsWith("/api/")) {
    assert.equal(typeof res.json?.error, "string", `${path}: ${res.text}`);
  } else {
    assert.equal(res.json?.code, -1, `${path}: ${res.text}`);
    assert.equal(typeof res.json.msg, "string", `${path}: ${res.text}`);
  }
}

describe("--api-token", () => {
  for (const [label, headers, query] of [
    ["no token", {}, ""],
    ["a wrong Bearer token", { authorization: "Bearer nope" }, ""],
    ["a Bearer token with a suffix", { authorization: `Bearer ${TOKEN}x` }, ""],
    ["a prefix of the token", { "x-api-token": TOKEN.slice(0, 3) }, ""],
    ["a wrong X-Api-Token", { "x-api-token": "nope" }, ""],
    ["the token without 'Bearer '", { authorization: TOKEN }, ""],
    ["a wrong ?token", {}, "?token=nope"],
    ["an empty ?token", {}, "?token="],
    ["the right token as ?token (URLs end up in access logs)", {}, `?token=${TOKEN}`],
  ]) {
    it(`${label}: 401 on every endpoint and nothing is delivered`, T, async () => {
      const { uid, room, user } = await target();
      for (const [method, path, body] of ENDPOINTS(uid, room)) {
        const res = await call(server, `${path}${query}`, body, { method, headers });
        expect401(res, path);
      }
      // the rooms PUT was refused too
      const rooms = await call(server, `/api/v1/users/${uid}/rooms`, undefined, { method: "GET", headers: { "x-api-token": TOKEN } });
      assert.equal(rooms.status, 200, rooms.text);
      assert.ok(!rooms.json.rooms.includes("r"), `the refused PUT set the rooms: ${rooms.text}`);
      await expectQuietFor(100, "a push or notice delivered without the token");
      assert.deepEqual(user.events, [], `delivered without the token: ${JSON.stringify(user.events)}`);
    });
  }

  for (const [label, headers, query] of [
    ["Authorization: Bearer", { authorization: `Bearer ${TOKEN}` }, ""],
    ["X-Api-Token", { "x-api-token": TOKEN }, ""],
  ]) {
    it(`${label} passes on every endpoint`, T, async () => {
      const { uid, room, user } = await target();
      for (const [method, path, body] of ENDPOINTS(uid, room)) {
        const res = await call(server, `${path}${query}`, body, { method, headers });
        assert.equal(res.status, 200, `${method} ${path}: ${res.text}`);
        if (!path.startsWith("/api/")) assert.equal(res.json.code, 0, `${path}: ${res.text}`);
      }
      // 5 pushes with a message (single, batch, room, all, offline) + /api/v1/push + /api/v1/offline
      await user.waitMessages(7);
      await eventually(() => user.eventsNamed("changeRoom").length === 2, "the two changeRoom notices");
      await expectQuietFor(50, "a third changeRoom notice");
      assert.equal(user.eventsNamed("changeRoom").length, 2);
    });
  }

  it("the socket side needs no token", T, async () => {
    const uid = uniq();
    const user = await users.connect(server);
    assert.equal((await user.login(uid)).code, 0);
  });
});

describe("CORS is for the socket side only", () => {
  it("the Socket.IO polling handshake gets CORS headers (--cors-origins is on)", T, async () => {
    const res = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: ORIGIN } });
    await res.text();
    assert.equal(res.status, 200);
    assert.ok(res.headers.get("access-control-allow-origin"), "the socket side has CORS headers");
  });

  it("API answers (success, errors, 401, 404, 405, preflight) carry no Access-Control-* header", T, async () => {
    const auth = { authorization: `Bearer ${TOKEN}`, origin: ORIGIN };
    const answers = [
      await call(server, "/pushMsgToAll", { msgId: "m", message: "x", timeout: 100 }, { headers: auth }),
      await call(server, "/pushMsgToAll", { msgId: "m" }, { headers: auth }),
      await call(server, "/pushMsgToAll", { msgId: "m", message: "x" }, { headers: { origin: ORIGIN } }),
      await call(server, "/api/v1/push", { all: true, msgId: "m", message: "x", timeout: 100 }, { as: "json", headers: auth }),
      await call(server, "/api/v1/push", { msgId: "m", message: "x" }, { as: "json", headers: auth }),
      await call(server, "/api/v1/stats", undefined, { method: "GET", headers: auth }),
      await call(server, "/api/v1/stats", undefined, { method: "GET", headers: { origin: ORIGIN } }),
      await call(server, "/api/v1/nope", undefined, { method: "GET", headers: auth }),
      await call(server, "/api/v1/push", undefined, { method: "GET", headers: auth }),
      await call(server, "/pushMsgToAll", undefined, {
        method: "OPTIONS",
        headers: { ...auth, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
      }),
      await call(server, "/api/v1/push", undefined, {
        method: "OPTIONS",
        headers: { origin: ORIGIN, "access-control-request-method": "POST" },
      }),
    ];
    for (const res of answers) {
      const cors = [...res.headers.keys()].filter((k) => k.startsWith("access-control-"));
      assert.deepEqual(cors, [], `CORS headers on an API answer (${res.status} ${res.text})`);
    }
  });
});
