// The socket.io-client scenario list. Each client-*.test.mjs file runs it in
// one transport mode (websocket only, polling only, polling upgraded to
// websocket) against its own echo server.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, afterEach, before, describe, it } from "node:test";
import { ClientRegistry, connectSocket, normalizeBinary } from "./client.mjs";
import { startEchoServer } from "./server.mjs";
import { scaled } from "./timing.mjs";
import { EventQueue, TEST_TIMEOUT, WAIT, sleep, waitForEvent } from "./wait.mjs";

const T = { timeout: TEST_TIMEOUT };

export function clientScenarios(mode) {
  describe(`socket.io-client 4.x, transport mode "${mode}"`, () => {
    let server;
    const clients = new ClientRegistry();

    before(async () => {
      // The heartbeat is not under test here (engineio-protocol.test.mjs tests it), and echo_server's
      // pingTimeout of 200 ms is shorter than a slow build can be busy with one message: under
      // ThreadSanitizer on a loaded machine, parsing the 300 kB one below holds its loop for seconds,
      // the ping or the pong comes late, and the session ends with the echo unsent. Pings still go
      // out every 300 ms; a missed one ends the session only after as long as a test waits.
      server = await startEchoServer(["--ping-timeout", String(WAIT)]);
    });

    afterEach(() => clients.closeAll());

    after(async () => {
      clients.closeAll();
      await server?.stop();
    });

    /** A connected socket on `nsp` plus the payload of its "auth" event. */
    async function connected(options = {}) {
      const socket = clients.socket(server.url, mode, options);
      const auth = await connectSocket(socket, mode);
      return { socket, auth };
    }

    /** Emits "message" and resolves with the arguments of "message-back"; a disconnection fails it at once. */
    async function echo(socket, ...args) {
      const back = waitForEvent(socket, "message-back", { failOn: ["disconnect"] });
      socket.emit("message", ...args);
      const [...received] = await back;
      return received;
    }

    describe("connect", () => {
      it("connects to / and gets its auth payload back in the auth event", T, async () => {
        const auth = { token: "abc-123", user: { id: 42, roles: ["admin", "dev"] }, text: "héllo 😀" };
        const { socket, auth: received } = await connected({ auth });
        assert.deepEqual(received, auth);
        assert.equal(typeof socket.id, "string");
        assert.ok(socket.id.length > 0, "socket id must not be empty");
      });

      it("connects to / without auth and gets an empty object back", T, async () => {
        const { auth } = await connected();
        assert.deepEqual(auth, {});
      });

      it("connects to /custom with auth", T, async () => {
        const auth = { token: "custom-token", n: 7 };
        const { socket, auth: received } = await connected({ nsp: "/custom", auth });
        assert.deepEqual(received, auth);
        assert.equal(socket.nsp, "/custom");
        assert.equal(socket.connected, true);
      });

      it("gets connect_error 'Invalid namespace' for an unknown namespace", T, async () => {
        const socket = clients.socket(server.url, mode, { nsp: "/random" });
        const error = waitForEvent(socket, "connect_error", { failOn: ["connect"] });
        socket.connect();
        const [err] = await error;
        assert.equal(err.message, "Invalid namespace");
        assert.equal(socket.connected, false);
      });

      it("gives distinct ids to distinct connections", T, async () => {
        const { socket: a } = await connected();
        const { socket: b } = await connected();
        assert.notEqual(a.id, b.id);
      });
    });

    describe("messages", () => {
      it("echoes several arguments of every JSON type", T, async () => {
        const args = [
          1,
          "two",
          { three: [true, false, null], nested: { deep: { deeper: [1, { x: "y" }, []] } } },
          null,
          0,
          -17,
          3.25,
          2 ** 53 - 1,
          1e-7,
          "",
          [],
          {},
          true,
          false,
          'quote " backslash \\ slash / newline \n tab \t',
          "record separator \x1e inside a string",
        ];
        const received = await echo(await connected().then((c) => c.socket), ...args);
        assert.deepEqual(received, args);
      });

      it("echoes unicode strings (emoji, CJK, astral plane) in values and keys", T, async () => {
        const args = [
          "😀🎉👍🏽 family: 👨‍👩‍👧‍👦",
          "中文字符",
          "日本語のテキスト",
          "한국어",
          { 键: "值", "🔑": "🚪", "𝄞": "G clef" },
          ["Ελληνικά", "עברית", "العربية"],
        ];
        const { socket } = await connected();
        assert.deepEqual(await echo(socket, ...args), args);
      });

      it("echoes an event without arguments", T, async () => {
        const { socket } = await connected();
        assert.deepEqual(await echo(socket), []);
      });

      it("echoes a large (300 kB) message", T, async () => {
        const big = "x".repeat(200_000) + "ü😀".repeat(20_000);
        const { socket } = await connected();
        const [received] = await echo(socket, big);
        assert.equal(received.length, big.length);
        assert.equal(received, big);
      });

      it("keeps the order of 50 messages sent in a burst", T, async () => {
        const { socket } = await connected();
        const backs = new EventQueue(socket, "message-back");
        for (let i = 0; i < 50; i++) socket.emit("message", i, `msg-${i}`);
        for (let i = 0; i < 50; i++) {
          assert.deepEqual(await backs.next(), [i, `msg-${i}`]);
        }
      });
    });

    describe("acks", () => {
      it("client->server: emitWithAck resolves with the echoed argument", T, async () => {
        const { socket } = await connected();
        const value = { a: 1, b: ["two", 3], c: "ü😀" };
        const result = await socket.timeout(WAIT).emitWithAck("message-with-ack", value);
        assert.deepEqual(result, value);
      });

      it("client->server: the ack carries every argument", T, async () => {
        const { socket } = await connected();
        const args = [1, "2", { 3: [false] }, null, "中文"];
        const received = await new Promise((resolve, reject) => {
          socket.timeout(WAIT).emit("message-with-ack", ...args, (err, ...res) => (err ? reject(err) : resolve(res)));
        });
        assert.deepEqual(received, args);
      });

      it("client->server: 30 concurrent acks are matched to their emits", T, async () => {
        const { socket } = await connected();
        const results = await Promise.all(
          Array.from({ length: 30 }, (_, i) => socket.timeout(WAIT).emitWithAck("message-with-ack", `value-${i}`)),
        );
        assert.deepEqual(
          results,
          Array.from({ length: 30 }, (_, i) => `value-${i}`),
        );
      });

      it("server->client: ask -> question (with ack) -> answer", T, async () => {
        const { socket } = await connected();
        const questions = [];
        socket.on("question", (...args) => {
          const ack = args.pop();
          assert.equal(typeof ack, "function", "the question event must come with an ack callback");
          questions.push(args);
          ack("my answer", 42, { ok: true, text: "ü😀" });
        });
        const answer = waitForEvent(socket, "answer", { failOn: ["answer-timeout"] });
        socket.emit("ask", "what?", { n: 1 }, [2, 3]);
        const received = await answer;
        assert.deepEqual(questions, [["what?", { n: 1 }, [2, 3]]]);
        assert.deepEqual(received, ["my answer", 42, { ok: true, text: "ü😀" }]);
      });

      it("server->client: several questions in flight are answered independently", T, async () => {
        const { socket } = await connected();
        socket.on("question", (n, ack) => {
          // answer in reverse order of arrival
          setTimeout(() => ack(n * 10), 200 - n * 40);
        });
        const answers = new EventQueue(socket, "answer");
        for (let n = 1; n <= 4; n++) socket.emit("ask", n);
        const received = [];
        for (let n = 1; n <= 4; n++) received.push((await answers.next())[0]);
        assert.deepEqual(received.sort((x, y) => x - y), [10, 20, 30, 40]);
      });

      it("server->client: not acking a question gives answer-timeout after ~1 s", T, async () => {
        const { socket } = await connected();
        let asked = 0;
        socket.on("question", () => {
          asked++; // deliberately never call the ack
        });
        const timedOut = waitForEvent(socket, "answer-timeout", { failOn: ["answer"] });
        const start = Date.now();
        socket.emit("ask", "ignored");
        await timedOut;
        const elapsed = Date.now() - start;
        assert.equal(asked, 1);
        assert.ok(elapsed >= 900, `answer-timeout came after ${elapsed} ms, expected about 1000 ms`);
        assert.ok(elapsed < scaled(2500), `answer-timeout came after ${elapsed} ms, expected about 1000 ms`);
      });
    });

    describe("binary", () => {
      it("echoes Buffers in any position and nesting", T, async () => {
        const { socket } = await connected();
        const args = [
          Buffer.from([1, 2, 3]),
          "text between",
          { file: Buffer.from("hello"), list: [Buffer.from([0xff, 0x00, 0x7f]), { deep: Buffer.alloc(300, 0xab) }] },
          [Buffer.from([]), 5, [Buffer.from([9])]],
        ];
        const received = await echo(socket, ...args);
        assert.deepEqual(normalizeBinary(received), args);
        assert.ok(Buffer.isBuffer(received[0]) || received[0] instanceof ArrayBuffer, "binary must stay binary");
      });

      it("echoes several buffers including a large (200 kB) one", T, async () => {
        const { socket } = await connected();
        const args = [randomBytes(200_000), randomBytes(10), { more: [randomBytes(1000), randomBytes(1)] }];
        assert.deepEqual(normalizeBinary(await echo(socket, ...args)), args);
      });

      it("echoes typed arrays as their bytes", T, async () => {
        const { socket } = await connected();
        const [received] = await echo(socket, new Uint8Array([10, 20, 30, 40]));
        assert.deepEqual(normalizeBinary(received), Buffer.from([10, 20, 30, 40]));
      });

      it("carries binary through a client->server ack", T, async () => {
        const { socket } = await connected();
        const value = { bin: Buffer.from([5, 6, 7]), list: [Buffer.from("ack")] };
        const result = await socket.timeout(WAIT).emitWithAck("message-with-ack", value);
        assert.deepEqual(normalizeBinary(result), value);
      });

      it("carries binary through a server->client question and its ack", T, async () => {
        const { socket } = await connected();
        let question;
        socket.on("question", (...args) => {
          const ack = args.pop();
          question = args;
          ack(Buffer.from([0xca, 0xfe]), { nested: Buffer.from([0xba, 0xbe]) });
        });
        const answer = waitForEvent(socket, "answer", { failOn: ["answer-timeout"] });
        socket.emit("ask", Buffer.from([1, 2]), { b: Buffer.from([3]) });
        const received = await answer;
        assert.deepEqual(normalizeBinary(question), [Buffer.from([1, 2]), { b: Buffer.from([3]) }]);
        assert.deepEqual(normalizeBinary(received), [Buffer.from([0xca, 0xfe]), { nested: Buffer.from([0xba, 0xbe]) }]);
      });
    });

    describe("rooms", () => {
      async function join(socket, room) {
        await socket.timeout(WAIT).emitWithAck("join", room);
      }

      async function leave(socket, room) {
        await socket.timeout(WAIT).emitWithAck("leave", room);
      }

      /**
       * `sender` broadcasts to everyone; once `socket` got that message,
       * anything sent to it before by the same sender has arrived too.
       */
      async function barrier(sender, sockets) {
        const tag = `barrier-${Math.random()}`;
        const waits = sockets.map((s) => waitForEvent(s, "all-message"));
        sender.emit("broadcast-all", tag);
        for (const w of waits) assert.deepEqual(await w, [tag]);
      }

      it("a room broadcast reaches the members only, sender included", T, async () => {
        const { socket: a } = await connected();
        const { socket: b } = await connected();
        const { socket: c } = await connected();
        await join(a, "room-1");
        await join(b, "room-1");
        const qa = new EventQueue(a, "room-message");
        const qb = new EventQueue(b, "room-message");
        const qc = new EventQueue(c, "room-message");

        a.emit("broadcast", "room-1", "hello", { n: 1 }, Buffer.from([7, 7]));
        assert.deepEqual(normalizeBinary(await qa.next()), ["hello", { n: 1 }, Buffer.from([7, 7])]);
        assert.deepEqual(normalizeBinary(await qb.next()), ["hello", { n: 1 }, Buffer.from([7, 7])]);
        await barrier(a, [a, b, c]);
        assert.deepEqual(qc.items, [], "a non-member must not get the room message");

        // a sender that is not a member does not get its own broadcast
        c.emit("broadcast", "room-1", "from outside");
        assert.deepEqual(await qa.next(), ["from outside"]);
        assert.deepEqual(await qb.next(), ["from outside"]);
        await barrier(c, [a, b, c]);
        assert.deepEqual(qc.items, [], "the non-member sender must not get the room message");
      });

      it("broadcast-except skips the members of the except room", T, async () => {
        const { socket: a } = await connected();
        const { socket: b } = await connected();
        const { socket: c } = await connected();
        for (const s of [a, b, c]) await join(s, "room-2");
        await join(b, "vip");
        const qa = new EventQueue(a, "room-message");
        const qb = new EventQueue(b, "room-message");
        const qc = new EventQueue(c, "room-message");

        a.emit("broadcast-except", "room-2", "vip", "not for vips", 2);
        assert.deepEqual(await qa.next(), ["not for vips", 2]);
        assert.deepEqual(await qc.next(), ["not for vips", 2]);
        await barrier(a, [a, b, c]);
        assert.deepEqual(qb.items, [], "a member of the except room must be skipped");
      });

      it("leave stops the delivery of room messages", T, async () => {
        const { socket: a } = await connected();
        const { socket: b } = await connected();
        await join(a, "room-3");
        await join(b, "room-3");
        const qa = new EventQueue(a, "room-message");
        const qb = new EventQueue(b, "room-message");

        a.emit("broadcast", "room-3", "before leave");
        assert.deepEqual(await qa.next(), ["before leave"]);
        assert.deepEqual(await qb.next(), ["before leave"]);

        await leave(b, "room-3");
        a.emit("broadcast", "room-3", "after leave");
        assert.deepEqual(await qa.next(), ["after leave"]);
        await barrier(a, [a, b]);
        assert.deepEqual(qb.items, [], "a socket that left must not get room messages");
      });

      it("rooms lists the socket's rooms, sorted, including its own id", T, async () => {
        const { socket } = await connected();
        const rooms = () => socket.timeout(WAIT).emitWithAck("rooms");
        assert.deepEqual(await rooms(), [socket.id]);
        await join(socket, "zeta");
        await join(socket, "alpha");
        await join(socket, "alpha"); // joining twice changes nothing
        assert.deepEqual(await rooms(), [socket.id, "alpha", "zeta"].sort());
        await leave(socket, "zeta");
        assert.deepEqual(await rooms(), [socket.id, "alpha"].sort());
        await leave(socket, "not-a-member"); // leaving a room one is not in is harmless
        assert.deepEqual(await rooms(), [socket.id, "alpha"].sort());
      });

      it("a socket's own id works as a room", T, async () => {
        const { socket: a } = await connected();
        const { socket: b } = await connected();
        const qa = new EventQueue(a, "room-message");
        const qb = new EventQueue(b, "room-message");
        b.emit("broadcast", a.id, "direct");
        assert.deepEqual(await qa.next(), ["direct"]);
        await barrier(b, [a, b]);
        assert.deepEqual(qb.items, []);
      });

      it("broadcast-all reaches every client of / (and none of /custom)", T, async () => {
        const { socket: a } = await connected();
        const { socket: b } = await connected();
        const { socket: c } = await connected();
        const { socket: custom } = await connected({ nsp: "/custom" });
        const qCustom = new EventQueue(custom, "all-message");
        const waits = [a, b, c].map((s) => waitForEvent(s, "all-message"));
        b.emit("broadcast-all", "to everyone", { n: 3 });
        for (const w of waits) assert.deepEqual(await w, ["to everyone", { n: 3 }]);
        assert.deepEqual(await qCustom.settle(200), [], "/custom must not get broadcasts of /");
      });
    });

    describe("disconnect", () => {
      it("disconnect-me: reason 'io server disconnect', then a manual connect() works again", T, async () => {
        const { socket } = await connected({ auth: { round: 1 } });
        const firstId = socket.id;
        const disconnected = waitForEvent(socket, "disconnect");
        socket.emit("disconnect-me");
        const [reason] = await disconnected;
        assert.equal(reason, "io server disconnect");
        assert.equal(socket.connected, false);

        // no automatic reconnection after a server-side disconnect
        await sleep(100);
        assert.equal(socket.connected, false);

        socket.auth = { round: 2 };
        const auth = await connectSocket(socket, mode);
        assert.deepEqual(auth, { round: 2 });
        assert.notEqual(socket.id, firstId, "a new connection gets a new id");
        assert.deepEqual(await echo(socket, "still works"), ["still works"]);
      });

      it("client disconnect then reconnect works", T, async () => {
        const { socket } = await connected();
        const firstId = socket.id;
        await socket.timeout(WAIT).emitWithAck("join", "before-reconnect");
        const disconnected = waitForEvent(socket, "disconnect");
        socket.disconnect();
        const [reason] = await disconnected;
        assert.equal(reason, "io client disconnect");
        assert.equal(socket.connected, false);

        await connectSocket(socket, mode);
        assert.notEqual(socket.id, firstId);
        assert.deepEqual(await echo(socket, "after reconnect", 2), ["after reconnect", 2]);
        // the new connection starts without the old rooms
        assert.deepEqual(await socket.timeout(WAIT).emitWithAck("rooms"), [socket.id]);
      });

      it("a disconnected client no longer gets broadcasts", T, async () => {
        const { socket: a } = await connected();
        const { socket: b } = await connected();
        const qb = new EventQueue(b, "all-message");
        b.disconnect();
        // give the server the time to see the disconnection
        await sleep(100);
        const got = waitForEvent(a, "all-message");
        a.emit("broadcast-all", "after b left");
        assert.deepEqual(await got, ["after b left"]);
        assert.deepEqual(await qb.settle(100), []);
      });
    });

    describe("multiplexing", () => {
      it("/ and /custom share one manager and one Engine.IO session", T, async () => {
        const manager = clients.manager(server.url, mode);
        const main = manager.socket("/", { auth: { ns: "main" } });
        const custom = manager.socket("/custom", { auth: { ns: "custom" } });
        const [mainAuth, customAuth] = await Promise.all([connectSocket(main, mode), connectSocket(custom, mode)]);
        assert.deepEqual(mainAuth, { ns: "main" });
        assert.deepEqual(customAuth, { ns: "custom" });
        assert.equal(main.io, custom.io);
        assert.equal(main.io.engine, custom.io.engine);
        assert.notEqual(main.id, custom.id);

        // "message" is only echoed in "/"; the two namespaces do not mix
        const customBacks = new EventQueue(custom, "message-back");
        const mainBacks = new EventQueue(main, "message-back");
        custom.emit("message", "to custom");
        main.emit("message", "to main");
        assert.deepEqual(await mainBacks.next(), ["to main"]);
        assert.deepEqual(customBacks.items, [], "/custom has no message handler");
        assert.deepEqual(mainBacks.items, []);

        // leaving /custom keeps / working on the same session
        const engine = main.io.engine;
        custom.disconnect();
        assert.deepEqual(await echo(main, "main still works"), ["main still works"]);
        assert.equal(main.io.engine, engine);
        assert.equal(main.connected, true);
      });

      it("a refused namespace does not affect the others on the same session", T, async () => {
        const manager = clients.manager(server.url, mode);
        const main = manager.socket("/");
        const bad = manager.socket("/does-not-exist");
        const refused = waitForEvent(bad, "connect_error", { failOn: ["connect"] });
        await connectSocket(main, mode);
        bad.connect();
        const [err] = await refused;
        assert.equal(err.message, "Invalid namespace");
        assert.equal(main.connected, true);
        assert.deepEqual(await echo(main, "ok"), ["ok"]);
      });
    });

    if (mode === "upgrade") {
      describe("upgrade", () => {
        it("messages emitted before and during the upgrade arrive in order", T, async () => {
          const socket = clients.socket(server.url, mode);
          const backs = new EventQueue(socket, "message-back");
          let n = 0;
          socket.on("connect", () => {
            for (let i = 0; i < 10; i++) socket.emit("message", n++);
          });
          const connectedP = waitForEvent(socket, "connect", { failOn: ["connect_error"] });
          socket.connect();
          const engine = socket.io.engine;
          assert.equal(engine.transport.name, "polling");
          engine.once("upgrading", () => {
            for (let i = 0; i < 10; i++) socket.emit("message", n++);
          });
          const upgraded = waitForEvent(engine, "upgrade", { failOn: ["upgradeError"] });
          await connectedP;
          await upgraded;
          assert.equal(engine.transport.name, "websocket");
          for (let i = 0; i < 10; i++) socket.emit("message", n++);
          const total = n;
          for (let i = 0; i < total; i++) assert.deepEqual(await backs.next(), [i]);
        });
      });
    }
  });
}
