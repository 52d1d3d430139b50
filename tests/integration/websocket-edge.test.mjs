// Edge cases of herald's WebSocket server (RFC 6455), from raw TCP clients (node:net), against
// build/herald: handshakes that must be refused, close codes a peer may not send, and a large frame
// trickled in small writes, whose CPU cost must stay linear in the bytes received.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { T, startHerald } from "./lib/herald.mjs";
import { WAIT, withTimeout } from "./lib/wait.mjs";

const PATH = "/socket.io/?EIO=4&transport=websocket";
const BIG_MESSAGE = 1 << 20;
// A parser that copies and re-reads an unfinished frame on each read spent 0.8-1.0 s more here.
const MAX_EXTRA_CPU_SECONDS = 0.15;

let server;

before(async () => {
  server = await startHerald(["--max-payload", String(2 * BIG_MESSAGE)]);
});

after(async () => {
  await server?.stop();
});

// ---------------------------------------------------------------------------
// A raw client
// ---------------------------------------------------------------------------

/** A TCP connection whose incoming bytes are kept, read as an HTTP head and then as frames. */
class RawClient {
  static connect(port) {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: "127.0.0.1", port, noDelay: true }, () => resolve(new RawClient(socket)));
      socket.once("error", reject);
    });
  }

  constructor(socket) {
    this.socket = socket;
    this.received = Buffer.alloc(0);
    this.ended = false;
    this.wake = null;
    socket.on("data", (data) => {
      this.received = Buffer.concat([this.received, data]);
      this.wake?.();
    });
    const end = () => {
      this.ended = true;
      this.wake?.();
    };
    socket.on("end", end);
    socket.on("close", end);
    socket.on("error", () => {});
  }

  // Waits until `take` finds what it needs in the received bytes (it returns undefined until then).
  async until(take, what) {
    for (;;) {
      const found = take();
      if (found !== undefined) return found;
      if (this.ended) throw new Error(`connection ended while waiting for ${what}`);
      await withTimeout(new Promise((resolve) => (this.wake = resolve)), WAIT, what);
    }
  }

  /** The HTTP response head and its body (by Content-Length): { status, headers, body }. */
  response() {
    return this.until(() => {
      const end = this.received.indexOf("\r\n\r\n");
      if (end < 0) return undefined;
      const [statusLine, ...lines] = this.received.subarray(0, end).toString("latin1").split("\r\n");
      const headers = {};
      for (const line of lines) {
        const colon = line.indexOf(":");
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = Number(headers["content-length"] ?? 0);
      if (this.received.length < end + 4 + length) return undefined;
      const body = this.received.subarray(end + 4, end + 4 + length).toString("utf8");
      this.received = this.received.subarray(end + 4 + length);
      return { status: Number(statusLine.split(" ")[1]), headers, body };
    }, "an HTTP response");
  }

  /** The next server frame: { opcode, payload }. */
  frame() {
    return this.until(() => {
      const data = this.received;
      if (data.length < 2) return undefined;
      assert.equal(data[1] & 0x80, 0, "server frames are not masked");
      let length = data[1] & 0x7f;
      let header = 2;
      if (length === 126) {
        if (data.length < 4) return undefined;
        length = data.readUInt16BE(2);
        header = 4;
      } else if (length === 127) {
        if (data.length < 10) return undefined;
        length = Number(data.readBigUInt64BE(2));
        header = 10;
      }
      if (data.length < header + length) return undefined;
      this.received = data.subarray(header + length);
      return { opcode: data[0] & 0x0f, payload: Buffer.from(data.subarray(header, header + length)) };
    }, "a WebSocket frame");
  }

  /** The next text frame, skipping the server's Engine.IO pings. */
  async text() {
    for (;;) {
      const { opcode, payload } = await this.frame();
      assert.equal(opcode, 1, `expected a text frame, got opcode ${opcode} (${payload.toString()})`);
      if (payload.toString() !== "2") return payload.toString();
    }
  }

  write(data) {
    return new Promise((resolve, reject) => this.socket.write(data, (err) => (err ? reject(err) : resolve())));
  }

  destroy() {
    this.socket.destroy();
  }
}

function upgradeRequest(port, headers) {
  const lines = [`GET ${PATH} HTTP/1.1`, `Host: 127.0.0.1:${port}`, "Upgrade: websocket", "Connection: Upgrade"];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return `${lines.join("\r\n")}\r\n\r\n`;
}

/** A masked client frame. */
function clientFrame(opcode, payload, { fin = true } = {}) {
  const body = Buffer.from(payload);
  let head;
  if (body.length < 126) {
    head = Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | body.length]);
  } else if (body.length <= 0xffff) {
    head = Buffer.alloc(4);
    head.writeUInt16BE(body.length, 2);
    head[1] = 0x80 | 126;
  } else {
    head = Buffer.alloc(10);
    head.writeBigUInt64BE(BigInt(body.length), 2);
    head[1] = 0x80 | 127;
  }
  head[0] = (fin ? 0x80 : 0) | opcode;
  const key = crypto.randomBytes(4);
  const masked = Buffer.alloc(body.length);
  for (let i = 0; i < body.length; i++) masked[i] = body[i] ^ key[i & 3];
  return Buffer.concat([head, key, masked]);
}

function closePayload(code, reason = "") {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2);
  return payload;
}

/** Upgrades with a valid handshake and reads the Engine.IO open packet. */
async function openWebSocket() {
  const client = await RawClient.connect(server.port);
  const key = crypto.randomBytes(16).toString("base64");
  await client.write(upgradeRequest(server.port, { "Sec-WebSocket-Key": key, "Sec-WebSocket-Version": "13" }));
  const response = await client.response();
  assert.equal(response.status, 101);
  const accept = crypto.createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
  assert.equal(response.headers["sec-websocket-accept"], accept);
  assert.match(await client.text(), /^0\{/);
  return client;
}

/** CPU seconds (user + system, all threads) the process has used. */
function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);  // utime and stime, fields 14 and 15
  return ticks / CLOCK_TICKS;
}

const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

// ---------------------------------------------------------------------------

describe("handshake", () => {
  async function refused(headers) {
    const client = await RawClient.connect(server.port);
    try {
      await client.write(upgradeRequest(server.port, headers));
      return await client.response();
    } finally {
      client.destroy();
    }
  }

  it("an upgrade without Sec-WebSocket-Key answers 400, not 101", T, async () => {
    const response = await refused({ "Sec-WebSocket-Version": "13" });
    assert.equal(response.status, 400);
    assert.deepEqual(JSON.parse(response.body), { code: 3, message: "Bad request" });
  });

  it("a Sec-WebSocket-Key that is not 16 bytes in base64 answers 400", T, async () => {
    for (const key of ["not a key", "AAAAAAAAAAAAAAAAAAAAAAAAAAAA", crypto.randomBytes(15).toString("base64")]) {
      const response = await refused({ "Sec-WebSocket-Key": key, "Sec-WebSocket-Version": "13" });
      assert.equal(response.status, 400, key);
    }
  });

  it("Sec-WebSocket-Version 8 answers 400 naming version 13", T, async () => {
    const key = crypto.randomBytes(16).toString("base64");
    for (const headers of [{ "Sec-WebSocket-Key": key, "Sec-WebSocket-Version": "8" }, { "Sec-WebSocket-Key": key }]) {
      const response = await refused(headers);
      assert.equal(response.status, 400);
      assert.equal(response.headers["sec-websocket-version"], "13");
    }
  });

  it("a valid handshake is answered 101 with the accept key", T, async () => {
    const client = await openWebSocket();
    client.destroy();
  });
});

describe("close frames", () => {
  async function closeWith(payload) {
    const client = await openWebSocket();
    try {
      await client.write(clientFrame(8, payload));
      const frame = await client.frame();
      assert.equal(frame.opcode, 8);
      return frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : null;
    } finally {
      client.destroy();
    }
  }

  it("close code 999 is answered with 1002", T, async () => {
    assert.equal(await closeWith(closePayload(999)), 1002);
  });

  it("close codes 1005 and 5000 are answered with 1002", T, async () => {
    assert.equal(await closeWith(closePayload(1005)), 1002);
    assert.equal(await closeWith(closePayload(5000)), 1002);
  });

  it("a valid close code is echoed; none is answered with 1000", T, async () => {
    assert.equal(await closeWith(closePayload(3000, "done")), 3000);
    assert.equal(await closeWith(Buffer.alloc(0)), 1000);
  });

  it("a reason that is not UTF-8 is answered with 1007", T, async () => {
    assert.equal(await closeWith(Buffer.concat([closePayload(1000), Buffer.from([0xff])])), 1007);
  });
});

describe("a large frame in small writes", () => {
  // Each write is paced (a short blocking wait) so that the server reads about one write at a time,
  // as from a slow client; unpaced, the writes pile up and the server reads them in large batches.
  const PACE_MS = 0.02;
  const pause = new Int32Array(new SharedArrayBuffer(4));

  async function trickle(client, pieces) {
    for (const piece of pieces) {
      await client.write(piece);
      Atomics.wait(pause, 0, 0, PACE_MS);
    }
  }

  // Pings and waits for the pong: the server has read everything sent before.
  async function sync(client) {
    await client.write(clientFrame(9, "sync"));
    for (;;) {
      const { opcode, payload } = await client.frame();
      if (opcode === 1 && payload.toString() === "2") continue;  // an Engine.IO ping
      assert.equal(opcode, 10, `expected the pong, got opcode ${opcode} (${payload.toString().slice(0, 100)})`);
      assert.equal(payload.toString(), "sync");
      return;
    }
  }

  // CPU the server spends on `pieces` written to a new connection, paced, up to the pong.
  async function cpuFor(pieces) {
    const client = await openWebSocket();
    try {
      const start = cpuSeconds(server.pid);
      await trickle(client, pieces);
      await sync(client);
      return cpuSeconds(server.pid) - start;
    } finally {
      client.destroy();
    }
  }

  // The server's CPU for a read is mostly the kernel's and the loop's, and varies with the machine
  // and its load: the large frame is measured against as many writes of small complete frames, and
  // measured twice before failing.
  const name = `${BIG_MESSAGE} bytes in 100-byte writes cost under ${MAX_EXTRA_CPU_SECONDS} s of CPU more than ` +
    "as many small frames";
  it(name, { timeout: 60_000 }, async () => {
    // Engine.IO noops, which the session ignores: what is measured is the WebSocket's work.
    const big = clientFrame(1, "6" + "x".repeat(BIG_MESSAGE - 1));
    const pieces = [];
    for (let i = 0; i < big.length; i += 100) pieces.push(big.subarray(i, i + 100));
    const small = clientFrame(1, "6" + "x".repeat(93));
    assert.equal(small.length, 100);
    const extras = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      const baseline = await cpuFor(pieces.map(() => small));
      const used = await cpuFor(pieces);
      console.log(`server CPU for ${pieces.length} 100-byte writes: ${used.toFixed(3)} s for one ${big.length}-byte ` +
        `frame, ${baseline.toFixed(3)} s for as many small frames`);
      extras.push(used - baseline);
      if (used - baseline < MAX_EXTRA_CPU_SECONDS) return;
    }
    assert.fail(`the large frame cost ${extras.map((e) => e.toFixed(3)).join(" s, then ")} s of CPU more than ` +
      `the small frames (limit ${MAX_EXTRA_CPU_SECONDS} s)`);
  });
});
