// The library as its users get it: `cmake --install <build>` into a prefix (headers under
// include/herald/, the CMake package, herald.pc), then examples/ built as a project of its own
// against that prefix (find_package(Herald)), and against herald.pc with the compiler alone. The
// echo server built that way passes the socket.io-client suite; the chat and push examples do
// what their comments promise, with the real socket.io-client.
//
// BUILD_DIR (default build) is the configured build tree; the prefix and the examples' build live
// in <BUILD_DIR>/packaging-test and are kept between runs, so a rerun only rebuilds what changed.

import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { io } from "socket.io-client";
import { killOnExit } from "../integration/lib/processes.mjs";
import { REPO_ROOT } from "../integration/lib/server.mjs";
import { waitForEvent, withTimeout } from "../integration/lib/wait.mjs";

const run = promisify(execFile);
const BUILD = path.resolve(REPO_ROOT, process.env.BUILD_DIR ?? "build");
const WORK = path.join(BUILD, "packaging-test");
const PREFIX = path.join(WORK, "prefix");
const EXAMPLES = path.join(WORK, "examples");
const BIG = { timeout: 20 * 60_000, maxBuffer: 64 << 20 };

async function sh(command, args, options = {}) {
  try {
    return await run(command, args, { ...BIG, ...options });
  } catch (e) {
    throw new Error(`${command} ${args.join(" ")} failed:\n${e.stdout ?? ""}\n${e.stderr ?? ""}`);
  }
}

before(async () => {
  await sh("cmake", ["--install", BUILD, "--prefix", PREFIX]);
  await sh("cmake", ["-S", path.join(REPO_ROOT, "examples"), "-B", EXAMPLES, "-G", "Ninja",
    "-DCMAKE_BUILD_TYPE=RelWithDebInfo", `-DCMAKE_PREFIX_PATH=${PREFIX}`, "-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"]);
  await sh("cmake", ["--build", EXAMPLES]);
});

/** Starts an example that prints its port on stdout; returns { port, stop() }. */
async function startExample(binary, args = ["0"]) {
  const child = killOnExit(spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] }));
  let output = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d) => (output += d));
  child.stdout.setEncoding("utf8");
  const port = await withTimeout(
    new Promise((resolve, reject) => {
      child.stdout.on("data", (d) => {
        const match = /^(\d+)$/m.exec(d);
        if (match) resolve(Number(match[1]));
      });
      child.once("exit", (code) => reject(new Error(`${binary} exited (${code}): ${output}`)));
    }),
    10_000,
    `${binary} to print its port`,
  );
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    stop() {
      child.kill("SIGTERM");
    },
  };
}

function client(url, auth) {
  const socket = io(url, { forceNew: true, reconnection: false, transports: ["websocket"], ...(auth ? { auth } : {}) });
  return socket;
}

describe("the installed library", () => {
  it("has the library's headers, CMake package and pkg-config file, and nothing of the server", async () => {
    for (const header of ["codec/json.hpp", "net/listener.hpp", "engineio/server.hpp", "socketio/server.hpp", "socketio/namespace.hpp"])
      assert.ok(fs.existsSync(path.join(PREFIX, "include/herald", header)), header);
    const layers = fs.readdirSync(path.join(PREFIX, "include/herald")).sort();
    assert.deepEqual(layers, ["codec", "engineio", "net", "socketio"], "only the library's layers");
    for (const file of ["lib/cmake/Herald/HeraldConfig.cmake", "lib/cmake/Herald/HeraldTargets.cmake",
      "lib/cmake/Herald/HeraldConfigVersion.cmake", "lib/pkgconfig/herald.pc", "lib/libherald_core.a", "lib/libherald_codec.a"])
      assert.ok(fs.existsSync(path.join(PREFIX, file)), file);
    assert.ok(!fs.existsSync(path.join(PREFIX, "bin")), "no server binaries in a library install");
    const targets = fs.readFileSync(path.join(PREFIX, "lib/cmake/Herald/HeraldTargets.cmake"), "utf8");
    assert.match(targets, /add_library\(Herald::socketio STATIC IMPORTED\)/);
    assert.doesNotMatch(targets, new RegExp(REPO_ROOT.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "/src"), "no source paths");
  });

  it("builds with pkg-config alone (the push example)", async () => {
    const env = { ...process.env, PKG_CONFIG_PATH: path.join(PREFIX, "lib/pkgconfig") };
    const { stdout } = await sh("pkg-config", ["--cflags", "--libs", "herald"], { env });
    const flags = stdout.trim().split(/\s+/);
    assert.ok(flags.includes(`-I${path.join(PREFIX, "include/herald")}`) || flags.some((f) => /include\/herald$/.test(f)), stdout);
    const out = path.join(WORK, "push_server_pkgconfig");
    await sh("ccache", ["g++", "-O1", path.join(REPO_ROOT, "examples/push_server.cpp"), "-o", out, ...flags]);
    const server = await startExample(out);
    try {
      const res = await fetch(`${server.url}/push`);
      assert.equal(res.status, 405);
    } finally {
      server.stop();
    }
  });
});

describe("examples/ built against the installed package", () => {
  it("echo_server passes the socket.io-client suite (WebSocket, and polling upgraded)", async () => {
    const echo = path.join(EXAMPLES, "echo_server");
    for (const suite of ["client-websocket.test.mjs", "client-upgrade.test.mjs"]) {
      // A test run of its own: without NODE_TEST_CONTEXT, which would make it report to this runner.
      const env = { ...process.env, ECHO_SERVER: echo };
      delete env.NODE_TEST_CONTEXT;
      const args = ["--test", "--test-reporter=tap", path.join(REPO_ROOT, "tests/integration", suite)];
      const result = await run(process.execPath, args, { ...BIG, cwd: REPO_ROOT, env }).catch((e) => e);
      assert.equal(result.code ?? 0, 0, `${suite} against ${echo}:\n${result.stdout}\n${result.stderr}`);
      assert.match(result.stdout, /# pass [1-9]\d*/);
      assert.match(result.stdout, /# fail 0/);
    }
  });

  describe("chat_server", () => {
    let server;
    const sockets = [];
    before(async () => {
      server = await startExample(path.join(EXAMPLES, "chat_server"));
    });
    after(() => {
      for (const socket of sockets) socket.close();
      server?.stop();
    });
    const named = async (name) => {
      const socket = client(server.url, { name });
      sockets.push(socket);
      await waitForEvent(socket, "connect");
      return socket;
    };

    it("refuses a connection without a name (the middleware)", async () => {
      const socket = client(server.url);
      sockets.push(socket);
      const [error] = await waitForEvent(socket, "connect_error");
      assert.match(error.message, /connect with auth \{ name \}/);
    });

    it("talks in rooms: joins, says with an ack, only the room hears", async () => {
      const ada = await named("ada");
      const bob = await named("bob");
      const eve = await named("eve");
      assert.deepEqual(await ada.emitWithAck("join", "lobby"), { room: "lobby", rooms: ["lobby"] });
      const joined = waitForEvent(ada, "joined");
      await bob.emitWithAck("join", "lobby");
      assert.deepEqual((await joined)[0], { room: "lobby", name: "bob" });
      await eve.emitWithAck("join", "elsewhere");

      let eveHeard = false;
      eve.on("said", () => (eveHeard = true));
      const heard = waitForEvent(bob, "said");
      assert.deepEqual(await ada.emitWithAck("say", "lobby", "hello"), { delivered: true });
      assert.deepEqual((await heard)[0], { room: "lobby", name: "ada", text: "hello" });
      assert.deepEqual(await eve.emitWithAck("say", "lobby", "psst"), { error: "join lobby first" });
      assert.deepEqual(await ada.emitWithAck("say", "lobby"), { error: "say needs a room and a text" });
      // A broadcast to everyone: a new client is announced to all.
      const online = waitForEvent(eve, "online");
      await named("zoe");
      assert.deepEqual(await online, ["zoe"]);
      assert.equal(eveHeard, false, "eve is not in the lobby");
    });
  });

  it("push_server: a POST reaches every client as a push event", async () => {
    const server = await startExample(path.join(EXAMPLES, "push_server"));
    const socket = client(server.url);
    try {
      await waitForEvent(socket, "connect");
      const pushed = waitForEvent(socket, "push");
      const res = await fetch(`${server.url}/push`, { method: "POST", body: "hello everyone" });
      assert.equal(res.status, 200);
      assert.deepEqual(await pushed, ["hello everyone"]);
    } finally {
      socket.close();
      server.stop();
    }
  });
});
