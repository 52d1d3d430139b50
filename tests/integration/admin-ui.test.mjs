// The official Socket.IO Admin UI's server protocol (@socket.io/admin-ui 0.5) on herald's /admin
// namespace, driven by a real socket.io-client as the UI's page drives it: the login (a password
// in the clear or a bcrypt hash, a session id after), config, server_stats with the server's real
// figures, all_sockets, the socket, room and event notices, the commands reaching real clients,
// read-only mode, a server without login, and the UI's page at /admin/.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { io } from "socket.io-client";
import { NSP, T, call, startHerald } from "./lib/herald.mjs";
import { REPO_ROOT } from "./lib/server.mjs";
import { EventQueue, expectQuietFor, waitForEvent } from "./lib/wait.mjs";

const USER = "admin";
const PASSWORD = "s3cret-pass";
// bcryptjs.hashSync("s3cret-pass", 4): the package's own hashing, independent of herald's libxcrypt.
const HASH_2A = "$2a$04$M4ukUNhRBEkz1QuZeFqIXOuUcPh1tnLdnOJDkk0biUtuWWE9nDL2e";
const HASH_2Y = `$2y$${HASH_2A.slice(4)}`; // the same hash as PHP's password_hash writes it
const ALL_FEATURES = ["EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS", "ALL_EVENTS"];
const ADMIN_EVENTS = ["session", "config", "all_sockets", "server_stats", "socket_connected", "socket_updated",
  "socket_disconnected", "room_joined", "room_left", "event_received", "event_sent"];
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const STATS_WAIT = 5000; // stats come every 2 s

const sockets = [];
afterEach(() => sockets.splice(0).forEach((s) => s.disconnect()));

/** A socket.io-client socket to `server` that the test disconnects at the end. */
function client(server, nsp, options = {}) {
  const socket = io(`${server.url}${nsp}`, { forceNew: true, reconnection: false, transports: ["websocket"], ...options });
  sockets.push(socket);
  return socket;
}

/** The UI's connection: every admin event queued from the start, as the page registers them. */
function admin(server, auth, options = {}) {
  const socket = client(server, "/admin", { auth, ...options });
  socket.queues = Object.fromEntries(ADMIN_EVENTS.map((event) => [event, new EventQueue(socket, event)]));
  return socket;
}

async function connected(socket) {
  await waitForEvent(socket, "connect", { failOn: ["connect_error"] });
  return socket;
}

async function refused(socket) {
  const [error] = await waitForEvent(socket, "connect_error", { failOn: ["connect"] });
  return error.message;
}

/** The next `event` whose arguments `match` accepts (others are dropped). */
async function nextMatching(queue, match, timeout = STATS_WAIT) {
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

async function pidOf(server) {
  return (await call(server, "/health", undefined, { method: "GET" })).json.pid;
}

describe("admin UI with a password in the clear", () => {
  let server;
  before(async () => {
    server = await startHerald(["--admin-ui", "true", "--admin-user", USER, "--admin-password", PASSWORD]);
  });
  after(() => server?.stop());

  it("refuses a wrong password, a wrong user and no credentials with the package's error", T, async () => {
    assert.equal(await refused(admin(server, { username: USER, password: "wrong" })), "invalid credentials");
    assert.equal(await refused(admin(server, { username: "root", password: PASSWORD })), "invalid credentials");
    assert.equal(await refused(admin(server, {})), "invalid credentials");
    assert.equal(await refused(admin(server, { sessionId: "0123456789abcdef" })), "invalid credentials");
    const metrics = await call(server, "/metrics", undefined, { method: "GET" });
    assert.match(metrics.text, /^herald_admin_logins_total\{result="refused"\} 4$/m);
  });

  it("logs in, then sends session, config and all_sockets; the session id logs in again", T, async () => {
    const ui = await connected(admin(server, { username: USER, password: PASSWORD }));
    const [session] = await ui.queues.session.next();
    assert.match(session, /^[0-9a-f]{16}$/);
    const [config] = await ui.queues.config.next();
    assert.deepEqual(config, { supportedFeatures: ALL_FEATURES });
    const [all] = await ui.queues.all_sockets.next();
    assert.ok(Array.isArray(all));
    assert.ok(all.some((s) => s.id === ui.id && s.nsp === "/admin"), "the UI's own socket is listed");
    const again = await connected(admin(server, { sessionId: session }));
    assert.deepEqual((await again.queues.config.next())[0], config);
    assert.equal(again.queues.session.items.length, 0, "no new session for a session login");
  });

  it("sends server_stats every 2 s with the server's figures", { timeout: 20_000 }, async () => {
    const a = await connected(client(server, NSP));
    const b = await connected(client(server, NSP));
    const polling = await connected(client(server, NSP, { transports: ["polling"] }));
    const ui = await connected(admin(server, { username: USER, password: PASSWORD }));
    const pid = await pidOf(server);
    // 3 app clients and the UI's own: 4 Engine.IO clients, one of them on long-polling.
    const [stats] = await nextMatching(ui.queues.server_stats, (s) => s.clientsCount === 4 && s.pollingClientsCount === 1);
    assert.deepEqual(Object.keys(stats).sort(), ["aggregatedEvents", "clientsCount", "hostname", "namespaces", "pid",
      "pollingClientsCount", "serverId", "uptime"]);
    assert.equal(stats.hostname, os.hostname());
    assert.equal(stats.serverId, os.hostname());
    assert.equal(stats.pid, pid);
    assert.ok(stats.uptime > 0 && stats.uptime < 120, `uptime ${stats.uptime}`);
    const byName = Object.fromEntries(stats.namespaces.map((n) => [n.name, n.socketsCount]));
    assert.equal(byName[NSP], 3);
    assert.equal(byName["/admin"], 1);
    assert.equal(byName["/"], 0);
    for (const event of stats.aggregatedEvents) {
      assert.ok(["rawConnection", "rawDisconnection", "packetsIn", "packetsOut", "bytesIn", "bytesOut"].includes(event.type));
      assert.ok(Number.isInteger(event.timestamp) && event.timestamp % 1000 === 0 && event.count > 0, JSON.stringify(event));
    }
    // Traffic is counted: messages both ways make packetsIn/packetsOut of the next stats.
    a.emit("ping-me", "x".repeat(1000));
    const [later] = await nextMatching(ui.queues.server_stats, (s) =>
      s.aggregatedEvents.some((e) => e.type === "bytesIn" && e.count >= 1000));
    assert.ok(later.aggregatedEvents.some((e) => e.type === "packetsIn" && e.count >= 1));
    b.disconnect();
    polling.disconnect();
    const [gone] = await nextMatching(ui.queues.server_stats, (s) =>
      s.clientsCount === 2 && s.pollingClientsCount === 0 &&
      s.aggregatedEvents.some((e) => e.type === "rawDisconnection" && e.subType === "transport close"));
    assert.equal(gone.namespaces.find((n) => n.name === NSP).socketsCount, 1);
    a.disconnect();
  });

  it("lists every socket in all_sockets as the package serializes them", T, async () => {
    const app = await connected(client(server, NSP, { query: { version: "7" } }));
    const ui = await connected(admin(server, { username: USER, password: PASSWORD }));
    const [all] = await ui.queues.all_sockets.next();
    const mine = all.find((s) => s.id === app.id);
    assert.ok(mine, `${app.id} in ${JSON.stringify(all)}`);
    assert.deepEqual(Object.keys(mine).sort(), ["clientId", "data", "handshake", "id", "nsp", "rooms", "transport"]);
    assert.equal(mine.nsp, NSP);
    assert.equal(mine.transport, "websocket");
    assert.equal(mine.clientId, app.io.engine.id.slice(-12));
    assert.deepEqual(mine.rooms, [app.id]);
    assert.equal(mine.handshake.address, "127.0.0.1");
    assert.equal(mine.handshake.query.version, "7");
    assert.equal(mine.handshake.query.EIO, "4");
    assert.ok(Math.abs(mine.handshake.issued - Date.now()) < 60_000, `issued ${mine.handshake.issued}`);
    assert.ok(!Number.isNaN(new Date(mine.handshake.issued).getTime()));
    app.disconnect();
  });

  it("tells the UI of sockets connecting, upgrading, joining, leaving, emitting and disconnecting", T, async () => {
    const ui = await connected(admin(server, { username: USER, password: PASSWORD }));
    await ui.queues.config.next();
    const app = client(server, NSP, { transports: ["polling", "websocket"] });
    await connected(app);
    const [socket, at] = await nextMatching(ui.queues.socket_connected, (s) => s.id === app.id);
    assert.equal(socket.nsp, NSP);
    assert.match(at, ISO_TIME);
    assert.deepEqual(socket.rooms, [app.id]);
    const [update] = await nextMatching(ui.queues.socket_updated, (s) => s.id === app.id);
    assert.deepEqual(update, { id: app.id, nsp: NSP, transport: "websocket" });
    // An event from the client, with its arguments.
    app.emit("hello", { a: 1 }, [2]);
    const [nsp, id, args, when] = await nextMatching(ui.queues.event_received, (n, i) => i === app.id);
    assert.deepEqual([nsp, id, args], [NSP, app.id, ["hello", { a: 1 }, [2]]]);
    assert.match(when, ISO_TIME);
    // Rooms through the UI's commands: the notices come back, and the room reaches the client.
    ui.emit("join", NSP, "news", app.id);
    assert.deepEqual((await nextMatching(ui.queues.room_joined, (n, r, i) => i === app.id)).slice(0, 3), [NSP, "news", app.id]);
    ui.emit("leave", NSP, "news", app.id);
    assert.deepEqual((await nextMatching(ui.queues.room_left, (n, r, i) => i === app.id)).slice(0, 3), [NSP, "news", app.id]);
    const appId = app.id; // the client forgets it once disconnected
    app.disconnect();
    const [dnsp, did, reason, dat] = await nextMatching(ui.queues.socket_disconnected, (n, i) => i === appId);
    assert.deepEqual([dnsp, did, reason], [NSP, appId, "client namespace disconnect"]);
    assert.match(dat, ISO_TIME);
  });

  it("applies emit, join, leave and _disconnect to real clients", T, async () => {
    const ui = await connected(admin(server, { username: USER, password: PASSWORD }));
    await ui.queues.config.next();
    const app = await connected(client(server, NSP));
    const other = await connected(client(server, NSP));
    // emit to one socket (its id as the filter), with several arguments.
    const got = waitForEvent(app, "notice");
    ui.emit("emit", NSP, app.id, "notice", "first", { n: 2 });
    // (a third argument is the recovery offset, as socket.io adds to broadcasts with recovery on)
    assert.deepEqual((await got).slice(0, 2), ["first", { n: 2 }]);
    // join the room, then emit to the room: only the member gets it.
    ui.emit("join", NSP, "ops", app.id);
    await nextMatching(ui.queues.room_joined, (n, r, i) => i === app.id && r === "ops");
    const otherGot = new EventQueue(other, "to-ops");
    const inRoom = waitForEvent(app, "to-ops");
    ui.emit("emit", NSP, "ops", "to-ops", 42);
    assert.equal((await inRoom)[0], 42);
    // leave, then an emit to the whole namespace (no filter) still reaches both.
    ui.emit("leave", NSP, "ops", app.id);
    await nextMatching(ui.queues.room_left, (n, r, i) => i === app.id && r === "ops");
    const both = [waitForEvent(app, "all"), waitForEvent(other, "all")];
    ui.emit("emit", NSP, undefined, "all", "x");
    assert.deepEqual((await Promise.all(both)).map(([x]) => x), ["x", "x"]);
    assert.equal(otherGot.items.length, 0, "the room's emit reached only its member");
    // _disconnect without closing: the socket leaves the namespace, as socket.disconnect(false).
    const bye = waitForEvent(app, "disconnect");
    const appId = app.id;
    ui.emit("_disconnect", NSP, false, appId);
    assert.equal((await bye)[0], "io server disconnect");
    await nextMatching(ui.queues.socket_disconnected, (n, i, reason) => i === appId && reason === "server namespace disconnect");
    // Commands with bad arguments do nothing (and break nothing).
    ui.emit("emit", 42, null);
    ui.emit("join", "/nowhere", "r");
    ui.emit("_disconnect");
    const still = waitForEvent(other, "alive");
    ui.emit("emit", NSP, other.id, "alive", true);
    assert.equal((await still)[0], true);
  });
});

describe("admin UI with a bcrypt hash, read-only", () => {
  let server;
  before(async () => {
    server = await startHerald(["--admin-ui", "true", "--admin-user", USER, "--admin-password", HASH_2A,
      "--admin-read-only", "true"]);
  });
  after(() => server?.stop());

  it("checks the password against the hash", T, async () => {
    assert.equal(await refused(admin(server, { username: USER, password: "s3cret-pas" })), "invalid credentials");
    assert.equal(await refused(admin(server, { username: USER, password: HASH_2A })), "invalid credentials");
    const ui = await connected(admin(server, { username: USER, password: PASSWORD }));
    assert.match((await ui.queues.session.next())[0], /^[0-9a-f]{16}$/);
  });

  it("announces no command and takes none", T, async () => {
    const ui = await connected(admin(server, { username: USER, password: PASSWORD }));
    const [config] = await ui.queues.config.next();
    assert.deepEqual(config, { supportedFeatures: ["AGGREGATED_EVENTS", "ALL_EVENTS"] });
    const app = await connected(client(server, NSP));
    const emitted = new EventQueue(app, "notice");
    ui.emit("emit", NSP, app.id, "notice", 1);
    ui.emit("join", NSP, "ops", app.id);
    ui.emit("_disconnect", NSP, true, app.id);
    // A second UI asks for the sockets after the commands: the room was not joined.
    const check = await connected(admin(server, { username: USER, password: PASSWORD }));
    const [all] = await check.queues.all_sockets.next();
    assert.deepEqual(all.find((s) => s.id === app.id)?.rooms, [app.id]);
    await expectQuietFor(200, "a command of the UI taking effect");
    assert.equal(emitted.items.length, 0, "no emit reached the client");
    assert.ok(app.connected, "the client was not disconnected");
    assert.equal(ui.queues.room_joined.items.length, 0);
  });
});

describe("admin UI with a $2y$ hash, production mode", () => {
  let server;
  before(async () => {
    server = await startHerald(["--admin-ui", "true", "--admin-user", USER, "--admin-password", HASH_2Y,
      "--admin-mode", "production"]);
  });
  after(() => server?.stop());

  it("takes PHP's $2y$ form, and in production mode sends the figures but nothing per socket", T, async () => {
    const ui = await connected(admin(server, { username: USER, password: PASSWORD }));
    const [config] = await ui.queues.config.next();
    assert.deepEqual(config, { supportedFeatures: ALL_FEATURES.filter((f) => f !== "ALL_EVENTS") });
    const app = await connected(client(server, NSP));
    const [stats] = await nextMatching(ui.queues.server_stats, (s) => s.clientsCount === 2);
    assert.equal(stats.namespaces.find((n) => n.name === NSP).socketsCount, 1);
    app.emit("hello");
    app.disconnect();
    await nextMatching(ui.queues.server_stats, (s) => s.clientsCount === 1);
    for (const event of ["all_sockets", "socket_connected", "socket_disconnected", "event_received"])
      assert.equal(ui.queues[event].items.length, 0, `no ${event} in production mode`);
  });
});

describe("admin UI without a user", () => {
  let server;
  before(async () => {
    server = await startHerald(["--admin-ui", "true"]);
  });
  after(() => server?.stop());

  it("asks for no login and says so in the log as a warning", T, async () => {
    const ui = await connected(admin(server, undefined));
    assert.deepEqual((await ui.queues.config.next())[0], { supportedFeatures: ALL_FEATURES });
    assert.equal(ui.queues.session.items.length, 0);
    assert.match(server.stderr(), /warn.*admin UI: no admin_user is set/i);
  });

  it("serves the UI's page at /admin/, and nothing outside its files", T, async () => {
    const page = await fetch(`${server.url}/admin/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type"), /^text\/html/);
    const html = await page.text();
    assert.match(html, /<title>Socket\.IO Admin UI<\/title>/);
    const script = html.match(/src="(js\/app\.[0-9a-f]+\.js)"/)[1];
    const js = await fetch(`${server.url}/admin/${script}`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get("content-type"), /javascript/);
    assert.ok((await js.text()).includes("server_stats"));
    const bare = await fetch(`${server.url}/admin`, { redirect: "manual" });
    assert.equal(bare.status, 301);
    assert.equal(bare.headers.get("location"), "/admin/");
    for (const p of ["/admin/nothing.js", "/admin/..%2f..%2fREADME.md", "/admin/../README.md", "/administrator"])
      assert.equal((await fetch(`${server.url}${p}`)).status, 404, p);
    assert.equal((await fetch(`${server.url}/admin/`, { method: "POST", body: "x" })).status, 405);
  });
});

describe("admin UI settings", () => {
  /** herald's exit code and output for `args` (it must stop at once). */
  function run(args) {
    const bin = (process.env.HERALD_BIN ?? "").trim() || "build/herald";
    return new Promise((resolve) => {
      execFile(path.resolve(REPO_ROOT, bin), ["--host", "127.0.0.1", "--port", "0", ...args], { timeout: 5000 },
        (error, stdout, stderr) => resolve({ code: error?.code ?? 0, output: stdout + stderr }));
    });
  }

  it("refuses a user without a password, a bad hash, a bad mode and /admin as the push namespace", T, async () => {
    for (const [args, message] of [
      [["--admin-ui", "true", "--admin-user", USER], /admin_user and admin_password go together/],
      [["--admin-ui", "true", "--admin-user", USER, "--admin-password", `$2b$99$${HASH_2A.slice(7)}`],
        /admin_password: this bcrypt hash cannot be used/],
      [["--admin-ui", "true", "--push-namespace", "/admin"], /namespace \/admin is the push_namespace/],
      [["--admin-mode", "debug"], /admin_mode: expected development or production/],
      [["--admin-ui", "true", "--admin-ui-dir", "/nowhere"], /admin_ui_dir: no index\.html in \/nowhere/],
    ]) {
      const { code, output } = await run(args);
      assert.equal(code, 2, `${args.join(" ")}: ${output}`);
      assert.match(output, message);
    }
  });
});
