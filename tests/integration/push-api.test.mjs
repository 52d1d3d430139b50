// The push API of herald, happy paths: the seed's six endpoints (form-encoded and JSON bodies)
// and the JSON API under /api/v1, with real socket.io-client users on the push namespace.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { NSP, T, Users, apiError, call, eventually, expectQuietFor, seedOk, startHerald, uniq, waitLoggedIn } from "./lib/herald.mjs";
import { scaled } from "./lib/timing.mjs";

let server;
const users = new Users();

before(async () => {
  server = await startHerald();
});

afterEach(() => users.closeAll());

after(async () => {
  users.closeAll();
  await server.stop();
});

const sorted = (list) => [...list].sort();

describe("seed endpoints", () => {
  it("/pushMsgToSingleDevice (form): the user gets message(msgId, message) with an ack callback; body lists it", T, async () => {
    const uid = uniq();
    const user = await users.login(server, uid);
    const res = await call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "m1", message: "hello world & more" });
    assert.deepEqual(seedOk(res), [uid]);
    const got = await user.message(0);
    assert.equal(got.msgId, "m1");
    assert.equal(got.message, "hello world & more");
    assert.equal(got.hasAck, true, "the push asks for a receipt");
  });

  it("/pushMsgToSingleDevice (form): a message that looks like JSON stays a string", T, async () => {
    const uid = uniq();
    const user = await users.login(server, uid);
    const text = '{"a":1,"b":[true]}';
    assert.deepEqual(seedOk(await call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "m", message: text })), [uid]);
    assert.equal((await user.message(0)).message, text);
  });

  it("/pushMsgToSingleDevice (JSON): message of any JSON type reaches the client as that value", T, async () => {
    const uid = uniq();
    const user = await users.login(server, uid);
    const values = [
      { title: "t", body: { nested: [1, 2, { x: null }] }, n: 1.5 },
      [1, "two", { three: 3 }],
      42,
      -0.25,
      "plain text",
      true,
      false,
      0,
    ];
    for (const [i, message] of values.entries()) {
      const res = await call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId: `j${i}`, message }, { as: "json" });
      assert.deepEqual(seedOk(res), [uid], `push of ${JSON.stringify(message)}`);
    }
    await user.waitMessages(values.length);
    assert.deepEqual(user.msgIds(), values.map((_, i) => `j${i}`));
    for (const [i, message] of values.entries()) assert.deepEqual(user.received[i].message, message);
  });

  it("/pushMsgToSingleDevice: an offline user gives body [] and nothing is sent", T, async () => {
    const online = await users.login(server, uniq());
    const res = await call(server, "/pushMsgToSingleDevice", { useraccount: uniq("offline"), msgId: "m", message: "x" });
    assert.deepEqual(seedOk(res), []);
    await expectQuietFor(100, "a push to another user");
    assert.equal(online.received.length, 0);
  });

  it("/pushBatchUniMsg: comma-separated (form) and array (JSON) lists; each listed online user gets it once", T, async () => {
    const [a, b, c] = [uniq(), uniq(), uniq()];
    const ua = await users.login(server, a);
    const ub = await users.login(server, b);
    const uc = await users.login(server, c);
    const offline = uniq("off");
    const form = await call(server, "/pushBatchUniMsg", { useraccounts: `${a}, ${b},${offline}`, msgId: "b1", message: "hi" });
    assert.deepEqual(sorted(seedOk(form)), sorted([a, b]));
    const json = await call(server, "/pushBatchUniMsg", { useraccounts: [b, c, offline], msgId: "b2", message: { k: "v" } }, { as: "json" });
    assert.deepEqual(sorted(seedOk(json)), sorted([b, c]));
    await ua.waitMessages(1);
    await ub.waitMessages(2);
    await uc.waitMessages(1);
    await expectQuietFor(50, "a second copy of a push");
    assert.deepEqual(ua.msgIds(), ["b1"]);
    assert.deepEqual(ub.msgIds(), ["b1", "b2"]);
    assert.deepEqual(uc.msgIds(), ["b2"]);
    assert.deepEqual(uc.received[0].message, { k: "v" });
  });

  it("/changeRoom then /pushMsgToRoom: room members get it, others do not; changeRoom(\"-2\", {joins, leaves}) is sent", T, async () => {
    const [a, b, c] = [uniq(), uniq(), uniq()];
    const [ra, rb] = [uniq("room"), uniq("room")];
    const ua = await users.login(server, a);
    const ub = await users.login(server, b);
    const uc = await users.login(server, c);
    const changed = await call(server, "/changeRoom", { useraccounts: `${a},${b}`, joins: `${ra},${rb}`, leaves: "" });
    assert.equal(seedOk(changed), true);
    // The HTTP answer can overtake the notices on the sockets: wait for them, then compare.
    await eventually(() => ua.eventsNamed("changeRoom").length === 1 && ub.eventsNamed("changeRoom").length === 1, "the changeRoom notices");
    assert.deepEqual(ua.eventsNamed("changeRoom"), [["-2", { joins: [ra, rb], leaves: [] }]]);
    assert.deepEqual(ub.eventsNamed("changeRoom"), [["-2", { joins: [ra, rb], leaves: [] }]]);
    assert.deepEqual(uc.eventsNamed("changeRoom"), []);

    // a user in both rooms gets a push to both rooms once
    const pushed = await call(server, "/pushMsgToRoom", { tags: `${ra},${rb}`, msgId: "r1", message: "room msg" });
    assert.deepEqual(sorted(seedOk(pushed)), sorted([a, b]));
    await ua.waitMessages(1);
    await ub.waitMessages(1);
    await expectQuietFor(100, "a second copy for a user in both rooms, a push to a user in neither");
    assert.deepEqual(ua.msgIds(), ["r1"]);
    assert.deepEqual(ub.msgIds(), ["r1"]);
    assert.deepEqual(uc.msgIds(), []);

    // JSON changeRoom: b leaves ra
    const left = await call(server, "/changeRoom", { useraccounts: [b], joins: [], leaves: [ra] }, { as: "json" });
    assert.equal(seedOk(left), true);
    await eventually(() => ub.eventsNamed("changeRoom").length === 2, "the second changeRoom notice");
    assert.deepEqual(ub.eventsNamed("changeRoom")[1], ["-2", { joins: [], leaves: [ra] }]);
    const again = await call(server, "/pushMsgToRoom", { tags: [ra], msgId: "r2", message: [1] }, { as: "json" });
    assert.deepEqual(seedOk(again), [a]);
    await ua.waitMessages(2);
    await expectQuietFor(100, "a push to a user who left the room");
    assert.deepEqual(ub.msgIds(), ["r1"], "a user who left the room gets nothing");
  });

  it("/pushMsgToAll: every logged-in user gets it and is listed; a socket not logged in gets nothing", T, async () => {
    const ids = [uniq(), uniq(), uniq()];
    const logged = [];
    for (const uid of ids) logged.push(await users.login(server, uid));
    const anonymous = await users.connect(server);
    await waitLoggedIn(server, ids.length);
    const res = await call(server, "/pushMsgToAll", { msgId: "all1", message: "to all" });
    assert.deepEqual(sorted(seedOk(res)), sorted(ids));
    for (const user of logged) assert.deepEqual((await user.waitMessages(1)).map((m) => m.msgId), ["all1"]);
    const json = await call(server, "/pushMsgToAll", { msgId: "all2", message: { to: "all" } }, { as: "json" });
    assert.deepEqual(sorted(seedOk(json)), sorted(ids));
    await expectQuietFor(100, "a push to a socket not logged in");
    assert.equal(anonymous.events.length, 0, `a socket not logged in got ${JSON.stringify(anonymous.events)}`);
  });

  it("/pushOffLineMsg (form, msglist as a JSON string): each item is sent with ack; body = the msgIds acked", T, async () => {
    const uid = uniq();
    const user = await users.login(server, uid);
    const msglist = JSON.stringify([
      { msgId: "o1", message: "first" },
      { msgId: "o2", message: { second: 2 } },
      { msgId: "o3", message: [3] },
    ]);
    const res = await call(server, "/pushOffLineMsg", { useraccount: uid, msglist });
    assert.deepEqual(seedOk(res), ["o1", "o2", "o3"]);
    await user.waitMessages(3);
    const byId = Object.fromEntries(user.received.map((m) => [m.msgId, m]));
    assert.equal(byId.o1.message, "first");
    assert.deepEqual(byId.o2.message, { second: 2 });
    assert.deepEqual(byId.o3.message, [3]);
    assert.ok(user.received.every((m) => m.hasAck));
  });

  it("/pushOffLineMsg (JSON, msglist as an array); an offline user gives []", T, async () => {
    const uid = uniq();
    const user = await users.login(server, uid);
    const msglist = [{ msgId: "p1", message: true }, { msgId: "p2", message: 7 }];
    assert.deepEqual(seedOk(await call(server, "/pushOffLineMsg", { useraccount: uid, msglist }, { as: "json" })), ["p1", "p2"]);
    await user.waitMessages(2);
    assert.deepEqual(sorted(user.received.map((m) => JSON.stringify([m.msgId, m.message]))), ['["p1",true]', '["p2",7]']);
    const offline = await call(server, "/pushOffLineMsg", { useraccount: uniq("off"), msglist }, { as: "json" });
    assert.deepEqual(seedOk(offline), []);
  });

  for (const [label, ack, as] of [
    ["ack=false (form)", "false", "form"],
    ["ack=0 (form)", "0", "form"],
    ["ack:false (JSON)", false, "json"],
    ["ack:0 (JSON)", 0, "json"],
  ]) {
    it(`${label}: body is true and the message comes without an ack callback`, T, async () => {
      const uid = uniq();
      const user = await users.login(server, uid);
      const res = await call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "na", message: "no ack", ack }, { as });
      assert.equal(seedOk(res), true);
      const got = await user.message(0);
      assert.equal(got.message, "no ack");
      assert.equal(got.hasAck, false, "no receipt requested");
    });
  }

  for (const [label, ack, as] of [
    ["ack=true (form)", "true", "form"],
    ["ack=1 (form)", "1", "form"],
    ["ack:true (JSON)", true, "json"],
    ["ack:1 (JSON)", 1, "json"],
  ]) {
    it(`${label}: body is the list of users who acked`, T, async () => {
      const uid = uniq();
      await users.login(server, uid);
      const res = await call(server, "/pushBatchUniMsg", { useraccounts: uid, msgId: "a", message: "m", ack }, { as });
      assert.deepEqual(seedOk(res), [uid]);
    });
  }

  it("ack=false on /pushMsgToAll and /pushMsgToRoom: body true, everyone logged in still gets it", T, async () => {
    const uid = uniq();
    const room = uniq("room");
    const user = await users.login(server, uid);
    await waitLoggedIn(server, 1);
    assert.equal(seedOk(await call(server, "/changeRoom", { useraccounts: uid, joins: room })), true);
    assert.equal(seedOk(await call(server, "/pushMsgToAll", { msgId: "x1", message: "m", ack: "false" })), true);
    assert.equal(seedOk(await call(server, "/pushMsgToRoom", { tags: room, msgId: "x2", message: "m", ack: false }, { as: "json" })), true);
    await user.waitMessages(2);
    assert.deepEqual(user.msgIds(), ["x1", "x2"]);
  });

  it("a trailing slash on a seed path is accepted", T, async () => {
    const uid = uniq();
    const user = await users.login(server, uid);
    assert.deepEqual(seedOk(await call(server, "/pushMsgToSingleDevice/", { useraccount: uid, msgId: "s", message: "m" })), [uid]);
    await user.message(0);
  });
});

describe("JSON API /api/v1", () => {
  it("POST /api/v1/push {users}: the full receipt", T, async () => {
    const uid = uniq();
    const offline = uniq("off");
    const user = await users.login(server, uid);
    const res = await call(server, "/api/v1/push", { users: [uid, offline], msgId: "j1", message: { hello: "json" }, timeout: 5000 }, { as: "json" });
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers.get("content-type"), /application\/json/);
    const body = res.json;
    assert.equal(body.msgId, "j1");
    assert.equal(body.ack, true);
    assert.deepEqual(body.acked, [uid]);
    assert.deepEqual(body.timedOut, []);
    assert.deepEqual(body.offline, [offline]);
    assert.equal(body.complete, true);
    assert.equal(body.usersReached, 1);
    assert.equal(body.socketsReached, 1);
    assert.equal(body.socketsAcked, 1);
    assert.equal(typeof body.elapsedMs, "number");
    assert.ok(body.elapsedMs >= 0 && body.elapsedMs < scaled(300), `elapsedMs ${body.elapsedMs}`);
    assert.deepEqual((await user.message(0)).message, { hello: "json" });
  });

  it("POST /api/v1/push/batch: one result per entry, in order, each as /api/v1/push answers it", T, async () => {
    const [a, b] = [uniq("ba"), uniq("bb")];
    const offline = uniq("boff");
    const room = uniq("broom");
    const userA = await users.login(server, a);
    const userB = await users.login(server, b);
    assert.equal((await call(server, "/api/v1/rooms", { users: [b], joins: [room] }, { as: "json" })).status, 200);
    const res = await call(server, "/api/v1/push/batch", {
      pushes: [
        { users: [a, offline], msgId: "b1", message: { n: 1 }, timeout: 3000 },
        { rooms: [room], msgId: "b2", message: "to the room", ack: false },
        { users: [b], msgId: "b3", message: [3], event: "notice", ack: false },
      ],
    }, { as: "json" });
    assert.equal(res.status, 200, res.text);
    const [r1, r2, r3] = res.json.results;
    assert.equal(res.json.results.length, 3);
    assert.deepEqual([r1.msgId, r1.acked, r1.offline], ["b1", [a], [offline]]);
    assert.deepEqual(r2, { msgId: "b2", ack: false, offline: [] });
    assert.deepEqual(r3, { msgId: "b3", ack: false, offline: [] });
    assert.deepEqual((await userA.message(0)).message, { n: 1 });
    assert.equal((await userB.message(0)).msgId, "b2");
    await eventually(() => userB.eventsNamed("notice").length === 1, "the notice event");
    assert.deepEqual(userB.eventsNamed("notice"), [["b3", [3]]]);
  });

  it("POST /api/v1/push/batch refuses a bad entry by its index and sends nothing", T, async () => {
    const uid = uniq("bbad");
    const user = await users.login(server, uid);
    const res = await call(server, "/api/v1/push/batch", { pushes: [{ users: [uid], msgId: "ok1", message: 1 }, { users: [uid], message: 2 }] }, { as: "json" });
    apiError(res, 400, /^pushes\[1\]: msgId is required/);
    apiError(await call(server, "/api/v1/push/batch", { pushes: [] }, { as: "json" }), 400, /pushes is required/);
    apiError(await call(server, "/api/v1/push/batch", { pushes: [5] }, { as: "json" }), 400, /pushes\[0\]: must be a JSON object/);
    const many = Array.from({ length: 1001 }, (_, i) => ({ users: [uid], msgId: `m${i}`, message: i, ack: false }));
    apiError(await call(server, "/api/v1/push/batch", { pushes: many }, { as: "json" }), 400, /at most 1000 pushes/);
    await expectQuietFor(100, "a push of a refused batch");
    assert.deepEqual(user.msgIds(), [], "nothing of a refused batch was sent");
  });

  it("POST /api/v1/push {users} as a form with a comma list", T, async () => {
    const [a, b] = [uniq(), uniq()];
    await users.login(server, a);
    await users.login(server, b);
    const res = await call(server, "/api/v1/push", { users: `${a},${b}`, msgId: "f1", message: "form" });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(sorted(res.json.acked), sorted([a, b]));
    assert.equal(res.json.usersReached, 2);
  });

  it("POST /api/v1/push {rooms} and {all:true}", T, async () => {
    const [a, b] = [uniq(), uniq()];
    const room = uniq("room");
    const ua = await users.login(server, a);
    const ub = await users.login(server, b);
    const anonymous = await users.connect(server);
    await waitLoggedIn(server, 2);
    const moved = await call(server, "/api/v1/rooms", { users: [a], joins: [room] }, { as: "json" });
    assert.equal(moved.status, 200, moved.text);
    assert.deepEqual(moved.json, { socketsMoved: 1 });

    const toRoom = await call(server, "/api/v1/push", { rooms: [room], msgId: "r", message: 1 }, { as: "json" });
    assert.equal(toRoom.status, 200, toRoom.text);
    assert.deepEqual(toRoom.json.acked, [a]);
    assert.equal(toRoom.json.complete, true);
    assert.deepEqual(toRoom.json.offline, []);

    const toAll = await call(server, "/api/v1/push", { all: true, msgId: "all", message: 2 }, { as: "json" });
    assert.equal(toAll.status, 200, toAll.text);
    assert.deepEqual(sorted(toAll.json.acked), sorted([a, b]));
    assert.equal(toAll.json.usersReached, 2);
    assert.equal(toAll.json.socketsReached, 2, "the socket not logged in is not reached");
    await ua.waitMessages(2);
    await ub.waitMessages(1);
    assert.deepEqual(ua.msgIds(), ["r", "all"]);
    assert.deepEqual(ub.msgIds(), ["all"]);
    assert.equal(anonymous.events.length, 0);
  });

  it("POST /api/v1/push with ack:false: 200 {msgId, ack:false}, message without ack callback", T, async () => {
    const uid = uniq();
    const user = await users.login(server, uid);
    const res = await call(server, "/api/v1/push", { users: [uid], msgId: "n", message: "x", ack: false }, { as: "json" });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.msgId, "n");
    assert.equal(res.json.ack, false);
    assert.equal((await user.message(0)).hasAck, false);
  });

  it("POST /api/v1/push with a custom event: the client gets that event with (msgId, message) and acks it", T, async () => {
    const uid = uniq();
    const user = await users.login(server, uid, { event: "notice" });
    const res = await call(server, "/api/v1/push", { users: [uid], msgId: "e1", message: { n: 1 }, event: "notice", timeout: 3000 }, { as: "json" });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json.acked, [uid]);
    const got = await user.message(0);
    assert.equal(got.msgId, "e1");
    assert.deepEqual(got.message, { n: 1 });
    assert.deepEqual(user.eventsNamed("message"), [], "not sent as message");
  });

  it("POST /api/v1/offline: {user, online, acked, notAcked}", T, async () => {
    const uid = uniq();
    const user = await users.login(server, uid);
    const messages = [{ msgId: "q1", message: "a" }, { msgId: "q2", message: { b: 1 } }];
    const res = await call(server, "/api/v1/offline", { user: uid, messages, timeout: 3000 }, { as: "json" });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { user: uid, online: true, acked: ["q1", "q2"], notAcked: [] });
    await user.waitMessages(2);
    const absent = uniq("off");
    const off = await call(server, "/api/v1/offline", { user: absent, messages, timeout: 3000 }, { as: "json" });
    assert.equal(off.status, 200, off.text);
    assert.deepEqual(off.json, { user: absent, online: false, acked: [], notAcked: ["q1", "q2"] });
    assert.ok(off.ms < scaled(300), `an offline user is answered at once (${off.ms} ms)`);
  });

  it("POST /api/v1/rooms: socketsMoved counts every device; changeRoom is sent to each", T, async () => {
    const uid = uniq();
    const room = uniq("room");
    const phone = await users.login(server, uid);
    const laptop = await users.login(server, uid);
    const res = await call(server, "/api/v1/rooms", { users: uid, joins: room, leaves: "" });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { socketsMoved: 2 });
    await eventually(() => phone.eventsNamed("changeRoom").length === 1 && laptop.eventsNamed("changeRoom").length === 1, "the changeRoom notices");
    assert.deepEqual(phone.eventsNamed("changeRoom"), [["-2", { joins: [room], leaves: [] }]]);
    assert.deepEqual(laptop.eventsNamed("changeRoom"), [["-2", { joins: [room], leaves: [] }]]);
    const nobody = await call(server, "/api/v1/rooms", { users: [uniq("off")], leaves: [room] }, { as: "json" });
    assert.deepEqual(nobody.json, { socketsMoved: 0 });
  });

  it("GET /api/v1/users/<uid>: {uid, online, sockets}", T, async () => {
    const uid = uniq("user é/");
    const first = await users.login(server, uid);
    await users.login(server, uid);
    const path = `/api/v1/users/${encodeURIComponent(uid)}`;
    let res = await call(server, path, undefined, { method: "GET" });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { uid, online: true, sockets: 2 });
    first.close();
    res = await eventually(async () => {
      const now = await call(server, path, undefined, { method: "GET" });
      return now.json?.sockets === 1 ? now : null;
    }, `${uid} down to 1 socket`);
    assert.deepEqual(res.json, { uid, online: true, sockets: 1 });
    const unknown = uniq("nobody");
    res = await call(server, `/api/v1/users/${unknown}`, undefined, { method: "GET" });
    assert.deepEqual(res.json, { uid: unknown, online: false, sockets: 0 });
  });

  it("GET /api/v1/stats: {connections, sockets, loggedIn}", T, async () => {
    await users.login(server, uniq());
    await users.login(server, uniq());
    await users.connect(server);
    const stats = await waitLoggedIn(server, 2);
    assert.equal(stats.loggedIn, 2);
    assert.equal(stats.sockets, 3);
    assert.ok(stats.connections >= 3, JSON.stringify(stats));
    assert.deepEqual(Object.keys(stats).sort(), ["connections", "loggedIn", "sockets"]);
  });

  it("unknown paths answer 404 with JSON {error}", T, async () => {
    for (const path of ["/nope", "/pushMsgToNobody", "/api/v1/nope", "/api/v2/push", "/api/v1/users/x/nope"]) {
      const res = await call(server, path, { msgId: "1", message: "x" });
      assert.equal(res.status, 404, `${path}: ${res.text}`);
      assert.match(res.headers.get("content-type") ?? "", /application\/json/, path);
      assert.equal(typeof res.json?.error, "string", `${path}: ${res.text}`);
    }
  });

  it("a wrong method answers 405 (with Allow)", T, async () => {
    const cases = [
      ["GET", "/pushMsgToSingleDevice", "POST"],
      ["PUT", "/pushMsgToAll", "POST"],
      ["GET", "/changeRoom", "POST"],
      ["GET", "/api/v1/push", "POST"],
      ["GET", "/api/v1/offline", "POST"],
      ["DELETE", "/api/v1/rooms", "POST"],
      ["POST", "/api/v1/stats", "GET"],
      ["POST", "/api/v1/users/someone", "GET"],
      ["DELETE", "/api/v1/users/someone/rooms", "GET"],
    ];
    for (const [method, path, allowed] of cases) {
      const res = await call(server, path, undefined, { method });
      assert.equal(res.status, 405, `${method} ${path}: ${res.text}`);
      assert.ok(res.json && typeof res.json === "object", `${method} ${path}: JSON body, got ${res.text}`);
      assert.match(res.headers.get("allow") ?? "", new RegExp(allowed), `${method} ${path}: Allow header`);
    }
  });

  it(`pushes go to ${NSP} only: a user logged in on another namespace gets nothing`, T, async () => {
    const uid = uniq();
    const main = await users.login(server, uid);
    const other = await users.connect(server, { nsp: "/" });
    other.socket.emit("login", uid);
    await expectQuietFor(50, "the login on / logging in on the push namespace");
    assert.deepEqual(seedOk(await call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "n", message: "m" })), [uid]);
    await main.message(0);
    await expectQuietFor(100, "a push to the socket on /");
    assert.equal(other.received.length, 0);
  });
});
