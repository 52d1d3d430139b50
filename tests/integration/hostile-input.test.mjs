// Input built to take the server down: JSON nested tens of thousands deep (it crashed Herald with
// SIGSEGV through the recursive JSON code) to every endpoint that reads JSON, and changeRoom calls
// whose size used to stall a loop for minutes (a linear search per room). Each is answered with a
// clear error, the server stays up, and big-but-allowed changeRoom calls still work.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { T, Users, apiError, call, eventually, expectQuietFor, seedError, seedOk, startHerald, uniq } from "./lib/herald.mjs";

let server;
const users = new Users();

before(async () => {
  server = await startHerald();
});

after(async () => {
  users.closeAll();
  await server.stop();
});

const DEPTH = 70_000; // 140 KB of brackets: under the default --max-api-body of 1 MB
const deep = (depth = DEPTH) => "[".repeat(depth) + "]".repeat(depth);

async function assertAlive() {
  const res = await call(server, "/health", undefined, { method: "GET" });
  assert.equal(res.status, 200, "the server answers /health after the hostile request");
}

async function rejectedCount() {
  const res = await call(server, "/metrics", undefined, { method: "GET" });
  const line = res.text.split("\n").find((l) => l.startsWith('herald_rejected_inputs_total{source="api"}'));
  assert.ok(line, `the rejected-input metric is exported:\n${res.text.slice(0, 400)}`);
  return Number(line.split(" ").pop());
}

describe("JSON nested deeper than 64 levels", () => {
  it("/pushMsgToSingleDevice (JSON body, offline user): {code:-1} naming the nesting, server up", T, async () => {
    const before = await rejectedCount();
    const body = `{"useraccount":"${uniq("x")}","msgId":"m","message":${deep()}}`;
    seedError(await call(server, "/pushMsgToSingleDevice", body, { type: "application/json" }), /nests.*deeper than 64/);
    await assertAlive();
    assert.equal(await rejectedCount(), before + 1, "the refusal is counted");
  });

  it("/pushMsgToSingleDevice to an online user: refused, nothing delivered", T, async () => {
    const uid = uniq("online");
    const user = await users.login(server, uid);
    const body = `{"useraccount":"${uid}","msgId":"m","message":${deep()}}`;
    seedError(await call(server, "/pushMsgToSingleDevice", body, { type: "application/json" }), /deeper than 64/);
    await expectQuietFor(50, "the refused push delivered");
    assert.deepEqual(user.received, []);
    await assertAlive();
  });

  it("/api/v1/push: 400 {error}", T, async () => {
    const body = `{"users":["${uniq("x")}"],"msgId":"m","message":${deep()}}`;
    apiError(await call(server, "/api/v1/push", body, { type: "application/json" }), 400, /deeper than 64/);
    await assertAlive();
  });

  it("/api/v1/offline: 400 {error}", T, async () => {
    const body = `{"user":"${uniq("x")}","messages":[{"msgId":"m","message":${deep()}}]}`;
    apiError(await call(server, "/api/v1/offline", body, { type: "application/json" }), 400, /deeper than 64/);
    await assertAlive();
  });

  it("/pushOffLineMsg with a form-encoded msglist: {code:-1}", T, async () => {
    const msglist = `[{"msgId":"m","message":${deep()}}]`;
    seedError(await call(server, "/pushOffLineMsg", { useraccount: uniq("x"), msglist }), /deeper than 64/);
    await assertAlive();
  });

  it("brackets inside JSON strings do not count; a body nesting 64 levels in all is accepted", T, async () => {
    const uid = uniq("online");
    const user = await users.login(server, uid);
    const message = { text: "[".repeat(5000), nested: JSON.parse(deep(62)) /* body, message and 62 arrays: 64 levels */ };
    const body = seedOk(await call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "ok", message }, { as: "json" }));
    assert.deepEqual(body, [uid]);
    assert.deepEqual(user.received.map((m) => m.message), [message]);
  });

  it("a client event nested too deeply closes that client only", T, async () => {
    const attacker = await users.connect(server);
    const bystanderUid = uniq("by");
    await users.login(server, bystanderUid);
    const closed = new Promise((resolve) => attacker.socket.on("disconnect", resolve));
    attacker.socket.io.engine.write(`42/heikuai,["x",${deep(20_000)}]`);
    assert.match(await closed, /transport close|io server disconnect/);
    const body = seedOk(await call(server, "/pushMsgToSingleDevice", { useraccount: bystanderUid, msgId: "after", message: "hi" }));
    assert.deepEqual(body, [bystanderUid]);
  });
});

describe("changeRoom size", () => {
  const list = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix}${i}`).join(",");

  it("10,000 users x 10,000 rooms is refused at once, naming the cap", T, async () => {
    const res = await call(server, "/changeRoom", { useraccounts: list("u", 10_000), joins: list("r", 10_000) });
    seedError(res, /at most 1000000 memberships/);
    apiError(
      await call(server, "/api/v1/rooms", { users: list("u", 10_000), joins: list("r", 10_000) }, { as: "json" }),
      400,
      /at most 1000000 memberships.*split it/,
    );
    await assertAlive();
  });

  it("1,000 users x 1,000 rooms (the cap) is served, and the server stays responsive", { timeout: 60_000 }, async () => {
    const prefix = uniq("bulk");
    const res = await call(server, "/changeRoom", { useraccounts: list(`${prefix}-u`, 1000), joins: list(`${prefix}-r`, 1000) }, { timeout: 50_000 });
    assert.equal(seedOk(res), true);
    await assertAlive();
  });

  it("an online user joins and leaves 5,000 rooms in one call each", { timeout: 30_000 }, async () => {
    const uid = uniq("many");
    const user = await users.login(server, uid);
    const rooms = list(uniq("room"), 5000);
    assert.equal(seedOk(await call(server, "/changeRoom", { useraccounts: uid, joins: rooms })), true);
    const last = rooms.split(",").at(-1);
    // The notice can trail the HTTP answer; a push to the last room proves the joins took.
    await eventually(() => user.events.some((e) => e[0] === "changeRoom"), "the changeRoom notice", 5000);
    assert.deepEqual(seedOk(await call(server, "/pushMsgToRoom", { tags: last, msgId: "in", message: "x" })), [uid]);
    assert.equal(seedOk(await call(server, "/changeRoom", { useraccounts: uid, leaves: rooms })), true);
    await eventually(() => user.events.filter((e) => e[0] === "changeRoom").length >= 2, "the second changeRoom notice", 5000);
    assert.deepEqual(seedOk(await call(server, "/pushMsgToRoom", { tags: last, msgId: "out", message: "x" })), []);
    assert.deepEqual(user.received.map((m) => m.msgId), ["in"]);
  });
});
