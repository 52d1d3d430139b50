// A Node.js socket.io 4.8 server with @socket.io/redis-adapter, the peer Herald nodes share a
// cluster with in the interop tests. Started by lib/cluster.mjs as
//   node node-peer.mjs <port> <redis url> <namespace>
// or, on a Redis Cluster with the sharded adapter (createShardedAdapter, node-redis' cluster client),
//   node node-peer.mjs <port> <host:port,...> <namespace> sharded
// and driven over IPC: { id, op, ...args } -> { id, result } or { id, error }.
// Clients log in as on Herald: login(uid) sets socket.data.uid and joins the room uid.

import http from "node:http";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import { createClient, createCluster } from "redis";
import { Server } from "socket.io";

const [portText, redisUrl, nspName, mode] = process.argv.slice(2);
const sharded = mode === "sharded";

const pubClient = sharded
  ? createCluster({ rootNodes: redisUrl.split(",").map((address) => ({ url: `redis://${address}` })) })
  : createClient({ url: redisUrl });
const subClient = pubClient.duplicate();
pubClient.on("error", (err) => console.error("redis pub error:", err.message));
subClient.on("error", (err) => console.error("redis sub error:", err.message));
await Promise.all([pubClient.connect(), subClient.connect()]);

const httpServer = http.createServer();
const adapter = sharded ? createShardedAdapter(pubClient, subClient) : createAdapter(pubClient, subClient);
const io = new Server(httpServer, { adapter, pingInterval: 2000, pingTimeout: 2000 });
const nsp = io.of(nspName);

// Every server-side event that reached this server, in order.
const serverSide = [];
const originalOnServerSideEmit = nsp._onServerSideEmit.bind(nsp);
nsp._onServerSideEmit = (args) => {
  serverSide.push(args.filter((a) => typeof a !== "function"));
  return originalOnServerSideEmit(args);
};
nsp.on("peer:ping", (payload, ack) => {
  if (typeof ack === "function") ack({ pong: payload });
});

nsp.on("connection", (socket) => {
  socket.on("login", (uid, ack) => {
    socket.data.uid = String(uid);
    socket.join(String(uid));
    if (typeof ack === "function") ack({ code: 0, msg: "login success" });
  });
});

function describeSocket(socket) {
  return { id: socket.id, rooms: [...socket.rooms].sort(), data: socket.data ?? null };
}

function target(args) {
  let op = nsp;
  if (args.rooms?.length) op = op.to(args.rooms);
  if (args.except?.length) op = op.except(args.except);
  return op;
}

const ops = {
  // Broadcast through the adapter (reaches every server of the cluster).
  emit: (args) => {
    target(args).emit(args.event, ...(args.args ?? []));
    return true;
  },
  // Broadcast with acknowledgements: one response per client of every server.
  ackEmit: (args) =>
    new Promise((resolve) => {
      target(args)
        .timeout(args.timeout ?? 2000)
        .emit(args.event, ...(args.args ?? []), (err, responses) => resolve({ error: err ? err.message : null, responses }));
    }),
  fetchSockets: async (args) => (await target(args).fetchSockets()).map(describeSocket),
  localSockets: () => [...nsp.sockets.values()].map(describeSocket),
  serverSideEmit: (args) => {
    nsp.serverSideEmit(args.event, ...(args.args ?? []));
    return true;
  },
  serverSideEmitWithAck: (args) =>
    new Promise((resolve) => {
      // The adapter's requestsTimeout (5 s) bounds the wait.
      nsp.serverSideEmit(args.event, ...(args.args ?? []), (err, responses) =>
        resolve({ error: err ? err.message : null, responses }),
      );
    }),
  serverSideEvents: () => serverSide,
  serverCount: () => nsp.adapter.serverCount(),
};

process.on("message", async (message) => {
  const { id, op, ...args } = message;
  try {
    if (!ops[op]) throw new Error(`unknown op ${op}`);
    const result = await ops[op](args);
    process.send({ id, result });
  } catch (err) {
    process.send({ id, error: err.stack || String(err) });
  }
});

process.on("SIGTERM", () => {
  io.close();
  Promise.allSettled([pubClient.disconnect(), subClient.disconnect()]).then(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
});

httpServer.listen(Number(portText), "127.0.0.1", () => process.send({ ready: true }));
