// Side-by-side benchmark: Herald against the Node peer (bench/peer/server.mjs), with the same
// herald-bench load, one server after the other, on 127.0.0.0/8 only. Started by bench/run.sh;
// docs/benchmark.md explains what it measures and how.
//
//   node bench/run.mjs [--quick] [--clients N] [--variant single|cluster|both] ...   (--help)
//
// Every process it starts is stopped when it ends, fails, or gets SIGINT/SIGTERM.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const HOST = '127.0.0.1';

// ---------------------------------------------------------------------------------------------
// Options

const USAGE = `Usage: bench/run.sh [options]

Starts Herald and the Node peer one after the other (never at the same time), drives both with the
same herald-bench load and prints, per metric, Herald's figure, the peer's and their ratio; first
with one server process, then as a 2-node cluster through a private redis-server. Raw reports go
to bench/results/<timestamp>/.

  --quick                 smoke run (about 2 minutes): fewer clients, shorter phases
  --clients N             idle connections for metrics 1-2 (default 10000; --quick 2000)
  --idle S                seconds the N clients stay idle before counting (default 20; --quick 3)
  --broadcast-clients N   clients for the broadcast saturation test (default 5000; --quick 1000)
  --latency-clients N     clients for the latency and single-push tests (default 2000; --quick 500)
  --seconds S             length of each measured push phase (default 10; --quick 3)
  --variant V             single, cluster or both (default both)
  --only S                herald, peer or both (default both)
  --herald-cluster M      how Herald forms the 2-node cluster: workers (herald --workers 2),
                          nodes (two herald --redis processes on two ports) or auto (workers when
                          this herald build forks workers, else nodes; default)
  --c100k N               after the comparison, check that Herald alone holds N connections with a
                          20,000 open-file limit per process (default 100000 in a full run, 0 = skip;
                          always skipped with --quick)
  --wait-idle S           before each server's turn, wait up to S seconds for the machine to be
                          quiet (under 20% CPU busy over 3 s); for machines shared with other work
  --phases LIST           run only these phases, comma-separated: idle, broadcast, latency20,
                          latency100, single (metric 5), batch (metric 6); default all
  --perf                  record 'perf record -g' of Herald during its broadcast and single-push
                          phases (needs perf; adds perf-*.txt reports)
  --out DIR               results directory (default bench/results/<timestamp>)
  --herald PATH           herald binary (default build/herald)
  --bench PATH            herald-bench binary (default build/herald-bench)
  -h, --help              this text
`;

const { values: argv } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    clients: { type: 'string' },
    idle: { type: 'string' },
    'broadcast-clients': { type: 'string' },
    'latency-clients': { type: 'string' },
    seconds: { type: 'string' },
    variant: { type: 'string', default: 'both' },
    only: { type: 'string', default: 'both' },
    'herald-cluster': { type: 'string', default: 'auto' },
    c100k: { type: 'string' },
    perf: { type: 'boolean', default: false },
    phases: { type: 'string' },
    'wait-idle': { type: 'string' },
    out: { type: 'string' },
    herald: { type: 'string', default: path.join(ROOT, 'build/herald') },
    bench: { type: 'string', default: path.join(ROOT, 'build/herald-bench') },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (argv.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

function intOption(name, fallback, min = 1) {
  const text = argv[name];
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < min) fail(`--${name} must be a number >= ${min}`);
  return value;
}
function oneOf(name, allowed) {
  if (!allowed.includes(argv[name])) fail(`--${name} must be one of ${allowed.join(', ')}`);
  return argv[name];
}
function fail(text) {
  process.stderr.write(`bench: ${text}\n`);
  process.exit(2);
}

const quick = argv.quick;
const cfg = {
  quick,
  clients: intOption('clients', quick ? 2000 : 10000),
  idleSeconds: intOption('idle', quick ? 3 : 20, 0),
  broadcastClients: intOption('broadcast-clients', quick ? 1000 : 5000),
  latencyClients: intOption('latency-clients', quick ? 500 : 2000),
  seconds: intOption('seconds', quick ? 3 : 10),
  variants: { single: ['single'], cluster: ['cluster'], both: ['single', 'cluster'] }[oneOf('variant', ['single', 'cluster', 'both'])],
  servers: { herald: ['herald'], peer: ['peer'], both: ['herald', 'peer'] }[oneOf('only', ['herald', 'peer', 'both'])],
  heraldCluster: oneOf('herald-cluster', ['auto', 'workers', 'nodes']),
  c100k: quick ? 0 : intOption('c100k', 100000, 0),
  perf: argv.perf,
  phases: argv.phases ? argv.phases.split(',').map((p) => p.trim()) : null,
  waitIdleSeconds: intOption('wait-idle', 0, 0),
  connectRate: 2500, // new connections per second, all client processes together
  rampStartDeliveries: 40000, // deliveries/s offered by the first broadcast ramp step
  rampFactor: quick ? 2 : 1.6,
  rampStepSeconds: quick ? 1.5 : 2,
  latencyDeliveries: [20000, 100000], // deliveries/s of the two latency phases
  pushSize: 100,
  batchSize: 16, // pushes per POST /api/v1/push/batch request (phase 6)
  heraldThreads: 2, // this machine's cores; the Node peer is one process per node
  fdPerClientProcess: 15000, // clients per herald-bench worker process (hard limit 20,000)
  watchdogSeconds: quick ? 600 : 2400, // the whole run stops by itself after this
};

// ---------------------------------------------------------------------------------------------
// Processes: every child is tracked, and stopped (with its descendants) on exit.

const children = new Set();
let outDir;
let logDir;
const commands = []; // herald-bench commands, in order: { label, line }

function quoteArg(arg) {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${String(arg).replace(/'/g, `'\\''`)}'`;
}

function startProcess(name, file, args, { onStderrLine, onStdoutLine, env } = {}) {
  const logBase = path.join(logDir, name.replace(/[^\w.-]+/g, '_'));
  const child = spawn(file, args.map(String), {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const entry = { name, child, exited: false, code: null, signal: null, treePids: new Set([child.pid]) };
  entry.done = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      entry.exited = true;
      entry.code = code;
      entry.signal = signal;
      children.delete(entry);
      resolve({ code, signal });
    });
  });
  child.on('error', (err) => process.stderr.write(`bench: ${name}: ${err.message}\n`));
  const out = fs.createWriteStream(`${logBase}.out.log`, { flags: 'a' });
  const errOut = fs.createWriteStream(`${logBase}.err.log`, { flags: 'a' });
  const pipe = (stream, sink, onLine) => {
    const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
    lines.on('line', (line) => {
      sink.write(`${line}\n`);
      if (onLine) onLine(line, performance.now());
    });
    lines.on('close', () => sink.end());
  };
  pipe(child.stdout, out, onStdoutLine);
  pipe(child.stderr, errOut, onStderrLine);
  children.add(entry);
  return entry;
}

function procStat(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null;
  }
}

function allParents() {
  const parents = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = procStat(name);
    if (stat) parents.set(Number(name), stat.ppid);
  }
  return parents;
}

// pid and all its live descendants.
function processTree(pid) {
  const parents = allParents();
  const tree = [pid];
  for (let i = 0; i < tree.length; i++)
    for (const [child, parent] of parents) if (parent === tree[i]) tree.push(child);
  return tree.filter((p) => parents.has(p));
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function stopProcess(entry, { signal = 'SIGTERM', graceMs = 10000 } = {}) {
  if (!entry || entry.exited) return;
  for (const pid of processTree(entry.child.pid)) entry.treePids.add(pid);
  try {
    process.kill(entry.child.pid, signal);
  } catch {}
  const timer = sleep(graceMs).then(() => 'timeout');
  const result = await Promise.race([entry.done, timer]);
  if (result === 'timeout') {
    process.stderr.write(`bench: ${entry.name} did not stop within ${graceMs} ms; killing it\n`);
  }
  // Whatever is left of the tree (a worker that outlived its parent) is killed too.
  for (const pid of entry.treePids) {
    if (pid !== entry.child.pid || !entry.exited) {
      try {
        if (alive(pid)) process.kill(pid, 'SIGKILL');
      } catch {}
    }
  }
  await Promise.race([entry.done, sleep(2000)]);
}

let cleaningUp = null;
async function cleanup() {
  if (cleaningUp) return cleaningUp;
  cleaningUp = (async () => {
    const list = [...children];
    for (const entry of list) for (const pid of processTree(entry.child.pid)) entry.treePids.add(pid);
    await Promise.all(list.map((entry) => stopProcess(entry, { graceMs: 5000 })));
  })();
  return cleaningUp;
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, async () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\nbench: ${signal}: stopping every process started by this run\n`);
    await cleanup();
    if (tmpBin) fs.rmSync(tmpBin, { recursive: true, force: true });
    process.exit(130);
  });
}

// ---------------------------------------------------------------------------------------------
// Small helpers

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, entries, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const entry of entries)
      if (entry.exited) throw new Error(`${entry.name} exited (code ${entry.code}, signal ${entry.signal}) before listening`);
    const ok = await new Promise((resolve) => {
      const socket = net.connect(port, HOST);
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`nothing listens on ${HOST}:${port} after ${timeoutMs} ms`);
}

async function waitFor(predicate, timeoutMs, everyMs = 100) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (predicate()) return true;
    if (performance.now() >= deadline) return false;
    await sleep(everyMs);
  }
}

function rssKiB(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (match) total += Number(match[1]);
    } catch {}
  }
  return total;
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

function cpuSeconds(pids) {
  let ticks = 0;
  for (const pid of pids) ticks += procStat(pid)?.ticks ?? 0;
  return ticks / CLK_TCK;
}

// CPU seconds the whole machine spent busy (every process, the kernel included).
function machineBusySeconds() {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = fields;
  return (user + nice + system + irq + softirq + (steal ?? 0)) / CLK_TCK;
}

// Share of the machine's CPU busy over `ms` (0..1).
async function machineBusyShare(ms = 3000) {
  const before = machineBusySeconds();
  await sleep(ms);
  return (machineBusySeconds() - before) / (ms / 1000) / os.cpus().length;
}

async function waitIdle(label) {
  const deadline = performance.now() + cfg.waitIdleSeconds * 1000;
  let busy = await machineBusyShare(2000);
  while (busy > 0.2 && performance.now() < deadline) {
    log(`${label}: machine ${(busy * 100).toFixed(0)}% busy; waiting for it to quiet down`);
    busy = await machineBusyShare(3000);
  }
  return busy;
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

function loadAverage() {
  return os.loadavg().map((v) => v.toFixed(2)).join(' ');
}

function log(text) {
  const line = `[${new Date().toISOString().slice(11, 19)}] ${text}`;
  process.stderr.write(`${line}\n`);
  fs.appendFileSync(path.join(outDir, 'run.log'), `${line}\n`);
}

// ---------------------------------------------------------------------------------------------
// Servers

let tmpBin = null;
let heraldBin;
let benchBin;
let heraldWorkersWork = null; // does this herald build fork --workers? (probed once)

async function startRedis(label) {
  const port = await freePort();
  const entry = startProcess(`${label}-redis`, 'redis-server', [
    '--port', port, '--bind', HOST, '--save', '', '--appendonly', 'no', '--protected-mode', 'yes',
  ]);
  await waitForPort(port, [entry]);
  return { entry, port, url: `redis://${HOST}:${port}` };
}

// A server under test: one or more root processes (pids() includes their descendants), the
// URLs the client groups connect to (one per node; the same URL twice for herald --workers 2) and
// the URL pushes go to (the first node).
async function startServer(kind, variant, redis, label) {
  const nodes = [];
  if (kind === 'herald') {
    const base = ['--host', HOST, '--log-level', 'warn'];
    if (variant === 'single') {
      const port = await freePort();
      nodes.push({ port, entry: startProcess(`${label}-herald`, heraldBin, [...base, '--port', port, '--threads', cfg.heraldThreads]) });
    } else if (await useHeraldWorkers()) {
      const port = await freePort();
      nodes.push({
        port,
        entry: startProcess(`${label}-herald`, heraldBin, [...base, '--port', port, '--workers', 2, '--threads', 1, '--redis', redis.url]),
      });
    } else {
      for (const name of ['a', 'b']) {
        const port = await freePort();
        nodes.push({ port, entry: startProcess(`${label}-herald-${name}`, heraldBin, [...base, '--port', port, '--threads', 1, '--redis', redis.url]) });
      }
    }
  } else {
    const script = path.join(ROOT, 'bench/peer/server.mjs');
    for (const name of variant === 'single' ? ['a'] : ['a', 'b']) {
      const port = await freePort();
      const args = [script, '--host', HOST, '--port', port];
      if (variant === 'cluster') args.push('--redis', redis.url);
      nodes.push({ port, entry: startProcess(`${label}-peer-${name}`, process.execPath, args) });
    }
  }
  const entries = nodes.map((n) => n.entry);
  for (const node of nodes) await waitForPort(node.port, entries);
  const workersMode = kind === 'herald' && variant === 'cluster' && nodes.length === 1;
  if (workersMode) {
    // The supervisor listens as soon as its first worker does; wait for both.
    await waitFor(() => processTree(nodes[0].entry.child.pid).length >= 3, 10000);
  }
  await sleep(1000);
  const connectUrls = workersMode ? [nodes[0], nodes[0]] : nodes;
  return {
    kind,
    variant,
    nodes,
    workersMode,
    describe: describeServer(kind, variant, workersMode),
    connectUrls: connectUrls.map((n) => `ws://${HOST}:${n.port}/`),
    pushUrl: `http://${HOST}:${nodes[0].port}`,
    pids: () => entries.filter((e) => !e.exited).flatMap((e) => processTree(e.child.pid)),
    alive: () => entries.every((e) => !e.exited),
    entries,
    async stop() {
      await Promise.all(entries.map((e) => stopProcess(e)));
    },
  };
}

function describeServer(kind, variant, workersMode) {
  if (kind === 'herald') {
    if (variant === 'single') return `herald --threads ${cfg.heraldThreads} (1 process)`;
    return workersMode
      ? 'herald --workers 2 --threads 1 --redis (2 worker processes on one port + supervisor)'
      : '2 x herald --threads 1 --redis (2 processes, 2 ports)';
  }
  return variant === 'single' ? 'node bench/peer/server.mjs (1 process)' : '2 x node bench/peer/server.mjs --redis (2 processes, 2 ports)';
}

// Whether `herald --workers 2` forks worker processes in this build (else the cluster variant
// runs two herald nodes on two ports, like the peers).
async function useHeraldWorkers() {
  if (cfg.heraldCluster !== 'auto') return cfg.heraldCluster === 'workers';
  if (heraldWorkersWork !== null) return heraldWorkersWork;
  const redis = await startRedis('probe');
  const port = await freePort();
  const entry = startProcess('probe-herald-workers', heraldBin, [
    '--host', HOST, '--port', port, '--workers', 2, '--threads', 1, '--redis', redis.url, '--log-level', 'warn',
  ]);
  try {
    await waitForPort(port, [entry]);
    heraldWorkersWork = await waitFor(() => processTree(entry.child.pid).length >= 3, 3000);
  } catch {
    heraldWorkersWork = false;
  }
  await stopProcess(entry);
  await stopProcess(redis.entry);
  log(`herald --workers: ${heraldWorkersWork ? 'forks worker processes; the cluster variant uses --workers 2' : 'does not fork workers in this build; the cluster variant runs two herald nodes'}`);
  return heraldWorkersWork;
}

// ---------------------------------------------------------------------------------------------
// herald-bench

function splitCount(total, parts) {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

// Clients of one phase: one `herald-bench connect` per node URL (so a cluster's clients are split
// across its nodes), with user ids prefix+index, prefix u (single) or a/b (one per node).
class ClientGroup {
  constructor(label, server, total, { rate = cfg.connectRate, minWorkers = 1, sourceIps, receiveTimeoutMs = 10000, expect, maxSeconds, uidPrefix = '' }) {
    this.label = label;
    this.total = total;
    this.parts = [];
    const counts = splitCount(total, server.connectUrls.length);
    server.connectUrls.forEach((url, i) => {
      const prefix = uidPrefix + (server.connectUrls.length === 1 ? 'u' : String.fromCharCode(97 + i));
      const amount = counts[i];
      const workers = Math.max(Math.ceil(minWorkers / server.connectUrls.length), Math.ceil(amount / cfg.fdPerClientProcess));
      const output = path.join(outDir, `${label}-connect${server.connectUrls.length > 1 ? `-${prefix}` : ''}.json`);
      const args = [
        'connect', '-p', url, '-a', amount, '-c', Math.max(1, Math.round((rate * amount) / total)), '-w', workers,
        '-t', receiveTimeoutMs, '--uid-prefix', prefix, '--duration', maxSeconds, '-q', '-o', output,
      ];
      if (sourceIps) args.push('--source-ips', sourceIps);
      if (expect) args.push('--expect', expect);
      const part = { prefix, amount, output, counters: { created: 0, connected: 0, messages: 0, acks: 0, disconnected: 0 }, samples: [] };
      const line = ['build/herald-bench', ...args].map(quoteArg).join(' ');
      commands.push({ label, line });
      part.entry = startProcess(`${label}-connect-${prefix}`, benchBin, args, {
        onStderrLine: (text, now) => {
          // herald-bench prints rates beside the counts ("created 100 (52/s) connected 98 ...").
          const m = /created (\d+)(?: \([^)]*\))? connected (\d+) disconnected (\d+) reconnected (\d+) errors (\d+).*\| messages (\d+)(?: \([^)]*\))? acks (\d+)/.exec(text);
          if (!m) return;
          part.counters = {
            created: Number(m[1]), connected: Number(m[2]), disconnected: Number(m[3]), reconnected: Number(m[4]),
            errors: Number(m[5]), messages: Number(m[6]), acks: Number(m[7]),
          };
          part.samples.push({ t: now, messages: part.counters.messages });
        },
      });
      this.parts.push(part);
    });
  }

  sum(field) {
    return this.parts.reduce((s, p) => s + (p.counters[field] ?? 0), 0);
  }

  // Messages received by all clients at time t (performance.now()), interpolated between the
  // once-a-second counter lines of each connect process.
  messagesAt(t) {
    let total = 0;
    for (const { samples } of this.parts) {
      if (!samples.length || t <= samples[0].t) continue;
      let i = samples.findIndex((s) => s.t >= t);
      if (i === -1) {
        total += samples[samples.length - 1].messages;
        continue;
      }
      const a = samples[i - 1];
      const b = samples[i];
      total += a.messages + ((b.messages - a.messages) * (t - a.t)) / (b.t - a.t);
    }
    return total;
  }

  pids() {
    return this.parts.filter((p) => !p.entry.exited).flatMap((p) => processTree(p.entry.child.pid));
  }

  exited() {
    return this.parts.some((p) => p.entry.exited);
  }

  async waitConnected(timeoutMs) {
    const ok = await waitFor(() => this.sum('connected') >= this.total || this.exited(), timeoutMs);
    return ok && !this.exited();
  }

  // SIGTERM (the tool then reports at once) and read the JSON reports.
  async stop() {
    await Promise.all(this.parts.map((p) => stopProcess(p.entry, { graceMs: 30000 })));
    this.reports = this.parts.map((p) => readJson(p.output));
    return this.reports;
  }
}

async function push(label, server, options) {
  const output = path.join(outDir, `${label}-push.json`);
  const args = ['push', '-p', server.pushUrl, ...options, '-s', cfg.pushSize, '-o', output];
  const shown = args.map((a) => (String(a).length > 120 ? `${String(a).slice(0, 40)}...(${String(a).split(',').length} users)` : a));
  commands.push({ label, line: ['build/herald-bench', ...shown].map(quoteArg).join(' ') });
  const entry = startProcess(`${label}-push`, benchBin, args);
  const started = performance.now();
  const { code } = await entry.done;
  const report = readJson(output);
  if (!report) throw new Error(`${label}: herald-bench push exited with code ${code} and no report`);
  return { report, code, started, ended: performance.now(), entry };
}

// Users for single pushes: the clients of a group, by their uids.
function usersOf(group) {
  if (group.parts.length === 1) return ['--users', group.parts[0].amount, '--uid-prefix', group.parts[0].prefix];
  const list = [];
  for (const part of group.parts) for (let i = 0; i < part.amount; i++) list.push(`${part.prefix}${i}`);
  return ['--users', list.join(',')];
}

let perfProc = null;
async function perfStart(server, label) {
  if (!cfg.perf || server.kind !== 'herald') return;
  const pids = server.pids().join(',');
  const data = path.join(outDir, `perf-${label}.data`);
  perfProc = { label, data, entry: startProcess(`perf-${label}`, 'perf', ['record', '-g', '-F', '499', '-o', data, '-p', pids]) };
  await sleep(300);
}
async function perfStop() {
  if (!perfProc) return;
  const { data, label, entry } = perfProc;
  perfProc = null;
  await stopProcess(entry, { signal: 'SIGINT', graceMs: 20000 });
  try {
    const flat = execFileSync('perf', ['report', '-i', data, '--no-children', '--percent-limit', '0.5', '--stdio', '-g', 'none', '--sort', 'dso,symbol'], {
      maxBuffer: 64 << 20,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString();
    const inclusive = execFileSync('perf', ['report', '-i', data, '--children', '--percent-limit', '2', '--stdio', '-g', 'none', '--sort', 'symbol'], {
      maxBuffer: 64 << 20,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString();
    const tidy = (text) => text.split('\n').filter((l) => l.trim() && !l.startsWith('#')).map((l) => l.trimEnd().slice(0, 200)).join('\n');
    fs.writeFileSync(path.join(outDir, `perf-${label}.txt`), `self time:\n${tidy(flat)}\n\nwith callees:\n${tidy(inclusive)}\n`);
    fs.rmSync(data, { force: true });
  } catch (err) {
    log(`perf report failed: ${err.message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Phases

const WARMUP_CLIENTS = 100;

// 1-2: N clients connect, stay idle, are counted; RSS before and after.
async function phaseIdle(server, label, redis) {
  const n = cfg.clients;
  // The first connections touch code and per-thread buffers once, which is no memory per
  // connection: a few warm-up clients connect first and stay, and RSS is read after them.
  const warmup = new ClientGroup(`${label}-warmup`, server, WARMUP_CLIENTS, {
    sourceIps: '127.0.0.3',
    uidPrefix: 'w',
    maxSeconds: Math.ceil(n / cfg.connectRate + cfg.idleSeconds + 300),
  });
  if (!(await warmup.waitConnected(60_000))) log(`${label}: not every warm-up client connected`);
  await sleep(500);
  const rssBefore = rssKiB(server.pids());
  const redisBefore = redis ? rssKiB([redis.entry.child.pid]) : null;
  const connectSeconds = n / cfg.connectRate;
  const group = new ClientGroup(`${label}-idle`, server, n, {
    sourceIps: n > 20000 ? '127.0.0.2-127.0.0.9' : '127.0.0.2',
    maxSeconds: Math.ceil(connectSeconds + cfg.idleSeconds + 120),
  });
  const t0 = performance.now();
  const allConnected = await group.waitConnected((connectSeconds + 60) * 1000);
  const connectedAfter = (performance.now() - t0) / 1000;
  log(`${label}: ${group.sum('connected')} of ${n} connected after ${connectedAfter.toFixed(1)} s${allConnected ? '' : ' (not all)'}; idle ${cfg.idleSeconds} s`);
  await sleep(cfg.idleSeconds * 1000);
  const rssAfter = rssKiB(server.pids());
  const redisAfter = redis ? rssKiB([redis.entry.child.pid]) : null;
  const liveConnected = group.sum('connected');
  const reports = await group.stop();
  await warmup.stop();
  const counters = reports.map((r) => r?.counters ?? {});
  const held = counters.reduce((s, c) => s + (c.connected ?? 0), 0);
  const disconnected = counters.reduce((s, c) => s + (c.disconnected ?? 0), 0);
  const reconnected = counters.reduce((s, c) => s + (c.reconnected ?? 0), 0);
  const result = {
    clients: n,
    connectSeconds: Math.max(...reports.map((r) => r?.connect?.seconds ?? NaN)),
    held: reports.every(Boolean) ? held : liveConnected,
    disconnected,
    reconnected,
    rssBeforeKiB: rssBefore,
    rssAfterKiB: rssAfter,
    rssPerConnBytes: ((rssAfter - rssBefore) * 1024) / n,
    redisRssDeltaKiB: redis ? redisAfter - redisBefore : null,
  };
  log(`${label}: held ${result.held}/${n} (disconnected ${disconnected}, reconnected ${reconnected}), RSS ${rssBefore} -> ${rssAfter} KiB = ${result.rssPerConnBytes.toFixed(0)} B per connection`);
  return result;
}

// 3: broadcast with ack off. A ramp finds the first push rate the server does not keep up with
// (its clients have not received everything shortly after the step); then one push phase at that
// rate: the server works flat out with a growing backlog, and the receipts counted by the clients
// over that phase (its first second excepted) give the deliveries per second it sustains.
async function phaseBroadcast(server, label) {
  const c = cfg.broadcastClients;
  const group = new ClientGroup(`${label}-broadcast`, server, c, {
    minWorkers: 2,
    sourceIps: '127.0.0.10',
    receiveTimeoutMs: 60000,
    maxSeconds: 900,
  });
  if (!(await group.waitConnected((c / cfg.connectRate + 60) * 1000))) {
    await group.stop();
    throw new Error(`${label}: only ${group.sum('connected')} of ${c} broadcast clients connected`);
  }
  await sleep(1000);
  const steps = [];
  let expected = group.sum('messages');
  let rate = cfg.rampStartDeliveries / c;
  let saturatedAt = null;
  for (let step = 0; step < 14; step++) {
    const connected = group.sum('connected');
    const stepPush = push(`${label}-broadcast-ramp${step}`, server, ['-e', 'all', '--no-ack', '-r', rate.toFixed(2), '-d', cfg.rampStepSeconds, '--max-errors', 50]);
    const t0 = performance.now();
    const { report } = await stepPush;
    expected += report.ok * connected;
    // Kept up: what the step pushed arrived within 0.7 s of its end (latency and the counters'
    // own delay included). A server that does not keep up is then past its capacity by at least
    // (step + 0.7) / (0.9 * step), about 1.4x.
    const offered = report.ok * connected;
    const by = t0 + (cfg.rampStepSeconds + 0.7) * 1000;
    await waitFor(() => group.parts.every((p) => (p.samples.at(-1)?.t ?? 0) > by), 3000, 50);
    const received = group.messagesAt(by) - group.messagesAt(t0);
    const keptUp = received >= 0.9 * offered;
    // The tool's own rate includes waiting for the last answers; count what it could not send.
    const behind = report.sent < 0.9 * rate * cfg.rampStepSeconds;
    steps.push({ rate, sent: report.sent, offered, received, keptUp: keptUp && !behind });
    log(`${label}: ramp ${rate.toFixed(1)} pushes/s (${((rate * connected) / 1000).toFixed(0)}k deliveries/s): ${report.ok} pushes, ${received.toFixed(0)} of ${offered} deliveries within ${cfg.rampStepSeconds + 0.7} s: ${keptUp && !behind ? 'kept up' : behind ? 'pushes fell behind schedule' : 'saturated'}`);
    if (!keptUp || behind) {
      saturatedAt = rate;
      break;
    }
    rate *= cfg.rampFactor;
  }
  if (saturatedAt === null) saturatedAt = rate;
  // Let the backlog drain before the measured phase.
  await drain(group, expected, 60000);
  expected = Math.max(expected, group.sum('messages'));

  const serverCpu0 = { t: 0, s: 0 };
  const clientCpu0 = { s: 0 };
  await perfStart(server, `${label}-broadcast`);
  const pushPromise = push(`${label}-broadcast`, server, ['-e', 'all', '--no-ack', '-r', saturatedAt.toFixed(2), '-d', cfg.seconds, '--max-errors', 50]);
  const started = performance.now();
  // The measured window starts one second in (the backlog has built up) and ends with the pushes.
  await sleep(1000);
  const windowStart = performance.now();
  serverCpu0.s = cpuSeconds(server.pids());
  clientCpu0.s = cpuSeconds(group.pids());
  const machine0 = machineBusySeconds();
  const { report, ended } = await pushPromise;
  const windowEnd = ended;
  const serverCpu = cpuSeconds(server.pids()) - serverCpu0.s;
  const clientCpu = cpuSeconds(group.pids()) - clientCpu0.s;
  const machineCpu = machineBusySeconds() - machine0;
  await perfStop();
  const rssPeak = rssKiB(server.pids());
  // Samples arrive once a second: wait for the one after the window's end.
  await sleep(1300);
  const windowSeconds = (windowEnd - windowStart) / 1000;
  const windowDeliveries = group.messagesAt(windowEnd) - group.messagesAt(windowStart);
  const pushedDeliveries = report.ok * group.sum('connected');
  const drained = await drain(group, expected + pushedDeliveries, 60000);
  const lastReceipt = drained.lastChange;
  const totalReceived = group.sum('messages') - expected;
  await group.stop();
  const result = {
    clients: c,
    ramp: steps,
    pushRate: saturatedAt,
    pushesPerS: report.pushes_per_s,
    offeredDeliveriesPerS: report.pushes_per_s * c,
    deliveriesPerS: windowDeliveries / windowSeconds,
    windowSeconds,
    // Everything this phase pushed, over the time from its first push to its last receipt.
    endToEndDeliveriesPerS: totalReceived / ((lastReceipt - started) / 1000),
    delivered: totalReceived,
    pushed: pushedDeliveries,
    serverCpuPercent: (100 * serverCpu) / windowSeconds,
    clientCpuPercent: (100 * clientCpu) / windowSeconds,
    // Everything else on the machine meanwhile (the push tool, and other users' processes).
    otherCpuPercent: (100 * Math.max(0, machineCpu - serverCpu - clientCpu)) / windowSeconds,
    deliveriesPerServerCpuSecond: windowDeliveries / serverCpu,
    rssAtEndKiB: rssPeak,
    httpP99Ms: report.latency_ms?.p99,
  };
  log(`${label}: broadcast at ${saturatedAt.toFixed(1)} pushes/s: ${(result.deliveriesPerS / 1000).toFixed(0)}k deliveries/s (server CPU ${result.serverCpuPercent.toFixed(0)}%, clients ${result.clientCpuPercent.toFixed(0)}%), ${totalReceived} of ${pushedDeliveries} delivered in the end`);
  return result;
}

// Waits until the clients received `target` messages or their count stops moving for 3 s.
async function drain(group, target, timeoutMs) {
  let last = group.sum('messages');
  let lastChange = performance.now();
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const now = group.sum('messages');
    if (now !== last) {
      last = now;
      lastChange = group.parts.reduce((m, p) => Math.max(m, p.samples.at(-1)?.t ?? 0), 0);
    }
    if (now >= target) return { complete: true, lastChange };
    if (performance.now() - lastChange > 3000) return { complete: false, lastChange };
    await sleep(100);
  }
  return { complete: false, lastChange };
}

// 4: push->receipt latency of acked broadcasts at a fixed rate, measured by the clients from the
// message's t field.
async function phaseLatency(server, label, deliveriesPerS) {
  const l = cfg.latencyClients;
  const group = new ClientGroup(`${label}-latency${deliveriesPerS / 1000}k`, server, l, {
    sourceIps: deliveriesPerS <= 20000 ? '127.0.0.11' : '127.0.0.12',
    maxSeconds: 300,
  });
  if (!(await group.waitConnected((l / cfg.connectRate + 60) * 1000))) {
    await group.stop();
    throw new Error(`${label}: only ${group.sum('connected')} of ${l} latency clients connected`);
  }
  await sleep(1000);
  const rate = deliveriesPerS / l;
  const { report } = await push(`${label}-latency${deliveriesPerS / 1000}k`, server, ['-e', 'all', '--ack', '-r', rate, '-d', cfg.seconds, '--timeout', 10000]);
  await drain(group, report.ok * l, 15000);
  const reports = await group.stop();
  const lat = reports.map((r) => r?.latency_ms).filter(Boolean);
  const count = lat.reduce((s, x) => s + x.count, 0);
  const result = {
    clients: l,
    pushRate: rate,
    pushesOk: report.ok,
    pushesPerS: report.pushes_per_s,
    receiptsPerPush: report.receipts_per_push,
    delivered: count,
    deliveriesPerS: count / cfg.seconds,
    // With two client groups (cluster), p50 is their count-weighted mean and p99 the worse of the two.
    p50Ms: lat.length ? lat.reduce((s, x) => s + x.p50 * x.count, 0) / Math.max(1, count) : null,
    p99Ms: lat.length ? Math.max(...lat.map((x) => x.p99)) : null,
    maxMs: lat.length ? Math.max(...lat.map((x) => x.max)) : null,
    httpP50Ms: report.latency_ms?.p50,
    httpP99Ms: report.latency_ms?.p99,
  };
  log(`${label}: latency at ${deliveriesPerS / 1000}k deliveries/s offered: p50 ${result.p50Ms?.toFixed(2)} ms p99 ${result.p99Ms?.toFixed(2)} ms (${count} receipts, ${result.receiptsPerPush?.toFixed(0)} acks per push)`);
  return result;
}

// The latencyClients logged-in clients that phases 5 and 6 push to, once all are connected.
async function connectedPushClients(server, name, sourceIps) {
  const l = cfg.latencyClients;
  const group = new ClientGroup(name, server, l, { sourceIps, expect: 1, maxSeconds: 300 });
  if (!(await group.waitConnected((l / cfg.connectRate + 60) * 1000))) {
    await group.stop();
    throw new Error(`${name}: only ${group.sum('connected')} of ${l} clients connected`);
  }
  await sleep(1000);
  return group;
}

// Runs herald-bench push against `phase`'s own group of logged-in clients (from `address`) and
// records what phases 5 and 6 report: pushes answered, failures, receipts, HTTP latency and the
// server's CPU (every server process, all threads, user + system) per push answered.
async function ackedPushPhase(server, phase, address, pushArgs) {
  const group = await connectedPushClients(server, phase, address);
  await perfStart(server, phase);
  const cpu0 = cpuSeconds(server.pids());
  const { report } = await push(phase, server, [...pushArgs, ...usersOf(group), '--ack', '-r', 0, '-d', cfg.seconds]);
  const serverCpu = cpuSeconds(server.pids()) - cpu0;
  await perfStop();
  await group.stop();
  return {
    clients: cfg.latencyClients,
    okPerS: report.pushes_per_s,
    ok: report.ok,
    failed: Object.values(report.failed ?? {}).reduce((s, x) => s + x, 0),
    receiptsPerPush: report.receipts_per_push,
    httpP50Ms: report.latency_ms?.p50,
    httpP99Ms: report.latency_ms?.p99,
    serverCpuPercent: (100 * serverCpu) / report.seconds,
    cpuPerPushUs: report.ok > 0 ? (serverCpu * 1e6) / report.ok : null,
  };
}

const describePushes = (result) =>
  `${result.okPerS.toFixed(0)}/s ok (${result.failed} failed, ${result.receiptsPerPush?.toFixed(2)} receipts per push, ` +
  `server CPU ${result.serverCpuPercent.toFixed(0)}%, ${result.cpuPerPushUs?.toFixed(1)} us per push)`;

// 5: acked single-user pushes, as fast as 64 connections in flight allow.
async function phaseSingle(server, label) {
  const result = await ackedPushPhase(server, `${label}-single`, '127.0.0.13', ['-e', 'single', '--concurrency', 64]);
  log(`${label}: single acked pushes: ${describePushes(result)}`);
  return result;
}

// 6: the same acked single-user pushes through POST /api/v1/push/batch (Herald only: the seed's
// API, and so the peer, has no batch endpoint), cfg.batchSize pushes per request, the same number in
// flight as phase 5.
async function phaseBatch(server, label) {
  const requests = Math.max(1, Math.round(64 / cfg.batchSize));
  const result = await ackedPushPhase(server, `${label}-batch`, '127.0.0.14',
    ['-e', 'api-batch', '--batch-size', cfg.batchSize, '--concurrency', requests]);
  log(`${label}: batch acked pushes: ${describePushes(result)}`);
  return result;
}

async function runOne(kind, variant) {
  const label = `${variant}-${kind}`;
  const result = { kind, variant };
  let redis = null;
  let server = null;
  const busy = await waitIdle(label);
  result.machineBusyBefore = busy;
  log(`${label}: starting (machine ${(busy * 100).toFixed(0)}% busy, load average ${loadAverage()})`);
  if (busy > 0.25) log(`${label}: warning: other processes keep the machine ${(busy * 100).toFixed(0)}% busy; figures will be lower and noisier`);
  try {
    if (variant === 'cluster') redis = await startRedis(label);
    server = await startServer(kind, variant, redis, label);
    result.server = server.describe;
    const phases = [
      ['idle', () => phaseIdle(server, label, redis)],
      ['broadcast', () => phaseBroadcast(server, label)],
      ['latency20', () => phaseLatency(server, label, cfg.latencyDeliveries[0])],
      ['latency100', () => phaseLatency(server, label, cfg.latencyDeliveries[1])],
      ['single', () => phaseSingle(server, label)],
      ...(kind === 'herald' ? [['batch', () => phaseBatch(server, label)]] : []),
    ];
    for (const [name, run] of phases) {
      if (cfg.phases && !cfg.phases.includes(name)) continue;
      if (!server.alive()) throw new Error(`${label}: the server exited`);
      try {
        result[name] = await run();
      } catch (err) {
        result[name] = { error: err.message };
        log(`${label}: ${name} failed: ${err.message}`);
      }
    }
    if (!server.alive()) result.crashed = true;
  } catch (err) {
    result.error = err.message;
    log(`${label}: ${err.message}`);
  } finally {
    if (server) await server.stop();
    if (redis) await stopProcess(redis.entry);
    // Closed client sockets linger in TIME_WAIT; give the machine a moment between servers.
    await sleep(2000);
  }
  return result;
}

// Herald alone: hold cfg.c100k WebSocket connections with 20,000 open files per process.
async function runC100k() {
  const n = cfg.c100k;
  const label = 'c100k-herald';
  const perProcess = 18000;
  const processes = Math.ceil(n / perProcess);
  const result = { clients: n, processes };
  let redis = null;
  const entries = [];
  log(`${label}: ${n} connections over ${processes} herald processes (load average ${loadAverage()})`);
  try {
    redis = await startRedis(label);
    let connectUrls;
    if (await useHeraldWorkers()) {
      const port = await freePort();
      entries.push(startProcess(`${label}-herald`, heraldBin, ['--host', HOST, '--port', port, '--workers', processes, '--threads', 1, '--redis', redis.url, '--log-level', 'warn']));
      await waitForPort(port, entries);
      await waitFor(() => processTree(entries[0].child.pid).length >= processes + 1, 15000);
      connectUrls = [`ws://${HOST}:${port}/`];
      result.server = `herald --workers ${processes} --threads 1 --redis`;
    } else {
      const ports = [];
      for (let i = 0; i < processes; i++) {
        const port = await freePort();
        ports.push(port);
        entries.push(startProcess(`${label}-herald-${i}`, heraldBin, ['--host', HOST, '--port', port, '--threads', 1, '--redis', redis.url, '--log-level', 'warn']));
      }
      for (const port of ports) await waitForPort(port, entries);
      connectUrls = ports.map((p) => `ws://${HOST}:${p}/`);
      result.server = `${processes} x herald --threads 1 --redis (one port each)`;
    }
    await sleep(1000);
    const pids = () => entries.filter((e) => !e.exited).flatMap((e) => processTree(e.child.pid));
    const fake = { connectUrls, pids };
    const rssBefore = rssKiB(pids());
    const rate = 5000;
    const group = new ClientGroup(label, fake, n, {
      rate,
      minWorkers: Math.ceil(n / cfg.fdPerClientProcess),
      sourceIps: '127.0.0.2-127.0.0.9',
      maxSeconds: Math.ceil(n / rate + cfg.idleSeconds + 180),
    });
    const all = await group.waitConnected((n / rate + 90) * 1000);
    log(`${label}: ${group.sum('connected')} connected${all ? '' : ' (not all)'}; idle ${cfg.idleSeconds} s`);
    await sleep(cfg.idleSeconds * 1000);
    const rssAfter = rssKiB(pids());
    const reports = await group.stop();
    result.held = reports.reduce((s, r) => s + (r?.counters?.connected ?? 0), 0);
    result.disconnected = reports.reduce((s, r) => s + (r?.counters?.disconnected ?? 0), 0);
    result.connectSeconds = Math.max(...reports.map((r) => r?.connect?.seconds ?? NaN));
    result.rssPerConnBytes = ((rssAfter - rssBefore) * 1024) / n;
    result.rssAfterKiB = rssAfter;
    log(`${label}: held ${result.held}/${n}, ${result.rssPerConnBytes.toFixed(0)} B per connection`);
  } catch (err) {
    result.error = err.message;
    log(`${label}: ${err.message}`);
  } finally {
    await Promise.all(entries.map((e) => stopProcess(e)));
    if (redis) await stopProcess(redis.entry);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Report

function fmtNum(v, digits = 0) {
  if (v === null || v === undefined || Number.isNaN(v)) return 'n/a';
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
function ratio(a, b) {
  if (a === null || a === undefined || b === null || b === undefined || Number.isNaN(a) || Number.isNaN(b) || b === 0) return 'n/a';
  const r = a / b;
  return r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2);
}

function rows(h, p) {
  const get = (r, f) => {
    try {
      return f(r);
    } catch {
      return null;
    }
  };
  const n = cfg.clients;
  const lines = [
    [`1. connections held after ${cfg.idleSeconds} s idle (of ${n}) [higher]`, (r) => r.idle.held, 0],
    [`2. RSS per idle connection, bytes [lower]`, (r) => r.idle.rssPerConnBytes, 0],
    [`   server RSS with ${n} idle clients, MiB`, (r) => r.idle.rssAfterKiB / 1024, 1],
    [`3. broadcast deliveries/s at saturation, ${cfg.broadcastClients} clients, ack off [higher]`, (r) => r.broadcast.deliveriesPerS, 0],
    [`   server CPU during it, % of one core`, (r) => r.broadcast.serverCpuPercent, 0],
    [`   clients' CPU / other processes' CPU meanwhile, %`, (r) => r.broadcast.clientCpuPercent, 0, (r) => r.broadcast.otherCpuPercent],
    [`   deliveries per server CPU-second [higher]`, (r) => r.broadcast.deliveriesPerServerCpuSecond, 0],
    [`4. push->receipt p50 ms, ${cfg.latencyClients} clients, 20k deliveries/s, ack [lower]`, (r) => r.latency20.p50Ms, 2],
    [`   push->receipt p99 ms, same [lower]`, (r) => r.latency20.p99Ms, 2],
    [`   push->receipt p50 ms, ${cfg.latencyClients} clients, 100k deliveries/s, ack [lower]`, (r) => r.latency100.p50Ms, 2],
    [`   push->receipt p99 ms, same [lower]`, (r) => r.latency100.p99Ms, 2],
    [`   deliveries/s reached in that phase`, (r) => r.latency100.deliveriesPerS, 0],
    [`5. acked single-user pushes/s, 64 in flight [higher]`, (r) => r.single.okPerS, 0],
    [`   server CPU per acked push, us [lower]`, (r) => r.single.cpuPerPushUs, 1],
    [`6. acked pushes/s via POST /api/v1/push/batch, ${cfg.batchSize} per request, 64 in flight [higher]`, (r) => r.batch.okPerS, 0],
    [`   server CPU per acked push, us [lower]`, (r) => r.batch.cpuPerPushUs, 1],
  ];
  return lines.map(([name, f, digits, second]) => {
    const a = h ? get(h, f) : null;
    const b = p ? get(p, f) : null;
    if (second) {
      // Two figures in one cell, no ratio: context rather than a result.
      const both = (r) => (r ? `${fmtNum(get(r, f), digits)} / ${fmtNum(get(r, second), digits)}` : 'n/a');
      return [name, both(h), both(p), ''];
    }
    return [name, fmtNum(a, digits), fmtNum(b, digits), ratio(a, b)];
  });
}

function table(variant, h, p) {
  const header = variant === 'single'
    ? `Single process: Herald --threads ${cfg.heraldThreads} vs 1 Node peer process (the seed ran one per core under pm2)`
    : `2-node cluster through Redis: ${h?.server ?? 'Herald'} vs 2 Node peers --redis; clients split across the two, pushes to the first`;
  const body = [['metric', 'Herald', 'Node peer', 'Herald/peer'], ...rows(h, p)];
  const widths = body[0].map((_, i) => Math.max(...body.map((r) => r[i].length)));
  const fmtRow = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const busy = (r) => (r?.machineBusyBefore === undefined ? 'n/a' : `${(r.machineBusyBefore * 100).toFixed(0)}%`);
  // With --phases, the rows of phases not run are left out.
  const shown = body.slice(1).filter((r) => !cfg.phases || r.slice(1).some((c) => c !== 'n/a' && c !== '' && c !== 'n/a / n/a'));
  const out = [header, `(machine CPU busy just before each turn, other work included: Herald ${busy(h)}, peer ${busy(p)})`, fmtRow(body[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...shown.map(fmtRow)];
  for (const r of [h, p]) {
    if (!r) continue;
    for (const key of ['error', 'idle', 'broadcast', 'latency20', 'latency100', 'single', 'batch'])
      if (key === 'error' ? r.error : r[key]?.error) out.push(`  ! ${r.kind}: ${key === 'error' ? r.error : `${key}: ${r[key].error}`}`);
    if (r.crashed) out.push(`  ! ${r.kind}: the server exited during the run`);
  }
  return out.join('\n');
}

function targets(results, c100k) {
  const s = (kind) => results.find((r) => r.variant === 'single' && r.kind === kind);
  const c = (kind) => results.find((r) => r.variant === 'cluster' && r.kind === kind);
  const out = [];
  const verdict = (ok) => (ok === null ? 'not measured' : ok ? 'MET' : 'MISSED');
  for (const [name, h, p] of [['single', s('herald'), s('peer')], ['cluster', c('herald'), c('peer')]]) {
    if (!h) continue;
    const hb = h.broadcast?.deliveriesPerS;
    const pb = p?.broadcast?.deliveriesPerS;
    const okB = hb && pb ? hb >= 10 * pb : null;
    out.push(`${name}: broadcast >= 10x peer: ${verdict(okB)} (${fmtNum(hb)} vs ${fmtNum(pb)} deliveries/s = ${ratio(hb, pb)}x)`);
    const hm = h.idle?.rssPerConnBytes;
    const pm = p?.idle?.rssPerConnBytes;
    const okM = hm !== undefined && pm !== undefined && hm !== null && pm !== null ? hm <= pm / 10 && hm < 2048 : hm !== undefined ? (hm < 2048 ? null : false) : null;
    out.push(`${name}: memory per idle connection <= 1/10 of peer and < 2 KiB: ${verdict(okM)} (${fmtNum(hm)} B vs ${fmtNum(pm)} B = ${ratio(hm, pm)}x)`);
    const l = h.latency100;
    const okL = l?.p99Ms !== undefined && l?.p99Ms !== null ? l.p99Ms < 5 && l.deliveriesPerS >= 0.95 * cfg.latencyDeliveries[1] : null;
    out.push(`${name}: p99 push->receipt < 5 ms at 100k deliveries/s: ${verdict(okL)} (p99 ${fmtNum(l?.p99Ms, 2)} ms at ${fmtNum(l?.deliveriesPerS)} deliveries/s)`);
    const hc = h.single?.cpuPerPushUs;
    const pc = p?.single?.cpuPerPushUs;
    const okC = hc && pc ? hc <= pc / 10 : null;
    out.push(`${name}: server CPU per acked single push <= 1/10 of peer: ${verdict(okC)} (${fmtNum(hc, 1)} us vs ${fmtNum(pc, 1)} us, peer/Herald ${ratio(pc, hc)}x)`);
  }
  const single = s('herald')?.single?.okPerS;
  const cluster = c('herald')?.single?.okPerS;
  if (single && cluster)
    out.push(`cluster acked single pushes/s above the single process's: ${verdict(cluster > single)} (${fmtNum(cluster)} vs ${fmtNum(single)} pushes/s)`);
  if (c100k) {
    const ok = c100k.held !== undefined ? c100k.held >= 100000 : false;
    out.push(`100,000 connections with 20,000 open files per process: ${c100k.clients >= 100000 ? verdict(ok) : 'not measured (fewer clients asked)'} (held ${fmtNum(c100k.held)} of ${fmtNum(c100k.clients)} on ${c100k.server ?? 'herald'}, ${fmtNum(c100k.rssPerConnBytes)} B RSS per connection${c100k.error ? `; ${c100k.error}` : ''})`);
  } else {
    out.push('100,000 connections with 20,000 open files per process: not measured in this run (full run without --c100k 0)');
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main

function versions() {
  const sh = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    } catch {
      return 'unknown';
    }
  };
  const pkg = (name) => readJson(path.join(ROOT, 'node_modules', name, 'package.json'))?.version ?? 'missing';
  const dirty = sh('git', ['status', '--porcelain', '--', 'src', 'CMakeLists.txt']);
  const memKiB = Number(/MemTotal:\s+(\d+)/.exec(fs.readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
  const binTime = (() => {
    try {
      return fs.statSync(argv.herald).mtime.toISOString();
    } catch {
      return 'unknown';
    }
  })();
  return {
    date: new Date().toISOString(),
    nproc: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    ramGiB: (memKiB / 1048576).toFixed(1),
    kernel: `${os.type()} ${os.release()}`,
    herald: `${sh('git', ['rev-parse', '--short', 'HEAD'])}${dirty && dirty !== 'unknown' ? ' + uncommitted changes in src/' : ''} (binary built ${binTime}, ${sh('sh', ['-c', `grep -m1 CMAKE_BUILD_TYPE: ${path.dirname(argv.herald)}/CMakeCache.txt | cut -d= -f2`]) || 'unknown build type'})`,
    node: process.version,
    socketio: pkg('socket.io'),
    koa: pkg('koa'),
    redisAdapter: pkg('@socket.io/redis-adapter'),
    redis: sh('redis-server', ['--version']).replace(/^Redis server v=(\S+).*/, '$1'),
    openFiles: sh('sh', ['-c', 'ulimit -n']),
    loadAverageAtStart: loadAverage(),
  };
}

async function main() {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace('T', '_').slice(0, 19);
  outDir = path.resolve(argv.out ?? path.join(ROOT, 'bench/results', stamp));
  logDir = path.join(outDir, 'logs');
  fs.mkdirSync(logDir, { recursive: true });

  for (const [what, file] of [['herald', argv.herald], ['herald-bench', argv.bench]])
    if (!fs.existsSync(file)) fail(`${what} not found at ${file}; build it: cmake --build build --target herald herald-bench`);
  // Run copies, so that a rebuild during the run cannot swap the binaries under it.
  tmpBin = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-bench-run-'));
  heraldBin = path.join(tmpBin, 'herald');
  benchBin = path.join(tmpBin, 'herald-bench');
  fs.copyFileSync(argv.herald, heraldBin);
  fs.copyFileSync(argv.bench, benchBin);
  fs.chmodSync(heraldBin, 0o755);
  fs.chmodSync(benchBin, 0o755);

  const watchdog = setTimeout(async () => {
    log(`watchdog: the run took more than ${cfg.watchdogSeconds} s; stopping`);
    await cleanup();
    process.exit(3);
  }, cfg.watchdogSeconds * 1000);
  watchdog.unref();

  const info = versions();
  log(`results in ${path.relative(ROOT, outDir) || outDir}`);
  log(`machine: ${info.nproc} x ${info.cpu}, ${info.ramGiB} GiB RAM, ${info.kernel}; load average ${info.loadAverageAtStart}`);
  const started = performance.now();
  const results = [];
  for (const variant of cfg.variants) for (const kind of cfg.servers) results.push(await runOne(kind, variant));
  const c100k = cfg.c100k && cfg.servers.includes('herald') ? await runC100k() : null;
  info.loadAverageAtEnd = loadAverage();
  info.minutes = ((performance.now() - started) / 60000).toFixed(1);

  const lines = [];
  lines.push(`Herald vs Node peer (koa + socket.io ${info.socketio}), ${info.date}${cfg.quick ? ' (--quick)' : ''}`);
  lines.push(`machine: ${info.nproc} x ${info.cpu}, ${info.ramGiB} GiB RAM, ${info.kernel}, open files ${info.openFiles}`);
  lines.push(`versions: herald ${info.herald}; node ${info.node}; socket.io ${info.socketio}; koa ${info.koa}; @socket.io/redis-adapter ${info.redisAdapter}; redis ${info.redis}`);
  lines.push(`load average at start ${info.loadAverageAtStart}, at end ${info.loadAverageAtEnd}; the load tool runs on the same ${info.nproc} cores; run took ${info.minutes} min`);
  lines.push('');
  for (const variant of cfg.variants) {
    const h = results.find((r) => r.variant === variant && r.kind === 'herald');
    const p = results.find((r) => r.variant === variant && r.kind === 'peer');
    lines.push(table(variant, h, p));
    lines.push('');
  }
  lines.push('Targets:');
  lines.push(targets(results, c100k));
  lines.push('');
  lines.push('herald-bench commands (the peer runs got the same ones, with its own ports):');
  for (const { label, line } of commands) {
    if (!label.includes('peer')) lines.push(`  [${label}] ${line}`);
  }
  const text = lines.join('\n');
  fs.writeFileSync(path.join(outDir, 'report.txt'), `${text}\n`);
  fs.writeFileSync(path.join(outDir, 'commands.txt'), commands.map((c) => `[${c.label}] ${c.line}`).join('\n') + '\n');
  fs.writeFileSync(path.join(outDir, 'summary.json'), JSON.stringify({ info, config: cfg, results, c100k }, null, 1));
  process.stdout.write(`\n${text}\n\nraw reports: ${path.relative(ROOT, outDir) || outDir}/\n`);
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench: ${err.stack ?? err}\n`);
  process.exitCode = 1;
} finally {
  if (!interrupted) {
    await cleanup();
    if (tmpBin) fs.rmSync(tmpBin, { recursive: true, force: true });
  }
}
