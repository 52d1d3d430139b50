// At-least-once delivery of acked pushes with the real socket.io-client: a push a user has not
// acknowledged (offline when sent, its connection dropped before the ack, a room or "all" push while
// it was away) is sent again when the user is back (login, or a recovered connection) until acked
// or its ttl ends, and never again after the ack; late acks reach the receipt webhook and
// GET /api/v1/messages/<msgId>.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { io } from "socket.io-client";
import { startWebhookReceiver } from "./lib/alerts.mjs";
import { NSP, T, Users, call, eventually, expectQuietFor, loggedIn, seedOk, startHerald, uniq } from "./lib/herald.mjs";
import { waitForEvent } from "./lib/wait.mjs";

let server;
let webhook;
/** Every late receipt the webhook was sent. */
const receipts = () => webhook.requests.flatMap((r) => r.json?.receipts ?? []);
const users = new Users();
const sockets = new Set();

before(async () => {
  webhook = await startWebhookReceiver();
  server = await startHerald(["--receipt-webhook", webhook.url]);
});

afterEach(() => {
  users.closeAll();
  for (const socket of sockets) socket.disconnect();
  sockets.clear();
});

after(async () => {
  await server.stop();
  await webhook.close();
});

/** A reconnecting client that acks every message unless told not to; logs in as `uid`. */
async function client(uid, { ack = true } = {}) {
  const socket = io(`${server.url}${NSP}`, { forceNew: true, transports: ["websocket"], reconnectionDelay: 300, randomizationFactor: 0 });
  sockets.add(socket);
  socket.received = [];
  socket.acking = ack;
  socket.on("message", (msgId, message, ack) => {
    socket.received.push({ msgId, message, hasAck: typeof ack === "function" });
    if (socket.acking && typeof ack === "function") ack();
  });
  await waitForEvent(socket, "connect", { failOn: ["connect_error"] });
  const reply = await new Promise((resolve) => socket.emit("login", uid, resolve));
  assert.equal(reply.code, 0);
  return socket;
}

const ids = (socket) => socket.received.map((m) => m.msgId);
const drop = (socket) => socket.io.engine.transport.ws._socket.destroy();
const state = async (msgId) => (await call(server, `/api/v1/messages/${msgId}`, undefined, { method: "GET" })).json;

describe("acked pushes are delivered at least once", () => {
  it("to a user offline when it was sent: delivered at login, acked, reported late, never again", T, async () => {
    const uid = uniq("off");
    const msgId = uniq("m");
    assert.deepEqual(seedOk(await call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId, message: { hi: 1 } }, { as: "json" })), []);
    assert.equal((await state(msgId)).users[uid].state, "pending");
    const socket = await client(uid);
    await eventually(() => ids(socket).includes(msgId), "the kept push at login");
    assert.deepEqual(socket.received, [{ msgId, message: { hi: 1 }, hasAck: true }]);
    await eventually(async () => (await state(msgId)).users[uid].state === "acked", "state acked");
    await eventually(() => receipts().some((r) => r.msgId === msgId && r.uid === uid), "the late receipt webhook");
    assert.equal(typeof receipts().find((r) => r.msgId === msgId).ackedAt, "number");
    socket.disconnect();
    const again = await client(uid);
    await expectQuietFor(150, "the acked push sent again");
    assert.deepEqual(ids(again), [], "an acked push is not sent again");
  });

  it("to a user whose connection dropped before it acked: sent again when it comes back", T, async () => {
    const uid = uniq("drop");
    const socket = await client(uid, { ack: false });
    const msgId = uniq("m");
    const answer = call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId, message: "x", timeout: 3000 });
    await eventually(() => ids(socket).includes(msgId), "the first delivery");
    socket.acking = true;
    const disconnected = waitForEvent(socket, "disconnect");
    drop(socket);
    await disconnected;
    await waitForEvent(socket, "connect");
    assert.equal(socket.recovered, true);
    await eventually(() => ids(socket).filter((id) => id === msgId).length === 2, "the second delivery after the drop");
    assert.ok(socket.received.every((m) => m.hasAck), "both with an ack callback, no offset in its place");
    await eventually(async () => (await state(msgId)).users[uid].state === "acked", "acked");
    assert.deepEqual(seedOk(await answer), [], "the original call had no ack in its time");
  });

  it("pushMsgToAll while a user was away (dropped, recoverable): delivered when it comes back", T, async () => {
    const uid = uniq("away");
    const socket = await client(uid);
    const disconnected = waitForEvent(socket, "disconnect");
    drop(socket);
    await disconnected;
    const msgId = uniq("all");
    seedOk(await call(server, "/pushMsgToAll", { msgId, message: "x", timeout: 500 }));
    await waitForEvent(socket, "connect");
    await eventually(() => ids(socket).includes(msgId), "the push to all it missed");
    await eventually(async () => (await state(msgId))?.users?.[uid]?.state === "acked", "acked");
  });

  it("a push acked in time is not kept; a second device's ack clears what the dropped one left", T, async () => {
    const uid = uniq("two");
    const phone = await client(uid);
    const msgId = uniq("m");
    assert.deepEqual(seedOk(await call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId, message: "x" })), [uid]);
    assert.equal((await call(server, `/api/v1/messages/${msgId}`, undefined, { method: "GET" })).status, 404);
    phone.disconnect();
    const again = await client(uid);
    await expectQuietFor(150, "the push acked in time sent again");
    assert.deepEqual(ids(again), []);
  });

  it("pushMsgToAll to a user back on a new connection while its dropped one waits: sent once, acked, not kept", T, async () => {
    const uid = uniq("back");
    const old = users.add(await loggedIn(server, uid));
    old.socket.io.engine.transport.ws._socket.destroy(); // a network drop: a recoverable session stays
    const online = async () => (await call(server, `/api/v1/users/${uid}`, undefined, { method: "GET" })).json?.online;
    await eventually(async () => (await online()) === false, "the server to notice the drop");
    const socket = await client(uid);
    const msgId = uniq("all");
    assert.ok(seedOk(await call(server, "/pushMsgToAll", { msgId, message: "x", timeout: 3000 }, { as: "json" })).includes(uid));
    await eventually(() => ids(socket).includes(msgId), "the push on the new connection");
    await expectQuietFor(300, "a second copy of the push through the dropped session's keep");
    assert.deepEqual(ids(socket), [msgId]);
    assert.equal((await call(server, `/api/v1/messages/${msgId}`, undefined, { method: "GET" })).status, 404, "acked in time: nothing kept");
  });

  it("ttl: a push kept past its time to live is not delivered, and says expired", T, async () => {
    const uid = uniq("ttl");
    const msgId = uniq("m");
    seedOk(await call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId, message: "x", ttl: 200 }));
    await eventually(async () => (await state(msgId))?.users?.[uid]?.state === "expired", "the 200 ms push to expire");
    const socket = await client(uid);
    await expectQuietFor(150, "the expired push sent");
    assert.deepEqual(ids(socket), []);
    assert.equal((await state(msgId)).users[uid].state, "expired");
  });

  it("ttl 0 keeps nothing; a bad ttl is refused", T, async () => {
    const uid = uniq("ttl0");
    const msgId = uniq("m");
    seedOk(await call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId, message: "x", ttl: 0 }));
    const socket = await client(uid);
    await expectQuietFor(150, "a push kept with ttl 0 sent");
    assert.deepEqual(ids(socket), []);
    const bad = await call(server, "/api/v1/push", { users: [uid], msgId, message: "x", ttl: -1 }, { as: "json" });
    assert.equal(bad.status, 400);
    assert.match(bad.json.error, /ttl/);
  });

  it("several kept pushes arrive in the order they were sent", T, async () => {
    const uid = uniq("order");
    for (const n of [1, 2, 3]) seedOk(await call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId: `${uid}-${n}`, message: n }));
    const socket = await client(uid);
    await eventually(() => socket.received.length === 3, "three kept pushes");
    assert.deepEqual(ids(socket), [1, 2, 3].map((n) => `${uid}-${n}`));
  });
});

describe("--message-ttl-ms 0", () => {
  it("keeps nothing: a push to an offline user is not delivered later", T, async () => {
    const off = await startHerald(["--message-ttl-ms", "0"]);
    try {
      const uid = uniq("none");
      seedOk(await call(off, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "m", message: "x" }));
      const user = await users.login(off, uid);
      await expectQuietFor(150, "a push kept with --message-ttl-ms 0 sent");
      assert.deepEqual(user.msgIds(), []);
    } finally {
      users.closeAll();
      await off.stop();
    }
  });
});
