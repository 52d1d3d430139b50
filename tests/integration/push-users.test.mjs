// Users on the socket side: login(uid) (with or without an ack callback) or auth {uid} in the
// handshake, bad uids refused, logout and disconnect, rooms set for a user's next login
// (PUT /api/v1/users/<uid>/rooms), --single-session and --login-webhook.

import assert from "node:assert/strict";
import http from "node:http";
import { after, afterEach, before, describe, it } from "node:test";
import {
  NSP,
  T,
  Users,
  call,
  eventually,
  expectQuietFor,
  seedOk,
  startHerald,
  uniq,
  waitLoggedIn,
} from "./lib/herald.mjs";
import { scaled } from "./lib/timing.mjs";
import { waitForEvent } from "./lib/wait.mjs";

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

async function userState(srv, uid) {
  const res = await call(srv, `/api/v1/users/${encodeURIComponent(uid)}`, undefined, { method: "GET" });
  assert.equal(res.status, 200, res.text);
  return res.json;
}

/** Pushes to `uid` and returns the body (the users who acked). */
async function pushTo(srv, uid, msgId, timeout = 400) {
  return seedOk(await call(srv, "/pushMsgToSingleDevice", { useraccount: uid, msgId, message: "m", timeout }));
}

describe("login and logout", () => {
  it("login(uid, ack) is answered {code:0, msg}; the user then gets pushes", T, async () => {
    const uid = uniq();
    const user = await users.connect(server);
    const reply = await user.login(uid);
    assert.equal(reply.code, 0);
    assert.equal(typeof reply.msg, "string");
    assert.deepEqual(await userState(server, uid), { uid, online: true, sockets: 1 });
    assert.deepEqual(await pushTo(server, uid, "a"), [uid]);
    assert.equal((await user.message(0)).msgId, "a");
  });

  it("login(uid) without an ack callback logs in too", T, async () => {
    const uid = uniq();
    const user = await users.connect(server);
    user.socket.emit("login", uid);
    await eventually(async () => (await userState(server, uid)).online, `${uid} online`);
    assert.deepEqual(await pushTo(server, uid, "b"), [uid]);
    assert.equal((await user.message(0)).msgId, "b");
  });

  it("auth {uid} in the handshake logs in without a login event", T, async () => {
    const uid = uniq();
    const user = await users.connect(server, { auth: { uid } });
    await eventually(async () => (await userState(server, uid)).online, `${uid} online`);
    assert.deepEqual(await pushTo(server, uid, "c"), [uid]);
    assert.equal((await user.message(0)).msgId, "c");
  });

  it("a bad uid in the handshake auth does not log in", T, async () => {
    const user = await users.connect(server, { auth: { uid: "a,b" } });
    const empty = await users.connect(server, { auth: { uid: "" } });
    await expectQuietFor(100, "a bad handshake uid logging in or closing the socket");
    assert.equal(user.socket.connected, true, "the socket stays connected");
    assert.equal(empty.socket.connected, true, "the socket stays connected");
    assert.deepEqual(await userState(server, "a"), { uid: "a", online: false, sockets: 0 });
    const stats = await waitLoggedIn(server, 0);
    assert.equal(stats.sockets, 2);
  });

  it("logout(ack) is answered {code:0}; no more pushes reach the socket", T, async () => {
    const uid = uniq();
    const user = await users.login(server, uid);
    assert.deepEqual(await pushTo(server, uid, "before"), [uid]);
    const reply = await user.logout();
    assert.equal(reply.code, 0);
    assert.deepEqual(await userState(server, uid), { uid, online: false, sockets: 0 });
    const res = await call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "after", message: "m", timeout: 3000 });
    assert.deepEqual(seedOk(res), []);
    assert.ok(res.ms < scaled(300), "a logged-out user is offline: no wait");
    await expectQuietFor(100, "a push after logout");
    assert.deepEqual(user.msgIds(), ["before"]);
    assert.equal(user.socket.connected, true);
  });

  it("after logout the socket leaves the rooms it was moved into", T, async () => {
    const uid = uniq();
    const room = uniq("room");
    const user = await users.login(server, uid);
    assert.equal(seedOk(await call(server, "/changeRoom", { useraccounts: uid, joins: room })), true);
    await user.logout();
    const res = await call(server, "/pushMsgToRoom", { tags: room, msgId: "r", message: "m", timeout: 300 });
    assert.deepEqual(seedOk(res), []);
    await expectQuietFor(100, "a room push after logout");
    assert.deepEqual(user.received, []);
  });

  it("a disconnect counts as logout", T, async () => {
    const uid = uniq();
    const user = await users.login(server, uid);
    user.close();
    await eventually(async () => !(await userState(server, uid)).online, `${uid} offline`);
    const res = await call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "x", message: "m", timeout: 3000 });
    assert.deepEqual(seedOk(res), []);
    assert.ok(res.ms < scaled(300), `returned after ${res.ms.toFixed(1)} ms`);
  });

  it("logging in as another uid on the same socket moves it: the old uid gets nothing", T, async () => {
    const [a, b] = [uniq(), uniq()];
    const user = await users.login(server, a);
    assert.equal((await user.login(b)).code, 0);
    assert.deepEqual(await userState(server, a), { uid: a, online: false, sockets: 0 });
    assert.deepEqual(await pushTo(server, a, "to-a"), []);
    assert.deepEqual(await pushTo(server, b, "to-b"), [b]);
    await user.message(0);
    await expectQuietFor(50, "the push to the old uid");
    assert.deepEqual(user.msgIds(), ["to-b"]);
  });

  it("logging out then in again works", T, async () => {
    const uid = uniq();
    const user = await users.login(server, uid);
    await user.logout();
    assert.equal((await user.login(uid)).code, 0);
    assert.deepEqual(await pushTo(server, uid, "again"), [uid]);
  });

  it("a uid of exactly 256 bytes is accepted", T, async () => {
    const uid = "é".repeat(100) + "x".repeat(56); // 256 bytes in UTF-8
    assert.equal(Buffer.byteLength(uid), 256);
    await users.login(server, uid);
    assert.deepEqual(await pushTo(server, uid, "long"), [uid]);
  });

  const badUids = [
    ["an empty string", ""],
    ["an object", { uid: "x" }],
    ["an array", ["x"]],
    ["null", null],
    ["a boolean", true],
    ["a fraction", 1.5],
    ["over 256 bytes", "u".repeat(257)],
    ["over 256 bytes in UTF-8", "é".repeat(129)],
    ["a ','", "a,b"],
  ];
  for (const [label, uid] of badUids) {
    it(`login with ${label} is answered {code:-1, msg} and does not log in`, T, async () => {
      const user = await users.connect(server);
      const reply = await user.login(uid);
      assert.equal(reply?.code, -1, JSON.stringify(reply));
      assert.equal(typeof reply.msg, "string");
      assert.ok(reply.msg.length > 0);
      const stats = await waitLoggedIn(server, 0);
      assert.equal(stats.sockets, 1);
      if (typeof uid === "string" && uid.length > 0) {
        const res = await call(server, "/pushMsgToAll", { msgId: "n", message: "m", timeout: 300 });
        assert.deepEqual(seedOk(res), []);
      }
      await expectQuietFor(50, "a push to a socket whose login was refused");
      assert.deepEqual(user.received, []);
      // and the socket can still log in properly
      assert.equal((await user.login(uniq())).code, 0);
    });
  }

  it("login with a whole number logs in as its decimal text (seed clients send numeric ids)", T, async () => {
    const user = await users.connect(server);
    const reply = await user.login(12345);
    assert.equal(reply?.code, 0, `login(12345) answered ${JSON.stringify(reply)}`);
    assert.deepEqual(await pushTo(server, "12345", "numeric"), ["12345"]);
  });

  it("login with a fraction or a boolean is refused", T, async () => {
    const user = await users.connect(server);
    for (const bad of [1.5, true, { id: 1 }]) {
      const reply = await user.login(bad);
      assert.equal(reply?.code, -1, `login(${JSON.stringify(bad)}) answered ${JSON.stringify(reply)}`);
    }
  });

  it("login with no uid at all is answered {code:-1}", T, async () => {
    const user = await users.connect(server);
    const reply = await new Promise((resolve) => user.socket.emit("login", resolve));
    assert.equal(reply?.code, -1, JSON.stringify(reply));
    await waitLoggedIn(server, 0);
  });

  it("a bad login after a good one keeps the good one", T, async () => {
    const uid = uniq();
    const user = await users.login(server, uid);
    assert.equal((await user.login("a,b")).code, -1);
    assert.deepEqual(await pushTo(server, uid, "still"), [uid]);
  });
});

describe("sockets not logged in get no pushes (the seed's defect)", () => {
  it("/pushMsgToAll, /pushMsgToRoom to its socket id, /api/v1/push {all}: nothing reaches an anonymous socket", T, async () => {
    const anonymous = await users.connect(server);
    const member = await users.login(server, uniq());
    await waitLoggedIn(server, 1);
    seedOk(await call(server, "/pushMsgToAll", { msgId: "1", message: "m", timeout: 300 }));
    seedOk(await call(server, "/pushMsgToAll", { msgId: "2", message: "m", ack: "false" }));
    const room = await call(server, "/pushMsgToRoom", { tags: anonymous.socket.id, msgId: "3", message: "m", timeout: 300 });
    assert.deepEqual(seedOk(room), []);
    const json = await call(server, "/api/v1/push", { all: true, msgId: "4", message: "m", timeout: 300 }, { as: "json" });
    assert.equal(json.json.socketsReached, 1);
    await member.waitMessages(3);
    await expectQuietFor(100, "a push to the anonymous socket");
    assert.deepEqual(anonymous.events, [], `got ${JSON.stringify(anonymous.events)}`);
  });
});

describe("rooms joined at login (PUT /api/v1/users/<uid>/rooms)", () => {
  it("PUT sets them, GET returns them, a new login joins them and gets /pushMsgToRoom pushes", T, async () => {
    const uid = uniq();
    const [r1, r2] = [uniq("room"), uniq("room")];
    const path = `/api/v1/users/${encodeURIComponent(uid)}/rooms`;
    const put = await call(server, path, { rooms: [r1, r2] }, { as: "json", method: "PUT" });
    assert.equal(put.status, 200, put.text);
    const got = await call(server, path, undefined, { method: "GET" });
    assert.equal(got.status, 200, got.text);
    assert.deepEqual(sorted(got.json.rooms), sorted([r1, r2]));

    const user = await users.login(server, uid);
    const other = await users.login(server, uniq());
    const res = await call(server, "/pushMsgToRoom", { tags: r1, msgId: "room1", message: "m", timeout: 2000 });
    assert.deepEqual(seedOk(res), [uid]);
    const res2 = await call(server, "/pushMsgToRoom", { tags: [r2], msgId: "room2", message: "m", timeout: 2000 }, { as: "json" });
    assert.deepEqual(seedOk(res2), [uid]);
    await user.waitMessages(2);
    assert.deepEqual(user.msgIds(), ["room1", "room2"]);
    await expectQuietFor(50, "a room push to a user outside the room");
    assert.deepEqual(other.received, []);
  });

  it("PUT with a form comma list; PUT with no rooms clears them", T, async () => {
    const uid = uniq();
    const [r1, r2] = [uniq("room"), uniq("room")];
    const path = `/api/v1/users/${uid}/rooms`;
    const put = await call(server, path, { rooms: `${r1},${r2}` }, { method: "PUT" });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual(sorted((await call(server, path, undefined, { method: "GET" })).json.rooms), sorted([r1, r2]));
    const clear = await call(server, path, { rooms: [] }, { as: "json", method: "PUT" });
    assert.equal(clear.status, 200, clear.text);
    assert.deepEqual((await call(server, path, undefined, { method: "GET" })).json.rooms, []);
    await users.login(server, uid);
    const res = await call(server, "/pushMsgToRoom", { tags: `${r1},${r2}`, msgId: "x", message: "m", timeout: 300 });
    assert.deepEqual(seedOk(res), [], "cleared rooms are not joined");
  });

  it("GET /api/v1/users/<uid>/rooms of a user never set is []", T, async () => {
    const res = await call(server, `/api/v1/users/${uniq("fresh")}/rooms`, undefined, { method: "GET" });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json.rooms, []);
  });

  it("a '+' in the uid path segment is the character '+', not a space", T, async () => {
    // A path segment is percent-decoded only: '+' stays '+' (it means a space in form values only).
    const uid = `a+b${uniq()}`;
    await users.login(server, uid);
    const encoded = await call(server, `/api/v1/users/${encodeURIComponent(uid)}`, undefined, { method: "GET" });
    assert.deepEqual(encoded.json, { uid, online: true, sockets: 1 });
    const raw = await call(server, `/api/v1/users/${uid}`, undefined, { method: "GET" });
    assert.deepEqual(raw.json, { uid, online: true, sockets: 1 });
  });
});

describe("stats", () => {
  it("counts sockets of the push namespace and those logged in; drops them on disconnect", T, async () => {
    const a = await users.login(server, uniq());
    const b = await users.login(server, uniq());
    await users.connect(server);
    let stats = await waitLoggedIn(server, 2);
    assert.equal(stats.sockets, 3);
    assert.ok(stats.connections >= 3);
    a.close();
    await b.logout();
    stats = await waitLoggedIn(server, 0);
    await eventually(async () => (await call(server, "/api/v1/stats", undefined, { method: "GET" })).json.sockets === 2, "2 sockets");
  });
});

describe("--single-session true", () => {
  let single;
  before(async () => {
    single = await startHerald(["--single-session", "true"]);
  });
  after(async () => {
    users.closeAll();
    await single.stop();
  });

  it("a second login kicks the older socket with repeat(\"-1\", \"<uid> logged in twice\"); the new one gets pushes", T, async () => {
    const uid = uniq();
    const older = await users.login(single, uid);
    const repeat = waitForEvent(older.socket, "repeat");
    const disconnected = waitForEvent(older.socket, "disconnect");
    const newer = await users.login(single, uid);
    const [code, text] = await repeat;
    assert.equal(code, "-1");
    assert.equal(text, `${uid} logged in twice`);
    const [reason] = await disconnected;
    assert.equal(reason, "io server disconnect");
    assert.equal(newer.socket.connected, true);
    assert.deepEqual(newer.eventsNamed("repeat"), [], "the new socket is not kicked");
    assert.deepEqual(await userState(single, uid), { uid, online: true, sockets: 1 });
    assert.deepEqual(await pushTo(single, uid, "s1", 2000), [uid]);
    assert.equal((await newer.message(0)).msgId, "s1");
    assert.deepEqual(older.received, []);
  });

  it("the same with auth {uid} in the handshake", T, async () => {
    const uid = uniq();
    const older = await users.connect(single, { auth: { uid } });
    await eventually(async () => (await userState(single, uid)).online, `${uid} online`);
    const repeat = waitForEvent(older.socket, "repeat");
    const newer = await users.connect(single, { auth: { uid } });
    assert.deepEqual(await repeat, ["-1", `${uid} logged in twice`]);
    await eventually(async () => !older.socket.connected, "the older socket to be disconnected");
    assert.deepEqual(await pushTo(single, uid, "s2", 2000), [uid]);
    assert.equal((await newer.message(0)).msgId, "s2");
  });

  it("other users are not kicked", T, async () => {
    const [a, b] = [uniq(), uniq()];
    const ua = await users.login(single, a);
    await users.login(single, b);
    await expectQuietFor(100, "a kick of another user");
    assert.equal(ua.socket.connected, true);
    assert.deepEqual(ua.eventsNamed("repeat"), []);
  });

  it("without --single-session both devices stay and receive; the user is listed once", T, async () => {
    const uid = uniq();
    const first = await users.login(server, uid);
    const second = await users.login(server, uid);
    await expectQuietFor(100, "a kick without --single-session");
    assert.equal(first.socket.connected, true);
    assert.deepEqual(first.eventsNamed("repeat"), []);
    assert.deepEqual(await pushTo(server, uid, "both", 2000), [uid]);
    assert.equal((await first.message(0)).msgId, "both");
    assert.equal((await second.message(0)).msgId, "both");
  });
});

describe("--login-webhook", () => {
  let hooked;
  let hookServer;
  const notices = [];
  const waiters = [];

  before(async () => {
    hookServer = http.createServer((req, res) => {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        notices.push({ method: req.method, url: req.url, type: req.headers["content-type"], body });
        res.writeHead(200, { "content-type": "text/plain" }).end("ok");
        waiters.splice(0).forEach((w) => w());
      });
    });
    await new Promise((resolve) => hookServer.listen(0, "127.0.0.1", resolve));
    hooked = await startHerald(["--login-webhook", `http://127.0.0.1:${hookServer.address().port}/hook`]);
  });

  after(async () => {
    users.closeAll();
    await hooked.stop();
    await new Promise((resolve) => hookServer.close(resolve));
  });

  async function noticeFor(uid) {
    return eventually(() => notices.find((n) => JSON.parse(n.body).uid === uid), `a login notice for ${uid}`);
  }

  it("each login POSTs JSON {uid, socketId, nsp, time}", T, async () => {
    const uid = uniq();
    const before = Date.now();
    const user = await users.login(hooked, uid);
    const notice = await noticeFor(uid);
    assert.equal(notice.method, "POST");
    assert.equal(notice.url, "/hook");
    assert.match(notice.type ?? "", /application\/json/);
    const body = JSON.parse(notice.body);
    assert.equal(body.uid, uid);
    assert.equal(body.socketId, user.socket.id);
    assert.equal(body.nsp, NSP);
    assert.equal(typeof body.time, "number");
    assert.ok(body.time >= before - 1000 && body.time <= Date.now() + 1000, `time ${body.time}`);
  });

  it("a handshake login and each device's login are notified; a refused login is not", T, async () => {
    const uid = uniq();
    const viaAuth = await users.connect(hooked, { auth: { uid } });
    const device = await users.login(hooked, uid);
    const bad = await users.connect(hooked);
    assert.equal((await bad.login("x,y")).code, -1);
    await eventually(() => notices.filter((n) => JSON.parse(n.body).uid === uid).length === 2, "two notices");
    const ids = notices.filter((n) => JSON.parse(n.body).uid === uid).map((n) => JSON.parse(n.body).socketId);
    assert.deepEqual(sorted(ids), sorted([viaAuth.socket.id, device.socket.id]));
    await expectQuietFor(100, "a login notice for the refused login");
    assert.equal(notices.filter((n) => JSON.parse(n.body).uid === "x,y").length, 0);
  });
});
