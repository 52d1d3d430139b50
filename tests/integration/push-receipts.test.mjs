// Delivery receipts: a push with ack returns as soon as every targeted online user acknowledged
// (never a fixed wait, the seed's defect), users who never ack are left out after the timeout,
// several devices of one user count once, offline users are simply absent.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { ACK_TIMEOUT_MS, T, Users, call, eventually, expectQuietFor, seedOk, startHerald, uniq, waitLoggedIn } from "./lib/herald.mjs";
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
/** Time from the last client ack to the HTTP response, in ms. */
function ackToResponse(res, received) {
  const lastAck = Math.max(...received.map((m) => m.ackedAt));
  return res.received - lastAck;
}

// How late the answer may come after the last ack / after the timeout (loopback, 2 threads).
const PROMPT_MS = scaled(75);
const LATE_MS = scaled(300);
/** A prompt call: every client acks at once (or nobody is online), so it waits on no timeout. */
const AT_ONCE_MS = scaled(300);

describe("prompt receipts", () => {
  for (const as of ["form", "json"]) {
    it(`(${as}) all users ack at once: the call returns well before the timeout, right after the last ack`, T, async () => {
      const ids = [uniq(), uniq(), uniq()];
      const clients = [];
      for (const uid of ids) clients.push(await users.login(server, uid));
      const res = await call(server, "/pushBatchUniMsg", { useraccounts: as === "json" ? ids : ids.join(","), msgId: "p", message: "m", timeout: 5000 }, { as });
      assert.deepEqual(sorted(seedOk(res)), sorted(ids));
      assert.ok(res.ms < AT_ONCE_MS, `returned after ${res.ms.toFixed(1)} ms with timeout 5000`);
      const received = clients.map((c) => c.received[0]);
      assert.ok(received.every((m) => m && m.ackedAt !== null), "every client acked");
      const gap = ackToResponse(res, received);
      assert.ok(gap >= 0 && gap < PROMPT_MS, `response came ${gap.toFixed(1)} ms after the last ack`);
    });
  }

  it("a user who acks after 400 ms: the call returns right after that ack, not before, not at the timeout", T, async () => {
    const uid = uniq();
    const slow = await users.login(server, uid, { ackMode: 400 });
    const res = await call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "s", message: "m", timeout: 5000 });
    assert.deepEqual(seedOk(res), [uid]);
    assert.ok(res.ms >= 400, `returned after ${res.ms.toFixed(1)} ms, before the ack (400 ms)`);
    const gap = ackToResponse(res, slow.received);
    assert.ok(gap >= 0 && gap < PROMPT_MS, `response came ${gap.toFixed(1)} ms after the ack`);
  });

  it("the JSON API reports the same promptness: elapsedMs follows the slowest ack", T, async () => {
    const fast = uniq();
    const slow = uniq();
    await users.login(server, fast);
    const slowUser = await users.login(server, slow, { ackMode: 250 });
    const res = await call(server, "/api/v1/push", { users: [fast, slow], msgId: "e", message: "m", timeout: 5000 }, { as: "json" });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json.acked, [fast, slow], "acked in order of arrival");
    assert.equal(res.json.complete, true);
    assert.deepEqual(res.json.timedOut, []);
    assert.ok(res.json.elapsedMs >= 250 && res.json.elapsedMs < 250 + PROMPT_MS, `elapsedMs ${res.json.elapsedMs}`);
    assert.ok(ackToResponse(res, slowUser.received) < PROMPT_MS);
  });

  it("two pushes at once are independent: a quick one is not held up by a slow one", T, async () => {
    const quick = uniq();
    const silent = uniq();
    await users.login(server, quick);
    const silentUser = await users.login(server, silent, { ackMode: "never" });
    const slowCall = call(server, "/pushMsgToSingleDevice", { useraccount: silent, msgId: "slow", message: "m", timeout: 1000 });
    await silentUser.message(0); // the slow push is under way
    const quickRes = await call(server, "/pushMsgToSingleDevice", { useraccount: quick, msgId: "quick", message: "m", timeout: 1000 });
    assert.deepEqual(seedOk(quickRes), [quick]);
    assert.ok(quickRes.ms < AT_ONCE_MS, `quick push took ${quickRes.ms.toFixed(1)} ms`);
    const slowRes = await slowCall;
    assert.deepEqual(seedOk(slowRes), []);
    assert.ok(slowRes.ms >= 1000, `slow push returned after ${slowRes.ms.toFixed(1)} ms`);
  });
});

describe("timeouts", () => {
  it("a user who never acks is missing from body; the call returns after ~timeout", T, async () => {
    const acker = uniq();
    const silent = uniq();
    await users.login(server, acker);
    const quiet = await users.login(server, silent, { ackMode: "never" });
    const res = await call(server, "/pushBatchUniMsg", { useraccounts: `${acker},${silent}`, msgId: "t", message: "m", timeout: 800 });
    assert.deepEqual(seedOk(res), [acker]);
    assert.ok(res.ms >= 790, `returned after ${res.ms.toFixed(1)} ms, before the 800 ms timeout`);
    assert.ok(res.ms < 800 + LATE_MS, `returned after ${res.ms.toFixed(1)} ms, long after the 800 ms timeout`);
    assert.equal(quiet.received.length, 1, "the silent user did get the message");
  });

  it("JSON API: timedOut lists the silent user, complete is false", T, async () => {
    const acker = uniq();
    const silent = uniq();
    await users.login(server, acker);
    await users.login(server, silent, { ackMode: "never" });
    const res = await call(server, "/api/v1/push", { users: [acker, silent], msgId: "t", message: "m", timeout: 600 }, { as: "json" });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json.acked, [acker]);
    assert.deepEqual(res.json.timedOut, [silent]);
    assert.equal(res.json.complete, false);
    assert.equal(res.json.usersReached, 2);
    assert.equal(res.json.socketsReached, 2);
    assert.equal(res.json.socketsAcked, 1);
    assert.ok(res.json.elapsedMs >= 590 && res.json.elapsedMs < 600 + LATE_MS, `elapsedMs ${res.json.elapsedMs}`);
  });

  it(`without a timeout field the server's --ack-timeout-ms (${ACK_TIMEOUT_MS}) applies`, T, async () => {
    const silent = uniq();
    await users.login(server, silent, { ackMode: "never" });
    const res = await call(server, "/pushMsgToSingleDevice", { useraccount: silent, msgId: "d", message: "m" });
    assert.deepEqual(seedOk(res), []);
    assert.ok(res.ms >= ACK_TIMEOUT_MS - 10 && res.ms < ACK_TIMEOUT_MS + LATE_MS, `returned after ${res.ms.toFixed(1)} ms`);
  });

  it("an ack that comes after the timeout does not count", T, async () => {
    const late = uniq();
    const user = await users.login(server, late, { ackMode: 700 });
    const res = await call(server, "/pushMsgToSingleDevice", { useraccount: late, msgId: "l", message: "m", timeout: 300 });
    assert.deepEqual(seedOk(res), []);
    assert.ok(res.ms >= 290 && res.ms < 300 + LATE_MS, `returned after ${res.ms.toFixed(1)} ms`);
    await eventually(() => (user.received[0]?.ackedAt ?? null) !== null, "the client's late ack");
  });
});

describe("devices, offline users, broadcasts", () => {
  it("a user on several devices is listed once; one device acking is enough", T, async () => {
    const uid = uniq();
    const phone = await users.login(server, uid);
    const laptop = await users.login(server, uid);
    const res = await call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "d1", message: "m", timeout: 5000 });
    assert.deepEqual(seedOk(res), [uid]);
    await phone.message(0);
    await laptop.message(0);

    const silentDevice = await users.login(server, uid, { ackMode: "never" });
    const json = await call(server, "/api/v1/push", { users: [uid], msgId: "d2", message: "m", timeout: 5000 }, { as: "json" });
    assert.deepEqual(json.json.acked, [uid]);
    assert.equal(json.json.usersReached, 1);
    assert.equal(json.json.socketsReached, 3);
    assert.equal(json.json.complete, true);
    assert.ok(json.ms < AT_ONCE_MS, `one device's ack is the user's receipt (${json.ms.toFixed(1)} ms)`);
    assert.equal((await silentDevice.message(0)).msgId, "d2");
  });

  it("offline users are absent from body and do not delay the answer", T, async () => {
    const online = uniq();
    await users.login(server, online);
    const offline = [uniq("off"), uniq("off")];
    const res = await call(server, "/pushBatchUniMsg", { useraccounts: [online, ...offline], msgId: "o", message: "m", timeout: 5000 }, { as: "json" });
    assert.deepEqual(seedOk(res), [online]);
    assert.ok(res.ms < AT_ONCE_MS, `returned after ${res.ms.toFixed(1)} ms`);
    const none = await call(server, "/pushBatchUniMsg", { useraccounts: offline.join(","), msgId: "o2", message: "m", timeout: 5000 });
    assert.deepEqual(seedOk(none), []);
    assert.ok(none.ms < AT_ONCE_MS, `nobody online: returned after ${none.ms.toFixed(1)} ms`);
  });

  it("/pushMsgToAll reports every logged-in user who acked, promptly; sockets not logged in get nothing", T, async () => {
    const ids = [uniq(), uniq(), uniq()];
    const clients = [];
    for (const uid of ids) clients.push(await users.login(server, uid));
    const anonymous = await users.connect(server);
    const loggedOut = await users.login(server, uniq("gone"));
    assert.equal((await loggedOut.logout()).code, 0);
    await waitLoggedIn(server, ids.length);
    const res = await call(server, "/pushMsgToAll", { msgId: "b", message: "m", timeout: 5000 });
    assert.deepEqual(sorted(seedOk(res)), sorted(ids));
    assert.ok(res.ms < AT_ONCE_MS, `returned after ${res.ms.toFixed(1)} ms`);
    assert.ok(ackToResponse(res, clients.map((c) => c.received[0])) < PROMPT_MS);
    await expectQuietFor(100, "the push reaching a socket not logged in or logged out");
    assert.deepEqual(anonymous.events, [], "socket not logged in");
    assert.deepEqual(loggedOut.received, [], "socket logged out");
  });

  it("/pushMsgToAll with a silent user: the others are reported after the timeout", T, async () => {
    const ackers = [uniq(), uniq()];
    for (const uid of ackers) await users.login(server, uid);
    await users.login(server, uniq("silent"), { ackMode: "never" });
    await waitLoggedIn(server, 3);
    const res = await call(server, "/pushMsgToAll", { msgId: "b2", message: "m", timeout: 500 }, { as: "json" });
    assert.deepEqual(sorted(seedOk(res)), sorted(ackers));
    assert.ok(res.ms >= 490 && res.ms < 500 + LATE_MS, `returned after ${res.ms.toFixed(1)} ms`);
  });

  it("/pushMsgToRoom reports every member who acked, each once, promptly", T, async () => {
    const members = [uniq(), uniq()];
    const room = uniq("room");
    const other = uniq("room");
    for (const uid of members) await users.login(server, uid);
    await users.login(server, members[0]); // second device
    const outsider = await users.login(server, uniq());
    assert.equal(seedOk(await call(server, "/changeRoom", { useraccounts: members.join(","), joins: `${room},${other}` })), true);
    const res = await call(server, "/pushMsgToRoom", { tags: `${room},${other}`, msgId: "r", message: "m", timeout: 5000 });
    assert.deepEqual(sorted(seedOk(res)), sorted(members));
    assert.ok(res.ms < AT_ONCE_MS, `returned after ${res.ms.toFixed(1)} ms`);
    await expectQuietFor(50, "the room push reaching a user outside the rooms");
    assert.deepEqual(outsider.received, []);
  });

  it("/pushOffLineMsg: body lists only the msgIds acked; the rest are reported after the timeout", T, async () => {
    const uid = uniq();
    const user = await users.login(server, uid, { ackMode: "never" });
    user.socket.on("message", (msgId) => {
      const item = user.received.find((m) => m.msgId === msgId);
      if (msgId !== "x2") item.ack();
    });
    const msglist = JSON.stringify(["x1", "x2", "x3"].map((msgId) => ({ msgId, message: msgId })));
    const res = await call(server, "/pushOffLineMsg", { useraccount: uid, msglist, timeout: 600 });
    assert.deepEqual(seedOk(res), ["x1", "x3"]);
    assert.ok(res.ms >= 590 && res.ms < 600 + LATE_MS, `returned after ${res.ms.toFixed(1)} ms`);

    const json = await call(server, "/api/v1/offline", { user: uid, messages: [{ msgId: "y1", message: 1 }, { msgId: "x2", message: 2 }], timeout: 400 }, { as: "json" });
    assert.deepEqual(json.json, { user: uid, online: true, acked: ["y1"], notAcked: ["x2"] });
  });

  it("/pushOffLineMsg: when every message is acked the call returns at once", T, async () => {
    const uid = uniq();
    await users.login(server, uid);
    const msglist = Array.from({ length: 20 }, (_, i) => ({ msgId: `z${i}`, message: { i } }));
    const res = await call(server, "/pushOffLineMsg", { useraccount: uid, msglist, timeout: 5000 }, { as: "json" });
    assert.deepEqual(seedOk(res), msglist.map((m) => m.msgId));
    assert.ok(res.ms < AT_ONCE_MS, `returned after ${res.ms.toFixed(1)} ms`);
  });
});
