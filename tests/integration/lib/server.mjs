// Starts the echo server under test on a free loopback port.
//
// The command comes from the ECHO_SERVER environment variable (default:
// build/echo_server). A relative executable path is resolved against the
// repository root and the process runs with the repository root as its
// working directory, so e.g.
//   ECHO_SERVER="node tests/integration/reference/echo_server.mjs"
// works from anywhere.

import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { canConnect, killOnExit } from "./processes.mjs";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

const DEFAULT_COMMAND = "build/echo_server";
const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 3_000;
const MAX_CAPTURE = 64 * 1024;

const rawCommand = (process.env.ECHO_SERVER ?? "").trim() || DEFAULT_COMMAND;

/**
 * True when the suite runs against the Node.js reference implementation
 * (tests/integration/reference/echo_server.mjs). A handful of assertions
 * accept the reference's documented deviations from the contract only in
 * that case; against any other server (the C++ binary) they are strict.
 */
export const REFERENCE_SERVER = /reference[\\/]echo_server\.mjs\b/.test(rawCommand);

/** Splits a command line on whitespace, honouring simple '…' and "…" quoting. */
function splitCommand(line) {
  const parts = [];
  let current = "";
  let quote = null;
  let hasToken = false;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = null;
      else current += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      hasToken = true;
    } else if (/\s/.test(ch)) {
      if (hasToken) parts.push(current);
      current = "";
      hasToken = false;
    } else {
      current += ch;
      hasToken = true;
    }
  }
  if (hasToken) parts.push(current);
  return parts;
}

export function serverCommand() {
  const [first, ...args] = splitCommand(rawCommand);
  let command = first;
  if (command.includes("/") && !path.isAbsolute(command)) {
    command = path.resolve(REPO_ROOT, command);
  }
  return { command, args, display: rawCommand };
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Finds a free TCP port on 127.0.0.1 (bind port 0, read it, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts the echo server with `--port <free port>` plus `extraArgs`, and
 * resolves once 127.0.0.1:<port> accepts TCP connections.
 *
 * Returns { port, url, wsUrl, args, stderr(), stdout(), exited(), stop() }.
 * stop() kills the process and throws if the server had died on its own
 * before (a crash during the tests), with its stderr in the message.
 */
export async function startEchoServer(extraArgs = []) {
  const { command, args, display } = serverCommand();
  if (path.isAbsolute(command) && !fs.existsSync(command)) {
    throw new Error(
      `echo server not found: ${command}\n` +
        `Build it first, or point ECHO_SERVER at another command, e.g.\n` +
        `  ECHO_SERVER="node tests/integration/reference/echo_server.mjs" npm test`,
    );
  }

  const port = await freePort();
  const fullArgs = [...args, "--port", String(port), ...extraArgs.map(String)];
  const child = spawn(command, fullArgs, {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  killOnExit(child);

  let stderr = "";
  let stdout = "";
  child.stderr.setEncoding("utf8");
  child.stdout.setEncoding("utf8");
  child.stderr.on("data", (d) => {
    if (stderr.length < MAX_CAPTURE) stderr += d;
  });
  child.stdout.on("data", (d) => {
    if (stdout.length < MAX_CAPTURE) stdout += d;
  });

  let exitInfo = null;
  let spawnError = null;
  let stopping = false;
  const exitPromise = new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
  });
  child.once("error", (err) => {
    spawnError = err;
  });

  const describeCommand = () => `command: ${display} ${fullArgs.slice(args.length).join(" ")}`;
  const stderrBlock = () => `\n--- server stderr ---\n${stderr || "(empty)"}\n--- end of stderr ---`;

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (spawnError) {
      throw new Error(`could not start echo server: ${spawnError.message}\n${describeCommand()}${stderrBlock()}`);
    }
    if (exitInfo) {
      throw new Error(
        `echo server exited before accepting connections ` +
          `(code ${exitInfo.code}, signal ${exitInfo.signal})\n${describeCommand()}${stderrBlock()}`,
      );
    }
    if (await canConnect(port)) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(
        `echo server did not accept TCP connections on 127.0.0.1:${port} ` +
          `within ${READY_TIMEOUT_MS / 1000} s\n${describeCommand()}${stderrBlock()}`,
      );
    }
    await sleep(50);
  }

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    args: fullArgs,
    process: child,
    stderr: () => stderr,
    stdout: () => stdout,
    exited: () => exitInfo,
    async stop() {
      if (exitInfo && !stopping) {
        throw new Error(
          `echo server died during the tests (code ${exitInfo.code}, signal ${exitInfo.signal})` +
            `\n${describeCommand()}${stderrBlock()}`,
        );
      }
      if (exitInfo) return;
      stopping = true;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await exitPromise;
      clearTimeout(timer);
    },
  };
}
