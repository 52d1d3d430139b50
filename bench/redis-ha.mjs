// Cross-node acked push rate and latency on one redis-server vs a 3-master Redis Cluster (sharded
// pub/sub): two herald nodes, USERS users logged in on node B (socket.io-client, acking at once),
// and CONCURRENCY callers pushing through node A's POST /api/v1/push {users: [uid]} (ack on) for
// SECONDS, each call waiting for the receipt. Prints acked pushes per second and the latency of
// the calls (p50 / p90 / p99 / max) for each setup.
//   node bench/redis-ha.mjs [--seconds 10] [--concurrency 32] [--users 200] [--rounds 2]
// Uses build/herald (or HERALD_BIN; 2 threads each, as the tests start it) and Debian's
// redis-server and redis-cli.

import { parseArgs } from "node:util";
import { startRedis } from "../tests/integration/lib/cluster.mjs";
import { Users, call, performance, startHerald, uniq } from "../tests/integration/lib/herald.mjs";
import { startRedisCluster } from "../tests/integration/lib/redis-ha.mjs";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    concurrency: { type: "string", default: "32" },
    users: { type: "string", default: "200" },
    rounds: { type: "string", default: "2" },
  },
});
const SECONDS = Number(values.seconds);
const CONCURRENCY = Number(values.concurrency);
const USERS = Number(values.users);
const ROUNDS = Number(values.rounds); // the setups take turns, so a busy moment of the machine hits both

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function measure(label, redisFlags) {
  const A = await startHerald(redisFlags);
  const B = await startHerald(redisFlags);
  const users = new Users();
  try {
    const uids = [];
    for (let i = 0; i < USERS; i++) {
      const uid = uniq("bench");
      await users.login(B, uid);
      uids.push(uid);
    }
    // Both nodes see each other once a push is acked.
    for (;;) {
      const res = await call(A, "/api/v1/push", { users: [uids[0]], msgId: uniq("w"), message: "warm", timeout: 1000 }, { as: "json" });
      if (res.json?.acked?.length === 1) break;
    }
    const latencies = [];
    let failed = 0;
    let n = 0;
    const end = performance.now() + SECONDS * 1000;
    const worker = async () => {
      while (performance.now() < end) {
        const uid = uids[n++ % uids.length];
        const res = await call(A, "/api/v1/push", { users: [uid], msgId: `b${n}`, message: "payload", timeout: 2000 }, { as: "json" });
        if (res.json?.acked?.length === 1) latencies.push(res.ms);
        else failed++;
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const elapsed = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const row = {
      setup: label,
      "acked/s": Math.round(latencies.length / elapsed),
      "p50 ms": quantile(latencies, 0.5).toFixed(2),
      "p90 ms": quantile(latencies, 0.9).toFixed(2),
      "p99 ms": quantile(latencies, 0.99).toFixed(2),
      "max ms": latencies[latencies.length - 1].toFixed(2),
      acked: latencies.length,
      "not acked": failed,
    };
    console.log(JSON.stringify(row));
    return row;
  } finally {
    users.closeAll();
    await A.stop();
    await B.stop();
  }
}

console.log(`${SECONDS} s, ${CONCURRENCY} concurrent callers, ${USERS} users on node B`);
const rows = [];
const single = await startRedis();
const rc = await startRedisCluster(3);
try {
  for (let round = 0; round < ROUNDS; round++) {
    rows.push(await measure("one redis-server", ["--redis", single.url]));
    rows.push(await measure("Redis Cluster, 3 masters (sharded)", ["--redis-cluster", rc.addresses]));
  }
} finally {
  await single.stop();
  await rc.stop();
}
console.table(rows);
process.exit(0);
