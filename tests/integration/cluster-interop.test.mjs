// Herald in a cluster with Node.js: the real @socket.io/redis-emitter driving herald's clients
// (broadcasts, rooms, except, socketsJoin/Leave, disconnectSockets, serverSideEmit, binary), and a
// real Node socket.io 4.8 server with @socket.io/redis-adapter sharing the cluster with two herald
// nodes (broadcasts both ways, fetchSockets, broadcasts with acks both ways, server-side events).

import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { Emitter } from "@socket.io/redis-emitter";
import { logSince, metric, quitClient, redisClient, startNodes, startNodePeer, startRedis, waitReady, waitServers } from "./lib/cluster.mjs";
import { normalizeBinary } from "./lib/client.mjs";
import { NSP, T, Users, call, eventually, expectQuietFor, seedOk, uniq } from "./lib/herald.mjs";
import { scaled } from "./lib/timing.mjs";
import { waitForEvent } from "./lib/wait.mjs";

let redis;
let client; // publishes for the emitter, checks keys
let emitter;
let A;
let B;
let peer; // the Node socket.io server
const users = new Users();

before(async () => {
  redis = await startRedis();
  client = await redisClient(redis);
  emitter = new Emitter(client).of(NSP);
  // Single session on, so that logins send herald's "herald:kick" server-side event too.
  [A, B] = await startNodes(redis, 2, ["--single-session", "true"]);
  peer = await startNodePeer(redis);
  await waitServers(client, 3);
  await waitReady([A, B]);
});

afterEach(async () => {
  users.closeAll();
  for (const node of [A, B]) {
    await eventually(async () => (await call(node, "/api/v1/stats", undefined, { method: "GET" })).json?.sockets === 0, `no sockets left on ${node.url}`);
  }
  await eventually(async () => (await peer.request("localSockets")).length === 0, "no sockets left on the Node server");
});

after(async () => {
  users.closeAll();
  await quitClient(client);
  await Promise.all([A?.stop(), B?.stop(), peer?.stop()]);
  await redis?.stop();
});

const sorted = (list) => [...list].sort();

/** Events named `name` a user got (arguments, binary as Buffers). */
const got = (user, name) => user.eventsNamed(name).map(normalizeBinary);

function waitGot(user, name, count = 1, what = name) {
  return eventually(() => user.eventsNamed(name).length >= count, `${count} "${what}" event(s) on ${user.socket.id}`);
}

let fences = 0;
/**
 * Emits "fence" to everyone through `send` and waits until every user in `all` got it: anything
 * published before it on the same Redis connection has been delivered by then.
 */
async function fence(all, send = (n) => emitter.emit("fence", n)) {
  const n = ++fences;
  send(n);
  for (const user of all) {
    await eventually(() => user.eventsNamed("fence").some(([value]) => value === n), `fence ${n} on ${user.socket.id}`);
  }
}

describe("@socket.io/redis-emitter reaches herald's clients", () => {
  it(".emit(): every socket of the namespace on both nodes gets it once, logged in or not", T, async () => {
    const a = await users.login(A, uniq("a"));
    const b = await users.login(B, uniq("b"));
    const anonymous = await users.connect(B);
    const polling = await users.login(A, uniq("p"), { transports: ["polling"] });
    const all = [a, b, anonymous, polling];
    emitter.emit("news", "hello", { n: 1, list: [1, "two", null, true] });
    for (const user of all) await waitGot(user, "news");
    await fence(all);
    for (const user of all) assert.deepEqual(got(user, "news"), [["hello", { n: 1, list: [1, "two", null, true] }]]);
  });

  it(".to(room).emit(): only the room's sockets, on either node", T, async () => {
    const uid = uniq("r");
    const uidB = uniq("r");
    const inRoomA = await users.login(A, uid);
    const inRoomB = await users.login(B, uidB);
    const outside = await users.login(B, uniq("o"));
    const room = uniq("room");
    // One joins through herald's changeRoom, the other through the emitter's socketsJoin.
    assert.equal(seedOk(await call(A, "/changeRoom", { useraccounts: uidB, joins: room })), true);
    emitter.in(uid).socketsJoin(room);
    await fence([inRoomA, inRoomB, outside]);
    emitter.to(room).emit("roomcast", 1);
    emitter.to(uid).emit("usercast", 2);
    await fence([inRoomA, inRoomB, outside]);
    assert.deepEqual(got(inRoomA, "roomcast"), [[1]]);
    assert.deepEqual(got(inRoomB, "roomcast"), [[1]]);
    assert.deepEqual(got(outside, "roomcast"), []);
    assert.deepEqual(got(inRoomA, "usercast"), [[2]], "the uid room");
    assert.deepEqual(got(inRoomB, "usercast"), []);
  });

  it(".to(room).except(room2).emit() and several rooms at once (each socket once)", T, async () => {
    const [u1, u2, u3] = [uniq("e"), uniq("e"), uniq("e")];
    const room = uniq("room");
    const s1 = await users.login(A, u1);
    const s2 = await users.login(B, u2);
    const s3 = await users.login(B, u3);
    assert.equal(seedOk(await call(B, "/changeRoom", { useraccounts: `${u1},${u2},${u3}`, joins: room })), true);
    // A socket is told of its rooms once it is in them.
    await eventually(() => [s1, s2, s3].every((s) => s.eventsNamed("changeRoom").length >= 1), "the changeRoom notices");
    emitter.to(room).except(u2).emit("ex", "not u2");
    emitter.to([u1, u3, room]).emit("multi", "once");
    emitter.except(room).emit("outside", "nobody here");
    await fence([s1, s2, s3]);
    assert.deepEqual(got(s1, "ex"), [["not u2"]]);
    assert.deepEqual(got(s2, "ex"), [], "excepted room");
    assert.deepEqual(got(s3, "ex"), [["not u2"]]);
    for (const s of [s1, s2, s3]) assert.deepEqual(got(s, "multi"), [["once"]], "a socket in several target rooms gets it once");
    for (const s of [s1, s2, s3]) assert.deepEqual(got(s, "outside"), []);
  });

  it(".socketsJoin() / .socketsLeave(): herald's sockets change rooms, and herald's own room pushes follow", T, async () => {
    const uid = uniq("j");
    const room = uniq("vip");
    const onA = await users.login(A, uid);
    const onB = await users.login(B, uniq("j"));
    emitter.in(uid).socketsJoin([room, `${room}-2`]);
    await fence([onA, onB]);
    const res = await call(B, "/pushMsgToRoom", { tags: room, msgId: "vip1", message: "m", timeout: 3000 });
    assert.deepEqual(seedOk(res), [uid], "herald's push to the room the emitter joined");
    emitter.to(`${room}-2`).emit("second", true);
    await fence([onA, onB]);
    assert.deepEqual(got(onA, "second"), [[true]]);
    assert.deepEqual(got(onB, "second"), []);

    emitter.in(uid).socketsLeave(room);
    await fence([onA, onB]);
    const after = await call(B, "/pushMsgToRoom", { tags: room, msgId: "vip2", message: "m", timeout: 3000 });
    assert.deepEqual(seedOk(after), [], "left the room");
    assert.deepEqual(onA.msgIds(), ["vip1"]);
    emitter.socketsJoin(room); // everyone
    await fence([onA, onB]);
    const everyone = await call(A, "/pushMsgToRoom", { tags: room, msgId: "vip3", message: "m", timeout: 3000 });
    assert.equal(seedOk(everyone).length, 2, "every socket joined");
  });

  it(".in(room).disconnectSockets() disconnects those sockets on both nodes; .disconnectSockets() everyone", T, async () => {
    const uid = uniq("d");
    const onA = await users.login(A, uid);
    const stay = await users.login(B, uniq("stay"));
    const gone = waitForEvent(onA.socket, "disconnect");
    emitter.in(uid).disconnectSockets();
    const [reason] = await gone;
    assert.equal(reason, "io server disconnect");
    await fence([stay]);
    assert.equal(stay.socket.connected, true, "not in the room");
    await eventually(async () => (await call(A, `/api/v1/users/${uid}`, undefined, { method: "GET" })).json?.online === false, "the user is offline");

    const anonymous = await users.connect(A);
    const closes = [waitForEvent(stay.socket, "disconnect"), waitForEvent(anonymous.socket, "disconnect")];
    emitter.disconnectSockets(true);
    for (const [reason] of await Promise.all(closes)) assert.match(reason, /io server disconnect|transport close/);
  });

  it(".serverSideEmit() is received by herald without error: nothing logged, both nodes still serve", T, async () => {
    const logA = A.stderr().length;
    const logB = B.stderr().length;
    emitter.serverSideEmit("backend:hello", { from: "emitter" }, [1, 2]);
    emitter.serverSideEmit("herald:unknown");
    const before = (await peer.request("serverSideEvents")).length;
    await eventually(async () => (await peer.request("serverSideEvents")).length >= before + 2, "the Node server got both");
    const events = (await peer.request("serverSideEvents")).slice(before);
    assert.deepEqual(events, [["backend:hello", { from: "emitter" }, [1, 2]], ["herald:unknown"]]);
    await expectQuietFor(100, "a log line about the server-side events");
    assert.deepEqual(logSince(A, logA), [], "node A logged nothing");
    assert.deepEqual(logSince(B, logB), [], "node B logged nothing");
    const uid = uniq("s");
    await users.login(B, uid);
    assert.deepEqual(seedOk(await call(A, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "ok", message: "m", timeout: 3000 })), [uid]);
  });

  for (const transports of [["websocket"], ["polling"]]) {
    it(`binary: Buffers (top level and nested) arrive as binary (${transports[0]})`, T, async () => {
      const a = await users.login(A, uniq("bin"), { transports });
      const b = await users.login(B, uniq("bin"), { transports });
      const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
      const nested = { name: "file", parts: [Buffer.from("part-1"), Buffer.alloc(0)], meta: { size: 6 } };
      emitter.emit("bin", bytes, nested, "text");
      emitter.to(a.socket.id).emit("bin-one", Buffer.from("only a"));
      for (const user of [a, b]) await waitGot(user, "bin");
      await fence([a, b]);
      for (const user of [a, b]) {
        const [args] = got(user, "bin");
        assert.ok(Buffer.isBuffer(args[0]), `binary, got ${JSON.stringify(user.eventsNamed("bin")[0][0])}`);
        assert.deepEqual(args, [bytes, nested, "text"]);
      }
      assert.deepEqual(got(a, "bin-one"), [[Buffer.from("only a")]]);
      assert.deepEqual(got(b, "bin-one"), []);
    });
  }
});

describe("a Node socket.io server with @socket.io/redis-adapter in the cluster", () => {
  it("Node's io.of(ns).emit() reaches herald's clients on both nodes (and to(room), binary too)", T, async () => {
    const uid = uniq("h");
    const a = await users.login(A, uid);
    const b = await users.login(B, uniq("h"));
    const n = await users.login(peer, uniq("n"));
    const all = [a, b, n];
    await peer.request("emit", { event: "from-node", args: ["hi", { deep: [1, { x: null }] }] });
    await peer.request("emit", { event: "to-user", args: [7], rooms: [uid] });
    await peer.request("emit", { event: "node-bin", args: [Buffer.from([9, 8, 7])], except: [uid] });
    await fence(all, (i) => peer.request("emit", { event: "fence", args: [i] }));
    for (const user of all) assert.deepEqual(got(user, "from-node"), [["hi", { deep: [1, { x: null }] }]]);
    assert.deepEqual(got(a, "to-user"), [[7]]);
    assert.deepEqual(got(b, "to-user"), []);
    assert.deepEqual(got(a, "node-bin"), []);
    assert.deepEqual(got(b, "node-bin"), [[Buffer.from([9, 8, 7])]]);
    assert.deepEqual(got(n, "node-bin"), [[Buffer.from([9, 8, 7])]]);
  });

  it("herald's /pushMsgToAll and /pushMsgToRoom reach Node's clients, with an ack callback", T, async () => {
    const hUid = uniq("h");
    const nUid = uniq("n");
    const h = await users.login(A, hUid);
    const n = await users.login(peer, nUid);
    const res = await call(B, "/pushMsgToAll", { msgId: "all-n", message: "to everyone", timeout: 3000 });
    assert.equal(res.json?.code, 0, res.text);
    assert.ok(res.json.body.includes(hUid), `herald's user acked: ${res.text}`);
    const m = await n.message(0);
    assert.equal(m.msgId, "all-n");
    assert.equal(m.message, "to everyone");
    assert.equal(m.hasAck, true, "Node's client is asked to ack");
    assert.equal((await h.message(0)).msgId, "all-n");

    // Both join a room: the herald user through changeRoom, the Node user through the emitter.
    const room = uniq("mixed");
    assert.equal(seedOk(await call(A, "/changeRoom", { useraccounts: hUid, joins: room })), true);
    emitter.in(nUid).socketsJoin(room);
    await fence([h, n]);
    const res2 = await call(A, "/pushMsgToRoom", { tags: room, msgId: "room-n", message: "m", timeout: 3000 });
    assert.ok(seedOk(res2).includes(hUid), res2.text);
    assert.equal((await h.message(1)).msgId, "room-n");
    assert.equal((await n.message(1)).msgId, "room-n");
  });

  it("Node's fetchSockets() includes herald's sockets: ids, rooms (with the uid room), data.uid", T, async () => {
    const uidA = uniq("f");
    const uidB = uniq("f");
    const room = uniq("room");
    const a = await users.login(A, uidA);
    const b = await users.login(B, uidB);
    const anonymous = await users.connect(B);
    const n = await users.login(peer, uniq("n"));
    assert.equal(seedOk(await call(A, "/changeRoom", { useraccounts: `${uidA},${uidB}`, joins: room })), true);
    await eventually(() => b.eventsNamed("changeRoom").length === 1 && a.eventsNamed("changeRoom").length === 1, "the room change");
    const sockets = await peer.request("fetchSockets", {});
    const byId = new Map(sockets.map((s) => [s.id, s]));
    for (const [user, uid] of [[a, uidA], [b, uidB]]) {
      const s = byId.get(user.socket.id);
      assert.ok(s, `herald socket ${user.socket.id} in ${JSON.stringify(sockets)}`);
      assert.deepEqual(s.rooms, sorted([user.socket.id, uid, room]));
      assert.equal(s.data?.uid, uid);
    }
    const anon = byId.get(anonymous.socket.id);
    assert.ok(anon, "a socket not logged in is listed too");
    assert.deepEqual(anon.rooms, [anonymous.socket.id]);
    assert.equal(anon.data?.uid, undefined);
    assert.ok(byId.has(n.socket.id), "and Node's own");
    assert.equal(sockets.length, 4, JSON.stringify(sockets));

    const inRoom = await peer.request("fetchSockets", { rooms: [room] });
    assert.deepEqual(sorted(inRoom.map((s) => s.id)), sorted([a.socket.id, b.socket.id]));
    const except = await peer.request("fetchSockets", { except: [room] });
    assert.deepEqual(sorted(except.map((s) => s.id)), sorted([anonymous.socket.id, n.socket.id]));
    const one = await peer.request("fetchSockets", { rooms: [uidB] });
    assert.deepEqual(one.map((s) => s.id), [b.socket.id]);
  });

  // Node's adapter publishes the BROADCAST request before socket.io-adapter numbers the packet, so
  // it arrives without "id": each receiving node must number it itself.
  it("Node's timeout(2000).emit(\"message\", id, x, cb): one response per client of every server", T, async () => {
    const clients = [
      await users.login(A, uniq("h"), { ackMode: "never" }),
      await users.login(B, uniq("h"), { ackMode: "never" }),
      await users.login(B, uniq("h"), { ackMode: "never" }),
      await users.login(peer, uniq("n"), { ackMode: "never" }),
    ];
    clients.forEach((c, i) => c.socket.on("message", (msgId, message, ack) => ack(`reply-${i}-${msgId}-${message}`)));
    const started = Date.now();
    const { error, responses } = await peer.request("ackEmit", { event: "message", args: ["id1", "x"], timeout: 2000 });
    assert.equal(error, null, `no timeout: ${JSON.stringify(responses)}`);
    assert.deepEqual(sorted(responses), sorted(clients.map((_, i) => `reply-${i}-id1-x`)));
    assert.ok(Date.now() - started < scaled(1000, { below: 2000 }), "answered when every client acked, not at the timeout");

    // A client that never acks: Node reports the timeout with the others' responses.
    await users.login(A, uniq("silent"), { ackMode: "never" });
    const partial = await peer.request("ackEmit", { event: "message", args: ["id2", "y"], timeout: 500 });
    assert.match(partial.error ?? "", /timed out/);
    assert.deepEqual(sorted(partial.responses), sorted(clients.map((_, i) => `reply-${i}-id2-y`)));
  });

  // A Node server reports only how many clients it reached (no user ids): the receipt must still
  // wait for their acks before it says complete.
  it("herald's /api/v1/push to all with ack counts Node's clients: socketsReached and socketsAcked include them", T, async () => {
    const hUid = uniq("h");
    await users.login(A, hUid);
    // Node's clients ack 100 ms after herald's user (a receipt must not depend on who is faster).
    const nodeUsers = [await users.login(peer, uniq("n"), { ackMode: 100 }), await users.login(peer, uniq("n"), { ackMode: 100 })];
    const res = await call(A, "/api/v1/push", { all: true, msgId: "count", message: "m", timeout: 3000 }, { as: "json" });
    assert.equal(res.status, 200, res.text);
    for (const n of nodeUsers) assert.equal((await n.message(0)).msgId, "count");
    assert.equal(res.json.socketsReached, 3, res.text);
    assert.equal(res.json.socketsAcked, 3, `Node's acks are counted: ${res.text}`);
    assert.deepEqual(res.json.acked, [hUid]);
    assert.equal(res.json.complete, true);
    assert.ok(res.ms >= 100 && res.ms < scaled(1000, { below: 3000 }), `answered after ${res.ms.toFixed(1)} ms`);
  });

  it("herald's push with ack to Node's clients only waits for their acks", T, async () => {
    const nodeUsers = [await users.login(peer, uniq("n")), await users.login(peer, uniq("n"), { ackMode: 200 })];
    const res = await call(B, "/api/v1/push", { all: true, msgId: "only-node", message: "m", timeout: 3000 }, { as: "json" });
    assert.equal(res.status, 200, res.text);
    for (const n of nodeUsers) assert.equal((await n.message(0)).msgId, "only-node");
    assert.equal(res.json.socketsReached, 2, res.text);
    assert.equal(res.json.socketsAcked, 2, `both Node clients acked, one after 200 ms: ${res.text}`);
    assert.equal(res.json.complete, true);
    assert.deepEqual(res.json.acked, [], "Node's clients are not named");
    assert.ok(res.ms >= 200 && res.ms < scaled(1000, { below: 3000 }), `answered after ${res.ms.toFixed(1)} ms (the slow ack came after 200 ms)`);
  });

  it("Node's serverSideEmit() is received by herald without error (and acked when Node asks)", T, async () => {
    const logA = A.stderr().length;
    const logB = B.stderr().length;
    await peer.request("serverSideEmit", { event: "node:hello", args: [{ a: 1 }, "two"] });
    const { error, responses } = await peer.request("serverSideEmitWithAck", { event: "node:ask", args: [42], timeout: 1000 });
    assert.equal(error, null, `every herald node answered: ${JSON.stringify(responses)}`);
    assert.equal(responses.length, 2, "one answer per herald node");
    await expectQuietFor(100, "a log line about Node's server-side events");
    assert.deepEqual(logSince(A, logA), [], "node A logged nothing");
    assert.deepEqual(logSince(B, logB), [], "node B logged nothing");
    assert.equal(A.exited(), null);
    assert.equal(B.exited(), null);
    const uid = uniq("s");
    await users.login(A, uid);
    assert.deepEqual(seedOk(await call(B, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "ok", message: "m", timeout: 3000 })), [uid]);
  });

  it("herald's pushes to users take the adapter path while a Node server shares the cluster, and are counted so", T, async () => {
    const uid = uniq("h");
    const user = await users.login(A, uid);
    const fallback = 'herald_direct_pushes_total{event="fallback"}';
    const sent = 'herald_direct_pushes_total{event="sent"}';
    const fallbackBefore = await metric(B, fallback);
    const sentBefore = await metric(B, sent);
    assert.deepEqual(seedOk(await call(B, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "via-adapter", message: "m", timeout: 3000 })), [uid]);
    assert.equal((await user.message(0)).msgId, "via-adapter");
    assert.equal((await metric(B, fallback)) - fallbackBefore, 1, "counted as taken through the adapter");
    assert.equal((await metric(B, sent)) - sentBefore, 0, "nothing sent over a direct link: Node's users are not in presence");
  });

  it("herald's changeRoom and single-session kick server-side events do not break Node", T, async () => {
    const before = (await peer.request("serverSideEvents")).length;
    const uid = uniq("k");
    const older = await users.login(A, uid);
    const kicked = waitForEvent(older.socket, "repeat");
    const newer = await users.login(B, uid); // herald:kick
    await kicked;
    const nUid = uniq("n");
    const n = await users.login(peer, nUid);
    assert.equal(seedOk(await call(A, "/changeRoom", { useraccounts: `${uid},${nUid}`, joins: "after-kick" })), true);
    await eventually(async () => {
      const names = (await peer.request("serverSideEvents")).slice(before).map((e) => e[0]);
      return names.includes("herald:kick") && names.includes("herald:changeRoom");
    }, "herald's server-side events at the Node server");
    assert.equal(peer.exited(), null, "the Node server is still running");
    // Node still works both ways.
    await peer.request("emit", { event: "still", args: ["alive"] });
    await waitGot(newer, "still");
    await waitGot(n, "still");
    const sockets = await peer.request("fetchSockets", { rooms: [uid] });
    assert.deepEqual(sockets.map((s) => s.id), [newer.socket.id]);
    const res = await call(A, "/pushMsgToAll", { msgId: "after", message: "m", timeout: 3000 });
    assert.ok(res.json.body.includes(uid), res.text);
    assert.equal((await n.message(0)).msgId, "after");
  });
});
