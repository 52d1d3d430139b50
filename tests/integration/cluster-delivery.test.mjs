// At-least-once delivery of acked pushes across a cluster, with real redis-server, two Herald
// nodes and the real socket.io-client: a kept push lives in Redis, so the user gets it when back on
// either node, after the node that held its connection was SIGKILLed (also pushes to all sent
// after that node was swept as gone, while its users are away), and after a Redis outage (kept in
// process meanwhile and written when Redis returns); never again once acked.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { startWebhookReceiver } from "./lib/alerts.mjs";
import {
  metric,
  quitClient,
  readiness,
  redisClient,
  startNode,
  startReadyNodes,
  startRedis,
  waitReady,
  waitServers,
} from "./lib/cluster.mjs";
import { T, Users, call, eventually, expectQuietFor, loggedIn, seedOk, uniq } from "./lib/herald.mjs";
import { scaled } from "./lib/timing.mjs";

let redis;
let client;
let webhook;
/** Every late receipt the webhook was sent. */
const receipts = () => webhook.requests.flatMap((r) => r.json?.receipts ?? []);
const users = new Users();

before(async () => {
  webhook = await startWebhookReceiver();
  redis = await startRedis();
  client = await redisClient(redis);
});

afterEach(() => users.closeAll());

after(async () => {
  users.closeAll();
  await quitClient(client);
  await redis?.stop();
  await webhook.close();
});

const flags = () => ["--receipt-webhook", webhook.url];
const state = async (node, msgId) => (await call(node, `/api/v1/messages/${msgId}`, undefined, { method: "GET" })).json;
const push = (node, uid, msgId, extra = {}) =>
  call(node, "/pushMsgToSingleDevice", { useraccount: uid, msgId, message: { n: msgId }, timeout: 800, ...extra }, { as: "json" });

describe("kept pushes live in Redis", () => {
  let A;
  let B;
  before(async () => {
    [A, B] = await startReadyNodes(redis, client, 2, flags());
  });
  after(async () => {
    users.closeAll();
    await Promise.all([A?.stop(), B?.stop()]);
  });

  it("a push kept on node A reaches the user at login on node B, is acked there, and never comes again", T, async () => {
    const uid = uniq("away");
    const msgId = uniq("m");
    seedOk(await push(A, uid, msgId));
    assert.equal((await state(B, msgId)).users[uid].state, "pending", "the record is shared: node B tells it");
    assert.equal(await client.zCard(`herald:pending:{${uid}}`), 1);
    const user = users.add(await loggedIn(B, uid));
    const got = await user.message(0);
    assert.deepEqual([got.msgId, got.message, got.hasAck], [msgId, { n: msgId }, true]);
    await eventually(async () => (await state(A, msgId)).users[uid].state === "acked", "acked, as node A tells");
    await eventually(() => receipts().some((r) => r.msgId === msgId && r.uid === uid), "the late receipt webhook");
    assert.equal(receipts().filter((r) => r.msgId === msgId).length, 1, "one late receipt");
    assert.equal(await client.exists(`herald:pending:{${uid}}:body`), 0, "nothing left pending in Redis");
    user.close();
    const again = users.add(await loggedIn(A, uid));
    await expectQuietFor(300, "the acked push sent again");
    assert.deepEqual(again.msgIds(), [], "an acked push is not sent again, on either node");
  });

  it("several kept pushes come back in the order they were sent, the expired one not at all", T, async () => {
    const uid = uniq("order");
    const ids = [uniq("m1"), uniq("m2"), uniq("m3")];
    seedOk(await push(A, uid, ids[0]));
    seedOk(await push(B, uid, ids[1], { ttl: 300 }));
    seedOk(await push(A, uid, ids[2]));
    await eventually(async () => (await state(A, ids[1]))?.users?.[uid]?.state === "expired", "the 300 ms push to expire");
    const user = users.add(await loggedIn(B, uid));
    await user.waitMessages(2);
    await expectQuietFor(200, "the expired push sent");
    assert.deepEqual(user.msgIds(), [ids[0], ids[2]]);
    assert.equal((await state(A, ids[1])).users[uid].state, "expired");
  });

  it("a user with braces and % in its id is kept under one hash tag", T, async () => {
    const uid = `${uniq("b")}{x}%7B`;
    const msgId = uniq("m");
    seedOk(await push(A, uid, msgId));
    assert.equal(await client.zCard(`herald:pending:{${uid.replace(/[{}%]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase())}}`), 1);
    const user = users.add(await loggedIn(B, uid));
    assert.equal((await user.message(0)).msgId, msgId);
  });

  it("an acked push to all, while a user's dropped connection waits on node B, is kept for it by B and reaches it on node A", T, async () => {
    const uid = uniq("dropped");
    const msgId = uniq("all");
    const user = users.add(await loggedIn(B, uid));
    user.socket.io.engine.transport.ws._socket.destroy(); // a network drop: B keeps a recoverable session
    await eventually(() => !user.socket.connected, "the client to notice the drop");
    await eventually(async () => (await client.exists(`herald:user:${uid}`)) === 0, "node B to notice the drop");
    const res = await call(A, "/pushMsgToAll", { msgId, message: "to all", timeout: 300 });
    assert.equal(res.status, 200, res.text);
    await eventually(async () => (await state(A, msgId))?.users?.[uid]?.state === "pending", "kept by node B for the dropped user");
    const back = users.add(await loggedIn(A, uid));
    assert.equal((await back.message(0)).msgId, msgId);
  });

  it("an acked push to all, to a user back on node A while its dropped connection waits on node B: sent once, acked, not kept", T, async () => {
    const uid = uniq("back");
    const msgId = uniq("all");
    const old = users.add(await loggedIn(B, uid));
    old.socket.io.engine.transport.ws._socket.destroy(); // a network drop: B keeps a recoverable session
    await eventually(async () => (await client.exists(`herald:user:${uid}`)) === 0, "node B to notice the drop");
    const back = users.add(await loggedIn(A, uid));
    const acked = seedOk(await call(A, "/pushMsgToAll", { msgId, message: "to all", timeout: 3000 }, { as: "json" }));
    assert.ok(acked.includes(uid), JSON.stringify(acked));
    assert.equal((await back.message(0)).msgId, msgId);
    // B kept it for the dropped session; A, which saw the user ack, takes it out of the store.
    await eventually(async () => (await state(A, msgId))?.users?.[uid]?.state !== "pending", "the keep to be cleared");
    await expectQuietFor(300, "a second copy of the push through B's keep");
    assert.deepEqual(back.received.map((m) => m.msgId), [msgId]);
  });

  it("a socket on node B that drops before acking is reported to node A, which keeps the push before its wait ends", T, async () => {
    const uid = uniq("drop");
    const msgId = uniq("m");
    const held = users.add(await loggedIn(B, uid, { ackMode: "manual" }));
    const started = Date.now();
    const answer = push(A, uid, msgId, { timeout: 6000 });
    await held.message(0);
    held.socket.io.engine.transport.ws._socket.destroy();
    await eventually(async () => (await client.exists(`herald:user:${uid}`)) === 0, "node B to notice the drop");
    const back = users.add(await loggedIn(A, uid)); // back long before A stops waiting for the ack
    assert.equal((await back.message(0, 3000)).msgId, msgId);
    assert.ok(Date.now() - started < scaled(5000, { below: 6000 }), "delivered again before the push's wait ended");
    const res = await answer;
    assert.deepEqual(res.json.body, [], res.text);
    assert.ok(Date.now() - started < scaled(5000, { below: 6000 }), "the answer does not wait out the 6 s for a user whose only socket closed: " + res.text);
  });

  it("a user who did not ack before the node holding its connection died gets the push on the other node", T, async () => {
    const C = await startNode(redis, flags());
    await waitServers(client, 3);
    await waitReady([C]);
    try {
      const uid = uniq("died");
      const msgId = uniq("m");
      const held = users.add(await loggedIn(C, uid, { ackMode: "manual" }));
      const answer = push(A, uid, msgId, { timeout: 1500 });
      await held.message(0);
      await C.kill();
      const res = await answer;
      assert.equal(res.status, 200);
      const fresh = users.add(await loggedIn(B, uid));
      const got = await fresh.message(0);
      assert.equal(got.msgId, msgId);
      await eventually(async () => (await state(A, msgId)).users[uid].state === "acked", "acked after the node died");
    } finally {
      await C.stop();
    }
  });
});

describe("a node that died before a room or all push was sent", () => {
  let A;
  let B;
  /** The third nodes, stopped here too when a test fails before killing its own. */
  const extra = new Set();
  before(async () => {
    [A, B] = await startReadyNodes(redis, client, 2, flags());
  });
  afterEach(async () => {
    await Promise.all([...extra].map((node) => node.stop()));
    extra.clear();
  });
  after(async () => {
    users.closeAll();
    await Promise.all([A?.stop(), B?.stop()]);
  });

  /** A node whose heartbeat outlives the test (2 s: it is not swept as dead meanwhile), with `uids` logged in. */
  async function nodeWithUsers(uids) {
    const C = await startNode(redis, flags(), { heartbeatMs: 2000 });
    await waitServers(client, 3);
    await waitReady([C]);
    extra.add(C);
    for (const uid of uids) users.add(await loggedIn(C, uid));
    // The login's answer can reach the client before the node's presence writes reach Redis.
    await eventually(async () => {
      const [node] = await client.hVals(`herald:user:${uids[0]}`);
      if (!node) return false;
      const recorded = await client.hVals(`herald:node:${node}:sockets`);
      return uids.every((uid) => recorded.includes(uid));
    }, "presence to record the node's users");
    return C;
  }

  it("an acked push to all is kept for the users presence still records on the dead node", T, async () => {
    const uid = uniq("deadall");
    const C = await nodeWithUsers([uid]);
    const before = await metric(A, "herald_silent_node_users_total");
    await C.kill();
    const msgId = uniq("all");
    const res = await call(A, "/pushMsgToAll", { msgId, message: "while dead", timeout: 300 });
    assert.equal(res.status, 200, res.text);
    await eventually(async () => (await state(A, msgId))?.users?.[uid]?.state === "pending", "kept for the dead node's user");
    // At least this user: the nodes killed by earlier tests are gone nodes whose users (away for
    // the recovery window) count too.
    assert.ok((await metric(A, "herald_silent_node_users_total")) >= before + 1);
    const back = users.add(await loggedIn(B, uid));
    assert.equal((await back.message(0)).msgId, msgId);
    await eventually(async () => (await state(A, msgId)).users[uid].state === "acked", "acked on node B");
  });

  it("an acked room push is kept only for the dead node's users in that room", T, async () => {
    const member = uniq("member");
    const other = uniq("other");
    const room = uniq("room");
    const C = await nodeWithUsers([member, other]);
    seedOk(await call(A, "/changeRoom", { useraccounts: member, joins: room }));
    const before = await metric(A, "herald_silent_node_users_total");
    await C.kill();
    const msgId = uniq("r");
    const res = await call(A, "/pushMsgToRoom", { tags: room, msgId, message: "to the room", timeout: 300 });
    assert.equal(res.status, 200, res.text);
    await eventually(async () => (await state(A, msgId))?.users?.[member]?.state === "pending", "kept for the member");
    assert.equal((await state(A, msgId)).users[other], undefined, "not for a user outside the room");
    assert.equal(await metric(A, "herald_silent_node_users_total"), before + 1, "the member only is counted");
    const back = users.add(await loggedIn(B, member));
    assert.equal((await back.message(0)).msgId, msgId);
    const outsider = users.add(await loggedIn(B, other));
    await expectQuietFor(300, "the room push sent to a user outside the room");
    assert.deepEqual(outsider.msgIds(), [], "nothing for the user outside the room");
  });
});

describe("a node SIGKILLed and swept as gone", () => {
  let A;
  let B;
  before(async () => {
    [A, B] = await startReadyNodes(redis, client, 2, flags());
  });
  after(async () => {
    users.closeAll();
    await Promise.all([A?.stop(), B?.stop()]);
  });

  it("an acked push to all while its users are away is kept for them (one online, one dropped before the kill) and reaches each once on the other nodes", T, async () => {
    const C = await startNode(redis, flags());
    try {
      await waitServers(client, 3);
      await waitReady([C]);
      const idC = (await readiness(C)).redis.node;
      const online = uniq("gone");
      const dropped = uniq("gonedrop");
      users.add(await loggedIn(C, online));
      const drops = users.add(await loggedIn(C, dropped));
      const listed = async () => Object.values(await client.hGetAll(`herald:node:${idC}:sockets`)).sort();
      await eventually(async () => (await listed()).length === 2, "presence to record C's users");
      drops.socket.io.engine.transport.ws._socket.destroy(); // a network drop: C keeps a recovery session
      await eventually(async () => (await client.exists(`herald:user:${dropped}`)) === 0, "the dropped user is not online");
      assert.deepEqual(await listed(), [online, dropped].sort(), "C's list keeps the dropped socket for the window");

      await C.kill();
      await eventually(async () => client.sIsMember("herald:nodes:gone", idC), "C swept as gone", 4000);
      assert.equal(await client.sIsMember("herald:nodes", idC), false);
      assert.equal(await client.exists(`herald:user:${online}`), 0, "C's users are no longer online");
      assert.deepEqual(await listed(), [online, dropped].sort(), "but listed as away");
      const ttl = await client.pTTL(`herald:node:${idC}:sockets`);
      assert.ok(ttl > 100_000 && ttl <= 120_000, `kept for the recovery window (pttl ${ttl})`);

      const msgId = uniq("all");
      const res = await call(A, "/pushMsgToAll", { msgId, message: "while away", timeout: 300 });
      assert.equal(res.status, 200, res.text);
      for (const uid of [online, dropped])
        await eventually(async () => (await state(A, msgId))?.users?.[uid]?.state === "pending", `kept for ${uid}`);
      const backOnB = users.add(await loggedIn(B, online));
      const backOnA = users.add(await loggedIn(A, dropped));
      assert.equal((await backOnB.message(0)).msgId, msgId);
      assert.equal((await backOnA.message(0)).msgId, msgId);
      for (const uid of [online, dropped])
        await eventually(async () => (await state(A, msgId)).users[uid].state === "acked", `acked by ${uid}`);

      // Back online, they get the next push live, once, and nothing is kept for them.
      const next = uniq("all");
      const live = await call(A, "/pushMsgToAll", { msgId: next, message: "back", timeout: 1000 });
      assert.equal(live.status, 200, live.text);
      await backOnB.message(1);
      await backOnA.message(1);
      await expectQuietFor(500, "a second copy of either push");
      assert.deepEqual(backOnB.msgIds(), [msgId, next], "each push once");
      assert.deepEqual(backOnA.msgIds(), [msgId, next], "each push once");
      for (const uid of [online, dropped]) assert.notEqual((await state(A, next))?.users?.[uid]?.state, "pending");
    } finally {
      await C.stop();
    }
  });
});

describe("a Redis outage loses no acked push", () => {
  let A;
  let B;
  before(async () => {
    [A, B] = await startReadyNodes(redis, client, 2, flags());
  });
  after(async () => {
    users.closeAll();
    await Promise.all([A?.stop(), B?.stop()]);
  });

  it("kept in process while Redis is down, named in the answer, delivered on the other node when Redis is back", T, async () => {
    const uid = uniq("outage");
    const msgId = uniq("m");
    const bufferedBefore = await metric(A, 'herald_pending_total{event="buffered"}');
    await redis.kill();
    await waitReady([A, B], "degraded", 3000);
    const res = await push(A, uid, msgId);
    assert.equal(res.json.code, 1, `not code 0 while Redis is down: ${res.text}`);
    assert.match(res.json.msg, new RegExp(`kept for ${uid} until they are back`));
    assert.equal(await metric(A, 'herald_pending_total{event="buffered"}'), bufferedBefore + 1);
    assert.equal((await state(A, msgId)).users[uid].state, "pending", "node A tells the state meanwhile");
    const user = users.add(await loggedIn(B, uid)); // on the node that does not hold it
    await expectQuietFor(200, "the push kept on node A reaching node B without Redis");
    assert.deepEqual(user.msgIds(), [], "not reachable while Redis is down");
    await redis.start();
    await waitReady([A, B], "ready", 8000);
    const got = await user.message(0, 8000);
    assert.equal(got.msgId, msgId);
    await eventually(async () => (await state(B, msgId))?.users?.[uid]?.state === "acked", "acked after the outage");
    assert.equal(await client.exists(`herald:pending:{${uid}}`), 0);
  });
});
