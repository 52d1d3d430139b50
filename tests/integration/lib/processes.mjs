// Child processes of the tests (servers, redis-server, HAProxy): each one tracked is killed when
// the test process exits, however it exits; and a probe for "does something accept on this port".

import net from "node:net";

const tracked = new Set();
process.on("exit", () => {
  for (const child of tracked) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
});

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
