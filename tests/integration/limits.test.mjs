// maxPayload, connectTimeout and the timing flags, checked with
// socket.io-client and with raw Engine.IO / Socket.IO packets, against a
// server started with non-default values.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { ClientRegistry, connectSocket } from "./lib/client.mjs";
import { PollingSession, eioQuery, openEngineWebSocket, openSocketIo, request } from "./lib/raw.mjs";
import { REFERENCE_SERVER, startEchoServer } from "./lib/server.mjs";
import { scaled } from "./lib/timing.mjs";
import { TEST_TIMEOUT, expectQuietFor, sleep, waitForEvent } from "./lib/wait.mjs";

const T = { timeout: TEST_TIMEOUT };
const MAX_PAYLOAD = 2000;
const CONNECT_TIMEOUT = 600;
const PING_INTERVAL = 1000;
const PING_TIMEOUT = 800;

let server;
const clients = new ClientRegistry();
const openSockets = new Set();

before(async () => {
  server = await startEchoServer([
    "--max-payload",
    MAX_PAYLOAD,
    "--connect-timeout",
    CONNECT_TIMEOUT,
    "--ping-interval",
    PING_INTERVAL,
    "--ping-timeout",
    PING_TIMEOUT,
    "--engineio-echo",
  ]);
});

afterEach(() => {
  clients.closeAll();
  for (const ws of openSockets) ws.terminate();
  openSockets.clear();
});

after(async () => {
  clients.closeAll();
  for (const ws of openSockets) ws.terminate();
  await server?.stop();
});

function track(ws) {
  openSockets.add(ws);
  return ws;
}

describe("flags", () => {
  for (const path of ["/socket.io/", "/engine.io/"]) {
    it(`the ${path} handshake advertises --ping-interval, --ping-timeout and --max-payload`, T, async () => {
      const res = await request(`${server.url}${path}?${eioQuery()}`);
      assert.equal(res.status, 200);
      const handshake = JSON.parse(res.text.slice(1));
      assert.equal(handshake.pingInterval, PING_INTERVAL);
      assert.equal(handshake.pingTimeout, PING_TIMEOUT);
      assert.equal(handshake.maxPayload, MAX_PAYLOAD);
    });
  }

  it("the first ping comes after --ping-interval, the close after --ping-timeout more", T, async () => {
    const { ws } = await openEngineWebSocket(server.wsUrl, "/engine.io/", { autoPong: false });
    track(ws);
    const start = Date.now();
    assert.equal(await ws.next(2000), "2");
    const pingAt = Date.now() - start;
    assert.ok(pingAt >= PING_INTERVAL - 100, `first ping after ${pingAt} ms, expected ~${PING_INTERVAL}`);
    await ws.closed(2000);
    const closedAt = Date.now() - start;
    assert.ok(
      closedAt >= PING_INTERVAL + PING_TIMEOUT - 150,
      `closed after ${closedAt} ms, expected ~${PING_INTERVAL + PING_TIMEOUT}`,
    );
  });
});

describe("maxPayload with socket.io-client", () => {
  for (const mode of ["websocket", "polling", "upgrade"]) {
    describe(`transport mode "${mode}"`, () => {
      it("a message below maxPayload is echoed", T, async () => {
        const socket = clients.socket(server.url, mode);
        await connectSocket(socket, mode);
        const text = "m".repeat(MAX_PAYLOAD - 200);
        const back = waitForEvent(socket, "message-back");
        socket.emit("message", text);
        assert.deepEqual(await back, [text]);
      });

      it("many small messages adding up to more than maxPayload are all delivered", T, async () => {
        const socket = clients.socket(server.url, mode);
        await connectSocket(socket, mode);
        const backs = [];
        socket.on("message-back", (i) => backs.push(i));
        const done = new Promise((resolve) => socket.on("message-back", (i) => i === 19 && resolve()));
        for (let i = 0; i < 20; i++) socket.emit("message", i, "p".repeat(400));
        await Promise.race([done, sleep(3000)]);
        assert.deepEqual(backs, Array.from({ length: 20 }, (_, i) => i));
        assert.equal(socket.connected, true);
      });

      it("a message above maxPayload gets the client disconnected", T, async () => {
        const socket = clients.socket(server.url, mode);
        await connectSocket(socket, mode);
        const disconnected = waitForEvent(socket, "disconnect");
        socket.emit("message", "M".repeat(MAX_PAYLOAD * 3));
        const [reason] = await disconnected;
        assert.ok(["transport close", "transport error"].includes(reason), `disconnect reason: ${reason}`);
        assert.equal(socket.connected, false);
      });
    });
  }
});

describe("maxPayload raw", () => {
  it("polling: a POST of exactly maxPayload bytes is accepted", T, async () => {
    const session = await PollingSession.open(server.url, "/engine.io/");
    const body = "4" + "e".repeat(MAX_PAYLOAD - 1);
    const post = await session.post(body);
    assert.equal(post.status, 200);
    assert.deepEqual(await session.receive(1), [body]);
  });

  it("polling: a POST larger than maxPayload gets 413 (or 400) and closes the session", T, async () => {
    const session = await PollingSession.open(server.url, "/engine.io/");
    const post = await session.post("4" + "e".repeat(MAX_PAYLOAD));
    assert.ok([413, 400].includes(post.status), `POST status ${post.status}`);
    if (REFERENCE_SERVER) {
      // Node's engine.io answers 413 but keeps the session open.
      return;
    }
    const get = await session.get();
    assert.equal(get.status, 400, "the session must be closed after an oversized POST");
  });

  it("polling: the size limit counts bytes, not characters", T, async () => {
    const session = await PollingSession.open(server.url, "/engine.io/");
    // 800 characters, 3200 UTF-8 bytes
    const post = await session.post("4" + "😀".repeat(800));
    assert.ok([413, 400].includes(post.status), `POST status ${post.status}`);
  });

  it("websocket: a frame of exactly maxPayload bytes is echoed", T, async () => {
    const { ws } = await openEngineWebSocket(server.wsUrl, "/engine.io/");
    track(ws);
    const text = "4" + "w".repeat(MAX_PAYLOAD - 1);
    ws.send(text);
    assert.equal(await ws.next(), text);
    const bin = Buffer.alloc(MAX_PAYLOAD, 1);
    ws.send(bin);
    assert.deepEqual(await ws.next(), bin);
  });

  it("websocket: a text frame larger than maxPayload closes the connection", T, async () => {
    const { ws } = await openEngineWebSocket(server.wsUrl, "/engine.io/");
    track(ws);
    ws.send("4" + "w".repeat(MAX_PAYLOAD));
    await ws.closed();
  });

  it("websocket: a binary frame larger than maxPayload closes the connection", T, async () => {
    const { ws } = await openEngineWebSocket(server.wsUrl, "/engine.io/");
    track(ws);
    ws.send(Buffer.alloc(MAX_PAYLOAD + 1, 2));
    await ws.closed();
  });

  it("Socket.IO over websocket: an oversized EVENT closes the session", T, async () => {
    const { ws } = await openSocketIo(server.wsUrl);
    track(ws);
    ws.send(`42["message","${"s".repeat(MAX_PAYLOAD)}"]`);
    await ws.closed();
  });
});

describe("connectTimeout", () => {
  it("websocket: no CONNECT within --connect-timeout closes the session", T, async () => {
    const { ws } = await openEngineWebSocket(server.wsUrl, "/socket.io/");
    track(ws);
    const start = Date.now();
    await ws.closed(3000);
    const elapsed = Date.now() - start;
    assert.ok(elapsed >= CONNECT_TIMEOUT - 150, `closed after ${elapsed} ms, before the connect timeout`);
    assert.ok(elapsed < CONNECT_TIMEOUT + scaled(1500), `closed only after ${elapsed} ms`);
  });

  it("polling: no CONNECT within --connect-timeout closes the session", T, async () => {
    const session = await PollingSession.open(server.url, "/socket.io/");
    const start = Date.now();
    const pending = await session.get({ timeout: 3000 });
    const elapsed = Date.now() - start;
    assert.ok(elapsed >= CONNECT_TIMEOUT - 150, `the pending GET returned after ${elapsed} ms`);
    if (pending.status === 200) {
      assert.deepEqual(pending.packets, ["1"], "a pending GET is ended with a close packet");
    }
    const after = await session.get();
    assert.equal(after.status, 400, "the session must be closed");
  });

  it("a CONNECT just before the timeout keeps the session open", T, async () => {
    const { ws } = await openEngineWebSocket(server.wsUrl, "/socket.io/");
    track(ws);
    await sleep(CONNECT_TIMEOUT / 2);
    ws.send("40");
    assert.ok((await ws.next()).startsWith("40{"));
    assert.equal(await ws.next(), '42["auth",{}]');
    await expectQuietFor(CONNECT_TIMEOUT + 200, "the connect timeout closing a connected session");
    assert.ok(ws.isOpen, "the session must stay open after a CONNECT");
    ws.send('42["message","still here"]');
    assert.equal(await ws.next(), '42["message-back","still here"]');
  });

  it("a refused CONNECT does not count as connected", T, async () => {
    const { ws } = await openEngineWebSocket(server.wsUrl, "/socket.io/");
    track(ws);
    const start = Date.now();
    ws.send("40/random,");
    assert.equal(await ws.next(), '44/random,{"message":"Invalid namespace"}');
    await ws.closed(3000);
    const elapsed = Date.now() - start;
    assert.ok(elapsed >= CONNECT_TIMEOUT - 150, `closed after ${elapsed} ms`);
  });

  it("socket.io-client: a manager that never joins a namespace is closed by the server", T, async () => {
    const manager = clients.manager(server.url, "websocket");
    const start = Date.now();
    const opened = waitForEvent(manager, "open", { failOn: ["error"] });
    const closed = waitForEvent(manager, "close", { timeout: 3000 });
    manager.open();
    await opened;
    const [reason] = await closed;
    const elapsed = Date.now() - start;
    assert.equal(reason, "transport close");
    assert.ok(elapsed >= CONNECT_TIMEOUT - 150, `closed after ${elapsed} ms`);
  });

  it("the connect timeout does not apply to /engine.io/ sessions", T, async () => {
    const { ws } = await openEngineWebSocket(server.wsUrl, "/engine.io/");
    track(ws);
    await expectQuietFor(CONNECT_TIMEOUT + 300, "the connect timeout closing an Engine.IO session");
    assert.ok(ws.isOpen);
    ws.send("4still open");
    assert.equal(await ws.next(), "4still open");
  });
});
