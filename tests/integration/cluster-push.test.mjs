// The push API across a cluster of two herald nodes sharing one real redis-server: every call made
// on node A gives for users on node B (and on both) what it gives on one node; receipts from B's
// clients complete A's call at once; silent users on B are reported after the timeout;
// single-session kicks and changeRoom reach the other node.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { REQUEST_CHANNEL, metric, socketsInRoom, startCluster, startNodes, waitServers } from "./lib/cluster.mjs";
import { NSP, T, Users, call, eventually, expectQuietFor, seedOk, uniq } from "./lib/herald.mjs";
import { scaled } from "./lib/timing.mjs";
import { waitForEvent } from "./lib/wait.mjs";
import notepack from "notepack.io";

let cluster;
let redis;
let client; // a plain redis client for checking keys
let A;
let B;
const users = new Users();

before(async () => {
  cluster = await startCluster(2);
  ({ redis, client } = cluster);
  [A, B] = cluster.nodes;
});

afterEach(async () => {
  users.closeAll();
  // No test may see another's sockets (pushMsgToAll counts everyone).
  for (const node of [A, B]) {
    await eventually(async () => (await call(node, "/api/v1/stats", undefined, { method: "GET" })).json?.sockets === 0, `no sockets left on ${node.url}`);
  }
});

after(async () => {
  users.closeAll();
  await cluster?.stop();
});

const sorted = (list) => [...list].sort();
/** A prompt answer: a receipt from another node comes through Redis pub/sub, never a poll. */
const PROMPT_MS = scaled(150);
const LATE_MS = scaled(300);

describe("pushes made on A reach users on B", () => {
  it("/pushMsgToSingleDevice on A: the user on B gets message(msgId, message) and its ack completes A's call at once", T, async () => {
    const uid = uniq("b");
    const user = await users.login(B, uid);
    const res = await call(A, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "s1", message: "hello", timeout: 5000 });
    assert.deepEqual(seedOk(res), [uid]);
    assert.ok(res.ms < PROMPT_MS, `A answered after ${res.ms.toFixed(1)} ms with timeout 5000`);
    const m = await user.message(0);
    assert.equal(m.msgId, "s1");
    assert.equal(m.message, "hello");
    assert.equal(m.hasAck, true);
    assert.ok(res.received - m.ackedAt < PROMPT_MS, "the answer followed B's ack");
  });

  it("/pushBatchUniMsg on A: users on A, on B and on both; offline users left out; each device gets it once", T, async () => {
    const onA = uniq("a");
    const onB = uniq("b");
    const both = uniq("ab");
    const offline = uniq("off");
    const devices = [
      await users.login(A, onA),
      await users.login(B, onB),
      await users.login(A, both),
      await users.login(B, both),
    ];
    const res = await call(A, "/pushBatchUniMsg", { useraccounts: [onA, onB, both, offline], msgId: "b1", message: { n: 1 }, timeout: 5000 }, { as: "json" });
    assert.deepEqual(sorted(seedOk(res)), sorted([onA, onB, both]));
    assert.ok(res.ms < PROMPT_MS, `answered after ${res.ms.toFixed(1)} ms`);
    for (const device of devices) assert.deepEqual((await device.message(0)).message, { n: 1 });
    await expectQuietFor(50, "a second copy on any device");
    for (const device of devices) assert.equal(device.received.length, 1, "exactly one copy per device");
  });

  it("/pushMsgToRoom on A: rooms set on A (room@<uid>) are joined at login on B", T, async () => {
    const room = uniq("room");
    const member = uniq("m");
    const outsider = uniq("o");
    const put = await call(A, `/api/v1/users/${member}/rooms`, { rooms: [room, "r-extra"] }, { as: "json", method: "PUT" });
    assert.equal(put.status, 200, put.text);
    await eventually(async () => (await client.get(`room@${member}`)) === `${room},r-extra`, `room@${member} in Redis`);
    const onB = await users.login(B, member);
    const onA = await users.login(A, member);
    const other = await users.login(B, outsider);
    // Rooms are read from Redis after the login answer: wait until both nodes report the member's two sockets in it.
    await eventually(async () => (await socketsInRoom(client, room, 2)).length === 2, `${member}'s sockets in ${room}`);
    const res = await call(A, "/pushMsgToRoom", { tags: room, msgId: "r1", message: "m", timeout: 5000 });
    assert.deepEqual(seedOk(res), [member]);
    assert.ok(res.ms < PROMPT_MS, `answered after ${res.ms.toFixed(1)} ms`);
    assert.equal((await onB.message(0)).msgId, "r1");
    assert.equal((await onA.message(0)).msgId, "r1");
    await expectQuietFor(50, "the room push reaching a user outside the room");
    assert.deepEqual(other.received, [], "not a member");
  });

  it("/pushMsgToAll on A: every logged-in user of both nodes, nothing for sockets not logged in on B", T, async () => {
    const ids = [uniq("a"), uniq("b"), uniq("b")];
    const clients = [await users.login(A, ids[0]), await users.login(B, ids[1]), await users.login(B, ids[2])];
    const anonymous = await users.connect(B);
    const res = await call(A, "/pushMsgToAll", { msgId: "all1", message: "m", timeout: 5000 });
    assert.deepEqual(sorted(seedOk(res)), sorted(ids));
    assert.ok(res.ms < PROMPT_MS, `answered after ${res.ms.toFixed(1)} ms`);
    for (const c of clients) assert.equal((await c.message(0)).msgId, "all1");
    await expectQuietFor(50, "the push reaching a socket not logged in");
    assert.deepEqual(anonymous.events, [], "a socket that did not log in gets nothing");
  });

  it("/pushOffLineMsg on A for a user on B: every message in order, body lists the acked msgIds", T, async () => {
    const uid = uniq("b");
    const user = await users.login(B, uid);
    const msglist = [1, 2, 3].map((i) => ({ msgId: `off${i}`, message: { i } }));
    const res = await call(A, "/pushOffLineMsg", { useraccount: uid, msglist: JSON.stringify(msglist), timeout: 5000 });
    assert.deepEqual(seedOk(res), ["off1", "off2", "off3"]);
    assert.ok(res.ms < PROMPT_MS, `answered after ${res.ms.toFixed(1)} ms`);
    await user.waitMessages(3);
    assert.deepEqual(user.msgIds(), ["off1", "off2", "off3"]);
  });

  it("/changeRoom on A moves sockets on B: they get changeRoom(\"-2\", {joins, leaves}) and room pushes follow", T, async () => {
    const uid = uniq("b");
    const oldRoom = uniq("old");
    const newRoom = uniq("new");
    const onB = await users.login(B, uid);
    const onA = await users.login(A, uid);
    assert.equal(seedOk(await call(A, "/changeRoom", { useraccounts: uid, joins: oldRoom })), true);
    await eventually(() => onB.eventsNamed("changeRoom").length === 1, "the first changeRoom notice on B");
    const notice = waitForEvent(onB.socket, "changeRoom");
    assert.equal(seedOk(await call(A, "/changeRoom", { useraccounts: uid, joins: newRoom, leaves: oldRoom })), true);
    assert.deepEqual(await notice, ["-2", { joins: [newRoom], leaves: [oldRoom] }]);
    await eventually(() => onA.eventsNamed("changeRoom").length === 2, "the second changeRoom notice on A");
    assert.deepEqual(onA.eventsNamed("changeRoom").at(-1), ["-2", { joins: [newRoom], leaves: [oldRoom] }]);
    assert.equal(await client.get(`room@${uid}`), newRoom, "room@<uid> follows the change");
    // Each node sends the notice after moving the socket: nothing to wait for.
    const res = await call(A, "/pushMsgToRoom", { tags: newRoom, msgId: "cr", message: "m", timeout: 5000 });
    assert.deepEqual(seedOk(res), [uid]);
    assert.equal((await onB.message(0)).msgId, "cr");
    const left = await call(A, "/pushMsgToRoom", { tags: oldRoom, msgId: "gone", message: "m", timeout: 5000 });
    assert.deepEqual(seedOk(left), [], "the sockets left the old room on B too");
    assert.ok(left.ms < PROMPT_MS, `an empty room answers at once (${left.ms.toFixed(1)} ms)`);
    assert.deepEqual(onB.msgIds(), ["cr"]);
  });

  it("/api/v1/push on A: users, rooms and all count B's devices and acks", T, async () => {
    const uid = uniq("ab");
    const room = uniq("room");
    const devices = [await users.login(A, uid), await users.login(B, uid), await users.login(B, uid)];
    assert.equal(seedOk(await call(A, "/changeRoom", { useraccounts: uid, joins: room })), true);
    // One device's ack is the user's receipt, so the answer may come before every device acked.
    const expected = { acked: [uid], timedOut: [], complete: true, usersReached: 1, socketsReached: 3, offline: [], kept: [] };
    for (const [target, body] of [
      ["users", { users: [uid] }],
      ["rooms", { rooms: [room] }],
      ["all", { all: true }],
    ]) {
      const res = await call(A, "/api/v1/push", { ...body, msgId: `j-${target}`, message: { target }, timeout: 5000 }, { as: "json" });
      assert.equal(res.status, 200, res.text);
      const { elapsedMs, msgId, ack, socketsAcked, ...rest } = res.json;
      assert.deepEqual(rest, expected, `${target}: ${res.text}`);
      assert.ok(socketsAcked >= 1 && socketsAcked <= 3, `${target}: socketsAcked ${socketsAcked}`);
      assert.equal(msgId, `j-${target}`);
      assert.ok(elapsedMs < PROMPT_MS && res.ms < PROMPT_MS, `${target}: answered after ${res.ms.toFixed(1)} ms`);
    }
    for (const device of devices) {
      await device.waitMessages(3);
      assert.deepEqual(device.msgIds(), ["j-users", "j-rooms", "j-all"]);
    }
  });

  // Node's adapter answers each client ack with a Redis message of its own; a Herald node asking
  // another Herald node takes them in batches (`herald.acks`), which a Node requester never sees.
  it("acks from B's users reach A as batches in the answers: every ack once, no one-ack answers", T, async () => {
    const ids = Array.from({ length: 8 }, () => uniq("batch"));
    for (const id of ids) await users.login(B, id);
    const sub = client.duplicate();
    sub.on("error", () => {});
    await sub.connect();
    const answers = [];
    // Answers are JSON (counts) or msgpack (acks), as the adapter sends them.
    const decode = (message) => (message[0] === 0x7b ? JSON.parse(message.toString()) : notepack.decode(message));
    await sub.pSubscribe(`socket.io-response#${NSP}#*`, (message) => answers.push(decode(message)), true);
    try {
      const res = await call(A, "/api/v1/push", { all: true, msgId: "batched", message: "m", timeout: 5000 }, { as: "json" });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(sorted(res.json.acked), sorted(ids), res.text);
      // The answers reach this subscriber and node A by separate deliveries: wait for every ack.
      const ackCount = () =>
        answers.filter((answer) => answer.type === 9).reduce((n, answer) => n + (Array.isArray(answer.herald?.acks) ? answer.herald.acks.length : 1), 0);
      await eventually(() => ackCount() >= ids.length, `${ids.length} acks in the answers`);
      await expectQuietFor(50, "an ack answered twice");
    } finally {
      await sub.pUnsubscribe();
      await sub.quit();
    }
    const acks = answers.filter((answer) => answer.type === 9);
    assert.ok(acks.length > 0, `no ack answers among ${JSON.stringify(answers)}`);
    for (const answer of acks) assert.ok(Array.isArray(answer.herald?.acks), `an unbatched answer: ${JSON.stringify(answer)}`);
    const acked = acks.flatMap((answer) => answer.herald.acks.map((ack) => ack.uid));
    assert.deepEqual(sorted(acked), sorted(ids));
    for (const answer of acks) for (const ack of answer.herald.acks) assert.equal(typeof ack.socket, "string", JSON.stringify(ack));
  });

  // POST /api/v1/rooms counts the sockets moved on every node: the change goes to the other nodes as
  // a server-side event with acknowledgements, each answering how many sockets it moved.
  it("/api/v1/rooms on A counts the sockets moved on B too", T, async () => {
    const uid = uniq("ab");
    const onA = await users.login(A, uid);
    const onB = [await users.login(B, uid), await users.login(B, uid)];
    const room = uniq("room");
    const res = await call(A, "/api/v1/rooms", { users: [uid], joins: [room] }, { as: "json" });
    assert.equal(res.status, 200, res.text);
    for (const user of [onA, ...onB]) await eventually(() => user.eventsNamed("changeRoom").length === 1, "the changeRoom notice");
    assert.deepEqual(res.json, { socketsMoved: 3 });
  });

  it("/api/v1/users/<uid> on A counts the user's sockets on both nodes", T, async () => {
    const uid = uniq("ab");
    await users.login(A, uid);
    await users.login(B, uid);
    await users.login(B, uid);
    const onlyB = uniq("b");
    await users.login(B, onlyB);
    for (const node of [A, B]) {
      const res = await call(node, `/api/v1/users/${encodeURIComponent(uid)}`, undefined, { method: "GET" });
      assert.deepEqual(res.json, { uid, online: true, sockets: 3 }, `on ${node === A ? "A" : "B"}`);
    }
    assert.deepEqual((await call(A, `/api/v1/users/${onlyB}`, undefined, { method: "GET" })).json, { uid: onlyB, online: true, sockets: 1 });
    const nobody = uniq("off");
    assert.deepEqual((await call(A, `/api/v1/users/${nobody}`, undefined, { method: "GET" })).json, { uid: nobody, online: false, sockets: 0 });
  });
});

describe("receipts across nodes", () => {
  it("a user on B who acks after 300 ms: A answers right after that ack", T, async () => {
    const uid = uniq("b");
    const slow = await users.login(B, uid, { ackMode: 300 });
    const res = await call(A, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "slow", message: "m", timeout: 5000 });
    assert.deepEqual(seedOk(res), [uid]);
    assert.ok(res.ms >= 300, `answered after ${res.ms.toFixed(1)} ms, before the ack`);
    const gap = res.received - slow.received[0].ackedAt;
    assert.ok(gap >= 0 && gap < PROMPT_MS, `answered ${gap.toFixed(1)} ms after B's ack`);
  });

  it("a user on B who never acks is reported after the timeout; the others at once in the JSON API", T, async () => {
    const acker = uniq("a");
    const ackerB = uniq("b");
    const silent = uniq("silent");
    await users.login(A, acker);
    await users.login(B, ackerB);
    const quiet = await users.login(B, silent, { ackMode: "never" });
    const seed = await call(A, "/pushBatchUniMsg", { useraccounts: `${acker},${ackerB},${silent}`, msgId: "t1", message: "m", timeout: 600 });
    assert.deepEqual(sorted(seedOk(seed)), sorted([acker, ackerB]));
    assert.ok(seed.ms >= 590 && seed.ms < 600 + LATE_MS, `answered after ${seed.ms.toFixed(1)} ms with timeout 600`);
    assert.equal((await quiet.message(0)).msgId, "t1", "the silent user did get it");

    const res = await call(A, "/api/v1/push", { users: [acker, ackerB, silent], msgId: "t2", message: "m", timeout: 600 }, { as: "json" });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(sorted(res.json.acked), sorted([acker, ackerB]));
    assert.deepEqual(res.json.timedOut, [silent]);
    assert.equal(res.json.complete, false);
    assert.equal(res.json.usersReached, 3);
    assert.equal(res.json.socketsReached, 3);
    assert.equal(res.json.socketsAcked, 2);
    assert.ok(res.json.elapsedMs >= 590 && res.json.elapsedMs < 600 + LATE_MS, `elapsedMs ${res.json.elapsedMs}`);
  });

  it("/pushMsgToAll on A with a silent user on B: the ackers after the timeout, nobody missing", T, async () => {
    const ackers = [uniq("a"), uniq("b")];
    await users.login(A, ackers[0]);
    await users.login(B, ackers[1]);
    await users.login(B, uniq("silent"), { ackMode: "never" });
    const res = await call(A, "/pushMsgToAll", { msgId: "t3", message: "m", timeout: 500 });
    assert.deepEqual(sorted(seedOk(res)), sorted(ackers));
    assert.ok(res.ms >= 490 && res.ms < 500 + LATE_MS, `answered after ${res.ms.toFixed(1)} ms`);
  });

  it("pushes without ack (ack=false) reach B and answer body true at once", T, async () => {
    const uid = uniq("b");
    const user = await users.login(B, uid, { ackMode: "never" });
    const res = await call(A, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "na", message: "m", ack: "false" });
    assert.equal(seedOk(res), true);
    assert.ok(res.ms < PROMPT_MS);
    const m = await user.message(0);
    assert.equal(m.msgId, "na");
    assert.equal(m.hasAck, false, "no ack requested");
  });
});

describe("the same results as on one node", () => {
  // One scenario of users and API calls, run with every device on A (one node), then spread
  // over A and B; the answers must be identical (bar timings).
  async function scenario(place) {
    const name = { x: uniq("x"), y: uniq("y"), z: uniq("z"), off: uniq("off") };
    const room = uniq("team");
    const symbolic = new Map(Object.entries(name).map(([k, v]) => [v, k]));
    symbolic.set(room, "team");
    const clean = (value) => {
      if (Array.isArray(value)) return value.map(clean).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
      if (value && typeof value === "object") {
        const out = {};
        // Timings differ, and so may the devices counted before the last user's receipt.
        for (const [k, v] of Object.entries(value)) if (k !== "elapsedMs" && k !== "socketsAcked") out[k] = clean(v);
        return out;
      }
      return symbolic.get(value) ?? value;
    };
    const devices = {
      x: await users.login(place[0], name.x),
      y1: await users.login(place[1], name.y),
      y2: await users.login(place[2], name.y),
      z: await users.login(place[3], name.z, { ackMode: "never" }),
    };
    const results = [];
    const run = async (path, body, options) =>
      results.push([path.replace(name.y, "y"), clean((await call(A, path, body, options)).json)]);
    await run("/changeRoom", { useraccounts: `${name.x},${name.y}`, joins: room });
    await run("/pushMsgToSingleDevice", { useraccount: name.y, msgId: "1", message: "m", timeout: 3000 });
    await run("/pushBatchUniMsg", { useraccounts: [name.x, name.y, name.z, name.off].join(","), msgId: "2", message: "m", timeout: 400 });
    await run("/pushMsgToRoom", { tags: room, msgId: "3", message: "m", timeout: 3000 });
    await run("/pushMsgToAll", { msgId: "4", message: "m", timeout: 400 });
    await run("/pushOffLineMsg", { useraccount: name.x, msglist: JSON.stringify([{ msgId: "5", message: "a" }, { msgId: "6", message: "b" }]), timeout: 3000 });
    await run("/api/v1/push", { users: [name.x, name.y, name.z, name.off], msgId: "7", message: "m", timeout: 400 }, { as: "json" });
    await run("/api/v1/push", { rooms: [room], msgId: "8", message: "m", timeout: 3000 }, { as: "json" });
    await run("/api/v1/offline", { user: name.off, messages: [{ msgId: "9", message: 1 }], timeout: 3000 }, { as: "json" });
    await run(`/api/v1/users/${name.y}`, undefined, { method: "GET" });
    await run("/changeRoom", { useraccounts: name.y, leaves: room });
    await run("/api/v1/push", { rooms: [room], msgId: "10", message: "m", timeout: 3000 }, { as: "json" });
    // The HTTP answers can overtake the changeRoom notices on the sockets: x joined, y joined and left.
    const notices = (d) => d.eventsNamed("changeRoom").length;
    await eventually(() => notices(devices.x) >= 1 && notices(devices.y1) >= 2 && notices(devices.y2) >= 2, "the changeRoom notices");
    await expectQuietFor(50, "push 10 reaching y, which left the room");
    const received = Object.fromEntries(Object.entries(devices).map(([k, d]) => [k, d.msgIds()]));
    const rooms = Object.fromEntries(Object.entries(devices).map(([k, d]) => [k, d.eventsNamed("changeRoom").map((e) => clean(e))]));
    users.closeAll();
    for (const node of [A, B]) {
      await eventually(async () => (await call(node, "/api/v1/stats", undefined, { method: "GET" })).json?.sockets === 0, "sockets closed");
    }
    return { results, received, rooms };
  }

  it("every endpoint answers the same with users spread over A and B as with all of them on A", { timeout: 15_000 }, async () => {
    const single = await scenario([A, A, A, A]);
    const spread = await scenario([B, A, B, B]);
    // Sanity: the single-node run is what the seed's API promises.
    assert.deepEqual(single.results[1], ["/pushMsgToSingleDevice", { code: 0, msg: "success", body: ["y"] }]);
    assert.deepEqual(single.results[2][1].body, ["x", "y"]);
    assert.deepEqual(single.received.y1, ["1", "2", "3", "4", "7", "8"]);
    for (let i = 0; i < single.results.length; i++) {
      assert.deepEqual(spread.results[i], single.results[i], `answer to ${single.results[i][0]} (call ${i})`);
    }
    assert.deepEqual(spread.received, single.received, "messages each device received");
    assert.deepEqual(spread.rooms, single.rooms, "changeRoom notices each device received");
  });
});

describe("single session across nodes (--single-session true on both)", () => {
  let C;
  let D;
  before(async () => {
    [C, D] = await startNodes(redis, 2, ["--single-session", "true"]);
    await waitServers(client, 4);
  });
  after(async () => {
    users.closeAll();
    await Promise.all([C?.stop(), D?.stop()]);
  });

  it("a login on C, then the same uid on D: the C socket gets repeat(\"-1\", ...) and is disconnected", T, async () => {
    const uid = uniq("ss");
    const older = await users.login(C, uid);
    const repeat = waitForEvent(older.socket, "repeat");
    const disconnected = waitForEvent(older.socket, "disconnect");
    const newer = await users.login(D, uid);
    assert.deepEqual(await repeat, ["-1", `${uid} logged in twice`]);
    const [reason] = await disconnected;
    assert.equal(reason, "io server disconnect");
    assert.equal(newer.socket.connected, true);
    assert.deepEqual(newer.eventsNamed("repeat"), [], "the newer socket is not kicked");
    await eventually(async () => (await client.get(`user@${uid}`)) === newer.socket.id, "user@<uid> = the newer socket");
    const res = await call(C, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "after", message: "m", timeout: 3000 });
    assert.deepEqual(seedOk(res), [uid]);
    assert.deepEqual(newer.msgIds(), ["after"]);
    assert.deepEqual(older.msgIds(), [], "the kicked socket got nothing");
    const count = await call(C, `/api/v1/users/${uid}`, undefined, { method: "GET" });
    assert.equal(count.json.sockets, 1);
  });

  it("logins on D then C then D again: each time only the newest socket stays", T, async () => {
    const uid = uniq("ss");
    const first = await users.login(D, uid);
    const kickedFirst = waitForEvent(first.socket, "disconnect");
    const second = await users.login(C, uid);
    await kickedFirst;
    const kickedSecond = waitForEvent(second.socket, "disconnect");
    const third = await users.login(D, uid);
    await kickedSecond;
    assert.deepEqual(second.eventsNamed("repeat"), [["-1", `${uid} logged in twice`]]);
    assert.equal(third.socket.connected, true);
    await expectQuietFor(100, "a kick of the newest login");
    assert.equal(third.socket.connected, true, "the newest login stays");
    assert.deepEqual(third.eventsNamed("repeat"), []);
  });
});

describe("hostile cluster messages", () => {
  const rejected = 'herald_rejected_inputs_total{source="cluster"}';

  it("msgpack and JSON nested 70,000 deep on the adapter channels are dropped and counted; the nodes stay up", T, async () => {
    const before = await metric(A, rejected);
    const deepMsgpack = Buffer.concat([Buffer.alloc(70_000, 0x91), Buffer.from([0x01])]);
    await client.publish(Buffer.from(`socket.io#${NSP}#`), deepMsgpack);
    await client.publish(REQUEST_CHANNEL, `{"type":3,"x":${"[".repeat(70_000)}${"]".repeat(70_000)}}`);
    await eventually(async () => (await metric(A, rejected)) >= before + 2, "both messages counted as rejected on A");
    const uid = uniq("b");
    await users.login(B, uid);
    const res = await call(A, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "after", message: "m", timeout: 3000 });
    assert.deepEqual(seedOk(res), [uid], "the cluster still carries pushes and receipts");
  });
});
