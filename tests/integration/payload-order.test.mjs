// Payloads arrive as they were sent. Events and acks through the library (the echo server) keep
// object keys in their order, as JavaScript does. A pushed message, which Herald never reads, reaches
// clients as the exact bytes the backend sent (key order, number text such as 1.50 and 1e3, escapes,
// whitespace inside): to a user, a room, all, with an ack, from a batch, across two nodes of a
// cluster (real redis-server), replayed by connection state recovery and kept for a user who was
// away. The text frames the client's Engine.IO layer received are compared with the text sent;
// msgpack clients compare values.

import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { after, afterEach, before, describe, it } from "node:test";
import { io } from "socket.io-client";
import { quitClient, redisClient, startReadyNodes, startRedis } from "./lib/cluster.mjs";
import { NSP, PushUser, T, Users, call, eventually, loggedIn, seedOk, startHerald, uniq } from "./lib/herald.mjs";
import { startEchoServer } from "./lib/server.mjs";
import { WAIT, waitForEvent } from "./lib/wait.mjs";

const require = createRequire(import.meta.url);
const msgpackParser = require("socket.io-msgpack-parser");

// Keys out of alphabetical order at every level, numbers that look alike, an array of objects.
const TEXT = '{"zeta":1,"alpha":{"y":true,"b":null,"m":[{"z":0,"a":-1.5}]},"Mid":"x","10":"digits go first in JS"}';
// JavaScript puts integer-like keys first whatever their place: what a Node peer sends is this.
const AS_JS_SENDS = JSON.stringify(JSON.parse(TEXT));
// What a parse and a serialization would change: number text, escapes, whitespace inside.
const EXACT =
  '{"zeta":1.50,"alpha":{"y":true,"b":null,"m":[{"z":0,"a":-1.5e3}]},"Mid":"caf\\u00e9 \\/ x\\n\\u0000","10":"digits", "big":1E+2 , "list" : [ 1 , 2.0 ]}';

/** The text frames (Socket.IO packets) `socket`'s Engine.IO layer receives, over every reconnection. */
function recordFrames(socket) {
  const frames = [];
  socket.io.on("open", () =>
    socket.io.engine.on("packet", (packet) => {
      if (packet.type === "message" && typeof packet.data === "string") frames.push(packet.data);
    }),
  );
  return frames;
}

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
// `2<nsp>,[<ack id>]["message","<msgId>",<message>[,"<recovery offset>"]]`
const pushFrame = (msgId, message = EXACT) =>
  new RegExp(`^2${escape(NSP)},\\d*\\["message",${escape(JSON.stringify(msgId))},${escape(message)}(,"[^"]*")?\\]$`);

/** Waits for the frame of the push `msgId` and asserts the message in it is the bytes sent. */
async function assertExactPush(frames, msgId) {
  const frame = await eventually(() => frames.find((f) => f.includes(`"${msgId}"`)), `the push ${msgId}`);
  assert.match(frame, pushFrame(msgId));
}

/** A logged-in user whose received frames are recorded (`user.frames`). */
async function exactUser(users, server, uid, options = {}) {
  const user = users.add(new PushUser(server, options));
  user.frames = recordFrames(user.socket);
  await user.connect();
  assert.equal((await user.login(uid))?.code, 0);
  return user;
}

/** A reconnecting client (connection state recovery) that acks every push; logs in as `uid`. */
async function recoveringClient(sockets, server, uid) {
  const socket = io(`${server.url}${NSP}`, { forceNew: true, transports: ["websocket"], reconnectionDelay: 200, randomizationFactor: 0 });
  sockets.add(socket);
  socket.frames = recordFrames(socket);
  socket.on("message", (msgId, message, ack) => typeof ack === "function" && ack());
  await waitForEvent(socket, "connect", { failOn: ["connect_error"] });
  assert.equal((await new Promise((resolve) => socket.emit("login", uid, resolve))).code, 0);
  return socket;
}

async function dropAndRecover(socket, whileAway) {
  const disconnected = waitForEvent(socket, "disconnect");
  socket.io.engine.transport.ws._socket.destroy();
  await disconnected;
  await whileAway();
  await waitForEvent(socket, "connect");
  assert.equal(socket.recovered, true);
}

const apiPush = (server, fields) => call(server, "/api/v1/push", JSON.stringify(fields).replace('"@MESSAGE@"', EXACT), { type: "application/json" });

describe("the library keeps key order in events and acks", () => {
  let server;
  let socket;
  before(async () => {
    // Not a heartbeat test: a pong may take as long as a test waits (see lib/scenarios.mjs).
    server = await startEchoServer(["--ping-timeout", String(WAIT)]);
    socket = io(server.url, { forceNew: true, reconnection: false, transports: ["websocket"] });
    await waitForEvent(socket, "connect");
  });
  after(async () => {
    socket?.close();
    await server?.stop();
  });

  it("an event comes back with its keys in order", T, async () => {
    const back = waitForEvent(socket, "message-back");
    socket.emit("message", JSON.parse(TEXT));
    const [payload] = await back;
    assert.equal(JSON.stringify(payload), AS_JS_SENDS);
  });

  it("an ack carries its keys in order", T, async () => {
    const payload = await socket.timeout(5000).emitWithAck("message-with-ack", JSON.parse(TEXT));
    assert.equal(JSON.stringify(payload), AS_JS_SENDS);
  });

  it("an object of many keys keeps them all in order", T, async () => {
    const keys = Array.from({ length: 500 }, (_, i) => `k${(i * 7919) % 1000}`);
    const many = Object.fromEntries(keys.map((k, i) => [k, i]));
    const payload = await socket.timeout(5000).emitWithAck("message-with-ack", many);
    assert.deepEqual(Object.keys(payload), keys);
  });
});

describe("pushes keep the message's key order", () => {
  let server;
  const users = new Users();
  before(async () => {
    server = await startHerald();
  });
  after(async () => {
    users.closeAll();
    await server?.stop();
  });

  it("a JSON push body's message arrives as sent", T, async () => {
    const uid = uniq("order");
    const user = users.add(await loggedIn(server, uid));
    const body = `{"useraccount":"${uid}","msgId":"m1","message":${TEXT}}`;
    seedOk(await call(server, "/pushMsgToSingleDevice", body, { type: "application/json" }));
    const got = await user.message(0);
    assert.equal(JSON.stringify(got.message), AS_JS_SENDS);
  });
});

describe("across a cluster", () => {
  let redis;
  let client;
  let A;
  let B;
  const users = new Users();
  before(async () => {
    redis = await startRedis();
    client = await redisClient(redis);
    [A, B] = await startReadyNodes(redis, client, 2);
  });
  after(async () => {
    users.closeAll();
    await Promise.all([A?.stop(), B?.stop()]);
    await quitClient(client);
    await redis?.stop();
  });

  for (const [what, path, fields] of [
    ["a push on node A reaches a user on node B with the message's keys in order", "/pushMsgToSingleDevice", (uid) => `"useraccount":"${uid}",`],
    ["a push to all on node A reaches users on node B in order too", "/pushMsgToAll", () => ""],
  ]) {
    it(what, T, async () => {
      const uid = uniq("far");
      const user = users.add(await loggedIn(B, uid));
      const body = `{${fields(uid)}"msgId":"${uniq("m")}","message":${TEXT}}`;
      seedOk(await call(A, path, body, { type: "application/json" }));
      const got = await user.message(0);
      assert.equal(JSON.stringify(got.message), AS_JS_SENDS);
    });
  }
});

/** The exact-bytes cases, run against one node (`push` and `at` the same) or across two. */
function exactPushes(servers) {
  const users = new Users();
  const sockets = new Set();
  afterEach(() => {
    users.closeAll();
    for (const socket of sockets) socket.disconnect();
    sockets.clear();
  });
  const { push, at } = servers;

  it("to a user through the seed's endpoint, acked", T, async () => {
    const uid = uniq("exact");
    const user = await exactUser(users, at(), uid);
    const msgId = uniq("m");
    const body = `{"useraccount":"${uid}","msgId":"${msgId}","message":${EXACT}}`;
    assert.deepEqual(seedOk(await call(push(), "/pushMsgToSingleDevice", body, { type: "application/json" })), [uid]);
    await assertExactPush(user.frames, msgId);
  });

  it("to a room, and to all, through /api/v1/push", T, async () => {
    const uid = uniq("exact");
    const room = uniq("room");
    const user = await exactUser(users, at(), uid);
    assert.equal((await call(push(), "/api/v1/rooms", { users: [uid], joins: [room] }, { as: "json" })).status, 200);
    const toRoom = uniq("room-m");
    const answer = await apiPush(push(), { rooms: [room], msgId: toRoom, message: "@MESSAGE@", ack: true });
    assert.deepEqual(answer.json.acked, [uid]);
    await assertExactPush(user.frames, toRoom);
    const toAll = uniq("all-m");
    assert.equal((await apiPush(push(), { all: true, msgId: toAll, message: "@MESSAGE@", ack: false })).status, 200);
    await assertExactPush(user.frames, toAll);
  });

  it("with an ack, and from a batch", T, async () => {
    const uid = uniq("exact");
    const user = await exactUser(users, at(), uid);
    const acked = uniq("m");
    const answer = await apiPush(push(), { users: [uid], msgId: acked, message: "@MESSAGE@", ack: true, timeout: 3000 });
    assert.deepEqual(answer.json.acked, [uid]);
    await assertExactPush(user.frames, acked);
    const [first, second] = [uniq("b"), uniq("b")];
    const batch = `{"pushes":[{"users":["${uid}"],"msgId":"${first}","message":${EXACT}},{"users":["${uid}"],"msgId":"${second}","message": [ 1.0 ,"x"] }]}`;
    const results = (await call(push(), "/api/v1/push/batch", batch, { type: "application/json" })).json.results;
    assert.deepEqual(results.map((r) => r.acked), [[uid], [uid]]);
    await assertExactPush(user.frames, first);
    const frame = user.frames.find((f) => f.includes(`"${second}"`));
    assert.match(frame, pushFrame(second, "[ 1.0 ,\"x\"]"));
  });

  it("kept for a user who was offline, delivered at login", T, async () => {
    const uid = uniq("kept");
    const msgId = uniq("m");
    const body = `{"useraccount":"${uid}","msgId":"${msgId}","message":${EXACT}}`;
    assert.deepEqual(seedOk(await call(push(), "/pushMsgToSingleDevice", body, { type: "application/json" })), []);
    const user = await exactUser(users, at(), uid);
    await assertExactPush(user.frames, msgId);
  });

  it("replayed by connection state recovery after a drop", T, async () => {
    const uid = uniq("recover");
    const socket = await recoveringClient(sockets, at(), uid);
    const msgId = uniq("m");
    await dropAndRecover(socket, async () => {
      assert.equal((await apiPush(push(), { all: true, msgId, message: "@MESSAGE@", ack: false })).status, 200);
    });
    await assertExactPush(socket.frames, msgId);
  });

  it("a msgpack client gets the value the text holds", T, async () => {
    const uid = uniq("msgpack");
    const user = users.add(await loggedIn(at(), uid, { parser: msgpackParser }));
    const msgId = uniq("m");
    assert.deepEqual((await apiPush(push(), { users: [uid], msgId, message: "@MESSAGE@", ack: true })).json.acked, [uid]);
    const got = await user.message(0);
    assert.equal(got.msgId, msgId);
    assert.deepEqual(got.message, JSON.parse(EXACT));
  });
}

describe("a pushed message reaches clients as the bytes the backend sent", () => {
  let server;
  before(async () => {
    server = await startHerald();
  });
  after(async () => {
    await server?.stop();
  });
  exactPushes({ push: () => server, at: () => server });

  it("a message that is not one JSON value is refused", T, async () => {
    const res = await call(server, "/api/v1/push", '{"all":true,"msgId":"m","message":1 2}', { type: "application/json" });
    assert.equal(res.status, 400);
  });
});

describe("across two nodes, a push entering node A reaches users on node B as sent", () => {
  let redis;
  let client;
  let A;
  let B;
  before(async () => {
    redis = await startRedis();
    client = await redisClient(redis);
    [A, B] = await startReadyNodes(redis, client, 2);
  });
  after(async () => {
    await Promise.all([A?.stop(), B?.stop()]);
    await quitClient(client);
    await redis?.stop();
  });
  exactPushes({ push: () => A, at: () => B });
});
