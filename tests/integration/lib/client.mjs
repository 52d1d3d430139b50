// Helpers around the real socket.io-client.

import assert from "node:assert/strict";
import { Manager, io } from "socket.io-client";
import { WAIT, waitForEvent } from "./wait.mjs";

/** The three transport modes every client scenario runs in. */
export const MODES = {
  websocket: { transports: ["websocket"] },
  polling: { transports: ["polling"] },
  // default transports: starts with polling, then upgrades to websocket
  upgrade: { transports: ["polling", "websocket"] },
};

/**
 * Keeps track of every socket and manager created by a test file so that
 * they can all be closed after each test (a leftover socket would keep the
 * test process alive and receive other tests' broadcasts).
 */
export class ClientRegistry {
  constructor() {
    this.sockets = new Set();
    this.managers = new Set();
  }

  socket(url, mode, { nsp = "/", ...options } = {}) {
    const socket = io(`${url}${nsp}`, {
      forceNew: true,
      reconnection: false,
      autoConnect: false,
      timeout: WAIT,
      transports: MODES[mode].transports,
      ...options,
    });
    this.sockets.add(socket);
    this.managers.add(socket.io);
    return socket;
  }

  manager(url, mode, options = {}) {
    const manager = new Manager(url, {
      reconnection: false,
      autoConnect: false,
      timeout: WAIT,
      transports: MODES[mode].transports,
      ...options,
    });
    this.managers.add(manager);
    return manager;
  }

  closeAll() {
    for (const socket of this.sockets) socket.disconnect();
    for (const manager of this.managers) {
      // Manager#_close: stops reconnection and closes the Engine.IO session
      if (typeof manager._close === "function") manager._close();
      else manager.engine?.close();
    }
    this.sockets.clear();
    this.managers.clear();
  }
}

/**
 * Waits for the engine of `socket` (or of a manager) to be on websocket. In
 * upgrade mode the session must have started on polling and the "upgrade"
 * event must have fired.
 */
export async function expectUpgraded(engine, initialTransport) {
  assert.equal(initialTransport, "polling", "in upgrade mode the session must start with HTTP long-polling");
  if (engine.transport.name !== "websocket") {
    await waitForEvent(engine, "upgrade", { failOn: ["upgradeError"] });
  }
  assert.equal(engine.transport.name, "websocket", "transport after the upgrade event");
}

/**
 * Connects `socket` (created with autoConnect:false) and resolves with the
 * `auth` event payload sent by the server on connection. Checks the
 * transport of the mode: websocket / polling only, or polling then upgraded.
 */
export async function connectSocket(socket, mode) {
  const auth = waitForEvent(socket, "auth");
  const connected = waitForEvent(socket, "connect", { failOn: ["connect_error"] });
  auth.catch(() => {});
  connected.catch(() => {});
  socket.connect();
  const engine = socket.io.engine;
  const initialTransport = engine.transport?.name;
  // register the upgrade listener before any I/O can complete
  const upgraded = mode === "upgrade" ? expectUpgraded(engine, initialTransport) : null;
  upgraded?.catch(() => {});
  await connected;
  assert.equal(socket.connected, true);
  const [authPayload] = await auth;
  if (upgraded) {
    await upgraded;
  } else {
    assert.equal(engine.transport.name, MODES[mode].transports[0], "transport in use");
  }
  return authPayload;
}

/** Converts every ArrayBuffer / typed array / Buffer inside `value` to a Buffer. */
export function normalizeBinary(value) {
  if (Buffer.isBuffer(value)) return Buffer.from(value);
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) return value.map(normalizeBinary);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalizeBinary(v)]));
  }
  return value;
}
