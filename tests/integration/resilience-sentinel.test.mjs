// Redis behind Sentinel: a master, a replica and three sentinels (down-after 1 s), two herald nodes
// that find the master through the sentinels. The master is SIGKILLed while a cross-node acked push
// goes out every 250 ms: pushes are acked again within 15 s of the kill and every push after that
// is acked, /ready names the new master, each node sends one alert for the failover and one
// recovery notice, and no herald process dies. A graceful failover (SENTINEL FAILOVER) leaves the
// old master running as a replica: the nodes leave it and follow the new master.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { scrape, startWebhookReceiver } from "./lib/alerts.mjs";
import { HEARTBEAT_MS, readiness, waitReady } from "./lib/cluster.mjs";
import { Users, call, eventually, performance, sleep, startHerald, uniq } from "./lib/herald.mjs";
import { MASTER_NAME, clientOn, startSentinels } from "./lib/redis-ha.mjs";

const PUSH_EVERY_MS = 250;
const RECOVERY_LIMIT_MS = 15_000;

let set;
let hooks;
let A;
let B;
const users = new Users();

before(async () => {
  set = await startSentinels();
  hooks = await startWebhookReceiver();
  const flags = (name) => [
    "--redis-sentinels", set.addresses,
    "--redis-master-name", MASTER_NAME,
    "--node-heartbeat-ms", String(HEARTBEAT_MS),
    "--alert-webhook", hooks.url,
    "--node-name", name,
  ];
  A = await startHerald(flags("sentinel-a"));
  B = await startHerald(flags("sentinel-b"));
  await waitReady([A, B]);
});

after(async () => {
  users.closeAll();
  await A?.stop();
  await B?.stop();
  await hooks?.close();
  await set?.stop();
});

/** A cross-node acked push from `node` to `uid`: { at, acked, text }, never throws. */
async function crossPush(node, uid, msgId) {
  const at = performance.now();
  try {
    const res = await call(node, "/api/v1/push", { users: [uid], msgId, message: msgId, timeout: 1000 }, { as: "json", timeout: 4000 });
    return { at, acked: Array.isArray(res.json?.acked) && res.json.acked.includes(uid), text: res.text };
  } catch (error) {
    return { at, acked: false, text: String(error) };
  }
}

/** Pushes every 250 ms from A to `uid` (on B) until stop(); the results in order. */
function pushLoop(uid, prefix) {
  const results = [];
  let n = 0;
  const timer = setInterval(() => results.push(crossPush(A, uid, `${prefix}${++n}`)), PUSH_EVERY_MS);
  return {
    async stop() {
      clearInterval(timer);
      return Promise.all(results);
    },
  };
}

async function serverOf(node) {
  return (await readiness(node)).redis?.server;
}

describe("Redis Sentinel", () => {
  it("/ready names the master the sentinels give", { timeout: 10_000 }, async () => {
    const master = await set.masterAddress();
    for (const node of [A, B]) {
      const ready = await readiness(node);
      assert.equal(ready.status, "ready", JSON.stringify(ready));
      assert.equal(ready.redis?.mode, "sentinel", JSON.stringify(ready));
      assert.equal(ready.redis?.server, master, JSON.stringify(ready));
      assert.equal(ready.redis?.role, "master", JSON.stringify(ready));
    }
  });

  it("the master SIGKILLed under cross-node acked pushes: acked again within 15 s, then every push", { timeout: 60_000 }, async (t) => {
    const uid = uniq("s");
    await users.login(B, uid);
    const first = await crossPush(A, uid, "before");
    assert.ok(first.acked, `cross-node push before the failover: ${first.text}`);

    const loop = pushLoop(uid, "k");
    await sleep(1000);
    const oldMaster = set.master.address;
    const killAt = performance.now();
    await set.master.kill();
    // Pushes acked again: the first one sent after the kill that was acked.
    let results;
    let promotedIn;
    try {
      await eventually(async () => (await set.masterAddress()) !== oldMaster, "the sentinels to promote the replica", RECOVERY_LIMIT_MS);
      promotedIn = performance.now() - killAt;
      await eventually(async () => (await serverOf(A)) === set.replica.address && (await serverOf(B)) === set.replica.address,
        "both nodes to use the new master", RECOVERY_LIMIT_MS);
      await sleep(3000); // pushes after the recovery
    } finally {
      results = await loop.stop();
    }
    const afterKill = results.filter((r) => r.at > killAt);
    const firstAcked = afterKill.findIndex((r) => r.acked);
    assert.ok(firstAcked >= 0, `a push acked after the kill: ${JSON.stringify(afterKill.slice(-3))}`);
    const recoveredIn = afterKill[firstAcked].at - killAt;
    assert.ok(recoveredIn < RECOVERY_LIMIT_MS, `acked again ${Math.round(recoveredIn)} ms after the kill`);
    t.diagnostic(`sentinels promoted the replica ${Math.round(promotedIn)} ms after the kill; acked again ${Math.round(recoveredIn)} ms after the kill; ${afterKill.length - firstAcked} pushes after that, all acked`);
    const lost = afterKill.slice(firstAcked).filter((r) => !r.acked);
    assert.deepEqual(lost, [], `every push after the first acked one is acked (recovered ${Math.round(recoveredIn)} ms after the kill)`);
    assert.ok(afterKill.length - firstAcked >= 8, `pushes after the recovery: ${afterKill.length - firstAcked}`);

    for (const node of [A, B]) {
      assert.equal(node.exited(), null, "no herald process died");
      await eventually(async () => (await scrape(node)).get("herald_redis_failovers_total") >= 1, "the failover counted in /metrics", 5000);
      const ready = await readiness(node);
      assert.equal(ready.status, "ready", JSON.stringify(ready));
      assert.equal(ready.redis.server, set.replica.address, "/ready names the new master");
    }
    // One alert for the failover and one recovery notice per node.
    for (const name of ["sentinel-a", "sentinel-b"]) {
      await eventually(() => hooks.from(name).some((r) => r.json.state === "recovered"), `${name}'s recovery notice`, 5000);
      const states = hooks.from(name).map((r) => `${r.json.kind}:${r.json.state}`);
      assert.deepEqual(states, ["redis_unreachable:alert", "redis_unreachable:recovered"], `${name}: ${JSON.stringify(hooks.from(name).map((r) => r.json))}`);
      const [alert, recovered] = hooks.from(name);
      assert.ok(alert.json.text.includes(oldMaster), `the alert names the lost master: ${alert.json.text}`);
      assert.ok(recovered.json.text.includes(set.replica.address), `the recovery names the new master: ${recovered.json.text}`);
    }
  });

  it("the old master comes back as a replica; a graceful failover to it: the nodes leave the demoted master", { timeout: 60_000 }, async () => {
    const uid = uniq("g");
    await users.login(B, uid);
    const demoted = set.replica; // the master since the previous test
    const back = set.master; // killed in the previous test
    // It comes back as a replica of the master now, as the sentinels would make it.
    await back.start(["--replicaof", "127.0.0.1", String(demoted.port)]);
    const backClient = await clientOn(back.address);
    const demotedClient = await clientOn(demoted.address);
    try {
      await eventually(async () => (await backClient.info("replication")).includes("master_link_status:up"),
        "the old master to come back as a replica", 20_000);
      assert.equal(await serverOf(A), demoted.address, "no node went to the returning server");
      const loop = pushLoop(uid, "g");
      let results;
      try {
        await eventually(async () => {
          try {
            await set.failover();
            return true;
          } catch {
            return false; // not yet: the replica must be known good first
          }
        }, "SENTINEL FAILOVER to be accepted", 20_000);
        await eventually(async () => (await serverOf(A)) === back.address && (await serverOf(B)) === back.address,
          "both nodes on the promoted server", 20_000);
        await sleep(2000);
      } finally {
        results = await loop.stop();
      }
      const clients = await demotedClient.sendCommand(["CLIENT", "LIST"]);
      assert.doesNotMatch(clients, /name=herald-/, `no herald connection left on the demoted master:\n${clients}`);
      const last = results.slice(-5);
      assert.ok(last.every((r) => r.acked), `the pushes after the failover are acked: ${JSON.stringify(last)}`);
      for (const node of [A, B]) assert.equal(node.exited(), null, "no herald process died");
    } finally {
      await Promise.allSettled([backClient.disconnect(), demotedClient.disconnect()]);
    }
  });
});
