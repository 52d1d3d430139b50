// Redis high-availability setups for the tests, from Debian's redis-server: a master with a
// replica watched by three sentinels (`redis-server <conf> --sentinel`), and a Redis Cluster of
// masters (--cluster-enabled yes, joined by `redis-cli --cluster create`). Every server runs on a
// free loopback port with no persistence, in a temporary directory removed by stop().

import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { createClient } from "redis";
import { eventually } from "./herald.mjs";
import { REDIS_SERVER } from "./cluster.mjs";
import { canConnect, killOnExit } from "./processes.mjs";
import { freePort } from "./server.mjs";
import { sleep, withTimeout } from "./wait.mjs";

export const REDIS_CLI = process.env.REDIS_CLI || "/usr/bin/redis-cli";
export const MASTER_NAME = "heraldmaster";
const run = promisify(execFile);

/** A free port whose cluster bus port (port + 10000) is free too. */
async function freeClusterPort() {
  for (;;) {
    const port = await freePort();
    if (port <= 55535 && (await portFree(port + 10000))) return port;
  }
}

function portFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/**
 * One redis-server (or sentinel) process: `args` after the optional config file. Resolves once it
 * accepts connections. Returns { port, address, start(), kill(), alive(), output() }.
 */
async function spawnRedis(port, args, what) {
  const server = {
    port,
    address: `127.0.0.1:${port}`,
    child: null,
    out: "",
    output: () => server.out,
    alive: () => server.child !== null && server.child.exitCode === null && server.child.signalCode === null,
    /** Starts it (again, after kill(): same port, same arguments plus `extra`). */
    async start(extra = []) {
      const child = killOnExit(spawn(REDIS_SERVER, [...args, ...extra], { stdio: ["ignore", "pipe", "pipe"] }));
      server.child = child;
      child.stdout.setEncoding("utf8");
      child.stderr.setEncoding("utf8");
      child.stdout.on("data", (d) => (server.out = (server.out + d).slice(-8000)));
      child.stderr.on("data", (d) => (server.out = (server.out + d).slice(-8000)));
      const deadline = Date.now() + 5000;
      while (!(await canConnect(port))) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited at start\n${server.out}`);
        if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port}\n${server.out}`);
        await sleep(20);
      }
    },
    async kill(signal = "SIGKILL") {
      const child = server.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill(signal);
      await withTimeout(exited, 3000, `${what} to exit`);
    },
  };
  await server.start();
  return server;
}

const plain = (port) => ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];

/** A node `redis` client on host:port that reconnects quickly and does not throw on errors. */
export async function clientOn(address) {
  const client = createClient({ url: `redis://${address}`, socket: { reconnectStrategy: (n) => Math.min(50 * n, 300) } });
  client.on("error", () => {});
  await client.connect();
  return client;
}

// ---------------------------------------------------------------------------
// Sentinel
// ---------------------------------------------------------------------------

/**
 * A master, one replica and three sentinels (quorum 2, down-after 1 s), once every sentinel knows
 * the replica and the two other sentinels. Returns { master, replica, sentinels, addresses
 * ("host:port,..." of the sentinels), masterAddress() (what the sentinels say now), stop() }.
 */
export async function startSentinels() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "herald-sentinel-"));
  const masterPort = await freePort();
  const master = await spawnRedis(masterPort, [...plain(masterPort), "--dir", dir], "redis master");
  const replicaPort = await freePort();
  const replica = await spawnRedis(
    replicaPort,
    [...plain(replicaPort), "--dir", dir, "--replicaof", "127.0.0.1", String(masterPort)],
    "redis replica",
  );
  const sentinels = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const conf = path.join(dir, `sentinel-${i}.conf`);
    fs.writeFileSync(
      conf,
      [
        `port ${port}`,
        "bind 127.0.0.1",
        `dir ${dir}`,
        `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${masterPort} 2`,
        `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
        `sentinel failover-timeout ${MASTER_NAME} 3000`,
        `sentinel parallel-syncs ${MASTER_NAME} 1`,
        "",
      ].join("\n"),
    );
    sentinels.push(await spawnRedis(port, [conf, "--sentinel"], `sentinel ${i}`));
  }
  const clients = await Promise.all(sentinels.map((s) => clientOn(s.address)));
  // Sentinels find the replica and each other through the master (hello messages every 2 s).
  await eventually(
    async () => {
      for (const client of clients) {
        const info = await client.sendCommand(["SENTINEL", "MASTER", MASTER_NAME]);
        const fields = Object.fromEntries(info.reduce((pairs, v, i) => (i % 2 ? pairs : [...pairs, [v, info[i + 1]]]), []));
        if (Number(fields["num-slaves"]) < 1 || Number(fields["num-other-sentinels"]) < 2) return false;
      }
      return true;
    },
    "the sentinels to know the replica and each other",
    15_000,
  );
  return {
    master,
    replica,
    sentinels,
    addresses: sentinels.map((s) => s.address).join(","),
    /** Asks a sentinel for a failover now (SENTINEL FAILOVER: the master stays up, as a replica). */
    async failover() {
      return clients[0].sendCommand(["SENTINEL", "FAILOVER", MASTER_NAME]);
    },
    async masterAddress() {
      for (const client of clients) {
        try {
          const [host, port] = await client.sendCommand(["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME]);
          return `${host}:${port}`;
        } catch {
          // ask the next one
        }
      }
      return null;
    },
    async stop() {
      await Promise.allSettled(clients.map((c) => c.disconnect()));
      for (const server of [...sentinels, replica, master]) await server.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------
// Redis Cluster
// ---------------------------------------------------------------------------

/** The hash slot of a key (CRC16/XMODEM of the key or of its {hash tag}, mod 16384). */
export function keySlot(key) {
  const open = key.indexOf("{");
  if (open >= 0) {
    const close = key.indexOf("}", open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(key)) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

/**
 * `count` masters (no replicas) joined by `redis-cli --cluster create`, once every node says
 * cluster_state:ok. Returns { nodes, addresses ("host:port,..."), stop() }.
 */
export async function startRedisCluster(count = 3) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "herald-rcluster-"));
  const nodes = [];
  for (let i = 0; i < count; i++) {
    const port = await freeClusterPort();
    const nodeDir = path.join(dir, String(i));
    fs.mkdirSync(nodeDir);
    nodes.push(
      await spawnRedis(
        port,
        [...plain(port), "--dir", nodeDir, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
          "--cluster-node-timeout", "2000"],
        `cluster node ${i}`,
      ),
    );
  }
  const addresses = nodes.map((n) => n.address);
  await run(REDIS_CLI, ["--cluster", "create", ...addresses, "--cluster-replicas", "0", "--cluster-yes"], { timeout: 20_000 });
  await eventually(
    async () => {
      for (const node of nodes) {
        const { stdout } = await run(REDIS_CLI, ["-p", String(node.port), "CLUSTER", "INFO"]);
        if (!stdout.includes("cluster_state:ok")) return false;
      }
      return true;
    },
    "the Redis Cluster to be ok",
    15_000,
  );
  const cli = async (node, ...args) => (await run(REDIS_CLI, ["-p", String(node.port), ...args])).stdout.trim();
  const nodeId = (node) => cli(node, "CLUSTER", "MYID");
  return {
    nodes,
    addresses: addresses.join(","),
    /** The node serving `slot` now. */
    async ownerOf(slot) {
      const { stdout } = await run(REDIS_CLI, ["-p", String(nodes[0].port), "CLUSTER", "SLOTS"]);
      const lines = stdout.trim().split("\n");
      // Groups: first slot, last slot, then host, port, id of the master (and replicas).
      for (let i = 0; i + 4 < lines.length; ) {
        const first = Number(lines[i]);
        const last = Number(lines[i + 1]);
        const port = Number(lines[i + 3]);
        if (slot >= first && slot <= last) return nodes.find((n) => n.port === port);
        i += 5;
        while (i < lines.length && !/^\d+$/.test(lines[i])) i++;
      }
      throw new Error(`no owner for slot ${slot}:\n${stdout}`);
    },
    /**
     * Moves `slot` (and its keys) from its master to `to`, as a resharding does (MIGRATING /
     * IMPORTING / MIGRATE, then SETSLOT NODE). `midway` runs once the keys moved and before the
     * slot does: commands then get ASK redirections.
     */
    async moveSlot(slot, to, midway = async () => {}) {
      const from = await this.ownerOf(slot);
      if (from === to) return;
      const [fromId, toId] = [await nodeId(from), await nodeId(to)];
      await cli(to, "CLUSTER", "SETSLOT", String(slot), "IMPORTING", fromId);
      await cli(from, "CLUSTER", "SETSLOT", String(slot), "MIGRATING", toId);
      for (;;) {
        const keys = (await cli(from, "CLUSTER", "GETKEYSINSLOT", String(slot), "100")).split("\n").filter(Boolean);
        if (keys.length === 0) break;
        await cli(from, "MIGRATE", "127.0.0.1", String(to.port), "", "0", "5000", "KEYS", ...keys);
      }
      await midway();
      for (const node of nodes) await cli(node, "CLUSTER", "SETSLOT", String(slot), "NODE", toId);
    },
    async stop() {
      for (const node of nodes) await node.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
