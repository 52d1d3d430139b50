// Broadcasts missed across a cluster, with real redis-server, two Herald nodes and the real
// socket.io-client: every node logs every node's broadcasts under their origin's stamps, so a client
// whose connection dropped and that comes back on the other node (a round-robin balancer), or after
// its node was SIGKILLed, is sent there every broadcast after its offset that its rooms select,
// once it has logged in; nothing it already had, and nothing for rooms that are not its own.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { io } from "socket.io-client";
import {
  metric,
  quitClient,
  redisClient,
  startNode,
  startReadyNodes,
  startRedis,
  waitReady,
  waitServers,
} from "./lib/cluster.mjs";
import { NSP, T, call, eventually, expectQuietFor, seedOk, uniq } from "./lib/herald.mjs";
import { waitForEvent } from "./lib/wait.mjs";

let redis;
let client;
const sockets = new Set();

before(async () => {
  redis = await startRedis();
  client = await redisClient(redis);
});

afterEach(() => {
  for (const socket of sockets) socket.disconnect();
  sockets.clear();
});

after(async () => {
  await quitClient(client);
  await redis?.stop();
});

/** A client that logs in as `uid` by emitting login after it connects (the seed's client). */
async function user(node, uid, auth, { login = true } = {}) {
  const socket = io(`${node.url}${NSP}`, { forceNew: true, transports: ["websocket"], reconnection: false, auth });
  sockets.add(socket);
  socket.received = [];
  socket.on("message", (msgId) => socket.received.push(msgId));
  await waitForEvent(socket, "connect", { failOn: ["connect_error"] });
  if (login) await logIn(socket, uid);
  return socket;
}

async function logIn(socket, uid) {
  const reply = await new Promise((resolve) => socket.emit("login", uid, resolve));
  assert.equal(reply.code, 0);
}

/** `uid` logs in on `node` and gets the broadcast `msgId` that `sender` sends to all. */
async function hadOne(node, sender, uid, msgId) {
  const socket = await user(node, uid);
  seedOk(await toAll(sender, msgId));
  await eventually(() => socket.received.includes(msgId), "the first broadcast");
  return socket;
}

/** What the client would send back when it reconnects: its pid and last offset. */
function comeBackOf(socket) {
  const comeBack = { pid: socket._pid, offset: socket._lastOffset };
  assert.ok(comeBack.pid && comeBack.offset, "the client holds a pid and an offset");
  return comeBack;
}

/** Drops the connection as a network failure does, and returns what the client would send back. */
function drop(socket) {
  const comeBack = comeBackOf(socket);
  socket.io.engine.transport.ws._socket.destroy();
  return comeBack;
}

// Broadcasts without receipts: the replayable kind (acked pushes are kept per user instead).
const toAll = (node, msgId) => call(node, "/pushMsgToAll", { msgId, message: msgId, ack: "false" });
const toRoom = (node, room, msgId) => call(node, "/pushMsgToRoom", { tags: room, msgId, message: msgId, ack: "false" });

describe("a client that comes back on another node", () => {
  let A;
  let B;
  before(async () => {
    [A, B] = await startReadyNodes(redis, client, 2);
  });
  after(async () => {
    await Promise.all([A?.stop(), B?.stop()]);
  });

  it("is sent, once logged in, what it missed from either node and for its rooms, and nothing twice", T, async () => {
    const uid = uniq("back");
    const room = uniq("room");
    const bystander = uniq("other");
    // A logged-in watcher on B in the room: each push has reached B before the next is sent, so
    // B's order is the order sent (pub/sub from A may otherwise trail B's own next push).
    const watcherUid = uniq("watcher");
    seedOk(await call(A, "/changeRoom", { useraccounts: [uid, watcherUid].join(","), joins: room }));
    const watcher = await user(B, watcherUid);
    const reachedB = (msgId) => eventually(() => watcher.received.includes(msgId), `${msgId} on B`);
    const m = [uniq("m0"), uniq("m1"), uniq("m2"), uniq("m3"), uniq("m4")];
    const comeBack = drop(await hadOne(A, A, uid, m[0]));
    seedOk(await toAll(A, m[1]));
    await reachedB(m[1]);
    seedOk(await toAll(B, m[2]));
    await reachedB(m[2]);
    seedOk(await toRoom(A, room, m[3]));
    await reachedB(m[3]);
    seedOk(await toRoom(B, uniq("not-its-room"), m[4]));
    seedOk(await call(B, "/changeRoom", { useraccounts: bystander, joins: room }));
    const before = (await metric(B, "herald_recoveries_total{result=\"caught_up\"}")) ?? 0;
    const again = await user(B, uid, comeBack);
    assert.equal(again.recovered, false, "another node's session is not restored");
    await eventually(() => again.received.length >= 3, "the missed broadcasts");
    await expectQuietFor(200, "a broadcast sent twice or from outside its rooms");
    assert.deepEqual(again.received, [m[1], m[2], m[3]], "after its offset, its rooms only, in B's order");
    assert.equal(await metric(B, "herald_recoveries_total{result=\"caught_up\"}"), before + 1);
    // Live broadcasts go on as usual, once.
    const live = uniq("live");
    seedOk(await toAll(A, live));
    await eventually(() => again.received.includes(live), "a live broadcast");
    await expectQuietFor(100, "a second copy of the live broadcast");
    assert.equal(again.received.filter((id) => id === live).length, 1);
  });

  it("a broadcast between its connect and its login there (which only logged-in sockets get) comes after login", T, async () => {
    const uid = uniq("slow");
    const m = [uniq("s0"), uniq("s1"), uniq("s2"), uniq("s3")];
    const comeBack = drop(await hadOne(A, A, uid, m[0]));
    seedOk(await toAll(A, m[1]));
    const again = await user(B, uid, comeBack, { login: false });
    seedOk(await toAll(A, m[2]));
    await expectQuietFor(100, "a push to the socket not logged in yet");
    assert.deepEqual(again.received, [], "pushes are for logged-in sockets");
    await logIn(again, uid);
    seedOk(await toAll(B, m[3]));
    await eventually(() => again.received.length >= 3, "the missed broadcasts");
    await expectQuietFor(200, "a broadcast sent twice");
    assert.deepEqual(again.received.toSorted(), [m[1], m[2], m[3]].toSorted(), "each once");
  });

  it("without an offset it had nothing since it connected: nothing is replayed", T, async () => {
    const uid = uniq("quiet");
    const first = await user(A, uid);
    const pid = first._pid;
    first.io.engine.transport.ws._socket.destroy();
    seedOk(await toAll(A, uniq("while-away")));
    const again = await user(B, uid, { pid });
    await expectQuietFor(300, "a replay without an offset");
    assert.deepEqual(again.received, [], "an offset is what says what it had");
  });
});

describe("a client whose node was SIGKILLed", () => {
  // Each starts its own nodes (slower under the sanitizers).
  const TN = { timeout: 30_000 };
  it("is sent on the surviving node what it missed while it was away", TN, async () => {
    const [A, B] = await startReadyNodes(redis, client, 2);
    try {
      const uid = uniq("survivor");
      const m = [uniq("k0"), uniq("k1"), uniq("k2")];
      const comeBack = comeBackOf(await hadOne(B, A, uid, m[0]));
      await B.kill();
      seedOk(await toAll(A, m[1]));
      seedOk(await toAll(A, m[2]));
      const again = await user(A, uid, comeBack);
      await eventually(() => again.received.length >= 2, "the missed broadcasts");
      await expectQuietFor(200, "a broadcast sent twice");
      assert.deepEqual(again.received, [m[1], m[2]]);
    } finally {
      await Promise.all([A.stop(), B.stop()]);
      await waitServers(client, 0);
    }
  });

  it("a node started after the broadcasts catches it up from the cluster's copy of the window", TN, async () => {
    const [A, B] = await startReadyNodes(redis, client, 2);
    let C;
    try {
      const uid = uniq("late");
      const m = [uniq("l0"), uniq("l1"), uniq("l2"), uniq("l3")];
      const comeBack = comeBackOf(await hadOne(B, A, uid, m[0]));
      await B.kill();
      seedOk(await toAll(A, m[1]));
      seedOk(await toAll(A, m[2]));
      C = await startNode(redis);
      await waitServers(client, 2);
      await waitReady([C]);
      const again = await user(C, uid, comeBack);
      seedOk(await toAll(A, m[3]));
      await eventually(() => again.received.length >= 3, "the missed broadcasts and a live one");
      await expectQuietFor(200, "a broadcast sent twice");
      assert.deepEqual(again.received, [m[1], m[2], m[3]], "C never saw the first two itself");
      assert.ok((await client.xLen(`socket.io-recovery#${NSP}#`)) >= 4, "the window lives in a Redis stream");
    } finally {
      await Promise.all([A.stop(), B.stop(), C?.stop()]);
      await waitServers(client, 0);
    }
  });
});
