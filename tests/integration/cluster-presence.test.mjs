// Users and nodes in Redis (the seed's `user@<uid>`, Herald's `herald:user:<uid>` hash, node
// heartbeats and the `login` notice channel), dropped connections listed by their node until they
// come back, the clean-up of a node killed with SIGKILL by the survivors (its users no longer
// online, its list kept as away for the recovery window), and a Redis restart: nodes stay up and serve their own users (saying the cluster is
// unreachable, /ready "degraded") and recover by themselves when Redis is back.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import {
  HEARTBEAT_MS,
  quitClient,
  readiness,
  redisClient,
  startReadyNodes,
  startRedis,
  waitReady,
  waitServers,
} from "./lib/cluster.mjs";
import { T, Users, call, eventually, expectQuietFor, seedOk, uniq } from "./lib/herald.mjs";
import { scaled } from "./lib/timing.mjs";

let redis;
let client;
const users = new Users();

before(async () => {
  redis = await startRedis();
  client = await redisClient(redis);
});

afterEach(() => users.closeAll());

after(async () => {
  users.closeAll();
  await quitClient(client);
  await redis?.stop();
});

/** A Redis hash as a plain object. */
async function hash(key) {
  return { ...(await client.hGetAll(key)) };
}

/** The node's id in the cluster (as written in Redis), from GET /ready. */
async function nodeId(node) {
  const ready = await readiness(node);
  assert.equal(typeof ready.redis?.node, "string", `node id in /ready: ${JSON.stringify(ready)}`);
  return ready.redis.node;
}

describe("presence of users in Redis", () => {
  let A;
  let B;
  let idA;
  let idB;
  before(async () => {
    [A, B] = await startReadyNodes(redis, client, 2);
    [idA, idB] = [await nodeId(A), await nodeId(B)];
    assert.notEqual(idA, idB);
  });
  after(async () => {
    users.closeAll();
    await Promise.all([A?.stop(), B?.stop()]);
  });

  it("each node keeps a heartbeat record {address, pid} and is in herald:nodes", T, async () => {
    for (const [node, id] of [[A, idA], [B, idB]]) {
      const record = JSON.parse(await client.get(`herald:node:${id}`));
      assert.equal(record.pid, node.pid, `pid in herald:node:${id}`);
      assert.match(record.address, /^127\.0\.0\.1:\d+$/);
      const ttl = await client.pTTL(`herald:node:${id}`);
      assert.ok(ttl > 0 && ttl <= HEARTBEAT_MS * 3, `heartbeat expires after three beats (pttl ${ttl})`);
    }
    assert.deepEqual((await client.sMembers("herald:nodes")).sort(), [idA, idB].sort());
  });

  it("after login: user@<uid> = the socket id; herald:user:<uid> maps each socket to its node", T, async () => {
    const uid = uniq("p");
    const onA = await users.login(A, uid);
    await eventually(async () => (await client.get(`user@${uid}`)) === onA.socket.id, "user@<uid> after the login on A");
    assert.deepEqual(await hash(`herald:user:${uid}`), { [onA.socket.id]: idA });
    assert.equal(await client.hGet(`herald:node:${idA}:sockets`, onA.socket.id), uid);

    const onB = await users.login(B, uid);
    await eventually(async () => (await client.get(`user@${uid}`)) === onB.socket.id, "user@<uid> = the latest socket (on B)");
    assert.deepEqual(await hash(`herald:user:${uid}`), { [onA.socket.id]: idA, [onB.socket.id]: idB });
    assert.equal(await client.hGet(`herald:node:${idB}:sockets`, onB.socket.id), uid);
  });

  it("after disconnect (and after logout) the entries are gone", T, async () => {
    const uid = uniq("p");
    const user = await users.login(B, uid);
    const id = user.socket.id;
    await eventually(async () => (await client.get(`user@${uid}`)) === id, "user@<uid> after login");
    user.close();
    await eventually(async () => (await client.exists(`user@${uid}`)) === 0, "user@<uid> removed after disconnect");
    await eventually(async () => (await client.exists(`herald:user:${uid}`)) === 0, "herald:user:<uid> removed after disconnect");
    assert.equal(await client.hExists(`herald:node:${idB}:sockets`, id), false);

    const other = uniq("p");
    const again = await users.login(A, other);
    await eventually(async () => (await client.get(`user@${other}`)) === again.socket.id, "user@<uid> after login");
    assert.equal((await again.logout()).code, 0);
    await eventually(async () => (await client.exists(`user@${other}`)) === 0, "user@<uid> removed after logout");
    assert.equal(await client.exists(`herald:user:${other}`), 0, "herald:user:<uid> removed after logout");
  });

  it("a dropped connection (a recovery session) leaves user@ and herald:user, and stays in the node's list until it comes back", T, async () => {
    const uid = uniq("p");
    const user = await users.login(B, uid);
    const id = user.socket.id;
    await eventually(async () => (await client.get(`user@${uid}`)) === id, "user@<uid> after login");
    user.socket.io.engine.transport.ws._socket.destroy(); // a network drop, not a clean close
    await eventually(async () => (await client.exists(`user@${uid}`)) === 0, "user@<uid> removed after the drop");
    assert.equal(await client.exists(`herald:user:${uid}`), 0, "not online");
    assert.equal(await client.hGet(`herald:node:${idB}:sockets`, id), uid, "listed by its node as away");
    // It comes back (socket.io-client's recovery with its pid): online again, same socket id.
    user.socket.connect();
    await eventually(() => user.socket.connected, "the client reconnected");
    assert.equal(user.socket.recovered, true);
    await eventually(async () => (await client.get(`user@${uid}`)) === id, "user@<uid> after the recovery");
    assert.deepEqual(await hash(`herald:user:${uid}`), { [id]: idB });
    user.close();
    await eventually(async () => !(await client.hExists(`herald:node:${idB}:sockets`, id)), "a clean close removes it");
  });

  it("a device leaving removes only its own entry; user@<uid> is not removed by an older socket", T, async () => {
    const uid = uniq("p");
    const older = await users.login(A, uid);
    const newer = await users.login(B, uid);
    await eventually(async () => (await client.get(`user@${uid}`)) === newer.socket.id, "user@<uid> = newer");
    older.close();
    await eventually(async () => (await client.hLen(`herald:user:${uid}`)) === 1, "only the newer device left");
    assert.deepEqual(await hash(`herald:user:${uid}`), { [newer.socket.id]: idB });
    assert.equal(await client.get(`user@${uid}`), newer.socket.id, "the older socket does not remove user@<uid>");
  });

  it("the `login` channel carries {uid, socketId, nsp, node, time} for each login on either node", T, async () => {
    const subscriber = client.duplicate();
    subscriber.on("error", () => {});
    await subscriber.connect();
    const notices = [];
    try {
      await subscriber.subscribe("login", (message) => notices.push(JSON.parse(message)));
      const uid = uniq("n");
      const before = Date.now();
      const onA = await users.login(A, uid);
      const onB = await users.login(B, uid);
      const anonymous = await users.connect(A);
      await eventually(() => notices.length >= 2, "two login notices");
      await expectQuietFor(50, "a third notice, for the socket not logged in");
      assert.equal(notices.length, 2, `one notice per login, none for a socket not logged in: ${JSON.stringify(notices)}`);
      const [first, second] = notices;
      assert.deepEqual(Object.keys(first).sort(), ["node", "nsp", "socketId", "time", "uid"]);
      assert.deepEqual({ ...first, time: 0 }, { uid, socketId: onA.socket.id, nsp: "/heikuai", node: idA, time: 0 });
      assert.deepEqual({ ...second, time: 0 }, { uid, socketId: onB.socket.id, nsp: "/heikuai", node: idB, time: 0 });
      for (const notice of notices) {
        assert.ok(notice.time >= before - 1000 && notice.time <= Date.now() + 1000, `time ${notice.time} is now, in ms`);
      }
      assert.ok(anonymous.socket.connected);
    } finally {
      await quitClient(subscriber);
    }
  });

  it("kill -9 of node B: within ~2 s node A removes B's users and records B as gone; A's users stay", { timeout: scaled(8000) }, async () => {
    const shared = uniq("k");
    const onlyB = uniq("k");
    const onlyA = uniq("k");
    const sharedA = await users.login(A, shared);
    const sharedB = await users.login(B, shared);
    const userB = await users.login(B, onlyB);
    const userA = await users.login(A, onlyA);
    await eventually(async () => (await client.hLen(`herald:user:${shared}`)) === 2, "both devices recorded");
    await eventually(async () => (await client.get(`user@${onlyB}`)) === userB.socket.id, "user@ of B's user");
    assert.equal(await client.exists(`herald:node:${idB}:sockets`), 1);

    const killedAt = Date.now();
    await B.kill();
    await eventually(async () => (await client.exists(`user@${onlyB}`)) === 0, "user@<uid> of B's user removed", scaled(4000));
    await eventually(async () => (await client.hLen(`herald:user:${shared}`)) === 1, "B's device of the shared user removed", scaled(4000));
    const cleanedAfter = Date.now() - killedAt;
    assert.ok(cleanedAfter < scaled(2500), `cleaned up ${cleanedAfter} ms after the kill (heartbeat ${HEARTBEAT_MS} ms)`);
    assert.equal(await client.exists(`herald:user:${onlyB}`), 0);
    assert.deepEqual(await hash(`herald:user:${shared}`), { [sharedA.socket.id]: idA });
    assert.equal(await client.exists(`herald:node:${idB}`), 0, "B's heartbeat expired");
    // B's users are away, not gone: its socket list is kept for the recovery window (120 s by
    // default), so pushes to all meanwhile are still kept for them.
    assert.deepEqual((await client.hVals(`herald:node:${idB}:sockets`)).sort(), [onlyB, shared].sort(), "B's socket list kept");
    const ttl = await client.pTTL(`herald:node:${idB}:sockets`);
    assert.ok(ttl > 100_000 && ttl <= 120_000, `B's socket list expires after the recovery window (pttl ${ttl})`);
    assert.deepEqual(await client.sMembers("herald:nodes"), [idA]);
    assert.deepEqual(await client.sMembers("herald:nodes:gone"), [idB]);
    // user@<shared> named B's (newer) socket, so it is gone; A's own users are untouched.
    assert.equal(await client.exists(`user@${shared}`), 0);
    assert.equal(await client.get(`user@${onlyA}`), userA.socket.id);
    assert.deepEqual(await hash(`herald:user:${onlyA}`), { [userA.socket.id]: idA });
    // And A goes on: its users get pushes; B's users are offline.
    const res = await call(A, "/pushBatchUniMsg", { useraccounts: `${shared},${onlyB},${onlyA}`, msgId: "k", message: "m", timeout: 2000 });
    assert.deepEqual(seedOk(res).sort(), [onlyA, shared].sort());
    assert.ok(res.ms < scaled(300, { below: 2000 }), `answered after ${res.ms.toFixed(1)} ms: the dead node is not waited for`);
    assert.equal(sharedB.socket.connected, false, "B's clients lost their connection");
    assert.equal(A.exited(), null, "A is still running");
  });
});

describe("a gone node's list after the recovery window", () => {
  let E;
  let F;
  before(async () => {
    [E, F] = await startReadyNodes(redis, client, 2, ["--recovery-window-ms", "1500"]);
  });
  after(async () => {
    users.closeAll();
    await Promise.all([E?.stop(), F?.stop()]);
  });

  it("expires with the window, and the node leaves herald:nodes:gone", T, async () => {
    const idF = await nodeId(F);
    const uid = uniq("w");
    await users.login(F, uid);
    await eventually(async () => (await client.hVals(`herald:node:${idF}:sockets`)).includes(uid), "F lists its user");
    await F.kill();
    await eventually(async () => client.sIsMember("herald:nodes:gone", idF), "F swept as gone", 4000);
    assert.ok((await client.pTTL(`herald:node:${idF}:sockets`)) <= 1500);
    await eventually(async () => (await client.exists(`herald:node:${idF}:sockets`)) === 0, "the list expired", 4000);
    await eventually(async () => !(await client.sIsMember("herald:nodes:gone", idF)), "F leaves the gone nodes", 4000);
    assert.deepEqual(await client.sMembers("herald:nodes"), [await nodeId(E)]);
  });
});

describe("a Redis restart", () => {
  let C;
  let D;
  before(async () => {
    [C, D] = await startReadyNodes(redis, client, 2);
  });
  after(async () => {
    users.closeAll();
    await Promise.all([C?.stop(), D?.stop()]);
  });

  it("Redis killed: both nodes stay up and serve their own users, saying the cluster is unreachable; back by themselves after a restart", { timeout: scaled(15_000) }, async () => {
    const uidC = uniq("c");
    const uidD = uniq("d");
    const userC = await users.login(C, uidC);
    const userD = await users.login(D, uidD);
    assert.deepEqual(seedOk(await call(C, "/pushMsgToSingleDevice", { useraccount: uidD, msgId: "before", message: "m", timeout: 3000 })), [uidD]);

    await redis.kill();
    await waitReady([C, D], "degraded", 3000);
    for (const node of [C, D]) {
      const ready = await call(node, "/ready", undefined, { method: "GET" });
      assert.equal(ready.status, 200, "degraded stays in the balancer's rotation");
      assert.notEqual(ready.json.redis.commands, "connected", JSON.stringify(ready.json.redis));
      assert.equal((await call(node, "/health", undefined, { method: "GET" })).json.status, "ok");
    }

    // Local pushes still work, promptly, and say only this node was reached.
    const seed = await call(C, "/pushMsgToSingleDevice", { useraccount: uidC, msgId: "down1", message: "m", timeout: 3000 });
    assert.equal(seed.json?.code, 0, seed.text);
    assert.deepEqual(seed.json.body, [uidC], "the local user acked");
    assert.match(seed.json.msg, /cluster.*unreachable|unreachable.*cluster/i, `the message says so: ${seed.json.msg}`);
    assert.ok(seed.ms < scaled(300), `local push answered after ${seed.ms.toFixed(1)} ms`);
    assert.equal((await userC.message(0)).msgId, "down1");

    const json = await call(D, "/api/v1/push", { users: [uidD, uidC], msgId: "down2", message: "m", timeout: 3000 }, { as: "json" });
    assert.equal(json.status, 200, json.text);
    assert.equal(json.json.cluster, "unreachable", json.text);
    assert.deepEqual(json.json.acked, [uidD]);
    assert.deepEqual(json.json.offline, [uidC], "the user on the other node cannot be reached");
    assert.deepEqual(json.json.kept, [uidC], "and the push is kept for it");
    // The seed's envelope: never code 0 for a push that did not reach every user.
    const crossDown = await call(C, "/pushMsgToSingleDevice", { useraccount: uidD, msgId: "down-cross", message: "m", timeout: 3000 });
    assert.equal(crossDown.json?.code, 1, crossDown.text);
    assert.deepEqual(crossDown.json.body, []);
    assert.match(crossDown.json.msg, new RegExp(`unreachable.*kept for ${uidD}`), crossDown.text);
    assert.ok(json.ms < scaled(300), `answered after ${json.ms.toFixed(1)} ms`);
    assert.deepEqual(userD.msgIds(), ["before", "down2"]);
    await expectQuietFor(50, "a push crossing without Redis");
    assert.deepEqual(userC.msgIds(), ["down1"], "nothing crossed without Redis");

    const all = await call(C, "/pushMsgToAll", { msgId: "down3", message: "m", timeout: 3000 });
    assert.deepEqual(all.json?.body, [uidC]);
    assert.equal(all.json.code, 1, "users on other nodes were not reached");
    assert.match(all.json.msg, /unreachable/);

    // Redis comes back on the same port: the nodes reconnect and resubscribe by themselves.
    await expectQuietFor(300, "a node exiting while Redis is down");
    assert.equal(C.exited(), null, "C is still running");
    assert.equal(D.exited(), null, "D is still running");
    const restartedAt = Date.now();
    await redis.start();
    await waitReady([C, D], "ready", scaled(8000));
    await waitServers(client, 2, scaled(3000));
    const recovered = Date.now() - restartedAt;
    assert.ok(recovered < scaled(6000), `ready again ${recovered} ms after Redis restarted`);
    assert.equal(userC.socket.connected && userD.socket.connected, true, "clients stayed connected");
    // What was kept while Redis was down is delivered now, on the users' own nodes.
    await eventually(() => userC.msgIds().includes("down2"), "down2, kept for C's user, after the outage");
    await eventually(() => userD.msgIds().includes("down-cross"), "down-cross, kept for D's user, after the outage");

    const cross = await call(C, "/pushMsgToSingleDevice", { useraccount: uidD, msgId: "after1", message: "m", timeout: 3000 });
    assert.deepEqual(seedOk(cross), [uidD], "cross-node push works again");
    assert.ok(cross.ms < scaled(150), `answered after ${cross.ms.toFixed(1)} ms`);
    const back = await call(D, "/api/v1/push", { users: [uidC, uidD], msgId: "after2", message: "m", timeout: 3000 }, { as: "json" });
    assert.equal(back.json.cluster, undefined, back.text);
    assert.deepEqual(back.json.acked.sort(), [uidC, uidD].sort());
    assert.equal(back.json.complete, true);
    assert.deepEqual(userC.msgIds(), ["down1", "down3", "down2", "after2"]);
    assert.deepEqual(userD.msgIds(), ["before", "down2", "down-cross", "after1", "after2"]);
  });

  // After a Redis restart (Redis back empty, or from an older snapshot) each node records again the
  // users connected to it, logins made while Redis was down included: user@<uid> (what the seed's
  // backends read), herald:user:<uid> and herald:node:<node>:sockets.
  it("after the restart, users online on both nodes are in Redis again (presence is restored)", { timeout: 10_000 }, async () => {
    const uidC = uniq("c");
    const uidD = uniq("d");
    const userC = await users.login(C, uidC);
    const userD = await users.login(D, uidD);
    await eventually(async () => (await client.get(`user@${uidD}`)) === userD.socket.id, "user@ before the restart");
    await redis.kill();
    await waitReady([C, D], "degraded", 3000);
    // A login while Redis is down.
    const uidLate = uniq("late");
    const late = await users.login(C, uidLate);
    await redis.start();
    await waitReady([C, D], "ready", 8000);
    for (const [uid, user, node] of [[uidC, userC, C], [uidD, userD, D], [uidLate, late, C]]) {
      const id = (await readiness(node)).redis.node;
      await eventually(async () => (await client.get(`user@${uid}`)) === user.socket.id, `user@${uid} restored`, 4000);
      assert.deepEqual(await hash(`herald:user:${uid}`), { [user.socket.id]: id });
    }
  });
});
