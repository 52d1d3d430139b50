// No sticky sessions: HAProxy balances every HTTP request round robin over two herald nodes (no
// cookie, no source hashing, `option http-server-close`), so the requests of one long-polling
// session land on both nodes; the node that does not own a session tunnels the request to the
// owner. Polling-only clients connect, log in, get pushes with receipts and keep their heartbeats
// through it, without a connect_error or a 400; WebSocket and upgraded clients work too.
//
// The nodes ping every 300 ms, so that a test sees several heartbeats, and give a client the
// default 20 s to answer: on a busy machine a client (or HAProxy, or a node) may answer a ping
// late, and that is not what these tests are about. A node sends its next ping only once the pong
// of the one before reached the session's owner, so a client that gets its third ping has had two
// pongs carried through the balancer; a pong lost on the way shows as pings that stop coming.

import assert from "node:assert/strict";
import http from "node:http";
import { after, afterEach, before, describe, it } from "node:test";
import {
  httpOnce,
  metric,
  routes,
  startCluster,
  startHAProxy,
  startNodes,
  waitReady,
  waitRouting,
} from "./lib/cluster.mjs";
import { NSP, PushUser, Users, call, eventually, expectQuietFor, seedOk, sleep, uniq } from "./lib/herald.mjs";
import { PollingSession, eioQuery } from "./lib/raw.mjs";
import { scaled } from "./lib/timing.mjs";
import { WAIT } from "./lib/wait.mjs";

const PING_INTERVAL_MS = 300;
const PING_TIMEOUT_MS = 20_000; // the server's default
const T = { timeout: 10_000 };

let cluster;
let redis;
let client;
let A;
let B;
let proxy;
const users = new Users();
const flags = ["--ping-interval-ms", PING_INTERVAL_MS, "--ping-timeout-ms", PING_TIMEOUT_MS];

before(async () => {
  cluster = await startCluster(2, flags);
  ({ redis, client } = cluster);
  [A, B] = cluster.nodes;
});

afterEach(async () => {
  users.closeAll();
  // A closing polling client's last GET may still be in flight; behind a round-robin balancer its
  // close can overtake it, and the owner then answers it 400 "Session ID unknown" (as the protocol
  // says for a closed session). Let those land before the next test counts 4xx answers.
  for (const node of [A, B]) {
    if (node.exited() !== null) continue; // killed by the test
    await eventually(async () => {
      const { polling, websocket } = (await call(node, "/health", undefined, { method: "GET" })).json.connections;
      return polling + websocket === 0;
    }, `no connections left on ${node.url}`);
  }
  await sleep(250);
});

after(async () => {
  users.closeAll();
  await proxy?.stop();
  await cluster?.stop();
});

/** Which node answered a request that went through HAProxy. */
const backendOf = (res) => res.headers.get("x-backend");

/** Counts of 4xx answers HAProxy passed on, and requests per node. */
async function proxyCounts() {
  const stats = await proxy.stats();
  return {
    node0: Number(stats.node0.stot),
    node1: Number(stats.node1.stot),
    http4xx: Number(stats.front.hrsp_4xx),
    http5xx: Number(stats.front.hrsp_5xx),
  };
}

/** A socket.io-client through HAProxy that records every connect_error, error and disconnect. */
function watch(user) {
  user.problems = [];
  user.socket.on("connect_error", (err) => user.problems.push(`connect_error: ${err.message}`));
  user.socket.on("disconnect", (reason) => user.problems.push(`disconnect: ${reason}`));
  user.socket.io.on("error", (err) => user.problems.push(`manager error: ${err.message}`));
  return user;
}

/**
 * Waits until each of `clients` got `count` more pings (and answered them: socket.io-client does
 * at once). The node sends a ping only after the pong of the one before reached it, so the count
 * also says that `count - 1` pongs per client got to the session's owner.
 */
async function heartbeats(clients, count = 3) {
  const pings = clients.map(() => 0);
  const listeners = clients.map((c, i) => {
    const listener = () => pings[i]++;
    c.socket.io.engine.on("ping", listener);
    return listener;
  });
  try {
    const what = `${count} pings on each of ${clients.length} clients`;
    await eventually(() => pings.every((n) => n >= count), what, WAIT + count * PING_INTERVAL_MS).catch((err) => {
      throw new Error(`${err.message}: pings ${pings}; the clients saw ${JSON.stringify(clients.map((c) => c.problems))}`);
    });
  } finally {
    clients.forEach((c, i) => c.socket.io.engine.off("ping", listeners[i]));
  }
}

async function proxyUser(uid, options) {
  const user = users.add(watch(new PushUser(proxy, options)));
  await user.connect();
  const reply = await user.login(uid).catch((err) => {
    throw new Error(`${err.message}; the client saw: ${JSON.stringify(user.problems)}`);
  });
  assert.equal(reply?.code, 0, `login(${uid}) through HAProxy: ${JSON.stringify(reply)}`);
  return user;
}

describe("session routing right after start", () => {
  // A node announces where its sessions live (herald:proc:<tag>) the moment its Redis connections
  // come up, before /ready says ready; once both nodes say ready, each routes the other's sessions.
  // (Earlier the first announce failed while Redis was still connecting, and the next came 5 s later.)
  it("a node routes requests for the other's sessions as soon as both say ready", T, async () => {
    const [C, D] = await startNodes(redis, 2, flags);
    try {
      await waitReady([C, D]);
      assert.equal(await routes(C, D), true, "D tunnels a request for C's session");
      assert.equal(await routes(D, C), true, "C tunnels a request for D's session");
    } finally {
      await Promise.all([C.stop(), D.stop()]);
    }
  });
});

describe("HAProxy really balances every request", () => {
  before(async () => {
    // Belt and braces: routing works before clients go through HAProxy.
    await waitRouting([A, B]);
    proxy = await startHAProxy([A, B]);
  });

  it("consecutive requests of one client alternate between the two nodes", T, async () => {
    const pids = [];
    const backends = [];
    for (let i = 0; i < 8; i++) {
      const res = await call(proxy, "/health", undefined, { method: "GET" });
      assert.equal(res.status, 200);
      pids.push(res.json.pid);
      backends.push(backendOf(res));
    }
    for (let i = 1; i < pids.length; i++) {
      assert.notEqual(pids[i], pids[i - 1], `request ${i} went to the same node as the one before: ${pids.join(",")}`);
      assert.notEqual(backends[i], backends[i - 1]);
    }
    assert.deepEqual([...new Set(pids)].sort(), [A.pid, B.pid].sort());
  });
});

describe("a raw long-polling session through HAProxy", () => {
  it("its GETs and POSTs land on different nodes and it works: connect, login, a push with its receipt, heartbeats", T, async () => {
    const seen = []; // [method, backend, status]
    let lastBackend; // the node that got the last request through HAProxy
    const note = (method, res) => {
      seen.push([method, backendOf(res), res.status]);
      lastBackend = backendOf(res);
      assert.equal(res.status, 200, `${method} answered ${res.status} ${res.text}: ${JSON.stringify(seen)}`);
      return res;
    };
    const session = await PollingSession.open(proxy.url, "/socket.io/");
    note("handshake", session.handshakeResponse);
    assert.equal(session.handshake.pingInterval, PING_INTERVAL_MS);
    assert.equal(session.handshake.pingTimeout, PING_TIMEOUT_MS);
    const get = async () => note("GET", await session.get()).packets;
    const post = async (packets) => note("POST", await session.post(packets));
    /** GETs (answering pings) until a packet matching `pattern` comes. */
    const expectPacket = async (pattern) => {
      for (let i = 0; i < 10; i++) {
        for (const packet of await get()) {
          if (packet === "2") await post("3");
          else if (pattern.test(packet)) return packet;
          else if (packet !== "6") throw new Error(`unexpected packet ${packet}`);
        }
      }
      throw new Error(`no packet matching ${pattern}`);
    };

    await post(`40${NSP},`);
    const connected = await expectPacket(new RegExp(`^40${NSP},`));
    const sid = JSON.parse(connected.slice(`40${NSP},`.length)).sid;
    const uid = uniq("raw");
    await post(`42${NSP},1["login","${uid}"]`);
    assert.equal(await expectPacket(new RegExp(`^43${NSP},1`)), `43${NSP},1[{"code":0,"msg":"login success"}]`);

    // A push made on node B directly while a GET waits (on whichever node).
    const pending = expectPacket(new RegExp(`^42${NSP},\\d+\\["message"`));
    const push = call(B, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "raw1", message: "hello", timeout: 3000 });
    const message = await pending;
    const ackId = message.match(new RegExp(`^42${NSP},(\\d+)`))[1];
    assert.equal(message, `42${NSP},${ackId}["message","raw1","hello"]`);
    await post(`43${NSP},${ackId}[]`);
    const res = await push;
    assert.deepEqual(seedOk(res), [uid], "the receipt went through");
    assert.ok(res.ms < scaled(500), `answered after ${res.ms.toFixed(1)} ms`);

    // HAProxy gives each request to the node after the one that got the request before, and the
    // session's requests mostly alternate GET, POST: its GETs may all have landed on one node and
    // its POSTs on the other (a ping answered between two of them shifts that, when one comes).
    // Where the next GET or POST would go to the only node its kind has seen, a request of another
    // client (a /health through HAProxy) first moves it to the other node.
    const nodesOf = (method) => new Set(seen.filter(([m]) => m === method).map(([, b]) => b));
    const toOtherNode = async (method) => {
      const next = lastBackend === "node0" ? "node1" : "node0";
      if (nodesOf(method).size === 1 && nodesOf(method).has(next)) {
        lastBackend = backendOf(await call(proxy, "/health", undefined, { method: "GET" }));
      }
    };

    // Three heartbeats, the pings answered through whichever node gets the request: the owner
    // sends the next ping only once the pong of the one before reached it.
    let pings = 0;
    await eventually(async () => {
      await toOtherNode("GET");
      for (const packet of await get()) {
        if (packet === "2") {
          pings++;
          await toOtherNode("POST");
          await post("3");
        }
      }
      return pings >= 3;
    }, "3 pings, each after the pong of the one before reached the owner", WAIT + 3 * PING_INTERVAL_MS);
    const user = await call(A, `/api/v1/users/${uid}`, undefined, { method: "GET" });
    assert.deepEqual(user.json, { uid, online: true, sockets: 1 }, "still connected after the heartbeats");
    const fetched = (await redisGet(`user@${uid}`)) ?? "";
    assert.equal(fetched, sid, "user@<uid> = the socket id");

    const gets = seen.filter(([m]) => m === "GET").map(([, b]) => b);
    const posts = seen.filter(([m]) => m === "POST").map(([, b]) => b);
    assert.deepEqual([...new Set(gets)].sort(), ["node0", "node1"], `GETs on both nodes: ${JSON.stringify(seen)}`);
    assert.deepEqual([...new Set(posts)].sort(), ["node0", "node1"], `POSTs on both nodes: ${JSON.stringify(seen)}`);
    const crossed = seen.some(([m, b], i) => i > 0 && m !== seen[i - 1][0] && b !== seen[i - 1][1]);
    assert.ok(crossed, "a GET and the next POST (or the reverse) on different nodes");
    await post("1");
  });

  it("a request sent to the other node directly is tunnelled to the owner; unknown sessions still answer 400", T, async () => {
    const open = await httpOnce(`${A.url}/socket.io/?${eioQuery()}`);
    const sid = JSON.parse(open.text.slice(1)).sid;
    const viaB = (options) => httpOnce(`${B.url}/socket.io/?${eioQuery({ sid })}`, options);
    assert.equal((await viaB({ method: "POST", body: `40${NSP},` })).status, 200);
    const reply = await viaB();
    assert.equal(reply.status, 200);
    // As Node's server writes it: sid, then the recovery pid (connection state recovery is on by default).
    assert.match(reply.text, new RegExp(`^40${NSP},\\{"sid":"[^"]+"(,"pid":"[^"]+")?\\}$`));
    // The same owner, a session it does not have: A answers 400 through B's tunnel.
    const unknown = await httpOnce(`${B.url}/socket.io/?${eioQuery({ sid: `${sid.slice(0, -4)}zzzz` })}`);
    assert.equal(unknown.status, 400, unknown.text);
    assert.match(unknown.text, /Session ID unknown/);
    // An id of no live process.
    const nobody = await httpOnce(`${B.url}/socket.io/?${eioQuery({ sid: "AAAAAAAAAAAAAAAAAAAA" })}`);
    assert.equal(nobody.status, 400, nobody.text);
    await viaB({ method: "POST", body: "1" });
  });

  // A request for another node's session is forwarded on its own; the connection it came on stays
  // with the node it was sent to, so the next request on it (a browser's keep-alive, a balancer's
  // pooled server connection) is served there. (Earlier the whole connection became a byte tunnel
  // to the first session's owner.) Only a WebSocket upgrade hands the connection over for good.
  it("after a tunnelled request, the next request on the same keep-alive connection is served by the node it was sent to", T, async () => {
    const open = await httpOnce(`${A.url}/socket.io/?${eioQuery()}`);
    const sid = JSON.parse(open.text.slice(1)).sid;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (path, method = "GET", body) =>
      new Promise((resolve, reject) => {
        const req = http.request(`${B.url}${path}`, { agent, method }, (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (d) => (text += d));
          res.on("end", () => resolve({ status: res.statusCode, text, reused: req.reusedSocket }));
        });
        req.setTimeout(3000, () => req.destroy(new Error(`no answer to ${path}`)));
        req.on("error", reject);
        req.end(body);
      });
    try {
      const tunnelled = await get(`/socket.io/?${eioQuery({ sid })}`, "POST", `40${NSP},`);
      assert.equal(tunnelled.status, 200, tunnelled.text);
      const health = await get("/health");
      assert.equal(health.reused, true, "the same connection");
      assert.equal(JSON.parse(health.text).pid, B.pid, `GET /health sent to B answered by pid ${JSON.parse(health.text).pid} (A is ${A.pid}, B is ${B.pid})`);
    } finally {
      agent.destroy();
      await httpOnce(`${A.url}/socket.io/?${eioQuery({ sid })}`, { method: "POST", body: "1" });
    }
  });
});

async function redisGet(key) {
  return client.get(key);
}

describe("socket.io-client through HAProxy", () => {
  it("20 polling-only clients: connect, log in, get pushes from HAProxy and from both nodes, ack them, keep heartbeats; no connect_error, no 400", { timeout: 15_000 }, async () => {
    const before = await proxyCounts();
    const opened = [await metric(A, "herald_sessions_opened_total"), await metric(B, "herald_sessions_opened_total")];
    const uids = Array.from({ length: 20 }, () => uniq("poll"));
    const clients = await Promise.all(uids.map((uid) => proxyUser(uid, { transports: ["polling"], upgrade: false })));
    for (const c of clients) assert.equal(c.socket.io.engine.transport.name, "polling");
    const sorted = [...uids].sort();

    let n = 0;
    for (const origin of [proxy, A, B, proxy]) {
      n++;
      const res = await call(origin, "/pushBatchUniMsg", { useraccounts: uids.join(","), msgId: `p${n}`, message: { n }, timeout: 3000 });
      assert.deepEqual([...seedOk(res)].sort(), sorted, `push ${n}: every client acked`);
      assert.ok(res.ms < scaled(1500, { below: 3000 }), `push ${n} answered after ${res.ms.toFixed(1)} ms with timeout 3000`);
    }
    const all = await call(proxy, "/api/v1/push", { all: true, msgId: "all", message: "m", timeout: 3000 }, { as: "json" });
    assert.equal(all.json.socketsReached, 20, all.text);
    assert.equal(all.json.complete, true, all.text);
    for (const c of clients) {
      await c.waitMessages(5);
      assert.deepEqual(c.msgIds(), ["p1", "p2", "p3", "p4", "all"]);
    }

    // Client -> server events with acks: log out and in again, through whichever node.
    const replies = await Promise.all(clients.map(async (c, i) => [await c.logout(), await c.login(uids[i])]));
    for (const [out, back] of replies) {
      assert.equal(out?.code, 0);
      assert.equal(back?.code, 0);
    }

    // Three heartbeats each while idle: pings from the owner in a GET answered by either node, pongs
    // POSTed through either node to the owner.
    await heartbeats(clients);
    const again = await call(A, "/pushBatchUniMsg", { useraccounts: uids.join(","), msgId: "late", message: "m", timeout: 3000 });
    assert.deepEqual([...seedOk(again)].sort(), sorted, "everyone still connected after the heartbeats");
    for (const c of clients) {
      assert.equal(c.socket.connected, true);
      assert.deepEqual(c.problems, [], `client ${c.socket.id}`);
    }

    const counts = await proxyCounts();
    assert.equal(counts.http4xx - before.http4xx, 0, "no 4xx through HAProxy");
    assert.equal(counts.http5xx - before.http5xx, 0, "no 5xx through HAProxy");
    const perNode = [counts.node0 - before.node0, counts.node1 - before.node1];
    assert.ok(perNode[0] > 100 && perNode[1] > 100, `requests per node ${perNode}`);
    assert.ok(Math.abs(perNode[0] - perNode[1]) <= perNode[0] * 0.2, `round robin: ${perNode}`);
    const handshakes = [(await metric(A, "herald_sessions_opened_total")) - opened[0], (await metric(B, "herald_sessions_opened_total")) - opened[1]];
    assert.equal(handshakes[0] + handshakes[1], 20);
    assert.ok(handshakes[0] >= 5 && handshakes[1] >= 5, `sessions opened per node ${handshakes}`);
  });

  for (const [mode, transports] of [
    ["polling upgraded to websocket", ["polling", "websocket"]],
    ["websocket only", ["websocket"]],
  ]) {
    it(`clients ${mode} through HAProxy: connect, log in, pushes with receipts, heartbeats`, T, async () => {
      const before = await proxyCounts();
      const uids = Array.from({ length: 6 }, () => uniq("ws"));
      const clients = await Promise.all(uids.map((uid) => proxyUser(uid, { transports })));
      for (const c of clients) {
        const engine = c.socket.io.engine;
        if (engine.transport.name !== "websocket") {
          await new Promise((resolve, reject) => {
            engine.once("upgrade", resolve);
            engine.once("upgradeError", reject);
            setTimeout(() => reject(new Error("no upgrade within 2 s")), 2000);
          });
        }
        assert.equal(engine.transport.name, "websocket");
      }
      for (const origin of [proxy, A, B]) {
        const res = await call(origin, "/pushBatchUniMsg", { useraccounts: uids.join(","), msgId: "w", message: "m", timeout: 3000 });
        assert.deepEqual([...seedOk(res)].sort(), [...uids].sort());
        assert.ok(res.ms < scaled(500), `answered after ${res.ms.toFixed(1)} ms`);
      }
      // Three heartbeats each, and time for a push sent twice to arrive.
      await Promise.all([heartbeats(clients), expectQuietFor(PING_INTERVAL_MS * 4, "a push sent twice")]);
      for (const c of clients) {
        assert.equal(c.socket.connected, true);
        assert.deepEqual(c.problems, []);
        assert.equal(c.received.length, 3);
      }
      const counts = await proxyCounts();
      assert.equal(counts.http4xx - before.http4xx, 0, "no 4xx through HAProxy");
    });
  }
});

describe("a node that dies", () => {
  it("after kill -9 of the owner, requests for its sessions through the survivor fail at once (400/502), no hang", T, async () => {
    const open = await httpOnce(`${B.url}/socket.io/?${eioQuery()}`);
    const sid = JSON.parse(open.text.slice(1)).sid;
    const url = `${A.url}/socket.io/?${eioQuery({ sid })}`;
    assert.equal((await httpOnce(url, { method: "POST", body: `40${NSP},` })).status, 200, "A routes to B");
    await B.kill();
    const started = Date.now();
    const res = await httpOnce(url, { timeout: 3000 });
    // 400 as an unknown session, or 502 "owner unreachable": either makes the client reconnect.
    assert.ok([400, 502].includes(res.status), `answer for a session of a dead node: ${res.status} ${res.text ?? res.error?.message}`);
    assert.match(res.text, /Session ID unknown/);
    assert.ok(Date.now() - started < scaled(1000, { below: 3000 }), `answered after ${Date.now() - started} ms`);
    const post = await httpOnce(url, { method: "POST", body: "3", timeout: 3000 });
    assert.ok([400, 502].includes(post.status), `POST: ${post.status}`);
    assert.equal(A.exited(), null, "A is still running");
    assert.equal((await httpOnce(`${A.url}/health`)).status, 200);
  });
});
