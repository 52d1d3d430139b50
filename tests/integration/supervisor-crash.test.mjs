// A worker of `herald --workers 2` killed with SIGKILL while its users are connected and a push
// with receipts waits on them: the supervisor starts a replacement, the users reconnect (to
// either worker, through the one port) and get pushes again, and the waiting push reports the
// dead worker's users as not acknowledged (timed out), never as received and never silently.

import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import { quitClient, redisClient, startRedis } from "./lib/cluster.mjs";
import { PushUser, call, eventually, startHerald, uniq } from "./lib/herald.mjs";

const USERS = 12;

let redis;
let client;
let herald;
const users = [];

before(async () => {
  redis = await startRedis();
  client = await redisClient(redis);
  herald = await startHerald(["--workers", "2", "--redis", redis.url, "--node-heartbeat-ms", "200"]);
});

after(async () => {
  for (const user of users) user.close();
  await quitClient(client);
  await herald?.stop();
  await redis?.stop();
});

/** A user that logs in through the handshake (auth.uid), so it is logged in again on reconnect. */
async function reconnectingUser(uid, ackMode) {
  const user = new PushUser(herald, { auth: { uid }, ackMode });
  user.socket.io.reconnection(true);
  user.socket.io.reconnectionDelay(100);
  user.socket.io.reconnectionDelayMax(300);
  user.reconnects = 0;
  user.socket.io.on("reconnect", () => user.reconnects++);
  users.push(user);
  return user.connect();
}

/** The pid of the worker a user's socket lives on, from the presence records in Redis. */
async function workerOf(uid) {
  const sockets = await client.hGetAll(`herald:user:${uid}`);
  const nodes = Object.values(sockets);
  if (nodes.length !== 1) return null;
  const record = await client.get(`herald:node:${nodes[0]}`);
  return record ? JSON.parse(record).pid : null;
}

/** One request on `agent` (keep-alive, one socket: every request goes to the same worker). */
function request(agent, method, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${herald.url}${path}`, { agent, method, headers: { "Content-Type": "application/json" } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode, text, json: JSON.parse(text) }));
    });
    req.setTimeout(8000, () => req.destroy(new Error(`no answer to ${method} ${path}`)));
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe("a worker killed under load", () => {
  it("is replaced; its users reconnect and get pushes; receipts it held are reported as not acknowledged", { timeout: 30_000 }, async () => {
    const uids = Array.from({ length: USERS }, () => uniq("w"));
    // They never ack: a push with receipts keeps waiting on every one of them.
    for (const uid of uids) await reconnectingUser(uid, "never");
    const where = new Map();
    await eventually(async () => {
      for (const uid of uids) where.set(uid, await workerOf(uid));
      return [...where.values()].every((pid) => pid !== null);
    }, "every user recorded in Redis with its worker");
    const workers = [...new Set(where.values())];
    assert.equal(workers.length, 2, `users spread over both workers: ${JSON.stringify([...where])}`);

    // The push goes to a known worker (the one holding this keep-alive connection); the other dies.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const taker = (await request(agent, "GET", "/health")).json.pid;
    const victim = workers.find((pid) => pid !== taker);
    const onVictim = uids.filter((uid) => where.get(uid) === victim);
    const onTaker = uids.filter((uid) => where.get(uid) === taker);
    try {
      const pending = request(agent, "POST", "/api/v1/push", { users: uids, msgId: "held", message: "m", timeout: 2500 });
      for (const user of users) await user.message(0);
      process.kill(victim, "SIGKILL");
      const res = await pending;
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json.acked, [], res.text);
      assert.equal(res.json.complete, false, res.text);
      // Nobody acked: every user is reported as timed out, the killed worker's users included.
      assert.deepEqual([...res.json.timedOut].sort(), [...onTaker, ...onVictim].sort(), res.text);
    } finally {
      agent.destroy();
    }

    // The victim's users come back by themselves, logged in again, and get (and ack) pushes.
    const victimUsers = users.filter((user) => onVictim.includes(user.socket.auth.uid));
    await eventually(() => victimUsers.every((user) => user.reconnects > 0 && user.socket.connected), "the killed worker's users reconnected", 10_000);
    for (const user of users) user.ackMode = "auto";
    await eventually(async () => {
      const after = await call(herald, "/api/v1/push", { users: uids, msgId: `again-${Date.now()}`, message: "m", timeout: 1500 }, { as: "json" });
      return after.json?.complete === true && after.json.acked.length === USERS;
    }, "every user reachable and acking again", 10_000);
    assert.ok(onVictim.length > 0 && victimUsers.length === onVictim.length, "the killed worker had users");
    // The replacement serves on the port (each request on a new connection, spread by the kernel).
    await eventually(async () => {
      const pid = (await request(false, "GET", "/health")).json.pid;
      return pid !== victim && !workers.includes(pid);
    }, "a replacement worker answering", 10_000);
  });
});
