// Raw Socket.IO v5 protocol checks (over Engine.IO v4) against /socket.io/,
// using `ws` for WebSocket and fetch for HTTP long-polling. Packets are
// written and compared as strings, as they travel on the wire.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  PollingSession,
  RawWebSocket,
  eioQuery,
  expectWebSocketRefused,
  openEngineWebSocket,
  openSocketIo,
  request,
} from "./lib/raw.mjs";
import { startEchoServer } from "./lib/server.mjs";
import { scaled } from "./lib/timing.mjs";
import { TEST_TIMEOUT } from "./lib/wait.mjs";

const T = { timeout: TEST_TIMEOUT };
const PATH = "/socket.io/";

let server;
const openSockets = new Set();

before(async () => {
  server = await startEchoServer();
});

after(async () => {
  for (const ws of openSockets) ws.terminate();
  await server?.stop();
});

function track(ws) {
  openSockets.add(ws);
  return ws;
}

/** An Engine.IO websocket session on /socket.io/ with no namespace joined yet. */
async function engineSession() {
  const { ws, handshake } = await openEngineWebSocket(server.wsUrl, PATH);
  track(ws);
  return { ws, handshake };
}

/** A websocket session connected to `nsp`, with the CONNECT reply and auth event already read. */
async function connected(options) {
  const result = await openSocketIo(server.wsUrl, options);
  track(result.ws);
  return result;
}

/** Asserts that the server closes the connection (it must not answer with anything else first). */
async function expectClosed(ws, what) {
  const info = await ws.closed().catch(() => {
    throw new Error(`the server did not close the connection after ${what}`);
  });
  const leftovers = ws.queue.filter((m) => typeof m !== "string" || !m.startsWith("1"));
  assert.deepEqual(leftovers, [], `unexpected packets before the close after ${what}`);
  return info;
}

/** Asserts that nothing but the expected reply comes back, using an echo as a barrier. */
async function expectNothingBefore(ws, marker) {
  ws.send(`42["message","${marker}"]`);
  assert.equal(await ws.next(), `42["message-back","${marker}"]`);
}

describe("handshake", () => {
  it("polling: /socket.io/ opens an Engine.IO session with the configured values", T, async () => {
    const res = await request(`${server.url}${PATH}?${eioQuery()}`);
    assert.equal(res.status, 200);
    assert.ok(res.text.startsWith("0{"), res.text);
    const handshake = JSON.parse(res.text.slice(1));
    assert.deepEqual(Object.keys(handshake).sort(), ["maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"]);
    assert.deepEqual(handshake.upgrades, ["websocket"]);
    assert.equal(handshake.pingInterval, 300);
    assert.equal(handshake.pingTimeout, 200);
    assert.equal(handshake.maxPayload, 1000000);
  });

  it("websocket: /socket.io/ opens an Engine.IO session with upgrades []", T, async () => {
    const { ws, handshake } = await engineSession();
    assert.deepEqual(handshake.upgrades, []);
    assert.equal(typeof handshake.sid, "string");
    ws.terminate();
  });

  it("invalid Engine.IO requests on /socket.io/ are refused", T, async () => {
    assert.equal((await request(`${server.url}${PATH}?transport=polling`)).status, 400);
    assert.equal((await request(`${server.url}${PATH}?EIO=4&transport=abc`)).status, 400);
    assert.equal((await request(`${server.url}${PATH}?${eioQuery({ sid: "unknown-sid" })}`)).status, 400);
    await expectWebSocketRefused(`${server.wsUrl}${PATH}?EIO=4&transport=websocket&sid=unknown-sid`);
  });
});

describe("namespaces", () => {
  it("CONNECT to / is answered with 40{sid} (a sid other than the Engine.IO one) and the auth event", T, async () => {
    const { ws, handshake } = await engineSession();
    ws.send("40");
    const reply = await ws.next();
    assert.ok(reply.startsWith("40{"), reply);
    const payload = JSON.parse(reply.slice(2));
    assert.deepEqual(Object.keys(payload), ["sid"]);
    assert.equal(typeof payload.sid, "string");
    assert.ok(payload.sid.length > 0);
    assert.notEqual(payload.sid, handshake.sid, "the Socket.IO sid must differ from the Engine.IO sid");
    assert.equal(await ws.next(), '42["auth",{}]');
    ws.terminate();
  });

  it("CONNECT to / with an auth payload gets it back", T, async () => {
    const { ws } = await engineSession();
    ws.send('40{"token":"123"}');
    assert.ok((await ws.next()).startsWith("40{"));
    assert.equal(await ws.next(), '42["auth",{"token":"123"}]');
    ws.terminate();
  });

  it("CONNECT to /custom is answered with 40/custom,{sid} and the auth event", T, async () => {
    const { ws } = await engineSession();
    ws.send("40/custom,");
    const reply = await ws.next();
    assert.ok(reply.startsWith("40/custom,{"), reply);
    assert.deepEqual(Object.keys(JSON.parse(reply.slice("40/custom,".length))), ["sid"]);
    assert.equal(await ws.next(), '42/custom,["auth",{}]');
    ws.terminate();
  });

  it("CONNECT to /custom with an auth payload gets it back", T, async () => {
    const { ws } = await engineSession();
    ws.send('40/custom,{"token":"abc"}');
    assert.ok((await ws.next()).startsWith("40/custom,{"));
    assert.equal(await ws.next(), '42/custom,["auth",{"token":"abc"}]');
    ws.terminate();
  });

  it("CONNECT to /custom without the trailing comma works too", T, async () => {
    const { ws } = await engineSession();
    ws.send("40/custom");
    assert.ok((await ws.next()).startsWith("40/custom,{"));
    assert.equal(await ws.next(), '42/custom,["auth",{}]');
    ws.terminate();
  });

  it("CONNECT to an unknown namespace gets 44/random,{message:'Invalid namespace'}; the session stays usable", T, async () => {
    const { ws } = await engineSession();
    ws.send("40/random");
    assert.equal(await ws.next(), '44/random,{"message":"Invalid namespace"}');
    ws.send("40/random,");
    assert.equal(await ws.next(), '44/random,{"message":"Invalid namespace"}');
    ws.send("40");
    assert.ok((await ws.next()).startsWith("40{"));
    assert.equal(await ws.next(), '42["auth",{}]');
    await expectNothingBefore(ws, "usable");
    ws.terminate();
  });

  it("/ and /custom on one session get distinct sids and keep their events apart", T, async () => {
    const { ws } = await connected();
    ws.send("40/custom,");
    const customSid = JSON.parse((await ws.next()).slice("40/custom,".length)).sid;
    assert.equal(await ws.next(), '42/custom,["auth",{}]');
    assert.equal(typeof customSid, "string");
    // /custom has no "message" handler: only the reply for / may arrive
    ws.send('42/custom,["message","to custom"]');
    await expectNothingBefore(ws, "to main");
    ws.terminate();
  });

  it("DISCONNECT from /custom keeps / working", T, async () => {
    const { ws } = await connected();
    ws.send("40/custom,");
    await ws.nextN(2);
    ws.send("41/custom,");
    ws.send('42["message","message to main namespace"]');
    assert.equal(await ws.next(), '42["message-back","message to main namespace"]');
    ws.terminate();
  });

  it("DISCONNECT from / stops the events of /", T, async () => {
    const { ws } = await connected();
    ws.send("41");
    ws.send('42["message","after disconnect"]');
    // the server may close the session, but must not answer the event
    const outcome = await Promise.race([
      ws.next(1000).then(
        (m) => ({ message: m }),
        () => ({ none: true }),
      ),
      ws.closed(1000).then(
        () => ({ closed: true }),
        () => ({ none: true }),
      ),
    ]);
    // An Engine.IO close packet ("1") is the server closing the session, which is allowed.
    assert.ok(!outcome.message || outcome.message === "1", `got ${JSON.stringify(outcome.message)} after DISCONNECT`);
    ws.terminate();
  });

  it("polling: CONNECT, auth event and an echo over HTTP long-polling", T, async () => {
    const session = await PollingSession.open(server.url, PATH);
    assert.equal((await session.post('40{"via":"polling"}')).status, 200);
    const [connect, auth] = await session.receive(2);
    assert.ok(connect.startsWith("40{"), connect);
    assert.notEqual(JSON.parse(connect.slice(2)).sid, session.sid);
    assert.equal(auth, '42["auth",{"via":"polling"}]');
    assert.equal((await session.post(['42["message",1]', '42["message",2]'])).status, 200);
    assert.deepEqual(await session.receive(2), ['42["message-back",1]', '42["message-back",2]']);
    assert.equal((await session.post("40/random,")).status, 200);
    assert.deepEqual(await session.receive(1), ['44/random,{"message":"Invalid namespace"}']);
  });

  for (const [label, packet] of [
    ["a string", '40"abc"'],
    ["an array", "40[1]"],
    ["invalid JSON", "40{invalid"],
    ["a string, for /custom", '40/custom,"abc"'],
  ]) {
    it(`CONNECT with ${label} as auth closes the session`, T, async () => {
      const { ws } = await engineSession();
      ws.send(packet);
      await expectClosed(ws, packet);
    });
  }
});

describe("message", () => {
  it("EVENT: plain-text message is echoed exactly", T, async () => {
    const { ws } = await connected();
    ws.send('42["message",1,"2",{"3":[true]}]');
    assert.equal(await ws.next(), '42["message-back",1,"2",{"3":[true]}]');
    ws.terminate();
  });

  it("EVENT: unicode, escapes and nested values survive", T, async () => {
    const { ws } = await connected();
    const args = ["😀 中文 日本語", 'quote " backslash \\ \n \t \u0001 \x1e', { nested: [{ deep: null }, -1.5, 1e21] }, []];
    ws.send(`42${JSON.stringify(["message", ...args])}`);
    const reply = await ws.next();
    assert.ok(reply.startsWith("42["), reply);
    assert.deepEqual(JSON.parse(reply.slice(2)), ["message-back", ...args]);
    ws.terminate();
  });

  it("EVENT: a message without arguments is echoed", T, async () => {
    const { ws } = await connected();
    ws.send('42["message"]');
    assert.equal(await ws.next(), '42["message-back"]');
    ws.terminate();
  });

  it("EVENT: 100 messages keep their order", T, async () => {
    const { ws } = await connected();
    for (let i = 0; i < 100; i++) ws.send(`42["message",${i}]`);
    const replies = await ws.nextN(100);
    assert.deepEqual(
      replies,
      Array.from({ length: 100 }, (_, i) => `42["message-back",${i}]`),
    );
    ws.terminate();
  });

  it("EVENT on /custom is not echoed (the namespace has no message handler)", T, async () => {
    const { ws } = await connected({ nsp: "/custom", auth: { k: "v" } });
    ws.send('42/custom,["message","x"]');
    // nothing comes back on /custom; prove it with a CONNECT to / as barrier
    ws.send("40");
    const next = await ws.next();
    assert.ok(next.startsWith("40{"), `expected the CONNECT reply for /, got ${next}`);
    ws.terminate();
  });
});

describe("acks", () => {
  it("client->server: an ack id is answered with ACK and the same id", T, async () => {
    const { ws } = await connected();
    ws.send('42456["message-with-ack",1,"2",{"3":[false]}]');
    assert.equal(await ws.next(), '43456[1,"2",{"3":[false]}]');
    ws.send('420["message-with-ack"]');
    assert.equal(await ws.next(), "430[]");
    ws.send('422147483647["message-with-ack","big id"]');
    assert.equal(await ws.next(), '432147483647["big id"]');
    ws.terminate();
  });

  it("client->server: acks of interleaved requests keep their ids", T, async () => {
    const { ws } = await connected();
    for (let id = 10; id < 20; id++) ws.send(`42${id}["message-with-ack",${id * 2}]`);
    const replies = await ws.nextN(10);
    assert.deepEqual(
      replies,
      Array.from({ length: 10 }, (_, i) => `43${10 + i}[${(10 + i) * 2}]`),
    );
    ws.terminate();
  });

  it("server->client: ask -> question with an ack id; ACK -> answer", T, async () => {
    const { ws } = await connected();
    ws.send('42["ask","q",1]');
    const question = await ws.next();
    const match = /^42(\d+)\["question","q",1\]$/.exec(question);
    assert.ok(match, `expected 42<id>["question","q",1], got ${question}`);
    ws.send(`43${match[1]}["yes",{"a":1}]`);
    assert.equal(await ws.next(), '42["answer","yes",{"a":1}]');
    ws.terminate();
  });

  it("server->client: each question gets its own ack id", T, async () => {
    const { ws } = await connected();
    ws.send('42["ask","first"]');
    ws.send('42["ask","second"]');
    const [q1, q2] = await ws.nextN(2);
    const id1 = /^42(\d+)\["question","first"\]$/.exec(q1)?.[1];
    const id2 = /^42(\d+)\["question","second"\]$/.exec(q2)?.[1];
    assert.ok(id1 !== undefined && id2 !== undefined, `${q1} / ${q2}`);
    assert.notEqual(id1, id2);
    // answer in reverse order
    ws.send(`43${id2}["two"]`);
    assert.equal(await ws.next(), '42["answer","two"]');
    ws.send(`43${id1}["one"]`);
    assert.equal(await ws.next(), '42["answer","one"]');
    ws.terminate();
  });

  it("server->client: without an ACK the server emits answer-timeout after ~1 s", T, async () => {
    const { ws } = await connected();
    const start = Date.now();
    ws.send('42["ask"]');
    assert.match(await ws.next(), /^42\d+\["question"\]$/);
    assert.equal(await ws.next(scaled(3000)), '42["answer-timeout"]');
    const elapsed = Date.now() - start;
    assert.ok(elapsed >= 900 && elapsed < scaled(2500), `answer-timeout after ${elapsed} ms`);
    ws.terminate();
  });
});

describe("binary", () => {
  it("BINARY_EVENT with one attachment is echoed as 451-[…] + the binary frame", T, async () => {
    const { ws } = await connected();
    ws.send('451-["message",{"_placeholder":true,"num":0}]');
    ws.send(Buffer.from([1, 2, 3]));
    const [header, data] = await ws.nextN(2);
    assert.equal(header, '451-["message-back",{"_placeholder":true,"num":0}]');
    assert.deepEqual(data, Buffer.from([1, 2, 3]));
    ws.terminate();
  });

  it("BINARY_EVENT with two attachments keeps their order", T, async () => {
    const { ws } = await connected();
    ws.send('452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
    ws.send(Buffer.from([1, 2, 3]));
    ws.send(Buffer.from([4, 5, 6]));
    const packets = await ws.nextN(3);
    assert.equal(packets[0], '452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
    assert.deepEqual(packets[1], Buffer.from([1, 2, 3]));
    assert.deepEqual(packets[2], Buffer.from([4, 5, 6]));
    ws.terminate();
  });

  it("BINARY_EVENT with nested placeholders and other values", T, async () => {
    const { ws } = await connected();
    ws.send('452-["message","text",{"a":[{"_placeholder":true,"num":0}],"n":1},[{"_placeholder":true,"num":1}]]');
    ws.send(Buffer.from("first"));
    ws.send(Buffer.alloc(100_000, 0x5a));
    const [header, b0, b1] = await ws.nextN(3);
    assert.ok(header.startsWith("452-["), header);
    assert.deepEqual(JSON.parse(header.slice(4)), [
      "message-back",
      "text",
      { a: [{ _placeholder: true, num: 0 }], n: 1 },
      [{ _placeholder: true, num: 1 }],
    ]);
    assert.deepEqual(b0, Buffer.from("first"));
    assert.deepEqual(b1, Buffer.alloc(100_000, 0x5a));
    ws.terminate();
  });

  it("BINARY_EVENT with an ack id is answered with BINARY_ACK 462-<id>", T, async () => {
    const { ws } = await connected();
    ws.send('452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
    ws.send(Buffer.from([1, 2, 3]));
    ws.send(Buffer.from([4, 5, 6]));
    const packets = await ws.nextN(3);
    assert.equal(packets[0], '462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
    assert.deepEqual(packets[1], Buffer.from([1, 2, 3]));
    assert.deepEqual(packets[2], Buffer.from([4, 5, 6]));
    ws.terminate();
  });

  it("server->client: a BINARY_ACK to a question comes back in the answer", T, async () => {
    const { ws } = await connected();
    ws.send('42["ask"]');
    const id = /^42(\d+)\["question"\]$/.exec(await ws.next())?.[1];
    assert.ok(id !== undefined);
    ws.send(`461-${id}[{"_placeholder":true,"num":0}]`);
    ws.send(Buffer.from([0xde, 0xad]));
    const [header, data] = await ws.nextN(2);
    assert.equal(header, '451-["answer",{"_placeholder":true,"num":0}]');
    assert.deepEqual(data, Buffer.from([0xde, 0xad]));
    ws.terminate();
  });

  it("polling: attachments travel as b<base64> packets", T, async () => {
    const session = await PollingSession.open(server.url, PATH);
    assert.equal((await session.post("40")).status, 200);
    await session.receive(2);
    const post = await session.post(['451-["message",{"_placeholder":true,"num":0}]', "bAQID"]);
    assert.equal(post.status, 200);
    assert.deepEqual(await session.receive(2), ['451-["message-back",{"_placeholder":true,"num":0}]', "bAQID"]);
  });

  it("an attachment split from its header over two POSTs is still reassembled", T, async () => {
    const session = await PollingSession.open(server.url, PATH);
    assert.equal((await session.post("40")).status, 200);
    await session.receive(2);
    assert.equal((await session.post('451-["message",{"_placeholder":true,"num":0}]')).status, 200);
    assert.equal((await session.post("b/wA=")).status, 200);
    assert.deepEqual(await session.receive(2), ['451-["message-back",{"_placeholder":true,"num":0}]', "b/wA="]);
  });
});

describe("invalid packets", () => {
  const cases = [
    ["an unknown packet type (4abc)", "4abc"],
    ["an unknown packet type (49)", "49"],
    ["an EVENT whose payload is an object", '42{"a":1}'],
    ["an EVENT whose payload is an empty object", "42{}"],
    ["an EVENT whose payload is a string", '42"message"'],
    ["an EVENT with an empty array", "42[]"],
    ["an EVENT named connect", '42["connect"]'],
    ["an EVENT named connect_error", '42["connect_error"]'],
    ["an EVENT named disconnect", '42["disconnect"]'],
    ["an EVENT with an invalid ack id", '42abc["message-with-ack",1]'],
    ["an EVENT with invalid JSON", '42["message",'],
  ];
  for (const [label, packet] of cases) {
    it(`${label} closes the session`, T, async () => {
      const { ws } = await connected();
      ws.send(packet);
      await expectClosed(ws, packet);
    });
  }

  it("a binary frame that no BINARY_EVENT announced closes the session", T, async () => {
    const { ws } = await connected();
    ws.send(Buffer.from([1, 2, 3]));
    await expectClosed(ws, "an unexpected binary frame");
  });

  it("a text packet where an attachment is expected closes the session", T, async () => {
    const { ws } = await connected();
    ws.send('451-["message",{"_placeholder":true,"num":0}]');
    ws.send('42["message","not binary"]');
    await expectClosed(ws, "a text packet instead of an attachment");
  });

  it("polling: an invalid Socket.IO packet closes the Engine.IO session", T, async () => {
    const session = await PollingSession.open(server.url, PATH);
    assert.equal((await session.post("40")).status, 200);
    await session.receive(2);
    await session.post("42{}");
    // the session is gone: a GET answers 400 (possibly after a last close packet)
    let res = await session.get();
    if (res.status === 200) {
      assert.ok(res.packets.every((p) => p === "1" || p === "6"), `unexpected packets ${JSON.stringify(res.packets)}`);
      res = await session.get();
    }
    assert.equal(res.status, 400);
  });

  it("an EVENT with a number as first element is not a protocol error", T, async () => {
    // socket.io-parser accepts a number as event name; the server has no
    // handler for it, so nothing happens and the session stays open
    const { ws } = await connected();
    ws.send("42[1,2]");
    await expectNothingBefore(ws, "still open");
    assert.ok(ws.isOpen);
    ws.terminate();
  });
});

describe("ping", () => {
  it("a Socket.IO session answers server pings and stays open past pingInterval + pingTimeout", T, async () => {
    const { ws } = await openSocketIo(server.wsUrl, { autoPong: true });
    track(ws);
    await new Promise((resolve) => setTimeout(resolve, 800));
    assert.ok(ws.pings >= 2, `expected at least 2 pings in 800 ms, got ${ws.pings}`);
    assert.ok(ws.isOpen);
    await expectNothingBefore(ws, "after pings");
    ws.terminate();
  });

  it("a Socket.IO session that does not answer pings is closed", T, async () => {
    const { ws } = await openSocketIo(server.wsUrl, { autoPong: false });
    track(ws);
    await ws.closed(2000);
  });
});

// As the official Socket.IO v5 suite's "upgrade" cases: the client sends "2probe" and "5" at once,
// without waiting for "3probe".
describe("upgrade", () => {
  async function upgraded() {
    const session = await PollingSession.open(server.url, PATH);
    const ws = track(await RawWebSocket.open(`${server.wsUrl}${PATH}?${eioQuery({ transport: "websocket", sid: session.sid })}`));
    ws.send("2probe");
    ws.send("5");
    return { session, ws };
  }

  it("upgrades from polling to websocket; the session's Socket.IO traffic moves there", T, async () => {
    const { session, ws } = await upgraded();
    assert.equal(await ws.next(), "3probe");
    ws.send("40");
    assert.match(await ws.next(), /^40\{"sid":"[^"]+"\}$/);
    assert.equal(await ws.next(), '42["auth",{}]');
    assert.equal((await session.get()).status, 400, "polling is over");
  });

  it("HTTP requests with the same sid after the upgrade get 400", T, async () => {
    const { session, ws } = await upgraded();
    assert.equal((await session.get()).status, 400);
    assert.equal(await ws.next(), "3probe");
  });

  it("a second websocket with the same sid after the upgrade is accepted (101), then closed", T, async () => {
    const { session, ws } = await upgraded();
    const second = track(await RawWebSocket.open(`${server.wsUrl}${PATH}?${eioQuery({ transport: "websocket", sid: session.sid })}`));
    await second.closed();
    assert.deepEqual(second.queue, [], "the second websocket got no packet");
    assert.equal(await ws.next(), "3probe");
    ws.send("40");
    assert.match(await ws.next(), /^40\{"sid"/, "the first one goes on");
  });
});

describe("paths", () => {
  it("a websocket upgrade on a path other than /socket.io/ is refused", T, async () => {
    await assert.rejects(RawWebSocket.open(`${server.wsUrl}/not-socket-io/?EIO=4&transport=websocket`, { timeout: 2500 }));
  });
});
