// The Admin UI across a 2-node cluster (real redis-server): a UI logged in on one node gets the
// server_stats of both nodes, the sockets of both in all_sockets, the other node's socket
// notices, and its commands act on a client of the other node.

import assert from "node:assert/strict";
import os from "node:os";
import { after, before, it } from "node:test";
import { io } from "socket.io-client";
import { startCluster } from "./lib/cluster.mjs";
import { NSP, T } from "./lib/herald.mjs";
import { EventQueue, waitForEvent } from "./lib/wait.mjs";

const USER = "admin";
const PASSWORD = "cluster-pass";
let cluster;
const sockets = [];

before(async () => {
  cluster = await startCluster(2, ["--admin-ui", "true", "--admin-user", USER, "--admin-password", PASSWORD]);
});
after(async () => {
  sockets.forEach((s) => s.disconnect());
  await cluster?.stop();
});

function client(node, nsp, options = {}) {
  const socket = io(`${node.url}${nsp}`, { forceNew: true, reconnection: false, transports: ["websocket"], ...options });
  sockets.push(socket);
  return socket;
}

async function connected(socket) {
  await waitForEvent(socket, "connect", { failOn: ["connect_error"] });
  return socket;
}

async function nextMatching(queue, match, timeout = 6000) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    const args = await queue.next(Math.max(1, deadline - Date.now())).catch((error) => {
      throw new Error(`${error.message}; the last was ${JSON.stringify(last)}`);
    });
    if (match(...args)) return args;
    last = args;
  }
}

it("shows both nodes' stats and sockets, and commands a client of the other node", { timeout: 20_000 }, async () => {
  const [a, b] = cluster.nodes;
  const onB = await connected(client(b, NSP));
  const ui = client(a, "/admin", { auth: { username: USER, password: PASSWORD } });
  const stats = new EventQueue(ui, "server_stats");
  const all = new EventQueue(ui, "all_sockets");
  const joined = new EventQueue(ui, "room_joined");
  const connectedNotices = new EventQueue(ui, "socket_connected");
  await connected(ui);

  // Every node sends its own stats through the cluster: both arrive on node A's UI, each with
  // its own figures (B holds the app's client, A the UI's).
  const seen = new Map();
  await nextMatching(stats, (s) => {
    seen.set(s.pid, s);
    return seen.get(a.pid)?.clientsCount === 1 && seen.get(b.pid)?.clientsCount === 1;
  });
  assert.equal(seen.get(a.pid).serverId, `${os.hostname()}#${a.pid}`);
  assert.equal(seen.get(b.pid).serverId, `${os.hostname()}#${b.pid}`);
  assert.equal(seen.get(b.pid).namespaces.find((n) => n.name === NSP).socketsCount, 1);
  assert.equal(seen.get(a.pid).namespaces.find((n) => n.name === "/admin").socketsCount, 1);

  // all_sockets gathers the other node's sockets too.
  const [list] = await all.next();
  const remote = list.find((s) => s.id === onB.id);
  assert.ok(remote, `${onB.id} in ${JSON.stringify(list)}`);
  assert.equal(remote.nsp, NSP);
  assert.equal(remote.transport, "websocket");
  assert.deepEqual(remote.rooms, [onB.id]);
  assert.equal(remote.handshake.query.EIO, "4");

  // A socket connecting to node B is told to the UI on node A.
  const late = await connected(client(b, NSP));
  await nextMatching(connectedNotices, (s) => s.id === late.id);

  // Commands from the UI on A reach the client on B: join (B tells the UI), emit to the room,
  // then disconnect.
  ui.emit("join", NSP, "cluster-room", onB.id);
  await nextMatching(joined, (nsp, room, id) => nsp === NSP && room === "cluster-room" && id === onB.id);
  const got = waitForEvent(onB, "cross");
  ui.emit("emit", NSP, "cluster-room", "cross", { from: "a" });
  assert.deepEqual((await got)[0], { from: "a" });
  const bye = waitForEvent(onB, "disconnect");
  ui.emit("_disconnect", NSP, false, onB.id);
  assert.equal((await bye)[0], "io server disconnect");
  assert.ok(late.connected, "the other client of node B stays");
});
