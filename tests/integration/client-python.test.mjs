// A second client implementation: Debian's python3-socketio (with python3-engineio,
// python3-websocket and python3-requests) runs the scripts in python/ with /usr/bin/python3,
// in each transport mode, against echo_server (events, acks both ways, binary, rooms, a server
// disconnect) and herald (login, pushes and their receipts, /changeRoom, logout by disconnect).
// Each script prints its results as one JSON object; a script that times out exits non-zero and
// says what it waited for.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { NSP, startHerald, uniq } from "./lib/herald.mjs";
import { REPO_ROOT, startEchoServer } from "./lib/server.mjs";
import { WAIT } from "./lib/wait.mjs";

const PYTHON = "/usr/bin/python3";
const SCRIPTS = path.join(REPO_ROOT, "tests", "integration", "python");
const SCRIPT_LIMIT_MS = 40_000; // the scripts' own watchdog is 30 s
const T = { timeout: SCRIPT_LIMIT_MS + 5000 };
const MODES = ["websocket", "polling", "upgrade"];

const missing = fs.existsSync(PYTHON) ? null : `${PYTHON} is missing (make test-deps installs python3-socketio)`;

let echo;
let herald;

before(async () => {
  if (missing) return;
  // Not a heartbeat test: a pong may take as long as a test waits (see lib/scenarios.mjs).
  echo = await startEchoServer(["--ping-timeout", String(WAIT)]);
  herald = await startHerald();
});

after(async () => {
  await echo?.stop();
  await herald?.stop();
});

/** Runs python/<script> with `args`; resolves with its parsed JSON output, or fails with its stderr. */
function runScript(script, args) {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [path.join(SCRIPTS, script), ...args], { timeout: SCRIPT_LIMIT_MS }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`${script} ${args.join(" ")} failed (${error.message.trim()})\n${stderr}`));
      try {
        resolve(JSON.parse(stdout));
      } catch {
        reject(new Error(`${script} printed no JSON result:\n${stdout}\n${stderr}`));
      }
    });
  });
}

const bytes = (...values) => ({ bytes: values });

describe("python-socketio against echo_server", { skip: missing || false }, () => {
  for (const mode of MODES) {
    it(`${mode}: auth, events, acks both ways, binary, rooms, server disconnect`, T, async () => {
      const r = await runScript("echo_client.py", [echo.url, mode]);
      assert.equal(r.transport, mode === "polling" ? "polling" : "websocket");
      assert.equal(r.sid_is_text, true);
      assert.deepEqual(r.auth, [{ token: "py" }], "the handshake auth, echoed by the server");
      assert.deepEqual(r.message_back, [1, "two", { three: [true, null] }]);
      assert.deepEqual(r.ack, ["a", 2, { b: [1.5] }], "the ack carries every argument back");
      assert.deepEqual(r.binary_back, [bytes(1, 2, 3), { nested: bytes(0, 255) }]);
      assert.deepEqual(r.binary_ack, bytes(0xde, 0xad, 0xbe, 0xef));
      assert.deepEqual(r.answer, [["python answers", "what?"]], "the client's answer to a server ack request");
      assert.equal(r.rooms.length, 2);
      assert.ok(r.rooms.includes("py-room"), `rooms: ${JSON.stringify(r.rooms)}`);
      assert.deepEqual(r.room_message, ["to the room"]);
      assert.equal(r.disconnected, true);
    });
  }
});

describe("python-socketio against herald's push API", { skip: missing || false }, () => {
  for (const mode of MODES) {
    it(`${mode}: login, pushes acked back to the API caller, /changeRoom, logout by disconnect`, T, async () => {
      const uid = uniq("py");
      const room = uniq("pyroom");
      const r = await runScript("push_client.py", [herald.url, mode, NSP, uid, room]);
      assert.equal(r.transport, mode === "polling" ? "polling" : "websocket");
      assert.equal(r.login?.code, 0, `login answer ${JSON.stringify(r.login)}`);
      assert.deepEqual(r.single_acked, [uid], "the receipt reaches the API caller");
      assert.deepEqual(r.single_message, ["py-1", "hello"]);
      assert.deepEqual(r.json_acked, [uid]);
      assert.deepEqual(r.json_message, ["py-2", { zeta: 1, alpha: [true, null, 2.5], text: "héllo" }]);
      assert.equal(r.joined, true);
      assert.deepEqual(r.join_notice, ["-2", { joins: [room], leaves: [] }]);
      assert.deepEqual(r.room_acked, [uid]);
      assert.deepEqual(r.room_message, ["py-room", "to the room"]);
      assert.equal(r.left, true);
      assert.deepEqual(r.leave_notice, ["-2", { joins: [], leaves: [room] }]);
      assert.deepEqual(r.after_leave_acked, [], "a push to the room it left reaches nobody");
      assert.deepEqual(r.after_disconnect_acked, []);
      assert.deepEqual(r.messages, ["py-1", "py-2", "py-room"], "nothing pushed to the room after leaving it");
    });
  }
});
