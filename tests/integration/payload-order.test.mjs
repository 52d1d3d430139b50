// Payloads arrive as they were sent: object keys in their order (as JavaScript keeps them), through
// the library's events and acks (the echo server) and through Herald's push API, on one node and
// across two nodes of a cluster (real redis-server). JSON.stringify of what arrives is compared with
// the text that was sent.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { io } from "socket.io-client";
import { quitClient, redisClient, startReadyNodes, startRedis } from "./lib/cluster.mjs";
import { T, Users, call, loggedIn, seedOk, startHerald, uniq } from "./lib/herald.mjs";
import { startEchoServer } from "./lib/server.mjs";
import { waitForEvent } from "./lib/wait.mjs";

// Keys out of alphabetical order at every level, numbers that look alike, an array of objects.
const TEXT = '{"zeta":1,"alpha":{"y":true,"b":null,"m":[{"z":0,"a":-1.5}]},"Mid":"x","10":"digits go first in JS"}';
// JavaScript puts integer-like keys first whatever their place: what a Node peer sends is this.
const AS_JS_SENDS = JSON.stringify(JSON.parse(TEXT));

describe("the library keeps key order in events and acks", () => {
  let server;
  let socket;
  before(async () => {
    server = await startEchoServer();
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
