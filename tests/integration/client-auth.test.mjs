// --client-auth jwt with the real socket.io-client: a connection brings a token (auth {token} or
// ?token=) and is logged in as its `sub`, with the rooms of its `rooms` claim; a missing, forged,
// expired or `alg: none` token, and algorithm confusion, are refused with connect_error; login as
// another uid is refused. In every mode, a user whose id is a room's name does not get that room's
// pushes. Tokens are made here with node:crypto (HS256, RS256, ES256, EdDSA).

import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { io } from "socket.io-client";
import { NSP, T, Users, call, eventually, expectQuietFor, seedOk, startHerald, uniq } from "./lib/herald.mjs";
import { waitForEvent } from "./lib/wait.mjs";

const SECRET = "a-shared-secret-of-the-backend";
const b64 = (value) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

function jwt(claims, { alg = "HS256", secret = SECRET, key, header = {} } = {}) {
  const head = `${b64({ alg, typ: "JWT", ...header })}.${b64(claims)}`;
  let signature = "";
  if (alg.startsWith("HS")) signature = crypto.createHmac(`sha${alg.slice(2)}`, secret).update(head).digest("base64url");
  else if (alg.startsWith("RS")) signature = crypto.sign(`sha${alg.slice(2)}`, Buffer.from(head), key).toString("base64url");
  else if (alg.startsWith("ES")) signature = crypto.sign(`sha${alg.slice(2)}`, Buffer.from(head), { key, dsaEncoding: "ieee-p1363" }).toString("base64url");
  else if (alg === "EdDSA") signature = crypto.sign(null, Buffer.from(head), key).toString("base64url");
  return `${head}.${signature}`;
}
const now = () => Math.floor(Date.now() / 1000);

const sockets = new Set();
afterEach(() => {
  for (const socket of sockets) socket.disconnect();
  sockets.clear();
});

function connect(server, options) {
  const socket = io(`${server.url}${NSP}`, { forceNew: true, reconnection: false, transports: ["websocket"], ...options });
  sockets.add(socket);
  socket.received = [];
  socket.on("message", (msgId, message, ack) => {
    socket.received.push(msgId);
    if (typeof ack === "function") ack();
  });
  return socket;
}

async function refused(server, options, pattern) {
  const socket = connect(server, options);
  const [error] = await waitForEvent(socket, "connect_error", { failOn: ["connect"] });
  assert.match(error.message, pattern);
}

async function accepted(server, options) {
  const socket = connect(server, options);
  await waitForEvent(socket, "connect", { failOn: ["connect_error"] });
  return socket;
}

describe("--client-auth jwt with --jwt-secret (HS256)", () => {
  let server;
  before(async () => {
    server = await startHerald(["--client-auth", "jwt", "--jwt-secret", SECRET]);
  });
  after(() => server.stop());

  it("a valid token logs the connection in as its sub, with the rooms of its rooms claim", T, async () => {
    const uid = uniq("jwt");
    const room = uniq("room");
    const socket = await accepted(server, { auth: { token: jwt({ sub: uid, rooms: [room], exp: now() + 60 }) } });
    assert.deepEqual(seedOk(await call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "to-user", message: "m" })), [uid]);
    assert.deepEqual(seedOk(await call(server, "/pushMsgToRoom", { tags: room, msgId: "to-room", message: "m" })), [uid]);
    assert.deepEqual(socket.received, ["to-user", "to-room"]);
  });

  it("the token also comes as a query parameter", T, async () => {
    const uid = uniq("q");
    await accepted(server, { query: { token: jwt({ sub: uid }) } });
    assert.deepEqual(seedOk(await call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "m", message: "m" })), [uid]);
  });

  it("no token, a forged signature, an expired token, nbf in the future, alg none, no sub: connect_error", T, async () => {
    await refused(server, {}, /authentication required/);
    await refused(server, { auth: { token: jwt({ sub: "alice" }, { secret: "not-the-secret" }) } }, /bad signature/);
    await refused(server, { auth: { token: jwt({ sub: "alice", exp: now() - 10 }) } }, /expired/);
    await refused(server, { auth: { token: jwt({ sub: "alice", nbf: now() + 600 }) } }, /not valid yet/);
    const none = `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: "alice" })}.`;
    await refused(server, { auth: { token: none } }, /not accepted/);
    await refused(server, { auth: { token: jwt({ name: "no sub" }) } }, /no sub/);
    await refused(server, { auth: { token: "not.a.jwt" } }, /malformed/);
    await refused(server, { auth: { uid: "alice" } }, /authentication required/);
  });

  it("login as another uid is refused; login as itself answers success", T, async () => {
    const uid = uniq("me");
    const socket = await accepted(server, { auth: { token: jwt({ sub: uid }) } });
    const other = await new Promise((resolve) => socket.emit("login", "alice", resolve));
    assert.equal(other.code, -1);
    assert.match(other.msg, /authenticated as .* refused/);
    const self = await new Promise((resolve) => socket.emit("login", uid, resolve));
    assert.equal(self.code, 0);
    assert.deepEqual(seedOk(await call(server, "/pushMsgToSingleDevice", { useraccount: "alice", msgId: "m", message: "m" })), []);
    assert.deepEqual(socket.received, []);
  });
});

describe("a token's expiry ends its connection unless refreshed", () => {
  let server;
  before(async () => {
    server = await startHerald(["--client-auth", "jwt", "--jwt-secret", SECRET]);
  });
  after(() => server.stop());
  const refresh = (socket, token) => new Promise((resolve) => socket.emit("refresh_token", token, resolve));

  it("told token_expiring at once when less than a minute is left, then token_expired and disconnected at exp", T, async () => {
    const exp = now() + 2;
    const socket = connect(server, { auth: { token: jwt({ sub: uniq("exp"), exp }) } });
    const expiring = waitForEvent(socket, "token_expiring");
    await waitForEvent(socket, "connect", { failOn: ["connect_error"] });
    const [notice] = await expiring;
    assert.equal(notice.expiresAt, exp * 1000);
    const disconnected = waitForEvent(socket, "disconnect", { timeout: 5000 });
    const [expired] = await waitForEvent(socket, "token_expired", { timeout: 4000 });
    assert.match(expired.message, /expired/);
    const [reason] = await disconnected;
    assert.equal(reason, "io server disconnect", "the server ends it: the client does not reconnect by itself");
    assert.ok(Date.now() >= exp * 1000, "not before exp");
  });

  it("a recovered connection keeps its token's exp", T, async () => {
    const exp = now() + 3;
    const socket = await accepted(server, { auth: { token: jwt({ sub: uniq("rec"), exp }) }, reconnection: true, reconnectionDelay: 100, randomizationFactor: 0 });
    socket.io.engine.transport.ws._socket.destroy();
    await waitForEvent(socket, "connect", { timeout: 3000 });
    assert.equal(socket.recovered, true);
    const [expired] = await waitForEvent(socket, "token_expired", { timeout: 5000 });
    assert.match(expired.message, /expired/);
  });

  it("a fresh token for the same user keeps the connection; another user's or a forged one is refused", T, async () => {
    const uid = uniq("refresh");
    const socket = await accepted(server, { auth: { token: jwt({ sub: uid, exp: now() + 2 }) } });
    const other = await refresh(socket, jwt({ sub: uniq("other"), exp: now() + 3600 }));
    assert.equal(other.code, -1);
    assert.match(other.msg, /another user/);
    const forged = await refresh(socket, jwt({ sub: uid, exp: now() + 3600 }, { secret: "wrong" }));
    assert.equal(forged.code, -1);
    assert.match(forged.msg, /invalid token/);
    const exp = now() + 3600;
    const fresh = await refresh(socket, jwt({ sub: uid, exp }));
    assert.deepEqual(fresh, { code: 0, msg: "token refreshed", expiresAt: exp * 1000 });
    let expired = false;
    socket.on("token_expired", () => (expired = true));
    await expectQuietFor(2600, "a disconnect at the first token's exp");
    assert.equal(socket.connected, true, "still connected past the first token's exp");
    assert.equal(expired, false);
    const msgId = uniq("m");
    assert.deepEqual(seedOk(await call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId, message: "x" })), [uid]);
    assert.deepEqual(socket.received, [msgId]);
  });
});

describe("--client-auth jwt with --jwt-public-key", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "herald-jwt-"));
  const keys = {
    RS256: crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }),
    ES256: crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }),
    EdDSA: crypto.generateKeyPairSync("ed25519"),
  };
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const [alg, pair] of Object.entries(keys)) {
    it(`${alg}: a token signed by the private key is accepted, one by another key refused; HS256 with the public key as secret is refused`, T, async () => {
      const file = path.join(dir, `${alg}.pem`);
      const pem = pair.publicKey.export({ type: "spki", format: "pem" });
      fs.writeFileSync(file, pem);
      const server = await startHerald(["--client-auth", "jwt", "--jwt-public-key", file]);
      try {
        const uid = uniq(alg);
        await accepted(server, { auth: { token: jwt({ sub: uid }, { alg, key: pair.privateKey }) } });
        assert.deepEqual(seedOk(await call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "m", message: "m" })), [uid]);
        const stranger = alg === "RS256" ? crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }) : alg === "ES256" ? crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }) : crypto.generateKeyPairSync("ed25519");
        await refused(server, { auth: { token: jwt({ sub: "x" }, { alg, key: stranger.privateKey }) } }, /bad signature/);
        // Algorithm confusion: the public key (known to anyone) used as an HMAC secret.
        await refused(server, { auth: { token: jwt({ sub: "x" }, { alg: "HS256", secret: pem }) } }, /not accepted/);
      } finally {
        for (const socket of sockets) socket.disconnect();
        sockets.clear();
        await server.stop();
      }
    });
  }

  it("a key file that is not a PEM public key stops herald at start with a clear error", T, async () => {
    const file = path.join(dir, "bad.pem");
    fs.writeFileSync(file, "not a key");
    await assert.rejects(startHerald(["--client-auth", "jwt", "--jwt-public-key", file]), /not a PEM public key/);
  });
});

describe("user ids and room names (every mode)", () => {
  let server;
  const users = new Users();
  before(async () => {
    server = await startHerald();
  });
  after(async () => {
    users.closeAll();
    await server.stop();
  });

  it("login(\"<a room's name>\") does not get that room's pushes", T, async () => {
    const room = uniq("vip-room");
    const member = uniq("member");
    const insider = await users.login(server, member);
    assert.equal(seedOk(await call(server, "/changeRoom", { useraccounts: member, joins: room })), true);
    await eventually(() => insider.events.some((e) => e[0] === "changeRoom"), "the changeRoom notice");
    const impostor = await users.login(server, room);
    assert.deepEqual(seedOk(await call(server, "/pushMsgToRoom", { tags: room, msgId: "vip", message: "secret" })), [member]);
    await expectQuietFor(50, "the room push reaching the user named like the room");
    assert.deepEqual(insider.msgIds(), ["vip"]);
    assert.deepEqual(impostor.msgIds(), [], "the user named like the room is not in it");
    // Pushes to that user by its id still reach it.
    assert.deepEqual(seedOk(await call(server, "/pushMsgToSingleDevice", { useraccount: room, msgId: "own", message: "m" })), [room]);
  });
});
