// A stand-in for systemd's notification socket (NOTIFY_SOCKET): a Unix datagram socket on which
// herald's sd_notify messages ("READY=1\nSTATUS=...") arrive. Node has no Unix datagram sockets,
// so a few lines of Python 3 hold it and print each message as a JSON string per line.

import { spawn } from "node:child_process";
import path from "node:path";
import { killOnExit } from "./processes.mjs";
import { withTimeout } from "./wait.mjs";

const RECEIVER = `
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print(json.dumps("bound"), flush=True)
while True:
    print(json.dumps(s.recv(65536).decode("utf-8", "replace")), flush=True)
`;

/**
 * Starts the receiver on `dir`/notify.sock. Returns { path, messages, waitFor(predicate, ms), stop() }:
 * `messages` are the datagrams received so far, in order; waitFor resolves with the first message
 * (after those already consumed by earlier waits) that `predicate` accepts.
 */
export async function startNotifySocket(dir) {
  const socketPath = path.join(dir, "notify.sock");
  const child = killOnExit(spawn("python3", ["-c", RECEIVER, socketPath], { stdio: ["ignore", "pipe", "pipe"] }));
  const messages = [];
  const waiters = new Set();
  let buffer = "";
  let stderr = "";
  let bound;
  const isBound = new Promise((resolve) => (bound = resolve));
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d) => (stderr += d));
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (d) => {
    buffer += d;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const text = JSON.parse(buffer.slice(0, newline));
      buffer = buffer.slice(newline + 1);
      if (text === "bound") {
        bound();
        continue;
      }
      messages.push(text);
      for (const waiter of waiters) waiter();
    }
  });
  await withTimeout(
    Promise.race([isBound, new Promise((_, reject) => child.once("exit", () => reject(new Error(stderr))))]),
    5000,
    "the notify socket receiver",
  );
  let consumed = 0;
  return {
    path: socketPath,
    messages,
    waitFor(predicate, timeout = 10_000) {
      const find = () => {
        for (let i = consumed; i < messages.length; ++i) {
          if (predicate(messages[i])) {
            consumed = i + 1;
            return messages[i];
          }
        }
        return undefined;
      };
      const found = find();
      if (found !== undefined) return Promise.resolve(found);
      let waiter;
      const promise = new Promise((resolve) => {
        waiter = () => {
          const message = find();
          if (message !== undefined) resolve(message);
        };
        waiters.add(waiter);
      });
      return withTimeout(promise, timeout, `a notification (got ${JSON.stringify(messages)})`).finally(() =>
        waiters.delete(waiter),
      );
    },
    stop() {
      child.kill("SIGKILL");
    },
  };
}
