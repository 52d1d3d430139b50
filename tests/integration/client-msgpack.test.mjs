// socket.io-msgpack-parser clients, the real ones from npm (socket.io-client 4.x with the parser's
// 3.x, socket.io-client 2.x with its 2.x), next to default-parser clients on one server: the
// parser is told per connection by its first packet (--parser auto, the default). The library's
// echo_server (events, binary both ways, acks both ways, rooms, broadcasts) and herald (login, pushes
// and their receipts, connection state recovery, client auth, a 2-node cluster), bad msgpack, and the
// --parser setting that pins one parser.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import { createRequire } from "node:module";
import path from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { io } from "socket.io-client";
import { startCluster, metric } from "./lib/cluster.mjs";
import { NSP, RECOVERY_OFFSET, T, Users, call, eventually, seedOk, startHerald, uniq } from "./lib/herald.mjs";
import { RawWebSocket, eioQuery, request } from "./lib/raw.mjs";
import { REFERENCE_SERVER, REPO_ROOT, startEchoServer } from "./lib/server.mjs";
import { WAIT, waitForEvent, withTimeout } from "./lib/wait.mjs";

const require = createRequire(import.meta.url);
const msgpackParser = require("socket.io-msgpack-parser");
const msgpackParserV2 = require("socket.io-msgpack-parser-v2");
const notepack = require("notepack.io");
const ioV2 = require("socket.io-client-v2");

const MODES = { polling: ["polling"], websocket: ["websocket"], upgrade: ["polling", "websocket"] };

const sockets = new Set();
const users = new Users();
afterEach(() => {
  for (const socket of sockets) socket.close();
  sockets.clear();
  users.closeAll();
});

/** A socket.io-client 4.x socket, with the msgpack parser unless `parser` is null; not reconnecting. */
function client(server, nsp, { mode = "websocket", parser = msgpackParser, ...options } = {}) {
  const socket = io(`${server.url}${nsp}`, {
    forceNew: true,
    reconnection: false,
    timeout: WAIT,
    transports: MODES[mode],
    ...(parser ? { parser } : {}),
    ...options,
  });
  sockets.add(socket);
  return socket;
}

async function connected(socket, mode = "websocket") {
  if (!socket.connected) await waitForEvent(socket, "connect", { failOn: ["connect_error", "error"] });
  if (mode === "upgrade" && socket.io.engine.transport.name !== "websocket") await waitForEvent(socket.io.engine, "upgrade");
  return socket;
}

const emitWithAck = (socket, ...args) =>
  withTimeout(new Promise((resolve) => socket.emit(...args, (...reply) => resolve(reply))), WAIT, `ack of ${args[0]}`);

function hs256(payload, secret) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const body = `${part({ alg: "HS256", typ: "JWT" })}.${part({ exp: Math.floor(Date.now() / 1000) + 600, ...payload })}`;
  return `${body}.${crypto.createHmac("sha256", secret).update(body).digest("base64url")}`;
}

// ---------------------------------------------------------------------------
// The library (echo_server): events, binary, acks, rooms
// ---------------------------------------------------------------------------

describe("echo_server with msgpack and default clients", { skip: REFERENCE_SERVER && "Node's server takes one parser" }, () => {
  let server;
  before(async () => {
    // Not a heartbeat test: a pong may take as long as a test waits (a slow build's loop can be
    // busy with one message past echo_server's 200 ms pingTimeout).
    server = await startEchoServer(["--ping-timeout", String(WAIT)]);
  });
  after(async () => {
    await server.stop();
  });

  for (const mode of Object.keys(MODES)) {
    it(`${mode}: events and binary both ways, acks both ways`, T, async () => {
      const socket = await connected(client(server, "/", { mode }), mode);
      const back = waitForEvent(socket, "message-back");
      const payload = [1, "two", { three: Buffer.from([3, 0, 255]), nested: [true, null, 2.5] }];
      socket.emit("message", ...payload);
      assert.deepEqual(await back, payload, "echoed with its binary as a Buffer");
      assert.deepEqual(await emitWithAck(socket, "message-with-ack", "a", Buffer.from("b")), ["a", Buffer.from("b")]);
      // The server asks with an ack; the client's answer comes back as "answer".
      socket.once("question", (question, answer) => answer({ echo: question }));
      const answered = waitForEvent(socket, "answer", { failOn: ["answer-timeout"] });
      socket.emit("ask", "why?");
      assert.deepEqual(await answered, [{ echo: "why?" }]);
    });
  }

  it("a room broadcast reaches msgpack and default clients alike, binary included", T, async () => {
    const msgpack = await connected(client(server, "/"));
    const plain = await connected(client(server, "/", { parser: null, mode: "polling" }));
    const room = uniq("room");
    await emitWithAck(msgpack, "join", room);
    await emitWithAck(plain, "join", room);
    const sender = await connected(client(server, "/"));
    const got = [waitForEvent(msgpack, "room-message"), waitForEvent(plain, "room-message")];
    sender.emit("broadcast", room, "hi", Buffer.from([1, 2]));
    for (const args of await Promise.all(got)) assert.deepEqual(args, ["hi", Buffer.from([1, 2])]);
  });
});

// ---------------------------------------------------------------------------
// herald: the push service
// ---------------------------------------------------------------------------

describe("herald with msgpack clients (--parser auto)", () => {
  let server;
  before(async () => {
    server = await startHerald();
  });
  after(async () => {
    await server.stop();
  });

  for (const mode of Object.keys(MODES)) {
    it(`${mode}: logs in and receives a push with ack; the receipt names the user`, T, async () => {
      const uid = uniq("mp");
      const user = await users.login(server, uid, { parser: msgpackParser, transports: MODES[mode] });
      const res = await call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "m1", message: "héllo 😀" });
      assert.deepEqual(seedOk(res), [uid]);
      const message = await user.message(0);
      assert.deepEqual([message.msgId, message.message, message.hasAck], ["m1", "héllo 😀", true]);
    });
  }

  it("a room push reaches msgpack, default and socket.io-client 2.x users; every receipt counts", T, async () => {
    const [a, b, c] = [uniq("mp"), uniq("df"), uniq("v2")];
    const room = uniq("room");
    const msgpack = await users.login(server, a, { parser: msgpackParser });
    const plain = await users.login(server, b);
    const old = ioV2(`${server.url}${NSP}`, { forceNew: true, reconnection: false, transports: ["websocket"] });
    sockets.add(old);
    await waitForEvent(old, "connect", { failOn: ["connect_error", "error"] });
    const oldGot = new Promise((resolve) => old.on("message", (msgId, message, ack) => (ack(), resolve([msgId, message]))));
    assert.equal((await withTimeout(new Promise((resolve) => old.emit("login", c, resolve)), WAIT, "login")).code, 0);
    seedOk(await call(server, "/changeRoom", { useraccounts: `${a},${b},${c}`, joins: room, leaves: "" }));
    const res = await call(server, "/pushMsgToRoom", { tags: room, msgId: "r1", message: { n: 1, s: "x" } }, { as: "json" });
    assert.deepEqual([...seedOk(res)].sort(), [a, b, c].sort());
    assert.deepEqual((await msgpack.message(0)).message, { n: 1, s: "x" });
    assert.deepEqual((await plain.message(0)).message, { n: 1, s: "x" });
    assert.deepEqual(await oldGot, ["r1", { n: 1, s: "x" }]);
    assert.ok((await metric(server, 'herald_clients_by_parser_total{parser="msgpack"}')) >= 1);
  });

  it("a push without ack carries the recovery offset; a dropped msgpack client comes back with what it missed", T, async () => {
    const uid = uniq("mp");
    const socket = io(`${server.url}${NSP}`, {
      forceNew: true,
      parser: msgpackParser,
      transports: ["websocket"],
      reconnectionDelay: 200,
      randomizationFactor: 0,
    });
    sockets.add(socket);
    const received = [];
    socket.on("message", (...args) => received.push(args.filter((a) => typeof a !== "function")));
    await waitForEvent(socket, "connect", { failOn: ["connect_error"] });
    assert.equal((await emitWithAck(socket, "login", uid))[0].code, 0);
    const push = (msgId) => call(server, "/api/v1/push", { users: [uid], msgId, message: { id: msgId }, ack: false }, { as: "json" });
    assert.equal((await push("live")).status, 200);
    await eventually(() => received.length === 1, "the live push");
    assert.match(received[0][2], RECOVERY_OFFSET, "the offset is the last argument");
    const id = socket.id;

    const dropped = waitForEvent(socket, "disconnect");
    socket.io.engine.transport.ws._socket.destroy(); // a network failure: no close packet
    await dropped;
    for (const msgId of ["away1", "away2"]) assert.equal((await push(msgId)).status, 200);
    await waitForEvent(socket, "connect");
    assert.equal(socket.recovered, true, "socket.recovered");
    assert.equal(socket.id, id);
    await eventually(() => received.length === 3, "the missed pushes");
    assert.deepEqual(received.map((args) => args[0]), ["live", "away1", "away2"]);
  });

  it("bad msgpack closes the connection and is counted; so is text from a msgpack client", T, async () => {
    const before = await metric(server, "herald_rejected_msgpack_packets_total");
    const open = async () => {
      const ws = await RawWebSocket.open(`${server.url.replace("http", "ws")}/socket.io/?${eioQuery({ transport: "websocket" })}`);
      assert.match(await ws.next(), /^0\{/);
      return ws;
    };
    const garbage = await open();
    garbage.send(Buffer.from([0x83, 0xa4, 0x74, 0x79])); // a map cut short
    await garbage.closed();

    const mixed = await open();
    mixed.send(notepack.encode({ type: 0, nsp: NSP }));
    const answer = notepack.decode(await mixed.next());
    assert.equal(answer.type, 0);
    assert.equal(typeof answer.data.sid, "string");
    mixed.send('42/heikuai,["login","x"]');
    await mixed.closed();
    await eventually(async () => (await metric(server, "herald_rejected_msgpack_packets_total")) >= before + 2, "the count");
  });

  it("a socket.io-msgpack-parser 2.x client is told in its own form that it needs --parser msgpack", T, async () => {
    const base = `${server.url}/socket.io/?EIO=3&transport=polling&b64=1`;
    const open = (await request(base)).text; // `<length>:0{...}` then the connect to "/"
    const length = Number(open.slice(0, open.indexOf(":")));
    const { sid } = JSON.parse(open.substr(open.indexOf(":") + 2, length - 1));
    const url = `${base}&sid=${sid}`;
    const connect = JSON.stringify({ type: 0, nsp: NSP });
    assert.equal((await request(url, { method: "POST", body: `${connect.length + 1}:4${connect}` })).text, "ok");
    const text = (await request(url)).text;
    assert.match(text, /"type":4/);
    assert.match(text, /needs the server's --parser msgpack/);
  });
});

describe("herald --client-auth jwt with a msgpack client", () => {
  const SECRET = "msgpack-test-secret";
  let server;
  before(async () => {
    server = await startHerald(["--client-auth", "jwt", "--jwt-secret", SECRET]);
  });
  after(async () => {
    await server.stop();
  });

  it("auth {token} logs it in; a connection without one is refused with the middleware's message", T, async () => {
    const uid = uniq("jwt");
    const user = await users.connect(server, { parser: msgpackParser, auth: { token: hs256({ sub: uid }, SECRET) } });
    seedOk(await call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "j1", message: "m" }));
    assert.equal((await user.message(0)).msgId, "j1");
    const refused = client(server, NSP);
    const [error] = await waitForEvent(refused, "connect_error", { failOn: ["connect"] });
    assert.match(error.message, /authentication required/);
  });
});

describe("herald --parser msgpack: socket.io-client 2.x with socket.io-msgpack-parser 2.x", () => {
  let server;
  before(async () => {
    server = await startHerald(["--parser", "msgpack"]);
  });
  after(async () => {
    await server.stop();
  });

  for (const mode of ["polling", "websocket"]) {
    it(`${mode}: logs in, gets pushes with ack and a broadcast shared with a 4.x msgpack user`, T, async () => {
      const [old, current] = [uniq("v2mp"), uniq("mp")];
      const room = uniq("room");
      const socket = ioV2(`${server.url}${NSP}`, {
        forceNew: true,
        reconnection: false,
        transports: MODES[mode],
        parser: msgpackParserV2,
      });
      sockets.add(socket);
      const got = [];
      socket.on("message", (msgId, message, ack) => {
        got.push([msgId, message]);
        if (typeof ack === "function") ack();
      });
      await waitForEvent(socket, "connect", { failOn: ["connect_error", "error"] });
      const reply = await withTimeout(new Promise((resolve) => socket.emit("login", old, resolve)), WAIT, "login");
      assert.equal(reply.code, 0);
      const user = await users.login(server, current, { parser: msgpackParser });
      assert.deepEqual(seedOk(await call(server, "/pushMsgToSingleDevice", { useraccount: old, msgId: "a", message: "x" })), [old]);
      seedOk(await call(server, "/changeRoom", { useraccounts: `${old},${current}`, joins: room, leaves: "" }));
      const res = await call(server, "/pushMsgToRoom", { tags: room, msgId: "b", message: { k: [1] } }, { as: "json" });
      assert.deepEqual([...seedOk(res)].sort(), [old, current].sort());
      await eventually(() => got.length === 2, "both pushes");
      assert.deepEqual(got, [["a", "x"], ["b", { k: [1] }]]);
      assert.deepEqual((await user.message(0)).message, { k: [1] });
    });
  }

  it("a default-parser client is refused: its text CONNECT is no msgpack", T, async () => {
    const ws = await RawWebSocket.open(`${server.url.replace("http", "ws")}/socket.io/?${eioQuery({ transport: "websocket" })}`);
    assert.match(await ws.next(), /^0\{/);
    ws.send(`40${NSP},`);
    await ws.closed();
    assert.deepEqual(ws.queue, ["1"], "no CONNECT answer, only the close packet");
  });
});

describe("herald --parser default", () => {
  let server;
  before(async () => {
    server = await startHerald(["--parser", "default"]);
  });
  after(async () => {
    await server.stop();
  });

  it("a msgpack CONNECT is refused as a stray binary message; default clients connect", T, async () => {
    const ws = await RawWebSocket.open(`${server.url.replace("http", "ws")}/socket.io/?${eioQuery({ transport: "websocket" })}`);
    assert.match(await ws.next(), /^0\{/);
    ws.send(notepack.encode({ type: 0, nsp: NSP }));
    await ws.closed();
    assert.deepEqual(ws.queue, ["1"], "no CONNECT answer, only the close packet");
    await users.login(server, uniq("df"));
  });
});

describe("the parser setting", () => {
  const run = (args, env = {}) =>
    new Promise((resolve) => {
      const bin = (process.env.HERALD_BIN ?? "").trim() || "build/herald";
      const child = spawn(path.resolve(REPO_ROOT, bin), args, { env: { ...process.env, ...env } });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (out += d));
      child.on("exit", (code) => resolve({ code, out }));
    });

  it("HERALD_PARSER and --parser set it (the flag wins); other values are refused clearly", T, async () => {
    assert.match((await run(["--print-config"], { HERALD_PARSER: "msgpack" })).out, /^# parser = 'msgpack'$/m);
    assert.match((await run(["--print-config", "--parser", "default"], { HERALD_PARSER: "msgpack" })).out, /^# parser = 'default'$/m);
    const bad = await run(["--parser", "json"]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.out, /parser: expected auto, default or msgpack, got 'json'/);
  });
});

// ---------------------------------------------------------------------------
// A 2-node cluster
// ---------------------------------------------------------------------------

describe("a 2-node cluster with msgpack and default users", () => {
  let cluster;
  before(async () => {
    cluster = await startCluster(2);
  });
  after(async () => {
    await cluster?.stop();
  });

  it("pushes from one node reach msgpack users on the other, with their receipts", T, async () => {
    const [a, b] = cluster.nodes;
    const [mp, df] = [uniq("mp"), uniq("df")];
    const room = uniq("room");
    const msgpack = await users.login(b, mp, { parser: msgpackParser });
    const plain = await users.login(a, df);
    assert.deepEqual(seedOk(await call(a, "/pushMsgToSingleDevice", { useraccount: mp, msgId: "s1", message: "far" })), [mp]);
    assert.equal((await msgpack.message(0)).message, "far");
    seedOk(await call(a, "/changeRoom", { useraccounts: `${mp},${df}`, joins: room, leaves: "" }));
    await eventually(async () => {
      const res = await call(a, "/pushMsgToRoom", { tags: room, msgId: uniq("probe"), message: "p" }, { as: "json" });
      return res.json?.code === 0 && res.json.body?.length === 2;
    }, "both users in the room");
    const res = await call(a, "/api/v1/push", { rooms: [room], msgId: "r2", message: { bin: "no" }, ack: false }, { as: "json" });
    assert.equal(res.status, 200, res.text);
    await eventually(() => msgpack.received.some((m) => m.msgId === "r2"), "the room push on the other node");
    await eventually(() => plain.received.some((m) => m.msgId === "r2"), "the room push on this node");
  });
});
