// Helpers for the resilience tests: a real SMTP server (the `smtp-server` package) and an HTTP
// webhook receiver that record what herald sends, a strict parser of the Prometheus text format,
// a spawner for other herald commands (`herald monitor`), and the RSS of a process.

import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { SMTPServer } from "smtp-server";
import { REPO_ROOT } from "./server.mjs";
import { sleep } from "./wait.mjs";

// ---------------------------------------------------------------------------
// Waiting on a growing list
// ---------------------------------------------------------------------------

/** Waits until `list()` (a function returning an array) has at least `count` items; returns them. */
export async function waitItems(list, count, what, timeout = 5000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const items = list();
    if (items.length >= count) return items;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${count} ${what}, got ${items.length}: ${JSON.stringify(items, null, 1).slice(0, 2000)}`);
    }
    await sleep(25);
  }
}

// ---------------------------------------------------------------------------
// SMTP
// ---------------------------------------------------------------------------

/** Header fields of a raw message: { lowercased name: [values] } (folded lines unfolded). */
export function parseHeaders(raw) {
  const end = raw.indexOf("\r\n\r\n");
  const head = (end === -1 ? raw : raw.slice(0, end)).replace(/\r\n[ \t]+/g, " ");
  const headers = {};
  for (const line of head.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    (headers[name] ??= []).push(line.slice(colon + 1).trim());
  }
  return headers;
}

/**
 * Starts an SMTP server on a free loopback port: plain text (no STARTTLS), AUTH PLAIN or LOGIN
 * required and checked against `user`/`pass`. Every accepted message is recorded as
 * { mailFrom, rcptTo: [addresses], user, authMethod, raw, headers, subject, body, at }.
 * `auths` records every AUTH attempt { method, username, ok }.
 */
export async function startMailServer({ user = "u", pass = "p" } = {}) {
  const messages = [];
  const auths = [];
  const server = new SMTPServer({
    disabledCommands: ["STARTTLS"],
    authMethods: ["PLAIN", "LOGIN"],
    allowInsecureAuth: true,
    authOptional: false,
    logger: false,
    banner: "herald test SMTP",
    onAuth(auth, session, callback) {
      const ok = auth.username === user && auth.password === pass;
      auths.push({ method: auth.method, username: auth.username, ok });
      if (!ok) {
        const err = new Error("Invalid username or password");
        err.responseCode = 535;
        return callback(err);
      }
      session.authMethod = auth.method;
      return callback(null, { user: auth.username });
    },
    onData(stream, session, callback) {
      const chunks = [];
      stream.on("data", (chunk) => chunks.push(chunk));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const headers = parseHeaders(raw);
        const bodyStart = raw.indexOf("\r\n\r\n");
        messages.push({
          mailFrom: session.envelope.mailFrom?.address,
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
          user: session.user,
          authMethod: session.authMethod,
          raw,
          headers,
          subject: headers.subject?.[0] ?? "",
          body: bodyStart === -1 ? "" : raw.slice(bodyStart + 4),
          at: Date.now(),
        });
        callback();
      });
    },
  });
  server.on("error", () => {});
  await new Promise((resolve, reject) => {
    server.server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const port = server.server.address().port;
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    auths,
    /** Messages whose subject contains `text`. */
    about: (text) => messages.filter((m) => m.subject.includes(text)),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

// ---------------------------------------------------------------------------
// Webhook receiver
// ---------------------------------------------------------------------------

/**
 * An HTTP server on a free loopback port recording every request as
 * { method, path, headers, text, json, at } and answering 204.
 */
export async function startWebhookReceiver() {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      let json;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      requests.push({ method: req.method, path: req.url, headers: req.headers, text, json, at: Date.now() });
      res.writeHead(204);
      res.end();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = server.address().port;
  return {
    port,
    url: `http://127.0.0.1:${port}/alert`,
    requests,
    /** Requests whose JSON body has node === `node`. */
    from: (node) => requests.filter((r) => r.json?.node === node),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(resolve);
      }),
  };
}

// ---------------------------------------------------------------------------
// Other herald commands
// ---------------------------------------------------------------------------

const spawned = new Set();
process.on("exit", () => {
  for (const child of spawned) {
    try {
      child.kill("SIGKILL");
    } catch {
      // gone
    }
  }
});

function heraldBinary() {
  const bin = (process.env.HERALD_BIN ?? "").trim() || "build/herald";
  return bin.includes("/") && !path.isAbsolute(bin) ? path.resolve(REPO_ROOT, bin) : bin;
}

/**
 * Runs `herald <args>` (e.g. ["monitor", "--redis", url]). Returns
 * { child, output(), exited: Promise<{code, signal}>, exitInfo(), stop(signal) }.
 */
export function spawnHerald(args) {
  const command = heraldBinary();
  if (path.isAbsolute(command) && !fs.existsSync(command)) throw new Error(`herald not found: ${command}`);
  const child = spawn(command, args.map(String), { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  spawned.add(child);
  let output = "";
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (d) => (output = (output + d).slice(-32_000)));
  child.stderr.on("data", (d) => (output = (output + d).slice(-32_000)));
  let exitInfo = null;
  const exited = new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      exitInfo = { code, signal };
      spawned.delete(child);
      resolve(exitInfo);
    });
    child.once("error", (error) => {
      exitInfo = { code: null, signal: null, error };
      spawned.delete(child);
      resolve(exitInfo);
    });
  });
  return {
    child,
    command: `${command} ${args.join(" ")}`,
    output: () => output,
    exited,
    exitInfo: () => exitInfo,
    kill(signal = "SIGKILL") {
      if (!exitInfo) child.kill(signal);
      return exited;
    },
  };
}

// ---------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------

/** Resident set size of process `pid` in bytes (Linux /proc). */
export function rssBytes(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

// ---------------------------------------------------------------------------
// Prometheus text format (version 0.0.4)
// ---------------------------------------------------------------------------

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function parseValue(text) {
  if (/^[+-]?Inf$/.test(text)) return text.startsWith("-") ? -Infinity : Infinity;
  if (text === "NaN") return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}

/** Parses `{a="x",b="y"}` content; returns [labels, error]. */
function parseLabels(text) {
  const labels = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf("=", i);
    if (eq === -1) return [null, `no '=' in labels {${text}}`];
    const name = text.slice(i, eq).trim();
    if (!LABEL_NAME.test(name)) return [null, `bad label name ${JSON.stringify(name)}`];
    if (text[eq + 1] !== '"') return [null, `label ${name} value not quoted`];
    let j = eq + 2;
    let value = "";
    for (;;) {
      if (j >= text.length) return [null, `unterminated value of label ${name}`];
      const c = text[j];
      if (c === "\\") {
        const next = text[j + 1];
        if (next === "n") value += "\n";
        else if (next === "\\" || next === '"') value += next;
        else return [null, `bad escape \\${next} in label ${name}`];
        j += 2;
        continue;
      }
      if (c === '"') break;
      if (c === "\n") return [null, `newline in label ${name}`];
      value += c;
      j++;
    }
    if (name in labels) return [null, `label ${name} given twice`];
    labels[name] = value;
    j++;
    if (j < text.length) {
      if (text[j] !== ",") return [null, `expected ',' after label ${name}`];
      j++;
    }
    i = j;
  }
  return [labels, null];
}

function familyOf(sampleName, families) {
  if (families.has(sampleName)) return sampleName;
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (sampleName.endsWith(suffix)) {
      const base = sampleName.slice(0, -suffix.length);
      const family = families.get(base);
      if (family && (family.type === "histogram" || (family.type === "summary" && suffix !== "_bucket"))) return base;
    }
  }
  return null;
}

/**
 * Parses a Prometheus text exposition strictly. Returns { families, errors }: families maps a
 * metric family name to { help, type, samples: [{ name, labels, value }] }; errors lists every
 * violation (bad line, sample without HELP/TYPE before it, TYPE after samples, duplicate series,
 * interleaved families, histogram buckets not cumulative, ...).
 */
export function parsePrometheus(text) {
  const errors = [];
  const families = new Map();
  const seenSeries = new Set();
  const closed = new Set(); // families whose block ended (another family's lines came after)
  let current = null;
  if (!text.endsWith("\n")) errors.push("the exposition does not end with a newline");
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const enter = (name, lineNo) => {
    if (current !== name) {
      if (closed.has(name)) errors.push(`line ${lineNo}: family ${name} appears again after other families`);
      if (current !== null) closed.add(current);
      current = name;
    }
  };
  lines.forEach((line, index) => {
    const lineNo = index + 1;
    if (line.trim() === "") return errors.push(`line ${lineNo}: empty line`);
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name, rest] = m;
      if (!NAME.test(name)) return errors.push(`line ${lineNo}: bad metric name ${JSON.stringify(name)}`);
      enter(name, lineNo);
      const family = families.get(name) ?? { help: undefined, type: undefined, samples: [] };
      families.set(name, family);
      if (kind === "HELP") {
        if (family.help !== undefined) errors.push(`line ${lineNo}: second HELP for ${name}`);
        if (rest.trim() === "") errors.push(`line ${lineNo}: empty HELP for ${name}`);
        family.help = rest;
      } else {
        if (family.type !== undefined) errors.push(`line ${lineNo}: second TYPE for ${name}`);
        if (!TYPES.has(rest)) errors.push(`line ${lineNo}: unknown TYPE ${JSON.stringify(rest)} for ${name}`);
        if (family.samples.length > 0) errors.push(`line ${lineNo}: TYPE of ${name} after its samples`);
        family.type = rest;
      }
      return;
    }
    const m = /^([^\s{]+)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
    if (!m) return errors.push(`line ${lineNo}: not "name{labels} value": ${JSON.stringify(line)}`);
    const [, name, , labelText, valueText] = m;
    if (!NAME.test(name)) return errors.push(`line ${lineNo}: bad metric name ${JSON.stringify(name)}`);
    const [labels, labelError] = labelText === undefined ? [{}, null] : parseLabels(labelText);
    if (labelError) return errors.push(`line ${lineNo}: ${labelError}: ${JSON.stringify(line)}`);
    const value = parseValue(valueText);
    if (value === undefined) return errors.push(`line ${lineNo}: bad value ${JSON.stringify(valueText)}`);
    const familyName = familyOf(name, families);
    if (!familyName) return errors.push(`line ${lineNo}: sample ${name} has no HELP/TYPE before it`);
    const family = families.get(familyName);
    if (family.help === undefined) errors.push(`line ${lineNo}: sample ${name} before the HELP of ${familyName}`);
    if (family.type === undefined) errors.push(`line ${lineNo}: sample ${name} before the TYPE of ${familyName}`);
    enter(familyName, lineNo);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seenSeries.has(key)) errors.push(`line ${lineNo}: duplicate series ${line}`);
    seenSeries.add(key);
    if (family.type === "counter" && !(value >= 0)) errors.push(`line ${lineNo}: counter ${name} is ${valueText}`);
    family.samples.push({ name, labels, value });
  });
  for (const [name, family] of families) {
    if (family.samples.length === 0) errors.push(`family ${name} has HELP/TYPE but no sample`);
    if (family.type === "histogram") {
      const buckets = family.samples.filter((s) => s.name === `${name}_bucket`);
      const count = family.samples.find((s) => s.name === `${name}_count`);
      const sum = family.samples.find((s) => s.name === `${name}_sum`);
      if (!count || !sum) errors.push(`histogram ${name} lacks _count or _sum`);
      if (buckets.some((b) => !("le" in b.labels))) errors.push(`histogram ${name}: a bucket without le`);
      const les = buckets.map((b) => parseValue(b.labels.le));
      if (les.some((le) => le === undefined)) errors.push(`histogram ${name}: bad le ${JSON.stringify(buckets.map((b) => b.labels.le))}`);
      for (let i = 1; i < buckets.length; i++) {
        if (!(les[i] > les[i - 1])) errors.push(`histogram ${name}: le not increasing at ${buckets[i].labels.le}`);
        if (buckets[i].value < buckets[i - 1].value) errors.push(`histogram ${name}: bucket le=${buckets[i].labels.le} below the one before (not cumulative)`);
      }
      if (les.at(-1) !== Infinity) errors.push(`histogram ${name}: no le="+Inf" bucket last`);
      if (count && buckets.length && buckets.at(-1).value !== count.value) errors.push(`histogram ${name}: +Inf bucket ${buckets.at(-1).value} != _count ${count.value}`);
    }
  }
  return { families, errors };
}

/** Value of the series `name` with exactly `labels` in parsed `families` (undefined if absent). */
export function sample(parsed, name, labels = {}) {
  for (const family of parsed.families.values()) {
    for (const s of family.samples) {
      if (s.name !== name) continue;
      const keys = Object.keys(s.labels);
      if (keys.length === Object.keys(labels).length && keys.every((k) => s.labels[k] === labels[k])) return s.value;
    }
  }
  return undefined;
}

/** GET /metrics of `server` and parse it; throws on a non-200 answer. */
export async function scrape(server) {
  const res = await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(3000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}: ${text}`);
  const parsed = parsePrometheus(text);
  parsed.text = text;
  parsed.contentType = res.headers.get("content-type");
  parsed.get = (name, labels) => sample(parsed, name, labels);
  return parsed;
}
