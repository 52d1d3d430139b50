// Child processes of the tests (servers, redis-server, HAProxy): each one tracked is killed when
// the test process exits, however it exits; and a probe for "does something accept on this port".

import net from "node:net";
import { after } from "node:test";

const tracked = new Set();

function killTracked() {
  for (const child of tracked) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}
process.on("exit", killTracked);

// A child still running keeps the test file's process, and so the whole run, waiting forever (a
// test that failed before stopping its server). Once a file's tests and hooks are done, what is
// still running 20 s later is killed. The timer is unref'd: a file that stopped everything exits
// at once, and this hook runs before the file's own top-level `after` hooks, which still stop theirs.
if (process.env.NODE_TEST_CONTEXT) {
  after(() => {
    setTimeout(() => {
      if (tracked.size === 0) return;
      const names = [...tracked].map((child) => child.spawnargs.slice(0, 2).join(" "));
      console.error(`killing ${tracked.size} child process(es) left running after the tests: ${names.join(", ")}`);
      killTracked();
    }, 20_000).unref();
  });
}

/** Kills `child` when the test process exits, unless it exited before. Returns `child`. */
export function killOnExit(child) {
  tracked.add(child);
  child.once("exit", () => tracked.delete(child));
  return child;
}

/** Resolves true if a TCP connection to 127.0.0.1:`port` is accepted within 500 ms. */
export function canConnect(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    const done = (ok) => {
      sock.removeAllListeners();
      sock.on("error", () => {});
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.once("connect", () => done(true));
    sock.once("error", () => done(false));
  });
}
