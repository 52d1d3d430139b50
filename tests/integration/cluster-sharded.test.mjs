// A Redis Cluster of three masters (Debian's redis-server 7.0, joined by redis-cli --cluster
// create), two herald nodes (--redis-cluster) and a Node socket.io 4.8 server with
// @socket.io/redis-adapter's createShardedAdapter on node-redis' cluster client, all speaking
// sharded pub/sub (SSUBSCRIBE / SPUBLISH): cross-node pushes with receipts between herald nodes,
// pushes with receipts and broadcasts both ways between herald and Node, fetchSockets, kept
// pushes (Lua scripts on hash-tagged keys), presence keys spread over the masters, changeRoom
// across nodes, session routing without stickiness, and slots moved while pushes run.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { Emitter } from "@socket.io/redis-emitter";
import { createCluster } from "redis";
import { scrape } from "./lib/alerts.mjs";
import { HEARTBEAT_MS, readiness, startNodePeer, waitReady, waitRouting } from "./lib/cluster.mjs";
import { NSP, T, Users, call, eventually, loggedIn, seedOk, sleep, startHerald, uniq } from "./lib/herald.mjs";
import { clientOn, keySlot, startRedisCluster } from "./lib/redis-ha.mjs";

const CHANNEL = `socket.io#${NSP}#`; // the sharded adapter's main channel

let rc;
let clients; // one node-redis client per master, for counting and looking at keys
let A;
let B;
let peer;
const users = new Users();

/** Servers subscribed to the namespace's channel, over every master (PUBSUB SHARDNUMSUB). */
async function serverCount() {
  let total = 0;
  for (const client of clients) total += Number((await client.sendCommand(["PUBSUB", "SHARDNUMSUB", CHANNEL]))[1]);
  return total;
}

/** Keys matching `pattern` on each master. */
async function keysPerMaster(pattern) {
  return Promise.all(clients.map(async (client) => (await client.keys(pattern)).length));
}

before(async () => {
  rc = await startRedisCluster(3);
  clients = await Promise.all(rc.nodes.map((node) => clientOn(node.address)));
  const flags = ["--redis-cluster", rc.addresses, "--node-heartbeat-ms", String(HEARTBEAT_MS)];
  A = await startHerald(flags);
  B = await startHerald(flags);
  peer = await startNodePeer(rc, { sharded: true });
  await waitReady([A, B]);
  await eventually(async () => (await serverCount()) === 3, "3 servers on the sharded channel", 8000);
});

afterEach(() => users.closeAll());

after(async () => {
  users.closeAll();
  await Promise.allSettled(clients?.map((c) => c.disconnect()) ?? []);
  await Promise.all([A?.stop(), B?.stop(), peer?.stop()]);
  await rc?.stop();
});

const sorted = (list) => [...list].sort();

describe("Redis Cluster with sharded pub/sub", () => {
  it("/ready: cluster mode, the masters named, ready", T, async () => {
    for (const node of [A, B]) {
      const ready = await readiness(node);
      assert.equal(ready.status, "ready", JSON.stringify(ready));
      assert.equal(ready.redis.mode, "cluster", JSON.stringify(ready));
      for (const master of rc.nodes) assert.ok(ready.redis.server.includes(master.address), JSON.stringify(ready));
    }
  });

  it("cross-node acked pushes between herald nodes: receipts for users on the other node", T, async () => {
    // 12 users: all of them on one master by chance is one in 177,000.
    const uids = Array.from({ length: 12 }, () => uniq("c"));
    for (const uid of uids) await users.login(B, uid);
    const res = await call(A, "/api/v1/push", { users: uids, msgId: uniq("m"), message: "hi", timeout: 3000 }, { as: "json" });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(sorted(res.json.acked), sorted(uids), res.text);
    // Presence lives in keys of many slots: spread over the masters, never CROSSSLOT.
    const perMaster = await keysPerMaster("herald:user:*");
    assert.ok(perMaster.filter((n) => n > 0).length >= 2, `herald:user:* keys on several masters: ${perMaster}`);
  });

  it("herald pushes with receipts reach Node's clients, counted in the receipt", T, async () => {
    const hUid = uniq("h");
    await users.login(A, hUid);
    const nodeUsers = [await users.login(peer, uniq("n"), { ackMode: 50 }), await users.login(peer, uniq("n"))];
    const res = await call(B, "/api/v1/push", { all: true, msgId: "to-node", message: "m", timeout: 3000 }, { as: "json" });
    assert.equal(res.status, 200, res.text);
    for (const n of nodeUsers) assert.equal((await n.message(0)).msgId, "to-node");
    assert.equal(res.json.socketsReached, 3, res.text);
    assert.equal(res.json.socketsAcked, 3, `Node's acks are counted: ${res.text}`);
    assert.deepEqual(res.json.acked, [hUid]);
    assert.equal(res.json.complete, true, res.text);
  });

  it("Node's broadcast with acks gets one response per client of every server", T, async () => {
    const clientsAll = [
      await users.login(A, uniq("h"), { ackMode: "never" }),
      await users.login(B, uniq("h"), { ackMode: "never" }),
      await users.login(peer, uniq("n"), { ackMode: "never" }),
    ];
    clientsAll.forEach((c, i) => c.socket.on("message", (msgId, message, ack) => ack(`reply-${i}-${msgId}`)));
    const { error, responses } = await peer.request("ackEmit", { event: "message", args: ["id1", "x"], timeout: 2000 });
    assert.equal(error, null, `no timeout: ${JSON.stringify(responses)}`);
    assert.deepEqual(sorted(responses), sorted(clientsAll.map((_, i) => `reply-${i}-id1`)));
  });

  it("broadcasts both ways: Node to everyone and to one room (its own channel), herald to a room", T, async () => {
    const uidA = uniq("b");
    const a = await users.login(A, uidA);
    const b = await users.login(B, uniq("b"));
    const n = await users.login(peer, uniq("n"));
    await peer.request("emit", { event: "news", args: ["all"] });
    for (const user of [a, b, n]) await eventually(() => user.eventsNamed("news").length === 1, "Node's broadcast");
    // A one-room broadcast travels on the room's channel, which herald subscribes while it has the room.
    // (herald subscribes a moment after the login: broadcasts until one gets there.)
    await eventually(async () => {
      await peer.request("emit", { rooms: [uidA], event: "personal", args: [1] });
      await sleep(50);
      return a.eventsNamed("personal").length > 0;
    }, "Node's room broadcast on herald", 3000);
    const room = uniq("mixed");
    // changeRoom through the other node (a server-side event to the node that has the user).
    assert.equal(seedOk(await call(B, "/changeRoom", { useraccounts: uidA, joins: room })), true);
    await eventually(() => a.eventsNamed("changeRoom").length === 1, "the room change on node A");
    const res = await call(B, "/pushMsgToRoom", { tags: room, msgId: "room-h", message: "m", timeout: 3000 });
    assert.deepEqual(seedOk(res), [uidA], res.text);
    assert.equal(b.eventsNamed("personal").length + n.eventsNamed("personal").length, 0, "only the room got it");
    // Herald's one-room broadcast without acks goes to the room's channel, where Node listens.
    const nUid = uniq("n");
    const n2 = await users.login(peer, nUid);
    // (Node subscribes to the room's channel a moment after the login: pushes until one gets there.)
    await eventually(async () => {
      const plain = await call(A, "/api/v1/push", { rooms: [nUid], ack: false, msgId: uniq("no-ack"), message: "m" }, { as: "json" });
      assert.equal(plain.status, 200, plain.text);
      await sleep(50);
      return n2.msgIds().length > 0;
    }, "herald's room broadcast on Node's client", 3000);
  });

  it("@socket.io/redis-emitter (classic pub/sub through the cluster) reaches herald's clients and changes their rooms", T, async () => {
    const cluster = createCluster({ rootNodes: rc.nodes.map((node) => ({ url: `redis://${node.address}` })) });
    cluster.on("error", () => {});
    await cluster.connect();
    try {
      const emitter = new Emitter(cluster).of(NSP);
      const uid = uniq("e");
      const a = await users.login(A, uid);
      const b = await users.login(B, uniq("e"));
      emitter.emit("emitted", "all");
      emitter.to(uid).emit("emitted-one", 1);
      for (const user of [a, b]) await eventually(() => user.eventsNamed("emitted").length === 1, "the emitter's broadcast");
      await eventually(() => a.eventsNamed("emitted-one").length === 1, "the emitter's room broadcast");
      assert.equal(b.eventsNamed("emitted-one").length, 0);
      const room = uniq("vip");
      emitter.in(uid).socketsJoin(room);
      await eventually(async () => (await peer.request("fetchSockets", { rooms: [room] })).length === 1, "the emitter's socketsJoin");
      const res = await call(B, "/pushMsgToRoom", { tags: room, msgId: "vip", message: "m", timeout: 3000 });
      assert.deepEqual(seedOk(res), [uid], res.text);
    } finally {
      await cluster.disconnect();
    }
  });

  it("no sticky sessions: each node routes requests for the other's sessions (routes in the cluster's keys)", T, async () => {
    await waitRouting([A, B]);
  });

  it("Node's fetchSockets() lists herald's sockets with their rooms", T, async () => {
    const uid = uniq("f");
    const h = await users.login(B, uid);
    const sockets = await peer.request("fetchSockets", { rooms: [uid] });
    assert.deepEqual(sockets.map((s) => s.id), [h.socket.id]);
    assert.equal(sockets[0].data?.uid, uid);
  });

  it("slots move (resharding): the sharded channel follows its slot, commands follow MOVED and ASK", { timeout: 30_000 }, async () => {
    const uid = uniq("mv");
    await users.login(B, uid);
    const pushOk = async (msgId) =>
      (await call(A, "/api/v1/push", { users: [uid], msgId, message: "m", timeout: 1000 }, { as: "json" })).json?.acked?.length === 1;
    assert.ok(await pushOk(uniq("m")), "acked before the move");
    // The namespace's channel moves to another master: its subscribers are dropped there.
    const slot = keySlot(CHANNEL);
    const from = await rc.ownerOf(slot);
    await rc.moveSlot(slot, rc.nodes.find((n) => n !== from));
    await eventually(() => pushOk(uniq("m")), "cross-node pushes acked again after the channel's slot moved", 10_000);
    await eventually(async () => (await scrape(A)).get("herald_redis_redirects_total") >= 1, "the MOVED redirection counted in /metrics", 5000);
    for (let i = 0; i < 5; i++) assert.ok(await pushOk(uniq("m")), "and every push after that");

    // A user away gets a kept push; its keys' slot is moved while the user logs in: the reads and
    // the ack meet ASK (keys already moved) and then MOVED.
    const away = uniq("ask");
    const msgId = uniq("k");
    seedOk(await call(A, "/pushMsgToSingleDevice", { useraccount: away, msgId, message: "kept", timeout: 500 }));
    const awaySlot = keySlot(away);
    const owner = await rc.ownerOf(awaySlot);
    let user;
    await rc.moveSlot(awaySlot, rc.nodes.find((n) => n !== owner), async () => {
      user = users.add(await loggedIn(B, away));
      assert.equal((await user.message(0)).msgId, msgId, "the kept push read through ASK");
    });
    await eventually(async () => (await call(A, `/api/v1/messages/${msgId}`, undefined, { method: "GET" })).json?.users?.[away]?.state === "acked",
      "the kept push acked after the slot moved", 5000);
    for (const node of [A, B]) assert.equal(node.exited(), null);
  });

  it("a push kept for a user away is delivered at login on the other node and acked (Lua on one hash tag)", T, async () => {
    const uid = uniq("away");
    const msgId = uniq("k");
    seedOk(await call(A, "/pushMsgToSingleDevice", { useraccount: uid, msgId, message: "kept", timeout: 500 }));
    const user = users.add(await loggedIn(B, uid));
    const got = await user.message(0);
    assert.equal(got.msgId, msgId);
    await eventually(async () => (await call(A, `/api/v1/messages/${msgId}`, undefined, { method: "GET" })).json?.users?.[uid]?.state === "acked",
      "the kept push acked, as node A tells");
    for (const node of [A, B]) assert.equal(node.exited(), null);
    assert.match(A.stderr() + B.stderr(), /^(?![\s\S]*CROSSSLOT)/, "no CROSSSLOT error logged");
  });
});
