// What operators rely on besides the protocol (build/herald, or HERALD_BIN):
// - `--print-config` lists every setting of `--help`, commented out with its value, and the file it
//   prints loads back unchanged (the build's herald.toml is that file, shipped as /etc/herald/herald.toml);
// - `--log-format json` writes one JSON object per line;
// - systemd readiness (sd_notify: READY=1, STOPPING=1) and a SIGHUP that a single process ignores;
// - contrib/grafana/herald.json queries only metric names /metrics really exports;
// - herald-bench prints its progress as plain lines with rates when stderr is no terminal.

import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { startRedis } from "./lib/cluster.mjs";
import { NSP, call, eventually, loggedIn, startHerald } from "./lib/herald.mjs";
import { startNotifySocket } from "./lib/notify-socket.mjs";
import { canConnect, killOnExit } from "./lib/processes.mjs";
import { REPO_ROOT, freePort } from "./lib/server.mjs";

const run = promisify(execFile);
const HERALD = (() => {
  const bin = (process.env.HERALD_BIN ?? "").trim() || "build/herald";
  return path.isAbsolute(bin) ? bin : path.resolve(REPO_ROOT, bin);
})();
const BENCH = path.join(path.dirname(HERALD), "herald-bench");
const T = { timeout: 20_000 };

let tmp;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "herald-operations-"));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** herald's settings as --help lists them (flags other than --help, --version, --config, --print-config). */
async function helpSettings() {
  const { stdout } = await run(HERALD, ["--help"]);
  const flags = [...stdout.matchAll(/^\s+--([a-z0-9-]+)/gm)].map((m) => m[1]);
  return flags.filter((f) => !["help", "version", "config", "print-config"].includes(f)).map((f) => f.replaceAll("-", "_"));
}

async function printConfig(args = []) {
  const { stdout } = await run(HERALD, ["--print-config", ...args], { env: cleanEnv() });
  return stdout;
}

/** The environment without HERALD_* variables (they would override the settings under test). */
function cleanEnv(extra = {}) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("HERALD_")) env[key] = value;
  return { ...env, ...extra };
}

describe("--print-config", () => {
  it("lists every setting of --help, commented out, with its environment variable and flag", T, async () => {
    const settings = await helpSettings();
    assert.ok(settings.length > 40, `settings found in --help: ${settings}`);
    const text = await printConfig();
    for (const key of settings) {
      assert.match(text, new RegExp(`^# ${key} = .+$`, "m"), `${key} in --print-config`);
      assert.match(text, new RegExp(`\\[HERALD_${key.toUpperCase()}, --${key.replaceAll("_", "-")}\\]`), `${key}'s names`);
    }
    const lines = text.split("\n").filter((line) => line && !line.startsWith("#"));
    assert.deepEqual(lines, [], "every line is a comment");
    assert.match(text, /^# port = 1994$/m);
    assert.match(text, /^# host = '0\.0\.0\.0'$/m);
    assert.match(text, /^# cors_origins = \[\]$/m);
    assert.match(text, /^# log_format = 'text'$/m);
  });

  it("is what the build wrote as herald.toml (the packaged /etc/herald/herald.toml)", T, async () => {
    const built = path.join(path.dirname(HERALD), "herald.toml");
    assert.ok(fs.existsSync(built), `${built} (made by the build's herald_toml target)`);
    assert.equal(fs.readFileSync(built, "utf8"), await printConfig());
  });

  it("loads back unchanged once every line is uncommented", T, async () => {
    const text = await printConfig();
    const file = path.join(tmp, "all.toml");
    fs.writeFileSync(file, text.replace(/^# ([a-z0-9_]+ = )/gm, "$1"));
    assert.equal(await printConfig(["--config", file]), text);
  });

  it("shows the values in effect, written as TOML", T, async () => {
    const file = path.join(tmp, "some.toml");
    fs.writeFileSync(
      file,
      'port = 3000\ncors_origins = ["https://a.example", "https://b.example"]\n' +
        'handshakes_per_ip_per_second = 0.5\napi_token = "quote\\" and \\\\ backslash"\nallow_eio3 = false\n' +
        'node_name = "it\'s"\n',
    );
    const text = await printConfig(["--config", file, "--log-format", "json"]);
    assert.match(text, /^# port = 3000$/m);
    assert.match(text, /^# cors_origins = \[ 'https:\/\/a\.example', 'https:\/\/b\.example' \]$/m);
    assert.match(text, /^# handshakes_per_ip_per_second = 0\.5$/m);
    assert.match(text, /^# api_token = 'quote" and \\ backslash'$/m); // a TOML literal string
    assert.match(text, /^# node_name = "it's"$/m);
    assert.match(text, /^# allow_eio3 = false$/m);
    assert.match(text, /^# log_format = 'json'$/m);
    // And that file loads back to the same values.
    const again = path.join(tmp, "again.toml");
    fs.writeFileSync(again, text.replace(/^# ([a-z0-9_]+ = )/gm, "$1"));
    assert.equal(await printConfig(["--config", again]), text);
  });

  it("matches the README's settings table, setting by setting, default by default", T, async () => {
    const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
    const settings = [...(await printConfig()).matchAll(/^# ([a-z0-9_]+) = (.*)$/gm)];
    assert.ok(settings.length > 40);
    for (const [, key, value] of settings) {
      const row = readme.split("\n").find((line) => line.startsWith(`| \`${key}\` |`));
      assert.ok(row, `README has no row for ${key}`);
      assert.ok(row.startsWith(`| \`${key}\` | \`${value}\` |`), `README's default for ${key} is not ${value}: ${row}`);
    }
    const rows = readme.split("\n").filter((line) => /^\| `[a-z0-9_]+` \| `/.test(line));
    assert.equal(rows.length, settings.length, "as many rows as settings");
  });

  it("refuses an unknown log format with a clear error", T, async () => {
    const failed = await run(HERALD, ["--log-format", "xml"], { env: cleanEnv() }).catch((e) => e);
    assert.equal(failed.code, 2);
    assert.match(failed.stderr, /log_format: expected text or json, got 'xml'/);
  });
});

/**
 * Spawns herald on a free port with `args` and `env` (no HERALD_* from the test runner), resolves
 * once it accepts connections: { port, url, pid, log(), exited, stop() }.
 */
async function spawnHerald(args, env = {}) {
  const port = await freePort();
  const child = killOnExit(
    spawn(HERALD, ["--host", "127.0.0.1", "--port", String(port), "--push-namespace", NSP, ...args], {
      env: cleanEnv(env),
      stdio: ["ignore", "ignore", "pipe"],
    }),
  );
  let log = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d) => (log += d));
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  await eventually(async () => child.exitCode === null && (await canConnect(port)), `herald on port ${port}`, 10_000);
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    log: () => log,
    exited,
    signal: (name) => child.kill(name),
    async stop() {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      const how = await exited;
      clearTimeout(timer);
      return how;
    },
  };
}

describe("--log-format json", () => {
  it("writes one JSON object per line, whatever the messages hold", T, async () => {
    const server = await spawnHerald(["--threads", "2", "--log-format", "json", "--log-level", "debug"]);
    const uid = 'quote"back\\slash';
    const user = await loggedIn(server, uid);
    const res = await call(server, "/api/v1/push", { users: [uid], msgId: "m1", message: "x", ack: false }, { as: "json" });
    assert.equal(res.status, 200, res.text);
    user.close();
    assert.deepEqual(await server.stop(), { code: 0, signal: null });
    const lines = server.log().split("\n").filter(Boolean);
    assert.ok(lines.length >= 3, `log lines: ${lines.length}`);
    const entries = lines.map((line) => {
      const entry = JSON.parse(line);
      assert.match(entry.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, line);
      assert.ok(["trace", "debug", "info", "warning", "error", "critical"].includes(entry.level), line);
      assert.equal(typeof entry.msg, "string", line);
      assert.equal(entry.pid, server.pid, line);
      assert.equal(typeof entry.thread, "number", line);
      return entry;
    });
    const start = entries.find((e) => /listening on/.test(e.msg));
    assert.match(start.msg, /^herald \d+\.\d+\.\d+ \(build .+\) listening on 127\.0\.0\.1:/);
    assert.ok(entries.some((e) => e.level === "debug" && e.msg.includes(`logged in as ${uid}`)), "a message with a quote and a backslash");
  });
});

describe("systemd and signals (single process)", () => {
  it("tells systemd READY=1 once it accepts connections and STOPPING=1 on SIGTERM; SIGHUP is ignored", T, async () => {
    const notify = await startNotifySocket(tmp);
    try {
      const server = await spawnHerald(["--threads", "1"], { NOTIFY_SOCKET: notify.path });
      const ready = await notify.waitFor((m) => m.includes("READY=1"));
      assert.match(ready, /^READY=1\nSTATUS=herald \d+\.\d+\.\d+ \(build .+\), 1 threads$/);
      server.signal("SIGHUP");
      await eventually(() => /received SIGHUP.*ignored/.test(server.log()), "the SIGHUP log line");
      const health = await fetch(`${server.url}/health`);
      assert.equal(health.status, 200, "still serving after SIGHUP");
      const stopped = server.stop();
      assert.equal(await notify.waitFor((m) => m.includes("STOPPING=1")), "STOPPING=1");
      assert.deepEqual(await stopped, { code: 0, signal: null });
    } finally {
      notify.stop();
    }
  });
});

/** Metric names in Prometheus text: every family, and a histogram's _bucket, _sum and _count. */
function exportedNames(text) {
  const names = new Set();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name);
    if (type === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) names.add(name + suffix);
  }
  for (const [, name] of text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/gm)) names.add(name);
  return names;
}

describe("contrib/grafana/herald.json", () => {
  let redis;
  let server;
  before(async () => {
    redis = await startRedis();
    server = await startHerald(["--redis", redis.url]);
  });
  after(async () => {
    await server?.stop();
    await redis?.stop();
  });

  it("queries only metrics that herald exports, and covers what operators watch", T, async () => {
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const exported = exportedNames(metrics);
    assert.ok(exported.has("herald_redis_up"), "Redis metrics (clustered node)");
    const dashboard = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "contrib/grafana/herald.json"), "utf8"));
    const used = new Set(JSON.stringify(dashboard).match(/\bherald_[a-z0-9_]+/g));
    for (const name of used) assert.ok(exported.has(name), `the dashboard uses ${name}, which /metrics does not export`);
    for (const needed of [
      "herald_connections", // connections by transport
      "herald_logins_total",
      "herald_pushes_total",
      "herald_deliveries_total",
      "herald_delivery_latency_seconds_bucket", // receipt latency histogram
      "herald_receipt_timeouts_total",
      "herald_redis_up",
      "herald_slow_clients_dropped_total",
    ]) {
      assert.ok(used.has(needed), `the dashboard shows ${needed}`);
    }
    const exprs = [];
    const walk = (node) => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === "object") {
        if (typeof node.expr === "string") exprs.push(node.expr);
        Object.values(node).forEach(walk);
      }
    };
    walk(dashboard.panels);
    assert.ok(exprs.length >= 15, `queries: ${exprs.length}`);
    assert.ok(exprs.some((e) => /sum by \(transport\) \(herald_connections/.test(e)), "connections by transport");
  });
});

describe("herald-bench connect at exit", () => {
  // Its clients leave their namespace, so the server keeps no sessions of a finished run; with
  // --drop-on-exit they drop as a network failure would, and an acked push to all is kept for them.
  for (const [flags, kept] of [[[], []], [["--drop-on-exit"], ["exit0", "exit1"]]]) {
    it(`${flags.length ? flags.join(" ") : "by default"}: ${kept.length ? "sessions kept" : "no session left"}`, T, async () => {
      const server = await startHerald();
      try {
        const ws = server.url.replace("http", "ws") + NSP;
        await run(BENCH, ["connect", "-p", ws, "-a", "2", "--uid-prefix", "exit", "--duration", "1", "-q", ...flags]);
        const res = await call(server, "/api/v1/push", { all: true, msgId: "after-exit", message: "m", timeout: 1000 }, { as: "json" });
        assert.equal(res.status, 200, res.text);
        assert.deepEqual([...res.json.kept].sort(), kept, res.text);
      } finally {
        await server.stop();
      }
    });
  }
});

describe("herald-bench progress", () => {
  it("prints plain progress lines with rates when stderr is no terminal", T, async () => {
    assert.ok(fs.existsSync(BENCH), `${BENCH}`);
    const server = await startHerald();
    try {
      const user = await loggedIn(server, "bench-user");
      const { stderr } = await run(BENCH, ["push", "-p", server.url, "-e", "all", "-r", "50", "-d", "2.5"]);
      user.close();
      assert.ok(!stderr.includes("\r"), "no carriage returns when stderr is a pipe");
      const lines = stderr.split("\n").filter((l) => /^\[\s*\d+s\] sent \d+ \(\d+\/s\) ok \d+ \(\d+\/s\)/.test(l));
      assert.ok(lines.length >= 2, `progress lines:\n${stderr}`);
      const rate = Number(/sent \d+ \((\d+)\/s\)/.exec(lines.at(-1))[1]);
      assert.ok(rate >= 25 && rate <= 100, `push rate shown ${rate}/s for -r 50\n${stderr}`);
    } finally {
      await server.stop();
    }
  });
});
