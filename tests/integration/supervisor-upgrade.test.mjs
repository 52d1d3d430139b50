// An upgrade under `herald --workers 2`: the binary is replaced on disk (as dpkg does: a new file
// renamed over the old path), then SIGHUP. The supervisor keeps running its old image and its
// listening sockets, and every new worker runs the new binary, which the log says per worker.
// systemd hears READY=1 once both workers accept, RELOADING=1 and READY=1 around the reload, and
// STOPPING=1 at the end.
//
// The "new version" is a copy of herald whose build string is changed in place (same length), so
// it reports a different `--version` without a second build.

import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, it } from "node:test";
import { startRedis } from "./lib/cluster.mjs";
import { eventually } from "./lib/herald.mjs";
import { startNotifySocket } from "./lib/notify-socket.mjs";
import { killOnExit } from "./lib/processes.mjs";
import { REPO_ROOT, freePort } from "./lib/server.mjs";
import { withTimeout } from "./lib/wait.mjs";

const HERALD = (() => {
  const bin = (process.env.HERALD_BIN ?? "").trim() || "build/herald";
  return path.isAbsolute(bin) ? bin : path.resolve(REPO_ROOT, bin);
})();

let tmp;
let redis;
before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "herald-upgrade-"));
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A copy of herald that reports `build` as its build: the old build string replaced in place. */
function rebuiltWith(binary, oldBuild, build) {
  assert.equal(build.length, oldBuild.length);
  const image = fs.readFileSync(binary);
  const from = Buffer.from(oldBuild);
  let replaced = 0;
  for (let at = image.indexOf(from); at >= 0; at = image.indexOf(from, at + from.length)) {
    Buffer.from(build).copy(image, at);
    ++replaced;
  }
  assert.ok(replaced > 0, `build string '${oldBuild}' not found in ${binary}`);
  return image;
}

/** Live children of `pid`, from /proc. */
function childrenOf(pid) {
  const found = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(ppid) === pid && state !== "Z") found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

it("SIGHUP after the binary was replaced runs the new version in every worker", { timeout: 40_000 }, async () => {
  const installed = path.join(tmp, "herald");
  fs.copyFileSync(HERALD, installed);
  fs.chmodSync(installed, 0o755);
  const version = execFileSync(installed, ["--version"], { encoding: "utf8" }).trim();
  const [, number, oldBuild] = /^herald (\S+) \(build (.+)\)$/.exec(version);
  const newBuild = `upgrade ${"x".repeat(oldBuild.length)}`.slice(0, oldBuild.length);
  const upgraded = `herald ${number} (build ${newBuild})`;

  const notify = await startNotifySocket(tmp);
  const port = await freePort();
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("HERALD_"))) };
  env.NOTIFY_SOCKET = notify.path;
  const args = ["--host", "127.0.0.1", "--port", String(port), "--workers", "2", "--threads", "1"];
  args.push("--redis", redis.url, "--shutdown-grace-ms", "500");
  const child = killOnExit(spawn(installed, args, { cwd: tmp, env, stdio: ["ignore", "pipe", "pipe"] }));
  let log = "";
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const describe = () => `--- log ---\n${log}\n--- notifications ---\n${JSON.stringify(notify.messages)}`;
  try {
    const ready = await notify.waitFor((m) => m.startsWith("READY=1"));
    assert.equal(ready, `READY=1\nSTATUS=2 workers running ${version}`, describe());
    const before = childrenOf(child.pid);
    assert.equal(before.length, 2, describe());
    for (const pid of before) assert.equal(fs.readlinkSync(`/proc/${pid}/exe`), installed);
    assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200);

    // The upgrade: a new file renamed over the old one (the running processes keep the old inode).
    const staged = path.join(tmp, "herald.new");
    fs.writeFileSync(staged, rebuiltWith(installed, oldBuild, newBuild), { mode: 0o755 });
    fs.renameSync(staged, installed);
    assert.equal(execFileSync(installed, ["--version"], { encoding: "utf8" }).trim(), upgraded);

    child.kill("SIGHUP");
    assert.match(await notify.waitFor((m) => m.startsWith("RELOADING=1")), /^RELOADING=1/);
    await eventually(() => /reload: done, 2 workers replaced/.test(log), "the reload", 20_000).catch((e) => {
      throw new Error(`${e.message}\n${describe()}`);
    });
    assert.match(await notify.waitFor((m) => m.startsWith("READY=1")), /^READY=1/);

    // Each new worker says which version it runs; the supervisor logs it for each replacement.
    const replaced = [...log.matchAll(/reload: worker (\d) \(pid (\d+)\) ready; stopping pid \d+; the new worker runs (.+)$/gm)];
    assert.deepEqual(replaced.map((m) => [m[1], m[3]]), [["0", upgraded], ["1", upgraded]], describe());
    assert.equal([...log.matchAll(new RegExp(`${upgraded.replace(/[()]/g, "\\$&")} listening on`, "g"))].length, 2);
    const after = childrenOf(child.pid);
    assert.deepEqual(after.sort(), replaced.map((m) => Number(m[2])).sort(), describe());
    for (const pid of after) assert.equal(fs.readlinkSync(`/proc/${pid}/exe`), installed, "a worker runs the new file");
    // The supervisor still runs the old image, now unlinked.
    assert.equal(fs.readlinkSync(`/proc/${child.pid}/exe`), `${installed} (deleted)`);
    assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200);

    child.kill("SIGTERM");
    assert.equal(await notify.waitFor((m) => m.startsWith("STOPPING=1")), "STOPPING=1");
    assert.deepEqual(await withTimeout(exited, 8000, "herald to exit"), { code: 0, signal: null }, describe());
  } finally {
    child.kill("SIGKILL");
    notify.stop();
  }
});
