// socket.io-client 2.x (Engine.IO v3, Socket.IO protocol v4), the real one, against herald and
// echo_server over polling, WebSocket, and polling upgraded to WebSocket: login, pushes with
// receipts, a broadcast reaching 2.x and 4.x clients in one room, binary payloads, a second
// namespace, refusals as strings, the v3 heartbeat (the client pings), the v3 handshake on the
// wire, and --allow-eio3 false.

import assert from "node:assert/strict";
import crypto from "node:crypto";
import { createRequire } from "node:module";
import { after, afterEach, before, describe, it } from "node:test";
import { NSP, T, Users, call, expectQuietFor, seedOk, sleep, startHerald, uniq } from "./lib/herald.mjs";
import { RawWebSocket, request } from "./lib/raw.mjs";
import { REFERENCE_SERVER, startEchoServer } from "./lib/server.mjs";
import { WAIT, waitForEvent, withTimeout } from "./lib/wait.mjs";

const require = createRequire(import.meta.url);
const ioV2 = require("socket.io-client-v2");

const MODES = { polling: ["polling"], websocket: ["websocket"], upgrade: ["polling", "websocket"] };
const SECRET = "a-shared-secret-of-the-backend";

const sockets = new Set();
const users = new Users();

afterEach(() => {
  for (const socket of sockets) socket.close();
  sockets.clear();
  users.closeAll();
});

/** A socket.io-client 2.x socket on `nsp`, not reconnecting. */
function v2(server, nsp, mode, options = {}) {
  const socket = ioV2(`${server.url}${nsp}`, {
    forceNew: true,
    reconnection: false,
    timeout: WAIT,
    transports: MODES[mode],
    ...options,
  });
  sockets.add(socket);
  return socket;
}

async function connected(socket, mode) {
  // 2.x reports a namespace refusal as "error", a failed connection as "connect_error".
  if (!socket.connected) await waitForEvent(socket, "connect", { failOn: ["connect_error", "error"] });
  if (mode === "upgrade" && socket.io.engine.transport.name !== "websocket") {
    await waitForEvent(socket.io.engine, "upgrade");
  }
  assert.equal(socket.io.engine.transport.name, mode === "polling" ? "polling" : "websocket");
  return socket;
}

/** A 2.x client on the push namespace, logged in as `uid`, acking every push at once. */
async function v2User(server, uid, mode) {
  const socket = await connected(v2(server, NSP, mode), mode);
  socket.received = [];
  socket.on("message", (...args) => {
    const ack = typeof args.at(-1) === "function" ? args.pop() : null;
    socket.received.push(args);
    if (ack) ack();
  });
  const reply = await withTimeout(new Promise((resolve) => socket.emit("login", uid, resolve)), WAIT, "login");
  assert.deepEqual(reply, { code: 0, msg: "login success" });
  return socket;
}

async function received(socket, count) {
  const deadline = Date.now() + WAIT;
  while (socket.received.length < count) {
    if (Date.now() > deadline) throw new Error(`got ${JSON.stringify(socket.received)}, expected ${count} messages`);
    await sleep(10);
  }
  return socket.received;
}

/** The packets of a v3 text payload (`<length>:<packet>`, lengths in UTF-16 units as JS counts). */
function v3Packets(text) {
  const packets = [];
  for (let i = 0; i < text.length; ) {
    const colon = text.indexOf(":", i);
    assert.ok(colon > i, `payload ${JSON.stringify(text)}`);
    const length = Number(text.slice(i, colon));
    packets.push(text.substr(colon + 1, length));
    i = colon + 1 + length;
  }
  return packets;
}

function jwt(claims) {
  const b64 = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const head = `${b64({ alg: "HS256", typ: "JWT" })}.${b64(claims)}`;
  return `${head}.${crypto.createHmac("sha256", SECRET).update(head).digest("base64url")}`;
}

// ---------------------------------------------------------------------------
// herald: the push service
// ---------------------------------------------------------------------------

describe("herald with socket.io-client 2.x", () => {
  let server;
  before(async () => {
    server = await startHerald();
  });
  after(async () => {
    await server.stop();
  });

  for (const mode of Object.keys(MODES)) {
    describe(mode, () => {
      it("logs in and receives a push with ack; the receipt names the user", T, async () => {
        const uid = uniq("v2");
        const socket = await v2User(server, uid, mode);
        const res = await call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "m1", message: "héllo 😀" });
        assert.deepEqual(seedOk(res), [uid]);
        assert.deepEqual(await received(socket, 1), [["m1", "héllo 😀"]]);
      });

      it("a room broadcast reaches a 2.x and a 4.x client alike, and both receipts count", T, async () => {
        const old = uniq("v2");
        const current = uniq("v4");
        const room = uniq("room");
        const socket = await v2User(server, old, mode);
        const user = await users.login(server, current, { transports: MODES[mode] });
        seedOk(await call(server, "/changeRoom", { useraccounts: `${old},${current}`, joins: room, leaves: "" }));
        const res = await call(server, "/pushMsgToRoom", { tags: room, msgId: "r1", message: { n: 1 } }, { as: "json" });
        assert.deepEqual([...seedOk(res)].sort(), [old, current].sort());
        assert.deepEqual(await received(socket, 1), [["r1", { n: 1 }]]);
        assert.deepEqual((await user.message(0)).message, { n: 1 });
      });

      it("a push without ack reaches it without the recovery offset 4.x clients get", T, async () => {
        const uid = uniq("v2");
        const socket = await v2User(server, uid, mode);
        const res = await call(server, "/api/v1/push", { all: true, msgId: "all1", message: "x", ack: false }, { as: "json" });
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(await received(socket, 1), [["all1", "x"]]);
      });
    });
  }

  it("two namespaces on one connection: / (connected by the server at once) and the push namespace", T, async () => {
    const manager = new ioV2.Manager(server.url, { reconnection: false, transports: ["websocket"], timeout: WAIT });
    const root = manager.socket("/");
    const push = manager.socket(NSP);
    sockets.add(root);
    sockets.add(push);
    await Promise.all([connected(root, "websocket"), connected(push, "websocket")]);
    assert.equal(root.io.engine, push.io.engine, "one Engine.IO connection");
    const reply = await withTimeout(new Promise((resolve) => push.emit("login", uniq("v2"), resolve)), WAIT, "login");
    assert.equal(reply.code, 0);
  });

  it("an unknown namespace is refused with the string \"Invalid namespace\"", T, async () => {
    const socket = v2(server, "/nowhere", "websocket");
    const [error] = await waitForEvent(socket, "error", { failOn: ["connect"] });
    assert.equal(error, "Invalid namespace");
  });
});

describe("herald --client-auth jwt with socket.io-client 2.x", () => {
  let server;
  before(async () => {
    server = await startHerald(["--client-auth", "jwt", "--jwt-secret", SECRET]);
  });
  after(async () => {
    await server.stop();
  });

  it("a connection without a token is refused with the middleware's message, as a string", T, async () => {
    const socket = v2(server, NSP, "polling");
    const [error] = await waitForEvent(socket, "error", { failOn: ["connect"] });
    assert.equal(error, "authentication required: connect with auth {token}");
  });

  it("the token in the query (the namespace's CONNECT carries it) logs the connection in", T, async () => {
    const uid = uniq("v2");
    const socket = await connected(v2(server, NSP, "websocket", { query: { token: jwt({ sub: uid }) } }), "websocket");
    socket.on("message", (msgId, message, ack) => ack());
    const res = await call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "j1", message: "m" });
    assert.deepEqual(seedOk(res), [uid]);
  });
});

describe("herald heartbeat with socket.io-client 2.x (pingInterval 200 ms, pingTimeout 150 ms)", () => {
  let server;
  before(async () => {
    server = await startHerald(["--ping-interval-ms", "200", "--ping-timeout-ms", "150"]);
  });
  after(async () => {
    await server.stop();
  });

  for (const mode of ["polling", "websocket"]) {
    it(`${mode}: the client's pings keep it connected well past pingInterval + pingTimeout`, T, async () => {
      const uid = uniq("v2");
      const socket = await v2User(server, uid, mode);
      let disconnected = null;
      socket.on("disconnect", (reason) => {
        disconnected = reason;
      });
      await expectQuietFor(1200, "a disconnect by the heartbeat");
      assert.equal(disconnected, null);
      assert.deepEqual(seedOk(await call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "h", message: "m" })), [uid]);
    });
  }

  it("a v3 session that never pings is closed after pingInterval + pingTimeout; the server never pings", T, async () => {
    const base = `${server.url}/socket.io/?EIO=3&transport=polling&b64=1`;
    const { sid } = JSON.parse(v3Packets((await request(base)).text)[0].slice(1));
    const url = `${base}&sid=${sid}`;
    // A ping is answered with a pong, and restarts the wait.
    assert.equal((await request(url, { method: "POST", body: "1:2" })).text, "ok");
    assert.equal((await request(url)).text, "1:3");
    // Then silence: the pending GET ends with a close packet, never a ping.
    const started = Date.now();
    const last = await request(url, { timeout: 2000 });
    assert.equal(last.text, "1:1");
    assert.ok(Date.now() - started >= 300, `closed after ${Date.now() - started} ms`);
    assert.equal((await request(url)).status, 400, "the session is gone");
  });
});

describe("the v3 handshake on the wire", () => {
  let server;
  before(async () => {
    server = await startHerald();
  });
  after(async () => {
    await server.stop();
  });

  it("answers <length>:0{sid,upgrades,pingInterval,pingTimeout} and the default namespace's 40", T, async () => {
    const res = await request(`${server.url}/socket.io/?EIO=3&transport=polling&b64=1`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type"), /^text\/plain/);
    const packets = v3Packets(res.text);
    assert.equal(packets.length, 2, `body ${JSON.stringify(res.text)}`);
    assert.equal(packets[1], "40", "the default namespace is connected without a CONNECT");
    const open = JSON.parse(packets[0].slice(1));
    assert.deepEqual(Object.keys(open).sort(), ["pingInterval", "pingTimeout", "sid", "upgrades"]);
    assert.deepEqual(open.upgrades, ["websocket"]);
  });

  it("JSONP polling (j) is not offered", T, async () => {
    const res = await request(`${server.url}/socket.io/?EIO=3&transport=polling&j=0`);
    assert.equal(res.status, 400);
  });
});

describe("herald --allow-eio3 false", () => {
  let server;
  before(async () => {
    server = await startHerald(["--allow-eio3", "false"]);
  });
  after(async () => {
    await server.stop();
  });

  it("refuses EIO=3 with 400 code 5, and the 2.x client cannot connect", T, async () => {
    for (const transport of ["polling", "websocket"]) {
      const res = await request(`${server.url}/socket.io/?EIO=3&transport=${transport}`);
      assert.equal(res.status, 400);
      assert.deepEqual(JSON.parse(res.text), { code: 5, message: "Unsupported protocol version" });
    }
    const socket = v2(server, NSP, "polling");
    await waitForEvent(socket, "connect_error", { failOn: ["connect"] });
  });
});

// ---------------------------------------------------------------------------
// echo_server: binary events and acks
// ---------------------------------------------------------------------------

describe("echo_server --allow-eio3: binary payloads with socket.io-client 2.x", () => {
  let server;
  before(async () => {
    server = await startEchoServer(["--allow-eio3", "--engineio-echo"]);
  });
  after(async () => {
    await server.stop();
  });

  for (const mode of Object.keys(MODES)) {
    it(`${mode}: binary events and binary acks come back intact`, T, async () => {
      const socket = await connected(v2(server, "/", mode), mode);
      const bytes = Buffer.from([0, 1, 2, 250, 255]);
      const back = waitForEvent(socket, "message-back");
      socket.emit("message", "text", bytes, { nested: [bytes, "é"] });
      const [text, echoed, nested] = await back;
      assert.equal(text, "text");
      assert.deepEqual(Buffer.from(echoed), bytes);
      assert.deepEqual(Buffer.from(nested.nested[0]), bytes);
      assert.equal(nested.nested[1], "é");
      const acked = await withTimeout(
        new Promise((resolve) => socket.emit("message-with-ack", bytes, "x", (...args) => resolve(args))),
        WAIT,
        "the binary ack",
      );
      assert.deepEqual(Buffer.from(acked[0]), bytes);
      assert.equal(acked[1], "x");
    });
  }

  it("raw v3 polling without b64 (XHR2 browsers): binary goes both ways in the binary payload form", T, async () => {
    const base = `${server.url}/engine.io/?EIO=3&transport=polling`;
    const { sid } = JSON.parse(v3Packets((await request(base)).text)[0].slice(1));
    const url = `${base}&sid=${sid}`;
    // Per packet: 0 (text) or 1 (binary), the length as one byte per digit, 0xff, the packet; a
    // binary packet starts with its type (4).
    const payload = Buffer.concat([Buffer.from([1, 4, 0xff, 4, 1, 2, 0xff]), Buffer.from([0, 4, 0xff]), Buffer.from("4hé")]);
    const posted = await fetch(url, { method: "POST", body: payload, headers: { "content-type": "application/octet-stream" } });
    assert.equal(await posted.text(), "ok");
    const echoed = await fetch(url);
    assert.equal(echoed.headers.get("content-type"), "application/octet-stream");
    assert.deepEqual(Buffer.from(await echoed.arrayBuffer()), payload);
  });

  it("raw v3 WebSocket: binary frames carry the packet type as their first byte", T, async () => {
    const ws = await RawWebSocket.open(`${server.wsUrl}/engine.io/?EIO=3&transport=websocket`, { autoPong: false });
    try {
      const open = await ws.next();
      assert.match(open, /^0\{/);
      // engine.io 6 (the Node reference) sends maxPayload to v3 clients too; v3 itself had none.
      if (!REFERENCE_SERVER) assert.equal(JSON.parse(open.slice(1)).maxPayload, undefined, "v3 open packets have no maxPayload");
      ws.send(Buffer.from([4, 9, 8, 7]));
      assert.deepEqual([...(await ws.next())], [4, 9, 8, 7]);
      ws.send("2");
      assert.equal(await ws.next(), "3");
    } finally {
      ws.terminate();
    }
  });

  it("a second namespace connects with its own CONNECT (/custom)", T, async () => {
    const socket = await connected(v2(server, "/custom", "polling"), "polling");
    assert.equal(socket.connected, true);
    assert.equal(socket.id, `/custom#${socket.io.engine.id}`, "socket.io 2's id on a namespace");
  });

  it("a socket's id is socket.io 2's (the Engine.IO session id on /): the server knows it by the id the client has", T, async () => {
    const socket = await connected(v2(server, "/", "websocket"), "websocket");
    assert.equal(socket.id, socket.io.engine.id);
    const [rooms] = await withTimeout(new Promise((resolve) => socket.emit("rooms", (...args) => resolve(args))), WAIT, "rooms");
    assert.ok(rooms.includes(socket.id), `the server's own room for the socket is ${JSON.stringify(rooms)}`);
  });
});
