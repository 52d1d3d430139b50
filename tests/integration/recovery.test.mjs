// Connection state recovery with the real socket.io-client (>= 4.6 asks for it by itself): a client
// whose connection drops (its TCP socket destroyed, no close packet: a network failure) comes back
// within the window with its socket id, rooms and login, sees socket.recovered === true, and gets
// every broadcast it missed, in order; pushes with ack carry no offset (their ack stays the last
// argument); forged or unknown pids, and a window of 0, recover nothing.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { io } from "socket.io-client";
import { NSP, RECOVERY_OFFSET, T, call, eventually, seedOk, startHerald, uniq } from "./lib/herald.mjs";
import { metric } from "./lib/cluster.mjs";
import { waitForEvent } from "./lib/wait.mjs";

let server;
const sockets = new Set();

before(async () => {
  server = await startHerald();
});

afterEach(() => {
  for (const socket of sockets) socket.disconnect();
  sockets.clear();
});

after(async () => {
  await server.stop();
});

/** A client as apps make them: reconnecting by itself; records message(msgId, message, ...rest). */
async function client(target, uid, options = {}) {
  const socket = io(`${target.url}${NSP}`, {
    forceNew: true,
    transports: ["websocket"],
    reconnectionDelay: 400,
    randomizationFactor: 0,
    ...options,
  });
  sockets.add(socket);
  socket.received = [];
  socket.on("message", (msgId, message, ...rest) => {
    const ack = rest.find((a) => typeof a === "function");
    socket.received.push({ msgId, message, rest: rest.filter((a) => typeof a !== "function"), hasAck: !!ack });
    if (ack) ack();
  });
  await waitForEvent(socket, "connect", { failOn: ["connect_error"] });
  if (uid) {
    const reply = await new Promise((resolve) => socket.emit("login", uid, resolve));
    assert.equal(reply.code, 0);
  }
  return socket;
}

/** Drops the connection as a network failure does: the TCP socket goes, no close packet. */
function dropConnection(socket) {
  socket.io.engine.transport.ws._socket.destroy();
}

const ids = (socket) => socket.received.map((m) => m.msgId);

async function pushAll(msgId, ack = false) {
  return call(server, "/pushMsgToAll", { msgId, message: { n: msgId }, ack });
}

describe("connection state recovery", () => {
  it("a dropped client comes back with its id, login and rooms, and gets the broadcasts it missed in order", T, async () => {
    const uid = uniq("r");
    const room = uniq("room");
    const socket = await client(server, uid);
    const joined = waitForEvent(socket, "changeRoom");
    assert.equal(seedOk(await call(server, "/changeRoom", { useraccounts: uid, joins: room })), true);
    await joined; // the notice comes once the socket is in the room
    seedOk(await pushAll("before"));
    await eventually(() => ids(socket).includes("before"), "the first broadcast");
    const id = socket.id;

    const disconnected = waitForEvent(socket, "disconnect");
    dropConnection(socket);
    assert.equal((await disconnected)[0], "transport close");
    // Missed while away: to everyone, to the user, to its room; then one that is not for it.
    seedOk(await pushAll("all-1"));
    seedOk(await call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "user-1", message: "u", ack: false }));
    seedOk(await call(server, "/pushMsgToRoom", { tags: room, msgId: "room-1", message: "r", ack: false }));
    seedOk(await call(server, "/pushMsgToRoom", { tags: uniq("other"), msgId: "not-mine", message: "x", ack: false }));
    seedOk(await pushAll("all-2"));

    await waitForEvent(socket, "connect");
    assert.equal(socket.recovered, true, "socket.recovered");
    assert.equal(socket.id, id, "the same socket id");
    await eventually(() => ids(socket).length >= 5, "the missed broadcasts");
    assert.deepEqual(ids(socket), ["before", "all-1", "user-1", "room-1", "all-2"]);
    // Each replayable broadcast carries its offset as its last argument, as socket.io's do.
    for (const m of socket.received) assert.match(m.rest.at(-1), RECOVERY_OFFSET, JSON.stringify(m));

    // Still logged in and still in its room, without logging in again.
    const res = await call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "after", message: "a" });
    assert.deepEqual(seedOk(res), [uid]);
    assert.deepEqual(seedOk(await call(server, "/pushMsgToRoom", { tags: room, msgId: "room-2", message: "r" })), [uid]);
    const user = await call(server, `/api/v1/users/${uid}`, undefined, { method: "GET" });
    assert.equal(user.json.sockets, 1);
    assert.ok((await metric(server, 'herald_recoveries_total{result="recovered"}')) >= 1);
  });

  it("a client that had no broadcast yet still gets what was sent after it connected", T, async () => {
    const socket = await client(server, uniq("r"));
    const disconnected = waitForEvent(socket, "disconnect");
    dropConnection(socket);
    await disconnected;
    seedOk(await pushAll("missed"));
    await waitForEvent(socket, "connect");
    assert.equal(socket.recovered, true);
    await eventually(() => ids(socket).includes("missed"), "the missed broadcast");
    assert.deepEqual(ids(socket), ["missed"]);
  });

  it("pushes with ack carry no offset: the ack callback stays the last argument", T, async () => {
    const uid = uniq("r");
    const socket = await client(server, uid);
    const res = await call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "acked", message: "m" });
    assert.deepEqual(seedOk(res), [uid]);
    assert.deepEqual(socket.received.map((m) => [m.msgId, m.hasAck, m.rest]), [["acked", true, []]]);
  });

  it("a client that leaves on purpose is not kept: a new connection with its pid is a new socket", T, async () => {
    const socket = await client(server, uniq("r"));
    const pid = socket._pid;
    assert.equal(typeof pid, "string", "the CONNECT answer carries a pid");
    socket.disconnect();
    const again = await client(server, null, { auth: { pid, offset: "0" } });
    assert.equal(again.recovered, false);
    assert.notEqual(again.id, socket.id);
  });

  it("a forged pid recovers nothing", T, async () => {
    const socket = await client(server, uniq("r"));
    const [sid] = socket._pid.split(".");
    const forged = await client(server, null, { auth: { pid: `${sid}.AAAAAAAAAAAAAAAA`, offset: "0" } });
    assert.equal(forged.recovered, false);
    assert.notEqual(forged.id, sid);
    assert.equal(socket.connected, true, "the real socket is untouched");
  });
});

describe("--recovery-window-ms 0", () => {
  it("turns recovery off: no pid, no offsets, a dropped client comes back as a new socket", T, async () => {
    const off = await startHerald(["--recovery-window-ms", "0"]);
    try {
      const socket = await client(off, uniq("r"));
      assert.equal(socket._pid, undefined);
      const id = socket.id;
      seedOk(await call(off, "/pushMsgToAll", { msgId: "m", message: "x", ack: false }));
      await eventually(() => ids(socket).includes("m"), "the broadcast");
      assert.deepEqual(socket.received[0].rest, []);
      const disconnected = waitForEvent(socket, "disconnect");
      dropConnection(socket);
      await disconnected;
      await waitForEvent(socket, "connect");
      assert.ok(!socket.recovered, "socket.recovered");
      assert.notEqual(socket.id, id);
    } finally {
      for (const socket of sockets) socket.disconnect();
      sockets.clear();
      await off.stop();
    }
  });
});
