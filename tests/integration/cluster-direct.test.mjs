// Acked pushes to users on other Herald nodes go straight to the node that holds them (a direct
// link over the internal port), not through a Redis broadcast every node decodes: three real herald
// nodes and a real redis-server. Receipts come back as before; when presence is stale (a user
// moved) the push still reaches the user through the adapter; when the node holding the user is
// SIGKILLed mid-push the push is kept and redelivered; the direct path's metrics count all of it.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { metric, quitClient, redisClient, startNode, startReadyNodes, startRedis, waitReady, waitServers } from "./lib/cluster.mjs";
import { NSP, T, Users, call, eventually, expectQuietFor, loggedIn, seedOk, sleep, uniq } from "./lib/herald.mjs";
import { scaled } from "./lib/timing.mjs";

let redis;
let client; // a plain redis client for checking keys
let watcher; // a subscriber counting the push namespace's Redis broadcasts
let broadcasts = 0;
let A;
let B;
let C;
const users = new Users();

const direct = (node, event) => metric(node, `herald_direct_pushes_total{event="${event}"}`);
const push = (node, uid, msgId, extra = {}) =>
  call(node, "/pushMsgToSingleDevice", { useraccount: uid, msgId, message: { n: msgId }, timeout: 3000, ...extra }, { as: "json" });
const state = async (node, msgId) => (await call(node, `/api/v1/messages/${msgId}`, undefined, { method: "GET" })).json;
/** The node uid presence records for a user's sockets (herald:user:<uid>: socket id -> node). */
const nodesOf = async (uid) => Object.values(await client.hGetAll(`herald:user:${uid}`));

before(async () => {
  redis = await startRedis();
  client = await redisClient(redis);
  [A, B, C] = await startReadyNodes(redis, client, 3);
  watcher = await redisClient(redis);
  await watcher.pSubscribe(`socket.io#${NSP}#*`, () => broadcasts++);
});

afterEach(() => users.closeAll());

after(async () => {
  users.closeAll();
  await quitClient(watcher);
  await Promise.all([A, B, C].map((node) => node?.stop()));
  await quitClient(client);
  await redis?.stop();
});

/** Waits until A sends pushes to `uid` (on another node) directly; the cluster check runs every heartbeat. */
async function waitDirect(uid, user) {
  let n = 0;
  await eventually(async () => {
    const before = await direct(A, "sent");
    const msgId = uniq("warm");
    assert.deepEqual(seedOk(await push(A, uid, msgId)), [uid]);
    await user.message(n++);
    return (await direct(A, "sent")) > before;
  }, "pushes from A to go straight to the user's node");
  return n;
}

describe("the direct path", () => {
  it("acked pushes from A to users on B and C arrive, their receipts come back, and Redis carries no broadcast", T, async () => {
    const onB = uniq("b");
    const onC = uniq("c");
    const userB = await users.login(B, onB);
    const userC = await users.login(C, onC);
    const seenB = await waitDirect(onB, userB);
    const sentBefore = await direct(A, "sent");
    const fallbackBefore = await direct(A, "fallback");
    const receivedB = await direct(B, "received");
    const receivedC = await direct(C, "received");
    const broadcastsBefore = broadcasts;
    const ids = [];
    const answers = [];
    for (let i = 0; i < 20; i++) {
      const uid = i % 2 ? onC : onB;
      const msgId = uniq("d");
      ids.push([uid, msgId]);
      answers.push(push(A, uid, msgId));
    }
    const results = await Promise.all(answers);
    results.forEach((res, i) => assert.deepEqual(seedOk(res), [ids[i][0]], res.text));
    await userB.waitMessages(seenB + 10);
    await userC.waitMessages(10);
    assert.deepEqual(userB.msgIds().slice(seenB).sort(), ids.filter(([u]) => u === onB).map(([, m]) => m).sort());
    assert.deepEqual(userC.msgIds().sort(), ids.filter(([u]) => u === onC).map(([, m]) => m).sort());
    assert.equal((await direct(A, "sent")) - sentBefore, 20);
    assert.equal((await direct(A, "fallback")) - fallbackBefore, 0);
    assert.equal((await direct(B, "received")) - receivedB, 10);
    assert.equal((await direct(C, "received")) - receivedC, 10);
    await expectQuietFor(50, "a push on the Redis broadcast channel");
    assert.equal(broadcasts - broadcastsBefore, 0, "no push went through the Redis broadcast channel");
    // The JSON API says the same as through Redis: reached, acked, complete.
    const res = await call(A, "/api/v1/push", { users: [onB, onC], msgId: uniq("j"), message: "x", timeout: 3000 }, { as: "json" });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json.acked.sort(), [onB, onC].sort());
    assert.equal(res.json.complete, true);
    assert.equal(res.json.usersReached, 2);
  });

  it("a user on A and on B at once gets the push on both, with one receipt", T, async () => {
    const uid = uniq("ab");
    const onB = await users.login(B, uid);
    const onA = await users.login(A, uid);
    await waitDirect(uid, onB);
    const msgId = uniq("m");
    assert.deepEqual(seedOk(await push(A, uid, msgId)), [uid]);
    assert.ok(onA.msgIds().includes(msgId));
    await eventually(() => onB.msgIds().includes(msgId), "the device on B to get it");
  });

  it("stale presence (the user is on C, presence says B): B answers it has no such socket and the push goes through the adapter", T, async () => {
    const probe = uniq("probe");
    await users.login(B, probe);
    await eventually(async () => (await nodesOf(probe)).length === 1, "presence to record the user on B");
    const staleNode = (await nodesOf(probe))[0];
    const uid = uniq("moved");
    const user = await users.login(C, uid);
    await waitDirect(uid, user);
    // Presence points at B only, as if the user had just moved from B to C.
    const sockets = await client.hGetAll(`herald:user:${uid}`);
    await client.del(`herald:user:${uid}`);
    await client.hSet(`herald:user:${uid}`, "stale-socket", staleNode);
    const fallbackBefore = await direct(A, "fallback");
    const msgId = uniq("m");
    const seen = user.received.length;
    assert.deepEqual(seedOk(await push(A, uid, msgId)), [uid], "acked through the adapter path");
    assert.equal((await user.message(seen)).msgId, msgId);
    assert.equal((await direct(A, "fallback")) - fallbackBefore, 1);
    await client.del(`herald:user:${uid}`);
    await client.hSet(`herald:user:${uid}`, sockets);
  });

  it("a user who moves from B to C in the middle of a stream of pushes gets every one of them", T, async () => {
    const uid = uniq("mover");
    const first = await users.login(B, uid);
    await waitDirect(uid, first);
    const seen = first.received.length;
    const sent = [];
    const answers = [];
    let second = null;
    for (let i = 0; i < 30; i++) {
      if (i === 12) {
        first.close();
        second = await users.login(C, uid);
      }
      const msgId = uniq("s");
      sent.push(msgId);
      answers.push(push(A, uid, msgId, { timeout: 2000 }));
      await sleep(10);
    }
    for (const res of await Promise.all(answers)) assert.equal(res.status, 200, res.text);
    await eventually(() => {
      const got = new Set([...first.msgIds().slice(seen), ...second.msgIds()]);
      return sent.every((m) => got.has(m));
    }, "every push to reach the user on B or, kept or sent after the move, on C", 8000);
  });
});

describe("the node holding the user dies mid-push", () => {
  it("SIGKILL of the target node: the push is kept, A answers without waiting out the timeout, and the user gets it on B", T, async () => {
    const D = await startNode(redis);
    await waitServers(client, 4);
    await waitReady([D]);
    try {
      const uid = uniq("died");
      const warm = await users.login(D, uid);
      await waitDirect(uid, warm);
      warm.close();
      const held = await users.login(D, uid, { ackMode: "manual" });
      const other = uniq("gone");
      await users.login(D, other);
      const sentBefore = await direct(A, "sent");
      const msgId = uniq("m");
      const started = Date.now();
      const answer = push(A, uid, msgId, { timeout: 6000 });
      await held.message(0);
      assert.equal((await direct(A, "sent")) - sentBefore, 1, "sent over the direct link");
      await D.kill();
      const res = await answer;
      assert.deepEqual(seedOk(res), [], res.text);
      assert.ok(Date.now() - started < scaled(5000, { below: 6000 }), `A answered when the link broke, not after the 6 s wait (${Date.now() - started} ms)`);
      await eventually(async () => (await state(A, msgId))?.users?.[uid]?.state === "pending", "kept for the user");
      const back = await users.login(B, uid);
      assert.equal((await back.message(0)).msgId, msgId);
      await eventually(async () => (await state(A, msgId))?.users?.[uid]?.state === "acked", "acked after the redelivery");
      // A push to a user presence still places on the dead node: no link, so the adapter path.
      const failedBefore = await direct(A, "failed");
      const fallbackBefore = await direct(A, "fallback");
      const lost = uniq("m");
      const res2 = await push(A, other, lost, { timeout: 500 });
      assert.deepEqual(seedOk(res2), [], res2.text);
      assert.ok((await direct(A, "failed")) > failedBefore || (await direct(A, "fallback")) > fallbackBefore);
      await eventually(async () => (await state(A, lost))?.users?.[other]?.state === "pending", "kept for the user on the dead node");
    } finally {
      await D.stop();
    }
  });
});
